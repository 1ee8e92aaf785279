"""`fsbench demo`: the main job end to end on the embedded default, offline, in minutes.

Generate a small dataset with each tiny preset (IDiff-Face, NegFaceDiff and AdaptDiff
sampling over the same shipped model), embed it with dlib, score its separability
exhaustively, and print the comparison. `--builtin-embeddings` scores a built-in synthetic
embedding set under the three pair protocols instead (seconds, no generation).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import typer

from facesynth_bench.atomic_files import write_json_atomic
from facesynth_bench.cli.console import console, progress_callback
from facesynth_bench.metrics.all_pairs import PairPlan
from facesynth_bench.metrics.separability import evaluate_separability
from facesynth_bench.report.provenance import provenance
from facesynth_bench.report.score_plots import plot_score_histograms
from facesynth_bench.report.separability_table import separability_table

TINY_PRESETS = ("tiny-idiff-face-ddim50", "tiny-negfacediff-ddim50", "tiny-adaptdiff-ddim50")


def demo_command(
    out: Path = typer.Option(
        Path("demo-output"),
        "--out",
        help="Folder for the demo's files; a rerun continues it, one made with other "
        "weights, sizes or seed is refused.",
    ),
    identities: int = typer.Option(50, "--identities", help="Identities per preset."),
    images: int = typer.Option(10, "--images-per-identity", help="Images per identity."),
    seed: int = typer.Option(1, "--seed", help="Seed of contexts, noise and pair sampling."),
    device: str = typer.Option("auto", "--device", help="auto, cpu or cuda."),
    builtin_embeddings: bool = typer.Option(
        False,
        "--builtin-embeddings",
        help="Score a built-in synthetic 512-d embedding set instead (seconds).",
    ),
) -> None:
    """Generate with each tiny preset, embed with dlib, and compare their separability."""
    started = time.perf_counter()
    if builtin_embeddings:
        runs, title = _builtin_runs(out, identities, images, seed), "built-in 512-d set"
    else:
        runs, title = _generated_runs(out, identities, images, seed, device), "embedded default"
    write_json_atomic(
        out / "demo.json", {"runs": runs, "provenance": provenance(time.perf_counter() - started)}
    )
    console.print(
        separability_table(runs, title=f"{title}: {identities} identities x {images} images")
    )
    console.print(f"wrote {out}/demo.json and histogram-*.png")


def _generated_runs(
    out: Path, identities: int, images: int, seed: int, device: str
) -> dict[str, dict[str, Any]]:
    from facesynth_bench.cli.embed import run_embedding
    from facesynth_bench.generation.runner import GenerationRequest, generate
    from facesynth_bench.specs import load_preset

    runs = {}
    for name in TINY_PRESETS:
        folder = out / name
        request = GenerationRequest(
            load_preset(name),
            identities,
            images,
            folder,
            seed=seed,
            batch_size=100,
            device=device,
            resume=(folder / "dataset.json").exists(),
        )
        with progress_callback(f"{name}: sampling") as progress:
            generate(request, progress)
        embedded = run_embedding(folder, "dlib", use_cache=True, cache_dir=None, device=device)
        result = evaluate_separability(embedded.embeddings, embedded.labels, source=str(folder))
        method = name.removeprefix("tiny-").removesuffix("-ddim50")  # the sampling method
        runs[method] = {"preset": name, **result.metrics}
        plot_score_histograms(result.curve, result.metrics, out / f"histogram-{method}.png", name)
    return runs


def _builtin_runs(out: Path, identities: int, images: int, seed: int) -> dict[str, dict[str, Any]]:
    from facesynth_bench.embedding_set import EmbeddingSet, save_embedding_set
    from facesynth_bench.synthetic_embeddings import identity_clusters

    embeddings, labels = identity_clusters(identities, images, seed=seed)
    save_embedding_set(out / "embeddings.npz", EmbeddingSet(embeddings, labels))
    runs = {}
    for mode in ("exhaustive", "sampled-equal", "sampled-fraction"):
        with progress_callback(f"{mode} pairs") as progress:
            result = evaluate_separability(
                embeddings, labels, plan=PairPlan(mode, 0.05, seed), progress=progress
            )
        runs[mode] = result.metrics
        plot_score_histograms(result.curve, result.metrics, out / f"histogram-{mode}.png", mode)
    return runs
