"""`fsbench demo`: the main job end to end on built-in data, in seconds, offline."""

from __future__ import annotations

import time
from pathlib import Path

import typer

from facesynth_bench.atomic_files import write_json_atomic
from facesynth_bench.cli.console import console, progress_callback
from facesynth_bench.embedding_set import EmbeddingSet, save_embedding_set
from facesynth_bench.metrics.all_pairs import PairPlan
from facesynth_bench.metrics.separability import evaluate_separability
from facesynth_bench.report.provenance import provenance
from facesynth_bench.report.score_plots import plot_score_histograms
from facesynth_bench.report.separability_table import separability_table
from facesynth_bench.synthetic_embeddings import identity_clusters


def demo_command(
    out: Path = typer.Option(Path("demo-output"), "--out", help="Folder for the demo's files."),
    identities: int = typer.Option(300, "--identities", help="Identities in the built-in set."),
    images: int = typer.Option(10, "--images-per-identity", help="Images per identity."),
    seed: int = typer.Option(0, "--seed", help="Seed of the built-in set and of pair sampling."),
) -> None:
    """Score a built-in synthetic 512-d embedding set under the three pair protocols."""
    started = time.perf_counter()
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
    write_json_atomic(
        out / "demo.json", {"runs": runs, "provenance": provenance(time.perf_counter() - started)}
    )
    console.print(
        separability_table(
            runs, title=f"built-in set: {identities} identities x {images} images, 512-d"
        )
    )
    console.print(f"wrote {out}/demo.json, embeddings.npz and histogram-*.png")
