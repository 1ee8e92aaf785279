"""Verification metrics of two given score arrays (similarities or distances, any range)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from facesynth_bench.errors import FsbenchError
from facesynth_bench.metrics.distribution import ScoreMoments
from facesynth_bench.metrics.error_curve import ErrorCurve, curve_from_scores
from facesynth_bench.metrics.verification import VerificationMetrics, verification_metrics

NAN_POLICIES = ("error", "fta")


@dataclass(frozen=True, kw_only=True)
class ScoreSetMetrics(VerificationMetrics):
    """Verification metrics of given scores, in their own units, with the failures removed."""

    distance: bool
    decision: str
    n_failed_genuine: int
    n_failed_impostor: int
    fta_rate: float
    engine: str


@dataclass
class ScoreSetResult:
    """Metrics in the scores' own units, and the curve (on similarities: distances negated)."""

    summary: ScoreSetMetrics
    curve: ErrorCurve

    @cached_property
    def metrics(self) -> dict[str, Any]:
        """`summary` as a JSON-ready dict (one dict per result: callers may add keys)."""
        return self.summary.to_dict()


def evaluate_scores(
    genuine: np.ndarray,
    impostor: np.ndarray,
    *,
    convention: str = "strict",
    distance: bool = False,
    nan_policy: str = "error",
    source: str = "scores",
) -> ScoreSetResult:
    """Exact verification metrics of finite real scores of any range.

    With `distance`, lower means a match: scores are negated for the computation and every
    threshold and mean is reported back in distance units (match when distance <= t).
    Non-finite scores are an error, or with `nan_policy="fta"` failures to acquire
    (bob.measure): removed, counted, and their rate reported; rates are then over the
    acquired comparisons (ISO/IEC 19795-1 system rates: FMR(1-FTA), FTA + FNMR(1-FTA)).
    """
    if nan_policy not in NAN_POLICIES:
        raise FsbenchError(f"NaN policy {nan_policy!r}: expected one of {', '.join(NAN_POLICIES)}")
    genuine = np.asarray(genuine, dtype=np.float64)
    impostor = np.asarray(impostor, dtype=np.float64)
    bad_g, bad_i = ~np.isfinite(genuine), ~np.isfinite(impostor)
    failed = int(bad_g.sum() + bad_i.sum())
    if failed and nan_policy == "error":
        raise FsbenchError(
            f"{source}: {int(bad_g.sum())} genuine and {int(bad_i.sum())} impostor scores are "
            "NaN or infinite; use the `fta` NaN policy to count them as failures to acquire"
        )
    total = genuine.size + impostor.size
    genuine, impostor = genuine[~bad_g], impostor[~bad_i]
    sign = -1.0 if distance else 1.0
    curve = curve_from_scores(sign * genuine, sign * impostor)
    metrics = verification_metrics(
        curve, ScoreMoments.of(sign * genuine), ScoreMoments.of(sign * impostor), convention
    )
    if distance:
        metrics = metrics.with_scores_negated()
    summary = ScoreSetMetrics.extending(
        metrics,
        distance=distance,
        decision="match when distance <= threshold"
        if distance
        else "match when score >= threshold",
        n_failed_genuine=int(bad_g.sum()),
        n_failed_impostor=int(bad_i.sum()),
        fta_rate=failed / total,
        engine="exact",
    )
    return ScoreSetResult(summary, curve)
