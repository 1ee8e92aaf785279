"""Identity separability of an embedding set: the AdaptDiff paper's Table 3 and more.

EER, FMR100 and FMR1000 (FNMR at FMR <= 1% / 0.1% in the `strict` convention), genuine and
impostor mean and population std, FDR, d', AUC, over the pairs a PairPlan selects.
"""

from __future__ import annotations

import math
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
from facesynth_bench.metrics.conventions import CONVENTIONS, OperatingPoint
from facesynth_bench.metrics.distribution import decidability, fisher_discriminant_ratio
from facesynth_bench.metrics.error_curve import ErrorCurve
from facesynth_bench.metrics.roc import roc_auc, roc_table
from facesynth_bench.metrics.score_sinks import DEFAULT_BINS

FMR_TARGETS = {"fmr100": 1e-2, "fmr1000": 1e-3}
EXTRA_FMR_TARGETS = (1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6)


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
    rules = CONVENTIONS.get(convention)
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
    eer = rules.eer(curve)
    points: dict[str, OperatingPoint] = {
        name: rules.fnmr_at_fmr(curve, target) for name, target in FMR_TARGETS.items()
    }
    g, i = scores.genuine_moments, scores.impostor_moments
    metrics: dict[str, Any] = {
        "eer": eer.eer,
        "eer_threshold": eer.point.threshold,
        **{name: point.fnmr for name, point in points.items()},
        **{f"{name}_threshold": point.threshold for name, point in points.items()},
        "genuine_mean": g.mean,
        "genuine_std": g.std,
        "impostor_mean": i.mean,
        "impostor_std": i.std,
        "fdr": fisher_discriminant_ratio(g, i),
        "dprime": decidability(g, i),
        "auc": roc_auc(curve),
        "fnmr_at_fmr": {
            f"{target:g}": rules.fnmr_at_fmr(curve, target).fnmr
            for target in EXTRA_FMR_TARGETS
            if target * curve.n_impostor >= 1
        },
        "n_genuine": scores.n_genuine,
        "n_impostor": scores.n_impostor,
        "n_identities": len(identities),
        "n_images": len(codes),
        "n_singleton_identities": singletons,
        "embedding_dim": int(values.shape[1]),
        "normalized": normalize,
        "convention": convention,
        "pairs": plan.mode,
        "pairs_fraction": plan.fraction if plan.mode == "sampled-fraction" else None,
        "seed": plan.seed,
        "engine": scores.engine,
        "histogram_bins": bins if scores.engine == "histogram" else None,
        "histogram_bin_width": curve.resolution or None,
        "rate_error_bound": max([eer.point.bound] + [p.bound for p in points.values()]),
        "roc": roc_table(curve),
    }
    return Separability(_finite_or_none(metrics), curve, scores)


def _finite_or_none(obj: Any) -> Any:
    """Replace non-finite floats by None so the result is strict JSON."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {key: _finite_or_none(value) for key, value in obj.items()}
    if isinstance(obj, list):
        return [_finite_or_none(value) for value in obj]
    return obj
