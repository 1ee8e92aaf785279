"""Benchmark tiny generation end to end on CPU: `fsbench generate` with the tiny presets.

Times the library call behind `fsbench generate` (contexts given, so dlib is not in the
loop; sampling with guidance, DCGAN decode, PNG writes, manifest) for the DDIM-50 and
DDPM-1000 variants of tiny-adaptdiff, batched (`--batch-size` images per sampler run)
against the naive one image per run; and, separately, two-stage contexts per identity
(decode + dlib). Uses the shipped denoiser when present, else a randomly initialised one
of the same config (same cost). Writes benchmarks/results/tiny_generation.json. Usage:

    nice .venv/bin/python benchmarks/tiny_generation.py [--quick] [--threads N]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from facesynth_bench.backends.latent_dcgan.architectures import (
    create_denoiser,
    load_denoiser,
    save_denoiser,
)
from facesynth_bench.backends.latent_dcgan.contexts import two_stage_contexts
from facesynth_bench.backends.latent_dcgan.dcgan import load_dcgan_generator
from facesynth_bench.backends.latent_dcgan.denoiser import LatentDenoiserConfig
from facesynth_bench.backends.latent_dcgan.model import shipped_denoiser_path
from facesynth_bench.embed.dlib_resnet import DlibEmbedder
from facesynth_bench.generation.runner import GenerationRequest, generate
from facesynth_bench.records import RunClock, write_record
from facesynth_bench.specs import load_preset

RESULTS = Path(__file__).parent / "results" / "tiny_generation.json"


def denoiser_file(folder: Path) -> tuple[Path, str]:
    """The shipped denoiser, or a random one of the training command's default size."""
    shipped = shipped_denoiser_path()
    if shipped.is_file():
        return shipped, "shipped"
    path = folder / "random.safetensors"
    model = create_denoiser(LatentDenoiserConfig(width=320), seed=0)
    model.set_context_statistics(torch.randn(64, 128))
    save_denoiser(model, path, {"schedule": {"name": "linear", "num_timesteps": 1000}})
    return path, "random weights, width 320"


def images_per_second(
    preset: str, checkpoint: Path, contexts: Path, folder: Path, images: int, batch: int
) -> float:
    """Images/s of one fresh `generate` run of `images` images, `batch` per sampler run."""
    request = GenerationRequest(
        preset=load_preset(preset),
        identities=images,
        images_per_identity=1,
        out=folder / f"{preset}-{batch}-{time.perf_counter_ns()}",
        batch_size=batch,
        device="cpu",
        checkpoint=checkpoint,
        contexts=contexts,
    )
    start = time.perf_counter()
    generate(request)
    return images / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="smaller sizes, seconds")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    clock = RunClock()
    torch.set_num_threads(args.threads)
    # preset -> (images batched in one sampler run, images run one by one)
    sizes = {"tiny-adaptdiff-ddim50": (100, 10), "tiny-adaptdiff": (20, 2)}
    if args.quick:
        sizes = {"tiny-adaptdiff-ddim50": (50, 5), "tiny-adaptdiff": (10, 2)}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        checkpoint, weights = denoiser_file(folder)
        contexts = folder / "contexts.npy"
        rng = np.random.default_rng(0)
        np.save(contexts, rng.normal(size=(100, 128)).astype(np.float32))
        sampling = {}
        for preset in ("tiny-adaptdiff-ddim50", "tiny-adaptdiff"):
            batched_n, naive_n = sizes[preset]
            batched = images_per_second(preset, checkpoint, contexts, folder, batched_n, batched_n)
            naive = images_per_second(preset, checkpoint, contexts, folder, naive_n, 1)
            sampling[preset] = {
                "batched_images_per_s": batched,
                "batch_size": batched_n,
                "naive_images_per_s": naive,
                "speedup": batched / naive,
            }
        identities = 10 if args.quick else 20
        generator, embedder = load_dcgan_generator(), DlibEmbedder()
        start = time.perf_counter()
        two_stage_contexts(generator, embedder, identities, seed=0)
        context_ms = 1000 * (time.perf_counter() - start) / identities
        params = sum(p.numel() for p in load_denoiser(checkpoint)[0].parameters())
    result = {
        "benchmark": "tiny_generation",
        "threads": torch.get_num_threads(),
        "quick": args.quick,
        "denoiser": {"weights": weights, "parameters": params},
        "sampling": sampling,
        "two_stage_context_ms_per_identity": context_ms,
    }
    record = write_record(RESULTS, "benchmark", result, clock, "cpu")
    print(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
