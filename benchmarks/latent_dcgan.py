"""Benchmark the embedded default's parts on this machine: DCGAN decode, dlib embed, eps model.

- decode: images/s of `decode_latents` in batches of 256 vs the naive one image per call;
- embed: (z -> image -> uint8 150x150 -> dlib) pairs/s, the cost of building training sets;
- eps: denoiser evaluations/s (rows/s) of both default architectures (MLP, transformer),
  random weights, at the batch sizes sampling uses (B and 2B for guidance), with the
  context bound once; from it, the model-side ceiling of DDIM-50 and DDPM-1000 images/s.
Writes benchmarks/results/latent_dcgan.json. Usage:

    nice .venv/bin/python benchmarks/latent_dcgan.py [--quick] [--threads N]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from facesynth_bench.backends.latent_dcgan.architectures import create_denoiser
from facesynth_bench.backends.latent_dcgan.dcgan import decode_latents, load_dcgan_generator
from facesynth_bench.backends.latent_dcgan.denoiser import LatentDenoiserConfig
from facesynth_bench.backends.latent_dcgan.training_data import embed_latents
from facesynth_bench.backends.latent_dcgan.transformer_denoiser import TransformerDenoiserConfig
from facesynth_bench.embed.dlib_resnet import DlibEmbedder
from facesynth_bench.records import RunClock, write_record

RESULTS = Path(__file__).parent / "results" / "latent_dcgan.json"


def best_seconds(run, repeats: int) -> float:
    """Fastest of `repeats` timed calls of `run()` after one warm-up call."""
    run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


@torch.no_grad()
def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="smaller sizes, seconds")
    threads = torch.get_num_threads()
    parser.add_argument("--threads", type=int, default=threads, help="torch threads")
    args = parser.parse_args()
    clock = RunClock()
    torch.set_num_threads(args.threads)
    n_decode, n_naive, n_embed, repeats = (128, 16, 16, 2) if args.quick else (1024, 64, 64, 3)
    rng = torch.Generator().manual_seed(0)
    generator = load_dcgan_generator()
    z = torch.randn(n_decode, 100, generator=rng)

    batched = best_seconds(lambda: decode_latents(generator, z), repeats)
    naive = best_seconds(
        lambda: [decode_latents(generator, z[i : i + 1]) for i in range(n_naive)], repeats
    )
    decode = {
        "batched_images_per_s": n_decode / batched,
        "naive_images_per_s": n_naive / naive,
        "speedup": (n_decode / batched) / (n_naive / naive),
    }

    embedder = DlibEmbedder()
    embed_s = best_seconds(lambda: embed_latents(generator, embedder, z[:n_embed]), 1)
    embed = {"pairs_per_s": n_embed / embed_s, "ms_per_pair": 1000 * embed_s / n_embed}

    eps = {}
    ceilings = {}
    for name, config in (
        ("mlp", LatentDenoiserConfig()),
        ("transformer", TransformerDenoiserConfig()),
    ):
        model = create_denoiser(config).eval()
        calls = {}
        for rows in (50, 500, 1000):
            x = torch.randn(rows, 100, generator=rng)
            t = torch.randint(0, 1000, (rows,), generator=rng)
            bound = model.bind(torch.randn(rows, 128, generator=rng))
            seconds = best_seconds(lambda x=x, t=t, bound=bound: bound(x, t), repeats)
            calls[f"batch_{rows}"] = {"ms_per_call": 1000 * seconds, "rows_per_s": rows / seconds}
        eps[name] = calls
        guided = calls["batch_1000"]["rows_per_s"] / 2
        unguided = calls["batch_500"]["rows_per_s"]
        ceilings[name] = {
            "ddim50_guided_images_per_s": guided / 50,
            "ddpm1000_guided_images_per_s": guided / 1000,
            "ddim50_unguided_images_per_s": unguided / 50,
            "ddpm1000_unguided_images_per_s": unguided / 1000,
        }
    result = {
        "benchmark": "latent_dcgan",
        "threads": torch.get_num_threads(),
        "quick": args.quick,
        "decode": decode,
        "embed": embed,
        "eps": eps,
        "sampling_model_ceiling": ceilings,
    }
    record = write_record(RESULTS, "benchmark", result, clock, "cpu")
    print(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
