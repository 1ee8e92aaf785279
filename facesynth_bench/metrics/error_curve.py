"""Error counts at every candidate threshold: the one representation all conventions read.

A comparison is a match when `score >= threshold` (similarity scores). At threshold t,
false matches are impostor scores >= t and false non-matches are genuine scores < t
(ISO/IEC 19795-1; bob.measure's `farfrr`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from facesynth_bench.errors import FsbenchError


@dataclass(frozen=True)
class ErrorCurve:
    """FMR and FNMR counts at ascending candidate thresholds, ending with +inf.

    `thresholds[k]` is the k-th distinct score value (exact curves) or the lower edge of
    the k-th non-empty histogram bin (histogram curves); the last threshold is +inf, where
    nothing matches. `resolution` is 0 for exact curves and the bin width otherwise.
    """

    thresholds: np.ndarray
    false_matches: np.ndarray
    false_non_matches: np.ndarray
    n_genuine: int
    n_impostor: int
    resolution: float = 0.0

    @property
    def fmr(self) -> np.ndarray:
        """False match rate at each threshold: P(impostor score >= t)."""
        return self.false_matches / self.n_impostor

    @property
    def fnmr(self) -> np.ndarray:
        """False non-match rate at each threshold: P(genuine score < t)."""
        return self.false_non_matches / self.n_genuine

    @property
    def genuine_at(self) -> np.ndarray:
        """Genuine scores equal to (exact) or binned at (histogram) each finite threshold."""
        return np.diff(self.false_non_matches)

    @property
    def impostor_at(self) -> np.ndarray:
        """Impostor scores equal to (exact) or binned at (histogram) each finite threshold."""
        return -np.diff(self.false_matches)

    def rates_at(self, threshold: float) -> tuple[float, float]:
        """(FMR, FNMR) at an arbitrary threshold, read off the step curve."""
        k = int(np.searchsorted(self.thresholds, threshold, side="left"))
        return float(self.fmr[k]), float(self.fnmr[k])

    def rate_bound(self, k: int) -> float:
        """How far rates read at point k can be from the exact path's (0 for exact curves).

        On a histogram the exact operating point can lie anywhere in the stretch of bins
        around k where FMR is flat: from the last impostor-holding bin before k to the first
        at or after it. Every genuine score in that stretch, and every impostor score in its
        two end bins, can change sides (docs/protocols.md).
        """
        if self.resolution == 0.0:
            return 0.0
        impostor_bins = np.flatnonzero(self.impostor_at > 0)
        before = impostor_bins[impostor_bins < k]
        after = impostor_bins[impostor_bins >= k]
        lo = int(before[-1]) if before.size else 0
        hi = int(after[0]) if after.size else len(self.genuine_at) - 1
        genuine = self.genuine_at[lo : hi + 1].sum() / self.n_genuine
        impostor = self.impostor_at[[lo, hi]].max() / self.n_impostor
        return float(max(genuine, impostor))


def _check_sizes(n_genuine: int, n_impostor: int) -> None:
    if n_genuine == 0:
        raise FsbenchError("no genuine scores to evaluate")
    if n_impostor == 0:
        raise FsbenchError("no impostor scores to evaluate")


def curve_from_scores(genuine: np.ndarray, impostor: np.ndarray) -> ErrorCurve:
    """Exact curve from two score arrays; thresholds are every distinct score value."""
    g = np.sort(np.asarray(genuine, dtype=np.float64).ravel())
    i = np.sort(np.asarray(impostor, dtype=np.float64).ravel())
    _check_sizes(g.size, i.size)
    if not (np.isfinite(g[[0, -1]]).all() and np.isfinite(i[[0, -1]]).all()):
        raise FsbenchError("scores contain NaN or infinite values")
    values = np.unique(np.concatenate([g, i]))
    fnm = np.searchsorted(g, values, side="left")
    fm = i.size - np.searchsorted(i, values, side="left")
    return ErrorCurve(
        thresholds=np.append(values, np.inf),
        false_matches=np.append(fm, 0).astype(np.int64),
        false_non_matches=np.append(fnm, g.size).astype(np.int64),
        n_genuine=int(g.size),
        n_impostor=int(i.size),
    )


def curve_from_histograms(
    genuine_counts: np.ndarray, impostor_counts: np.ndarray, lower_edges: np.ndarray
) -> ErrorCurve:
    """Curve from two histograms over the same bins; thresholds are non-empty bins' lower edges.

    Every rate on this curve is the exact rate at that edge: the curve is the exact curve
    sampled at the lowest score of each non-empty bin.
    """
    g = np.asarray(genuine_counts, dtype=np.int64)
    i = np.asarray(impostor_counts, dtype=np.int64)
    _check_sizes(int(g.sum()), int(i.sum()))
    keep = np.flatnonzero((g + i) > 0)
    g_cum = np.concatenate([[0], np.cumsum(g[keep])])
    i_cum = np.concatenate([[0], np.cumsum(i[keep])])
    n_g, n_i = int(g_cum[-1]), int(i_cum[-1])
    edges = np.asarray(lower_edges, dtype=np.float64)
    return ErrorCurve(
        thresholds=np.append(edges[keep], np.inf),
        false_matches=n_i - i_cum,
        false_non_matches=g_cum,
        n_genuine=n_g,
        n_impostor=n_i,
        resolution=float(edges[1] - edges[0]) if edges.size > 1 else 0.0,
    )
