"""The demo: the main job end to end on the embedded default, offline, in minutes.

Generate a small dataset with each tiny preset (IDiff-Face, NegFaceDiff and AdaptDiff
sampling over the same shipped model), embed it with dlib, score its separability
exhaustively. `builtin_embedding_runs` scores a built-in synthetic embedding set under the
three pair protocols instead (seconds, no generation).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

Progress = Callable[[int, int], None]
ProgressFactory = Callable[[str], AbstractContextManager[Progress]]
"""progress_factory(description) -> a context manager yielding a progress(done, total)."""

TINY_PRESETS = ("tiny-idiff-face-ddim50", "tiny-negfacediff-ddim50", "tiny-adaptdiff-ddim50")
DEMO_BATCH_SIZE = 100


def generated_runs(
    out: Path,
    identities: int,
    images: int,
    seed: int,
    device: str,
    progress_factory: ProgressFactory,
) -> dict[str, dict[str, Any]]:
    """Generate, embed (dlib, cached) and score each tiny preset; histograms go into `out`."""
    from facesynth_bench.embed.cache import default_cache_dir
    from facesynth_bench.embed.pipeline import embed_dataset
    from facesynth_bench.generation.runner import GenerationRequest, generate
    from facesynth_bench.metrics.separability import evaluate_separability
    from facesynth_bench.report.score_plots import plot_score_histograms
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
            batch_size=DEMO_BATCH_SIZE,
            device=device,
            resume=(folder / "dataset.json").exists(),
        )
        with progress_factory(f"{name}: sampling") as progress:
            generate(request, progress)
        with progress_factory(f"{name}: embedding with dlib") as progress:
            embedded = embed_dataset(
                folder, "dlib", device=device, cache_dir=default_cache_dir(), progress=progress
            )
        result = evaluate_separability(embedded.embeddings, embedded.labels, source=str(folder))
        method = name.removeprefix("tiny-").removesuffix("-ddim50")  # the sampling method
        runs[method] = {"preset": name, **result.metrics}
        plot_score_histograms(result.curve, result.metrics, out / f"histogram-{method}.png", name)
    return runs


def builtin_embedding_runs(
    out: Path, identities: int, images: int, seed: int, progress_factory: ProgressFactory
) -> dict[str, dict[str, Any]]:
    """Score the built-in 512-d identity clusters under each pair mode of the literature."""
    from facesynth_bench.embedding_set import EmbeddingSet, save_embedding_set
    from facesynth_bench.metrics.all_pairs import PairPlan
    from facesynth_bench.metrics.separability import evaluate_separability
    from facesynth_bench.report.score_plots import plot_score_histograms
    from facesynth_bench.synthetic_embeddings import identity_clusters

    embeddings, labels = identity_clusters(identities, images, seed=seed)
    save_embedding_set(out / "embeddings.npz", EmbeddingSet(embeddings, labels))
    runs = {}
    for mode in ("exhaustive", "sampled-equal", "sampled-fraction"):
        with progress_factory(f"{mode} pairs") as progress:
            result = evaluate_separability(
                embeddings, labels, plan=PairPlan(mode, 0.05, seed), progress=progress
            )
        runs[mode] = result.metrics
        plot_score_histograms(result.curve, result.metrics, out / f"histogram-{mode}.png", mode)
    return runs
