"""Benchmark: embedding throughput (images/s) on the CPU.

- iresnet50 (flip TTA, random weights: speed does not depend on their values) at batch
  64 over a folder of 112x112 JPEGs, decoding in DataLoader workers vs in the main
  process (the naive single-process loop), in the same run;
- decode + resize alone, workers vs in-process, for the 112x112 JPEGs and for 512x512
  JPEGs (photos / grid sheets, where decoding costs more than the transfer);
- the dlib embedder (fixed-box 5-point chips, 150x150) on the same images.

Writes benchmarks/results/embed.json. Usage:

    nice .venv/bin/python benchmarks/embed.py              # 256 images, 64 for dlib
    nice .venv/bin/python benchmarks/embed.py --quick      # 64 images, 16 for dlib
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from functools import partial
from pathlib import Path

import numpy as np
import torch

from facesynth_bench.data.layouts import open_layout
from facesynth_bench.data.writers import write_folder_dataset
from facesynth_bench.embed.base import resize_to
from facesynth_bench.embed.batching import iterate_batches
from facesynth_bench.embed.iresnet import build_iresnet
from facesynth_bench.embed.pipeline import embed_dataset
from facesynth_bench.embed.registry import create_embedder
from facesynth_bench.embed.torch_iresnet import IResNetEmbedder
from facesynth_bench.records import RunClock, write_record

RESULTS = Path(__file__).parent / "results" / "embed.json"


def smooth_faces(count: int, size: int, seed: int = 0) -> list[np.ndarray]:
    """Smooth random RGB images (JPEG-friendly, like photos rather than noise)."""
    rng = np.random.default_rng(seed)
    low = rng.integers(0, 256, (count, 8, 8, 3)).astype(np.uint8)
    return [resize_to(image, (size, size)) for image in low]


def interleaved(settings: dict, count: int, repeats: int) -> dict:
    """Median images/s of each setting; each round runs every setting once, so load drift
    on a shared machine hits all settings alike."""
    times: dict[str, list[float]] = {name: [] for name in settings}
    for _ in range(repeats):
        for name, fn in settings.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {
        name: {
            "images": count,
            "repeats": repeats,
            "median_seconds": round(float(np.median(t)), 3),
            "images_per_s": round(count / float(np.median(t)), 2),
        }
        for name, t in times.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--workers", type=int, default=max(1, (os.cpu_count() or 2) - 1))
    args = parser.parse_args()
    clock = RunClock()
    n_images, n_dlib, repeats = (64, 16, 1) if args.quick else (128, 64, 3)
    batch = 64
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "ds"
        faces = smooth_faces(n_images, 112)
        write_folder_dataset(
            root,
            {f"{i:04d}": faces[i * 8 : i * 8 + 8] for i in range(n_images // 8)},
            suffix=".jpg",
        )
        layout = open_layout(root)
        refs, _ = layout.scan()
        prepare = partial(resize_to, size=(112, 112))

        def decode_only(workers: int) -> None:
            for _ in iterate_batches(layout, refs, prepare, batch, workers):
                pass

        torch.manual_seed(0)
        embedder = IResNetEmbedder(build_iresnet("r50"), "r50", None, device="cpu")
        embedder.embed(np.zeros((2, 112, 112, 3), np.uint8))  # warm-up

        def run(workers: int) -> None:
            embed_dataset(root, embedder, batch_size=batch, num_workers=workers)

        results = {
            "decode_only": interleaved(
                {
                    "single_process": partial(decode_only, 0),
                    f"workers_{args.workers}": partial(decode_only, args.workers),
                },
                n_images,
                repeats,
            ),
            "iresnet50_flip_batch64": interleaved(
                {
                    "single_process": partial(run, 0),
                    f"workers_{args.workers}": partial(run, args.workers),
                },
                n_images,
                repeats,
            ),
        }
        big_root = Path(tmp) / "big"
        n_big = n_images * 2
        big = smooth_faces(n_big, 512)
        write_folder_dataset(
            big_root, {f"{i:04d}": big[i * 8 : i * 8 + 8] for i in range(n_big // 8)}, suffix=".jpg"
        )
        big_layout = open_layout(big_root)
        big_refs, _ = big_layout.scan()

        def decode_big(workers: int) -> None:
            for _ in iterate_batches(big_layout, big_refs, prepare, batch, workers):
                pass

        results["decode_only_512px"] = interleaved(
            {f"workers_{w}" if w else "single_process": partial(decode_big, w) for w in (0, 1, 2)},
            n_big,
            repeats,
        )
        dlib_root = Path(tmp) / "dlib"
        write_folder_dataset(
            dlib_root,
            {f"{i:04d}": smooth_faces(8, 150, i) for i in range(n_dlib // 8)},
            suffix=".jpg",
        )
        dlib = create_embedder("dlib", None, device="cpu")
        results["dlib_fixed_box_batch64"] = interleaved(
            {
                f"workers_{args.workers}": partial(
                    embed_dataset, dlib_root, dlib, batch_size=batch, num_workers=args.workers
                )
            },
            n_dlib,
            repeats,
        )
    ires = results["iresnet50_flip_batch64"]
    ires["speedup_workers_vs_single"] = round(
        ires[f"workers_{args.workers}"]["images_per_s"] / ires["single_process"]["images_per_s"], 3
    )
    dec = results["decode_only"]
    dec["speedup_workers_vs_single"] = round(
        dec[f"workers_{args.workers}"]["images_per_s"] / dec["single_process"]["images_per_s"], 3
    )
    body = {
        "benchmark": "embed",
        "cpus": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "workers": args.workers,
        "results": results,
    }
    record = write_record(RESULTS, "benchmark", body, clock, "cpu")
    print(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
