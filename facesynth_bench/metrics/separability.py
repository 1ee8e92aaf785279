"""Identity separability of an embedding set: the AdaptDiff paper's Table 3 and more.

EER, FMR100 and FMR1000 (FNMR at FMR <= 1% / 0.1% in the `strict` convention), genuine and
impostor mean and population std, FDR, d', AUC, over the pairs a PairPlan selects.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from facesynth_bench.errors import FsbenchError
from facesynth_bench.metrics.all_pairs import (
    PairPlan,
    PairScores,
    group_by_identity,
    score_pairs,
)
from facesynth_bench.metrics.conventions import CONVENTIONS
from facesynth_bench.metrics.error_curve import ErrorCurve
from facesynth_bench.metrics.score_sinks import DEFAULT_BINS
from facesynth_bench.metrics.verification import finite_or_none, verification_metrics


class SingletonIdentityWarning(UserWarning):
    """Some identities have one sample, so they contribute no genuine pair."""


@dataclass
class Separability:
    """The scored pairs and the metrics read from them, ready for JSON, tables and plots."""

    metrics: dict[str, Any]
    curve: ErrorCurve
    scores: PairScores


def prepare_embeddings(
    embeddings: np.ndarray, normalize: bool, device: torch.device, source: str
) -> torch.Tensor:
    """Move embeddings to `device` as float32, L2-normalising rows unless told not to."""
    values = torch.as_tensor(np.ascontiguousarray(embeddings), dtype=torch.float32).to(device)
    norms = values.norm(dim=1)
    zero = torch.nonzero(norms == 0).flatten().tolist()
    if zero:
        message = (
            f"{source}: {len(zero)} embedding row(s) are all zeros "
            f"(first rows: {', '.join(map(str, zero[:5]))})"
        )
        if normalize:
            raise FsbenchError(message + "; a zero vector has no direction to normalise")
        warnings.warn(message + "; their scores are 0 with everything", stacklevel=2)
    if normalize:
        values = values / norms[:, None]
    return values


def evaluate_separability(
    embeddings: np.ndarray,
    labels: np.ndarray,
    *,
    plan: PairPlan = PairPlan(),
    convention: str = "strict",
    engine: str = "auto",
    normalize: bool = True,
    device: torch.device | str = "cpu",
    bins: int = DEFAULT_BINS,
    source: str = "embeddings",
    progress: Callable[[int, int], None] | None = None,
) -> Separability:
    """Score all pairs of `embeddings` by identity `labels` and compute separability metrics."""
    CONVENTIONS.get(convention)  # fail on an unknown name before any work
    order, codes, identities = group_by_identity(np.asarray(labels))
    if len(identities) < 2:
        raise FsbenchError(
            f"{source}: {len(identities)} identity found; impostor pairs need at least two"
        )
    sizes = np.bincount(codes)
    singletons = int((sizes == 1).sum())
    if singletons == len(identities):
        raise FsbenchError(f"{source}: every identity has a single sample: no genuine pairs")
    if singletons:
        warnings.warn(
            f"{source}: {singletons} of {len(identities)} identities have a single sample "
            "and contribute no genuine pair",
            SingletonIdentityWarning,
            stacklevel=2,
        )
    values = prepare_embeddings(embeddings[order], normalize, torch.device(device), source)
    scores = score_pairs(values, codes, plan, engine=engine, bins=bins, progress=progress)
    curve = scores.curve()
    metrics = {
        **verification_metrics(curve, scores.genuine_moments, scores.impostor_moments, convention),
        "n_identities": len(identities),
        "n_images": len(codes),
        "n_singleton_identities": singletons,
        "embedding_dim": int(values.shape[1]),
        "normalized": normalize,
        "pairs": plan.mode,
        "pairs_fraction": plan.fraction if plan.mode == "sampled-fraction" else None,
        "seed": plan.seed,
        "engine": scores.engine,
        "histogram_bins": bins if scores.engine == "histogram" else None,
    }
    return Separability(finite_or_none(metrics), curve, scores)
