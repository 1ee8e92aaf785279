"""Seconds per guided denoising step of the full-size IDiff-Face UNet, batch 8, on CPU.

Compares, with the same random weights and inputs, in one run (interleaved repeats, best
of N per variant, so load from other processes hits every variant alike):
    original two-pass fp32   the originals' computation (einsum attention, context path
                             recomputed per call), p+ and p- as two forwards of B
    original one pass 2B     the same computation, p+ and p- batched (batching alone)
    ours fp32                NegativeGuidance over IDiffFaceDenoiser: one forward of 2B,
                             context keys/values bound once, SDPA (contiguous layout)
    ours fp32 channels_last  the same, channels_last memory format
    ours bf16 channels_last  the same under CPU bf16 autocast (if the CPU has avx512_bf16)

Run:  nice .venv/bin/python benchmarks/sampling.py [--repeats 3] [--batch 8] [--threads 1]
Writes benchmarks/results/sampling.json.

GPU mode (benchmarks/gpu_check.sh): `--device cuda [--batch 256] [--compile]` times guided
steps eagerly and compiled (bf16 autocast, channels_last), then full DDIM-200 and
DDPM-1000 runs (per-image noise, all steps, VQ decode) with the faster variant, and writes
benchmarks/results/sampling_gpu.json.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F

from facesynth_bench.backends.idiff_face.loader import IDiffFaceDenoiser
from facesynth_bench.backends.idiff_face.unet import (
    ConditionalUNet,
    CrossAttentionBlock,
    LevelBlock,
    Resample,
    UNetConfig,
)
from facesynth_bench.backends.idiff_face.vq_f4 import VQConfig, VQDecoder
from facesynth_bench.diffusion.guidance import NegativeGuidance
from facesynth_bench.diffusion.guidance_schedules import GuidanceSchedule
from facesynth_bench.diffusion.loop import run_sampler
from facesynth_bench.diffusion.samplers import Sampler
from facesynth_bench.diffusion.schedules import NoiseSchedule
from facesynth_bench.generation.seeds import BatchNoise
from facesynth_bench.records import RunClock, write_record

RESULTS = Path(__file__).resolve().parent / "results" / "sampling.json"
GPU_RESULTS = RESULTS.with_name("sampling_gpu.json")
T = 1000
STEP = 500
W = 0.5


def _original_attention(attention, x: torch.Tensor, c: torch.Tensor | None = None):
    """IDiff-Face's MultiHeadAttention math: conv1d projections, einsum, scale on q and k."""
    c = x if c is None else c
    q, k, v = attention.to_q(x), attention.to_k(c), attention.to_v(c)
    bs, width, length = q.shape
    heads = attention.heads
    q = q.reshape(bs * heads, width // heads, length)
    k = k.reshape(bs * heads, width // heads, -1)
    v = v.reshape(bs * heads, width // heads, -1)
    scale = 1 / math.sqrt(math.sqrt(width // heads))
    weight = torch.einsum("bct,bcs->bts", q * scale, k * scale)
    weight = torch.softmax(weight.float(), dim=-1).type(weight.dtype)
    out = torch.einsum("bts,bcs->bct", weight, v)
    return attention.proj_out(out.reshape(bs, width, length).contiguous())


def _original_block(block: CrossAttentionBlock, x: torch.Tensor, projected: torch.Tensor):
    """IDiff-Face's SpatialEmbeddingCrossAttentionBlock.forward, context path per call."""
    b, _, h, w = x.shape
    x_in = x
    x = block.x_proj_in(x).reshape(b, -1, h * w)
    c = block.c_proj_in(projected).reshape(b, block.context_channels, -1)
    c = block.c_norm(c)
    x = _original_attention(block.self_attention, block.x_norm(x)) + x
    x = _original_attention(block.cross_attention, block.x_norm(x), c) + x
    ff = block.ff(block.x_norm(x).transpose(1, 2).contiguous())
    x = ff.transpose(1, 2).contiguous() + x
    return block.x_proj_out(x.reshape(b, -1, h, w)) + x_in


def original_forward(unet: ConditionalUNet, x, t, context):
    """The original ConditionalUNet.forward computation over our modules' weights."""
    temb = unet.time_emb(t)
    projected = unet.context_emb(context)
    x = unet.image_proj(x)
    skips = [x]

    def level(module: LevelBlock, h):
        h = module.res(h, temb)
        return h if module.attn is None else _original_block(module.attn, h, projected)

    for module in unet.down:
        x = module(x) if isinstance(module, Resample) else level(module, x)
        skips.append(x)
    middle = unet.middle
    x = middle.res2(_original_block(middle.attn, middle.res1(x, temb), projected), temb)
    for module in unet.up:
        if isinstance(module, Resample):
            x = module(x)
        else:
            x = level(module, torch.cat((x, skips.pop()), dim=1))
    return unet.final(F.silu(unet.norm(x)))


def _best_of(variants: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    for run in variants.values():  # warm-up (allocator, oneDNN primitive caches)
        run()
    best = dict.fromkeys(variants, math.inf)
    for _ in range(repeats):
        for name, run in variants.items():
            start = time.perf_counter()
            run()
            best[name] = min(best[name], time.perf_counter() - start)
    return best


def random_unet() -> ConditionalUNet:
    """The full-size UNet with N(0, 0.02) weights (zero-initialised convs made non-trivial)."""
    torch.manual_seed(0)
    unet = ConditionalUNet(UNetConfig()).eval()
    with torch.no_grad():
        for parameter in unet.parameters():
            parameter.normal_(0, 0.02)
    return unet


def cpu_comparison(args: argparse.Namespace, clock: RunClock) -> None:
    """Ours vs the originals' two-pass computation on CPU (see the module docstring)."""
    unet = random_unet()
    b = args.batch
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(b, 3, 32, 32, generator=gen)
    t = torch.full((b,), STEP)
    positive = F.normalize(torch.randn(b, 512, generator=gen), dim=1)
    negative = positive.roll(1, 0)
    cpu = torch.device("cpu")
    schedule = GuidanceSchedule("constant", W)

    def original_two_pass():
        eps_pos = original_forward(unet, x, t, positive)
        eps_neg = original_forward(unet, x, t, negative)
        return (1 + W) * eps_pos - W * eps_neg

    def original_one_pass():
        both = original_forward(
            unet, torch.cat([x, x]), torch.cat([t, t]), torch.cat([positive, negative])
        )
        eps_pos, eps_neg = both.chunk(2)
        return (1 + W) * eps_pos - W * eps_neg

    def guided(model: ConditionalUNet, precision: str) -> NegativeGuidance:
        denoiser = IDiffFaceDenoiser(model, cpu, precision)
        return NegativeGuidance(denoiser, positive, negative, schedule, T)

    ours = guided(unet, "fp32")
    unet_cl = ConditionalUNet(UNetConfig()).eval()
    unet_cl.load_state_dict(unet.state_dict())
    unet_cl = unet_cl.to(memory_format=torch.channels_last)
    x_cl = x.contiguous(memory_format=torch.channels_last)
    ours_cl = guided(unet_cl, "fp32")
    variants: dict[str, Callable[[], object]] = {
        "original two-pass fp32": original_two_pass,
        "original one pass 2B fp32": original_one_pass,
        "ours fp32": lambda: ours(x, t),
        "ours fp32 channels_last": lambda: ours_cl(x_cl, t),
    }
    if torch.ops.mkldnn._is_mkldnn_bf16_supported():
        unet_bf16 = ConditionalUNet(UNetConfig()).eval()
        unet_bf16.load_state_dict(unet.state_dict())
        unet_bf16 = unet_bf16.to(torch.bfloat16, memory_format=torch.channels_last)
        ours_bf16 = guided(unet_bf16, "bf16")
        variants["ours bf16 channels_last"] = lambda: ours_bf16(x_cl, t)

    with torch.no_grad():
        reference = original_two_pass()
        errors = {
            name: (run() - reference).abs().max().item() / reference.abs().max().item()
            for name, run in variants.items()
        }
        for name in ("ours fp32", "ours fp32 channels_last"):
            assert errors[name] < 1e-4, f"{name} differs from the original by {errors[name]}"
        seconds = _best_of(variants, args.repeats)
    baseline = seconds["original two-pass fp32"]
    report = {
        "benchmark": "sampling",
        "what": "seconds per guided denoising step, full-size IDiff-Face UNet, random weights",
        "batch_images": b,
        "threads": torch.get_num_threads(),
        "repeats": args.repeats,
        "seconds_per_step": seconds,
        "seconds_per_image_step": {k: v / b for k, v in seconds.items()},
        "speedup_vs_original_two_pass": {k: baseline / v for k, v in seconds.items()},
        "max_abs_error_relative_to_max_abs_eps": errors,
    }
    write_record(RESULTS, "benchmark", report, clock, "cpu")
    for name, value in seconds.items():
        print(
            f"{name:28s} {value:7.3f} s/step  x{baseline / value:4.2f}  "
            f"max error {errors[name]:.1e} of max|eps|"
        )


def _timed_run(eps, sampler: Sampler, schedule: NoiseSchedule, batch: int, decoder) -> float:
    """Seconds for one full sampling run of `batch` images (noise, all steps, VQ decode)."""
    device = decoder.post_quant_conv.weight.device
    noise = BatchNoise(list(range(batch)), (3, 32, 32), device)
    torch.cuda.synchronize()
    start = time.perf_counter()
    latents = run_sampler(eps, noise.draw(), sampler, schedule, noise)
    with torch.no_grad(), torch.autocast("cuda", dtype=torch.bfloat16):
        decoder(latents)
    torch.cuda.synchronize()
    return time.perf_counter() - start


def _seconds_per_step(eps, batch: int, steps: int, device: torch.device) -> float:
    x = torch.randn(batch, 3, 32, 32, device=device).contiguous(memory_format=torch.channels_last)
    t = torch.full((batch,), STEP, device=device)
    for _ in range(3):
        eps(x, t)
    torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(steps):
        eps(x, t)
    torch.cuda.synchronize()
    return (time.perf_counter() - start) / steps


def gpu_throughput(args: argparse.Namespace, clock: RunClock) -> None:
    """Images/s of guided DDPM-1000 and DDIM-200 at batch B on one GPU, bf16, channels_last."""
    device = torch.device(args.device)
    torch.backends.cudnn.benchmark = True
    unet = random_unet().to(device, memory_format=torch.channels_last)
    decoder = VQDecoder(VQConfig()).eval().to(device)
    b = args.batch
    positive = F.normalize(torch.randn(b, 512, device=device), dim=1)
    negative = positive.roll(1, 0)
    schedule_t = NoiseSchedule.named("linear", T)
    guidance = GuidanceSchedule("linear", 1.0)
    eager = IDiffFaceDenoiser(unet, device, "bf16")
    per_step = {
        "eager bf16": _seconds_per_step(
            NegativeGuidance(eager, positive, negative, guidance, T), b, args.timed_steps, device
        )
    }
    compile_seconds, compile_error, compiled = None, None, None
    if args.compile:
        compiled = IDiffFaceDenoiser(unet, device, "bf16")
        compiled.compile()
        eps = NegativeGuidance(compiled, positive, negative, guidance, T)
        start = time.perf_counter()
        try:
            _seconds_per_step(eps, b, 1, device)
            compile_seconds = time.perf_counter() - start
            per_step["compiled bf16"] = _seconds_per_step(eps, b, args.timed_steps, device)
        except Exception as exc:  # a compiler failure must not cost the eager numbers
            compile_error = f"{type(exc).__name__}: {exc}"[:2000]
    best = min(per_step, key=per_step.get)
    denoiser = compiled if best.startswith("compiled") else eager
    eps = NegativeGuidance(denoiser, positive, negative, guidance, T)
    with torch.no_grad(), torch.autocast("cuda", dtype=torch.bfloat16):  # cudnn autotune
        decoder(torch.randn(b, 3, 32, 32, device=device))
    runs: dict[str, dict[str, float]] = {}
    report = {
        "benchmark": "sampling_gpu",
        "what": "guided sampling throughput, full-size IDiff-Face UNet + VQ-f4 decoder, "
        "random weights, AdaptDiff guidance (one forward of 2B per step)",
        "gpu": torch.cuda.get_device_name(device),
        "batch_images": b,
        "seconds_per_guided_step": per_step,
        "compile_seconds": compile_seconds,
        "compile_error": compile_error,
        "variant_used_for_full_runs": best,
        "full_runs": runs,
    }
    for sampler in (Sampler("ddim", 200), Sampler("ddpm", 1000)):
        write_record(GPU_RESULTS, "benchmark", report, clock, str(device))  # partial, if cut short
        seconds = _timed_run(eps, sampler, schedule_t, b, decoder)
        runs[f"{sampler.name}-{sampler.steps}"] = {
            "seconds": seconds,
            "images_per_second": b / seconds,
        }
    print(json.dumps(write_record(GPU_RESULTS, "benchmark", report, clock, str(device)), indent=2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--batch", type=int, default=None, help="default 8 (cpu), 256 (cuda)")
    parser.add_argument("--repeats", type=int, default=3, help="cpu: interleaved repeats")
    parser.add_argument("--timed-steps", type=int, default=20, help="cuda: steps timed")
    parser.add_argument("--compile", action="store_true", help="cuda: also try torch.compile")
    parser.add_argument(
        "--threads", type=int, default=None, help="torch CPU threads (1 on a shared box)"
    )
    args = parser.parse_args()
    clock = RunClock()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.device == "cuda":
        args.batch = args.batch or 256
        gpu_throughput(args, clock)
    else:
        args.batch = args.batch or 8
        cpu_comparison(args, clock)


if __name__ == "__main__":
    main()
