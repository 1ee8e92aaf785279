"""A separability run: merge a protocol with explicit choices, embed if needed, score, record.

Used by `fsbench evaluate separability`. Explicit choices (the command line's) override the
protocol's, which override the built-in defaults; the resolved choices and the protocol are
recorded in the result.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from facesynth_bench.embedding_set import EmbeddingSet, load_embedding_set
from facesynth_bench.errors import FsbenchError
from facesynth_bench.metrics.pair_plan import PairPlan
from facesynth_bench.protocols.separability import SeparabilityProtocol

T = TypeVar("T")
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class SeparabilityChoices:
    """Choices of a run; None leaves each to the protocol, then to the default."""

    max_identities: int | None = None
    max_images: int | None = None
    order: str | None = None
    flip: bool | None = None
    pairs: str | None = None
    fraction: float | None = None
    convention: str | None = None
    seed: int = 0


@dataclass(frozen=True)
class ResolvedChoices:
    """The choices a run used, after merging with its protocol and the defaults."""

    max_identities: int | None
    max_images: int | None
    order: str
    flip: bool | None
    plan: PairPlan
    convention: str


def _choose(given: T | None, from_protocol: T | None, default: T) -> T:
    if given is not None:
        return given
    return from_protocol if from_protocol is not None else default


def resolve_choices(
    choices: SeparabilityChoices, protocol: SeparabilityProtocol | None
) -> ResolvedChoices:
    """Explicit choice, else the protocol's, else the default (exhaustive pairs, strict).

    The protocol's fraction applies only to the protocol's own pair mode.
    """
    spec = protocol
    pairs = _choose(choices.pairs, spec and spec.pairs, "exhaustive")
    fraction = choices.fraction
    if fraction is None and spec is not None and spec.pairs == pairs:
        fraction = spec.fraction
    return ResolvedChoices(
        max_identities=_choose(choices.max_identities, spec and spec.max_identities, None),
        max_images=_choose(choices.max_images, spec and spec.max_images, None),
        order=_choose(choices.order, spec and spec.order, "lexicographic"),
        flip=_choose(choices.flip, spec and spec.flip, None),
        plan=PairPlan(pairs, fraction, choices.seed),
        convention=_choose(choices.convention, spec and spec.convention, "strict"),
    )


@dataclass(frozen=True)
class DatasetEmbedding:
    """How to embed a dataset folder before scoring it."""

    dataset: Path
    embedder: str
    checkpoint: Path | None = None
    batch_size: int = 64
    skip_bad: bool = False
    device: str = "auto"
    cache_dir: Path | None = None


def embed_for_evaluation(
    source: DatasetEmbedding, resolved: ResolvedChoices, progress: Progress | None = None
) -> EmbeddingSet:
    """Embed the dataset's selected subset; the EmbeddingSet's meta says how (and its content)."""
    from facesynth_bench.embed.pipeline import embed_dataset

    options = {} if resolved.flip is None else {"flip": resolved.flip}
    result = embed_dataset(
        source.dataset,
        source.embedder,
        checkpoint=source.checkpoint,
        batch_size=source.batch_size,
        max_identities=resolved.max_identities,
        max_images=resolved.max_images,
        order=resolved.order,
        skip_bad=source.skip_bad,
        device=source.device,
        cache_dir=source.cache_dir,
        progress=progress,
        embedder_options=options,
    )
    return EmbeddingSet(result.embeddings, result.labels, result.paths, result.metadata)


def load_for_evaluation(path: Path, resolved: ResolvedChoices) -> EmbeddingSet:
    """Read an embedding file, warning that subset, order and flip choices do not apply."""
    subset = resolved.max_identities or resolved.max_images
    if subset or resolved.order != "lexicographic" or resolved.flip is not None:
        warnings.warn(
            f"{path}: an embeddings file is scored as it is; subset, order and flip choices "
            "apply when a dataset is embedded",
            stacklevel=2,
        )
    return load_embedding_set(path)


def separability_body(
    metrics: dict[str, Any],
    resolved: ResolvedChoices,
    protocol: SeparabilityProtocol | None,
    inputs: dict[str, Any],
    warning_texts: list[str],
) -> dict[str, Any]:
    """The body of a separability record: metrics, choices, protocol, inputs, warnings."""
    if "choices" in metrics or "input" in metrics:
        raise FsbenchError("separability metrics use a reserved key (choices or input)")
    return {
        **metrics,
        "choices": asdict(resolved),
        "protocol": protocol.to_dict() if protocol is not None else None,
        "input": inputs,
        "warnings": warning_texts,
    }


def identity_sizes(labels: np.ndarray) -> list[int]:
    """Images per identity of a label array (the counts a protocol check reads)."""
    return np.unique(np.asarray(labels), return_counts=True)[1].tolist()
