"""Identity separability of an embedding set: the AdaptDiff paper's Table 3 and more.

EER, FMR100 and FMR1000 (FNMR at FMR <= 1% / 0.1% in the `strict` convention), genuine and
impostor mean and population std, FDR, d', AUC, over the pairs a PairPlan selects.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import torch

from facesynth_bench.errors import FsbenchError
from facesynth_bench.metrics.all_pairs import PairScores, group_by_identity, score_pairs
from facesynth_bench.metrics.conventions import CONVENTIONS
from facesynth_bench.metrics.error_curve import ErrorCurve
from facesynth_bench.metrics.pair_plan import PairPlan
from facesynth_bench.metrics.score_sinks import DEFAULT_BINS, check_bins
from facesynth_bench.metrics.separability_metrics import SeparabilityMetrics
from facesynth_bench.metrics.verification import verification_metrics
from facesynth_bench.unit_rows import unit_rows


class SingletonIdentityWarning(UserWarning):
    """Some identities have one sample, so they contribute no genuine pair."""


@dataclass
class Separability:
    """The scored pairs and the metrics read from them, ready for JSON, tables and plots."""

    summary: SeparabilityMetrics
    curve: ErrorCurve
    scores: PairScores

    @cached_property
    def metrics(self) -> dict[str, Any]:
        """`summary` as a JSON-ready dict (one dict per result: callers may add keys)."""
        return self.summary.to_dict()


def prepare_embeddings(
    embeddings: np.ndarray, normalize: bool, device: torch.device, source: str
) -> torch.Tensor:
    """Move embeddings to `device` as float32, L2-normalising rows unless told not to.

    Norms are taken without overflow or underflow (`unit_rows`): any non-zero row has a
    direction, however large or small its values; rows of exact zeros are refused when
    normalising. Raw rows whose dot products would overflow float32 are refused.
    """
    unit, norms = unit_rows(embeddings)
    zero = np.flatnonzero(norms == 0).tolist()
    if zero:
        message = (
            f"{source}: {len(zero)} embedding row(s) are all zeros "
            f"(first rows: {', '.join(map(str, zero[:5]))})"
        )
        if normalize:
            raise FsbenchError(message + "; a zero vector has no direction to normalise")
        warnings.warn(message + "; their scores are 0 with everything", stacklevel=2)
    if normalize:
        return torch.from_numpy(unit).to(device)
    largest = float(norms.max())
    if largest * largest > np.finfo(np.float32).max:
        raise FsbenchError(
            f"{source}: the largest embedding row has norm {largest:.3g}, so raw dot "
            "products overflow float32; normalise the rows or rescale them"
        )
    return torch.as_tensor(np.ascontiguousarray(embeddings), dtype=torch.float32).to(device)


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
    check_bins(bins)
    order, codes, identities = group_by_identity(np.asarray(labels))
    if len(identities) < plan.min_identities:
        needs = (
            "impostor pairs need at least two"
            if plan.min_identities == 2
            else f"the {plan.describe()} pair mode draws floor(F x (K - 1)) partner identities "
            f"per identity and needs at least {plan.min_identities} for an impostor pair"
        )
        found = f"{len(identities)} identit{'y' if len(identities) == 1 else 'ies'} found"
        raise FsbenchError(f"{source}: {found}; {needs}")
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
    metrics = verification_metrics(
        curve, scores.genuine_moments, scores.impostor_moments, convention
    )
    summary = SeparabilityMetrics.extending(
        metrics,
        n_identities=len(identities),
        n_images=len(codes),
        n_singleton_identities=singletons,
        embedding_dim=int(values.shape[1]),
        normalized=normalize,
        pairs=plan.mode,
        pairs_fraction=plan.fraction,
        seed=plan.seed,
        engine=scores.engine,
        histogram_bins=bins if scores.engine == "histogram" else None,
    )
    return Separability(summary, curve, scores)
