"""Summaries of a whole error curve: AUC and a compact ROC/DET table for reports."""

from __future__ import annotations

import numpy as np

from facesynth_bench.metrics.error_curve import ErrorCurve


def roc_auc(curve: ErrorCurve) -> float:
    """Area under the ROC = P(genuine > impostor) + P(genuine = impostor)/2 (Mann-Whitney U).

    Exact for exact curves; for histogram curves, scores sharing a bin count as ties.
    """
    genuine_above = curve.n_genuine - curve.false_non_matches[1:]
    wins = genuine_above + 0.5 * curve.genuine_at
    return float(np.dot(curve.impostor_at, wins) / (curve.n_genuine * curve.n_impostor))


def roc_table(curve: ErrorCurve, fmr_targets: np.ndarray | None = None) -> dict[str, list]:
    """Threshold, FMR and FNMR at the lowest threshold with FMR <= each target.

    Targets default to 60 log-spaced FMRs from 1e-7 to 1, enough to draw ROC/DET curves.
    """
    if fmr_targets is None:
        fmr_targets = np.logspace(-7, 0, 60)
    fmr = curve.fmr
    # fmr is non-increasing: the first index with fmr <= target, found by a reversed search.
    idx = len(fmr) - np.searchsorted(fmr[::-1], fmr_targets, side="right")
    idx = np.clip(idx, 0, len(fmr) - 1)
    keep = np.unique(idx)
    return {
        "threshold": [float(t) if np.isfinite(t) else None for t in curve.thresholds[keep]],
        "fmr": fmr[keep].tolist(),
        "fnmr": curve.fnmr[keep].tolist(),
    }
