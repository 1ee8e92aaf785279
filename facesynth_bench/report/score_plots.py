"""Genuine vs impostor score densities, like Figure 1 of the AdaptDiff paper."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from facesynth_bench.atomic_files import write_bytes_atomic
from facesynth_bench.metrics.error_curve import ErrorCurve
from facesynth_bench.metrics.verification import VerificationMetrics
from facesynth_bench.report.number_format import format_number

_LEGEND_GAP = 0.04  # axes fraction kept free between the data and the legend


def score_densities(
    curve: ErrorCurve, n_bins: int = 200, sign: float = 1.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(bin edges, genuine density, impostor density) re-binned from a curve's score counts.

    `sign` = -1 maps the curve's negated distances back to distances.
    """
    values = sign * curve.thresholds[:-1]
    lo, hi = float(values.min()), float(values.max())
    if hi <= lo:
        hi = lo + 1e-6
    edges = np.linspace(lo, hi + (hi - lo) * 1e-9, n_bins + 1)
    genuine, _ = np.histogram(values, edges, weights=curve.genuine_at)
    impostor, _ = np.histogram(values, edges, weights=curve.impostor_at)
    width = edges[1] - edges[0]
    return edges, genuine / (curve.n_genuine * width), impostor / (curve.n_impostor * width)


def place_legend_clear_of_data(ax: Axes, edges: np.ndarray, heights: np.ndarray) -> None:
    """Put the legend in the upper corner over less data, raising the y limit under it.

    `heights` (bins, series) are the step heights between `edges`. The legend is measured,
    the corner whose span has the lower peak is chosen, and the axes' top is raised so
    that the peak there stays below the legend.
    """
    legend = ax.legend(loc="upper left", fontsize=8, frameon=False)
    figure = ax.get_figure()
    renderer = FigureCanvasAgg(figure).get_renderer()
    box = legend.get_window_extent(renderer).transformed(ax.transAxes.inverted())
    x_lo, x_hi = ax.get_xlim()
    peak = heights.max(axis=1)
    best = None
    corners = (("upper left", (0.0, box.x1)), ("upper right", (1.0 - box.x1, 1.0)))
    for loc, (a, b) in corners:  # the right corner mirrors the measured left one
        span_lo, span_hi = x_lo + a * (x_hi - x_lo), x_lo + b * (x_hi - x_lo)
        inside = (edges[1:] >= span_lo) & (edges[:-1] <= span_hi)
        side_peak = float(peak[inside].max(initial=0.0))
        if best is None or side_peak < best[1]:
            best = (loc, side_peak)
    loc, side_peak = best
    free = max(box.y0 - _LEGEND_GAP, 0.2)
    ax.set_ylim(0.0, max(ax.get_ylim()[1], side_peak / free))
    ax.legend(loc=loc, fontsize=8, frameon=False)


def score_histogram_figure(
    curve: ErrorCurve,
    metrics: VerificationMetrics,
    title: str = "",
    distance: bool = False,
) -> Figure:
    """Genuine and impostor score densities with EER and FDR in a legend clear of the data."""
    edges, genuine, impostor = score_densities(curve, sign=-1.0 if distance else 1.0)
    centres = (edges[:-1] + edges[1:]) / 2
    fig = Figure(figsize=(7, 4), dpi=120)
    ax = fig.subplots()
    for density, colour, name, mean, std in (
        (genuine, "tab:blue", "genuine", metrics.genuine_mean, metrics.genuine_std),
        (impostor, "tab:red", "impostor", metrics.impostor_mean, metrics.impostor_std),
    ):
        label = f"{name} (μ={format_number(mean, 3)}, σ={format_number(std, 3)})"
        ax.fill_between(centres, density, step="mid", alpha=0.35, color=colour)
        ax.plot(centres, density, drawstyle="steps-mid", color=colour, lw=1.2, label=label)
    if metrics.eer_threshold is not None:
        ax.axvline(metrics.eer_threshold, color="black", ls="--", lw=1, label="EER threshold")
    fdr = "inf" if metrics.fdr is None else format_number(metrics.fdr, 3)
    ax.plot([], [], " ", label=f"EER={metrics.eer:.4f}, FDR={fdr}")
    ax.set_xlabel("distance" if distance else "similarity score")
    ax.set_ylabel("density")
    ax.set_title(title or "Genuine and impostor score distributions")
    fig.tight_layout()
    place_legend_clear_of_data(ax, edges, np.stack([genuine, impostor], axis=1))
    return fig


def plot_score_histograms(
    curve: ErrorCurve,
    metrics: VerificationMetrics,
    path: Path,
    title: str = "",
    distance: bool = False,
) -> None:
    """Write `score_histogram_figure` as a PNG, atomically."""
    buffer = io.BytesIO()
    score_histogram_figure(curve, metrics, title, distance).savefig(buffer, format="png")
    write_bytes_atomic(Path(path), buffer.getvalue())
