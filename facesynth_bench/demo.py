"""The demo: the main job end to end on the embedded default, offline, in minutes.

Generate a small dataset with each tiny preset (IDiff-Face, NegFaceDiff and AdaptDiff
sampling over the same shipped model), embed it with dlib, score its separability
exhaustively. `builtin_embedding_runs` scores a built-in synthetic embedding set under the
three pair protocols instead (seconds, no generation).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from facesynth_bench.metrics.separability_metrics import SeparabilityMetrics

Progress = Callable[[int, int], None]
ProgressFactory = Callable[[str], AbstractContextManager[Progress]]
"""progress_factory(description) -> a context manager yielding a progress(done, total)."""

TINY_PRESETS = ("tiny-idiff-face-ddim50", "tiny-negfacediff-ddim50", "tiny-adaptdiff-ddim50")


@dataclass(frozen=True)
class DemoRun:
    """One column of the demo: the preset that generated the set (if any) and its metrics."""

    preset: str | None
    metrics: SeparabilityMetrics

    def to_dict(self) -> dict[str, Any]:
        """The run as demo.json records it: the preset, then every metric."""
        return {"preset": self.preset, **self.metrics.to_dict()}


def generated_runs(
    out: Path,
    identities: int,
    images: int,
    seed: int,
    device: str,
    progress_factory: ProgressFactory,
) -> dict[str, DemoRun]:
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
        runs[method] = DemoRun(name, result.summary)
        plot_score_histograms(result.curve, result.summary, out / f"histogram-{method}.png", name)
    return runs


def builtin_embedding_runs(
    out: Path, identities: int, images: int, seed: int, progress_factory: ProgressFactory
) -> dict[str, DemoRun]:
    """Score the built-in 512-d identity clusters under each pair mode of the literature."""
    from facesynth_bench.embedding_set import EmbeddingSet, save_embedding_set
    from facesynth_bench.metrics.pair_plan import PairPlan
    from facesynth_bench.metrics.separability import evaluate_separability
    from facesynth_bench.report.score_plots import plot_score_histograms
    from facesynth_bench.synthetic_embeddings import identity_clusters

    embeddings, labels = identity_clusters(identities, images, seed=seed)
    save_embedding_set(out / "embeddings.npz", EmbeddingSet(embeddings, labels))
    runs = {}
    for mode in ("exhaustive", "sampled-equal", "sampled-fraction"):
        with progress_factory(f"{mode} pairs") as progress:
            result = evaluate_separability(
                embeddings, labels, plan=PairPlan(mode, seed=seed), progress=progress
            )
        runs[mode] = DemoRun(None, result.summary)
        plot_score_histograms(result.curve, result.summary, out / f"histogram-{mode}.png", mode)
    return runs
