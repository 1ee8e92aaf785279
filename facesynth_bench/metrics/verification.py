"""Verification metrics of genuine/impostor score distributions, in a named convention.

Shared by every evaluation that ends in two score distributions: embedding separability,
score files made by other tools, and (later) benchmark protocols.
"""

from __future__ import annotations

import math
from typing import Any

from facesynth_bench.metrics.conventions import CONVENTIONS
from facesynth_bench.metrics.distribution import (
    ScoreMoments,
    decidability,
    fisher_discriminant_ratio,
)
from facesynth_bench.metrics.error_curve import ErrorCurve
from facesynth_bench.metrics.roc import roc_auc, roc_table

FMR_TARGETS = {"fmr100": 1e-2, "fmr1000": 1e-3}
EXTRA_FMR_TARGETS = (1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6)


def verification_metrics(
    curve: ErrorCurve, genuine: ScoreMoments, impostor: ScoreMoments, convention: str
) -> dict[str, Any]:
    """EER, FMR100, FMR1000 with thresholds, distribution statistics, AUC and a ROC table.

    FNMR at further FMR targets is listed only where the impostor count can resolve them.
    """
    rules = CONVENTIONS.get(convention)
    eer = rules.eer(curve)
    points = {name: rules.fnmr_at_fmr(curve, target) for name, target in FMR_TARGETS.items()}
    return {
        "eer": eer.eer,
        "eer_threshold": eer.point.threshold,
        **{name: point.fnmr for name, point in points.items()},
        **{f"{name}_threshold": point.threshold for name, point in points.items()},
        "genuine_mean": genuine.mean,
        "genuine_std": genuine.std,
        "impostor_mean": impostor.mean,
        "impostor_std": impostor.std,
        "fdr": fisher_discriminant_ratio(genuine, impostor),
        "dprime": decidability(genuine, impostor),
        "auc": roc_auc(curve),
        "fnmr_at_fmr": {
            f"{target:g}": rules.fnmr_at_fmr(curve, target).fnmr
            for target in EXTRA_FMR_TARGETS
            if target * curve.n_impostor >= 1
        },
        "n_genuine": genuine.count,
        "n_impostor": impostor.count,
        "convention": convention,
        "histogram_bin_width": curve.resolution or None,
        "rate_error_bound": max([eer.point.bound] + [p.bound for p in points.values()]),
        "roc": roc_table(curve),
    }


def finite_or_none(obj: Any) -> Any:
    """Replace non-finite floats (also nested in dicts and lists) by None: strict JSON."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {key: finite_or_none(value) for key, value in obj.items()}
    if isinstance(obj, list):
        return [finite_or_none(value) for value in obj]
    return obj
