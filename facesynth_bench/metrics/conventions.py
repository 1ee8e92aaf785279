"""Operating-point conventions: how EER and FNMR@FMR are read off an error curve.

The libraries of the field disagree on both; each convention here reproduces one of them
exactly (docs/protocols.md gives every definition):

- `strict` (ours, the default): FNMR@FMR is the lowest FNMR over thresholds whose FMR is
  at most the target (the AdaptDiff paper's definition); EER is (FMR + FNMR)/2 at the
  threshold minimising |FMR - FNMR|, ties going to the higher threshold.
- `bob`: bob.measure 6 `far_threshold` + `farfrr` and `eer` (midpoint thresholds).
- `pyeer`: pyeer 0.5 `get_eer_stats`: the operating point whose FMR is closest to the
  target; EER as in FVC2000 (Maio et al., 2002).
- `insightface`: sklearn `roc_curve(drop_intermediate=True)` and the TPR at the ROC
  point whose FPR is closest to the target (insightface `eval_ijbc.py`); EER where the
  linearly interpolated ROC crosses FNMR = FMR.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from facesynth_bench.metrics.error_curve import ErrorCurve
from facesynth_bench.registry import Registry


@dataclass(frozen=True)
class OperatingPoint:
    """A decision threshold with its rates; `bound` is the histogram rate-error bound."""

    threshold: float
    fmr: float
    fnmr: float
    bound: float = 0.0


@dataclass(frozen=True)
class EqualErrorRate:
    """An EER estimate: the value and the operating point it was read at."""

    eer: float
    point: OperatingPoint


@dataclass(frozen=True)
class Convention:
    """A named pair of rules: EER and FNMR at a target FMR."""

    name: str
    description: str
    eer: Callable[[ErrorCurve], EqualErrorRate]
    fnmr_at_fmr: Callable[[ErrorCurve, float], OperatingPoint]

    def tar_at_far(self, curve: ErrorCurve, target: float) -> float:
        """True accept rate (1 - FNMR) at the operating point for FMR `target`."""
        return 1.0 - self.fnmr_at_fmr(curve, target).fnmr


def _point(curve: ErrorCurve, k: int) -> OperatingPoint:
    return OperatingPoint(
        threshold=float(curve.thresholds[k]),
        fmr=float(curve.fmr[k]),
        fnmr=float(curve.fnmr[k]),
        bound=curve.rate_bound(k),
    )


def _point_at_threshold(curve: ErrorCurve, threshold: float, k_hint: int) -> OperatingPoint:
    fmr, fnmr = curve.rates_at(threshold)
    return OperatingPoint(float(threshold), fmr, fnmr, curve.rate_bound(k_hint))


# -- strict -----------------------------------------------------------------------------


def strict_fnmr_at_fmr(curve: ErrorCurve, target: float) -> OperatingPoint:
    """Lowest FNMR among thresholds with FMR <= target (the first such threshold)."""
    k = int(np.argmax(curve.fmr <= target))  # the +inf point has FMR 0, so one exists
    return _point(curve, k)


def strict_eer(curve: ErrorCurve) -> EqualErrorRate:
    """(FMR + FNMR)/2 where |FMR - FNMR| is smallest; ties go to the higher threshold."""
    gap = np.abs(curve.fmr - curve.fnmr)
    k = int(gap.size - 1 - np.argmin(gap[::-1]))
    point = _point(curve, k)
    return EqualErrorRate((point.fmr + point.fnmr) / 2.0, point)


# -- bob.measure ----------------------------------------------------------------------


def bob_fnmr_at_fmr(curve: ErrorCurve, target: float) -> OperatingPoint:
    """bob.measure `far_threshold`: thresholds are impostor score values only."""
    impostor_here = np.flatnonzero(curve.impostor_at > 0)
    if target >= 1.0 - np.finfo(np.float64).eps:
        k = int(impostor_here[0])
        return _point_at_threshold(curve, np.nextafter(curve.thresholds[k], -np.inf), k)
    allowed = impostor_here[curve.fmr[impostor_here] <= target]
    if allowed.size:
        return _point(curve, int(allowed[0]))
    k = int(impostor_here[-1]) + 1
    return _point_at_threshold(curve, np.nextafter(curve.thresholds[k - 1], np.inf), k)


def bob_eer(curve: ErrorCurve) -> EqualErrorRate:
    """bob.measure `eer`: a walk over distinct scores with midpoint thresholds.

    The walk visits curve points 0..K, K being the first point where one score list is used
    up; points before K replace the best on ties (`<=`), point K only when strictly better.
    Its final "above every score" candidate can never win (|FMR - FNMR| = 1 there).
    """
    gap = np.abs(curve.fmr - curve.fnmr)
    both_left = (curve.false_matches > 0) & (curve.false_non_matches < curve.n_genuine)
    last = int(np.argmin(both_left))  # the +inf point has no false matches left
    k = int(last - 1 - np.argmin(gap[:last][::-1]))
    if gap[last] < gap[k]:
        k = last
    t = curve.thresholds
    threshold = t[0] if k == 0 else (t[k - 1] + t[k]) / 2.0
    point = _point_at_threshold(curve, threshold, k)
    return EqualErrorRate((point.fmr + point.fnmr) / 2.0, point)


# -- pyeer ----------------------------------------------------------------------------


def _pyeer_rates(curve: ErrorCurve) -> tuple[np.ndarray, np.ndarray]:
    # pyeer's thresholds are the distinct scores only: no +inf point.
    return curve.fmr[:-1], curve.fnmr[:-1]


def pyeer_fnmr_at_fmr(curve: ErrorCurve, target: float) -> OperatingPoint:
    """pyeer `get_fmr_op`: the first point whose FMR is closest to the target."""
    fmr, _ = _pyeer_rates(curve)
    return _point(curve, int(np.argmin(np.abs(fmr - target))))


def pyeer_eer(curve: ErrorCurve) -> EqualErrorRate:
    """pyeer `get_eer_values` (FVC2000): the better of the two points around the crossing."""
    fmr, fnmr = _pyeer_rates(curve)
    crossed = np.flatnonzero(fmr - fnmr <= 0)
    if crossed.size == 0:
        return EqualErrorRate(1.0, _point(curve, 0))
    t2 = int(crossed[0])
    t1 = t2 - 1 if (fmr[t2] - fnmr[t2]) != 0 and t2 != 0 else t2
    k = t1 if fmr[t1] + fnmr[t1] <= fmr[t2] + fnmr[t2] else t2
    return EqualErrorRate((fnmr[k] + fmr[k]) / 2.0, _point(curve, k))


# -- insightface (sklearn roc_curve) --------------------------------------------------


def sklearn_roc_indices(curve: ErrorCurve) -> np.ndarray:
    """Curve indices kept by sklearn `roc_curve(drop_intermediate=True)`, +inf point first.

    sklearn walks thresholds from high to low; the returned indices are in that order.
    """
    order = np.arange(len(curve.thresholds) - 2, -1, -1)  # finite thresholds, descending
    fps = curve.false_matches[order]
    tps = curve.n_genuine - curve.false_non_matches[order]
    if order.size > 2:
        corner = np.logical_or(np.diff(fps, 2), np.diff(tps, 2))
        order = order[np.concatenate([[True], corner, [True]])]
    return np.concatenate([[len(curve.thresholds) - 1], order])


def insightface_fnmr_at_fmr(curve: ErrorCurve, target: float) -> OperatingPoint:
    """insightface `eval_ijbc`: the ROC point with FPR closest to the target (lowest threshold
    among ties, as its `min` over the flipped curve)."""
    kept = sklearn_roc_indices(curve)[::-1]  # ascending thresholds, as after np.flipud
    fpr = curve.false_matches[kept] / curve.n_impostor
    return _point(curve, int(kept[int(np.argmin(np.abs(fpr - target)))]))


def insightface_eer(curve: ErrorCurve) -> EqualErrorRate:
    """EER where the linearly interpolated sklearn ROC meets FNMR = FMR."""
    kept = sklearn_roc_indices(curve)
    fpr = curve.false_matches[kept] / curve.n_impostor
    fnr = curve.false_non_matches[kept] / curve.n_genuine
    gap = fnr - fpr  # decreasing from >= 0 at the +inf point to -1
    j = int(np.argmax(gap <= 0))
    if j == 0 or gap[j] == 0:
        eer = float(fpr[j])
    else:
        frac = gap[j - 1] / (gap[j - 1] - gap[j])
        eer = float(fpr[j - 1] + frac * (fpr[j] - fpr[j - 1]))
    return EqualErrorRate(eer, _point(curve, int(kept[j])))


CONVENTIONS: Registry[Convention] = Registry("convention")
for _convention in (
    Convention(
        "strict",
        "lowest FNMR with FMR <= target; EER at min |FMR-FNMR| (default)",
        strict_eer,
        strict_fnmr_at_fmr,
    ),
    Convention("bob", "bob.measure far_threshold/farfrr and eer", bob_eer, bob_fnmr_at_fmr),
    Convention("pyeer", "pyeer: FMR closest to target; FVC2000 EER", pyeer_eer, pyeer_fnmr_at_fmr),
    Convention(
        "insightface",
        "sklearn ROC, FPR closest to target; interpolated EER",
        insightface_eer,
        insightface_fnmr_at_fmr,
    ),
):
    CONVENTIONS.register(_convention.name, _convention)
