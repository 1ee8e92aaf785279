"""Genuine vs impostor score densities, like Figure 1 of the AdaptDiff paper."""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from facesynth_bench.atomic_files import write_bytes_atomic
from facesynth_bench.metrics.error_curve import ErrorCurve


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


def plot_score_histograms(
    curve: ErrorCurve,
    metrics: Mapping[str, Any],
    path: Path,
    title: str = "",
    distance: bool = False,
) -> None:
    """Write a PNG of genuine and impostor score densities with EER and FDR in the legend."""
    edges, genuine, impostor = score_densities(curve, sign=-1.0 if distance else 1.0)
    centres = (edges[:-1] + edges[1:]) / 2
    fig = Figure(figsize=(7, 4), dpi=120)
    ax = fig.subplots()
    for density, colour, name, prefix in (
        (genuine, "tab:blue", "genuine", "genuine"),
        (impostor, "tab:red", "impostor", "impostor"),
    ):
        label = f"{name} (μ={metrics[prefix + '_mean']:.3f}, σ={metrics[prefix + '_std']:.3f})"
        ax.fill_between(centres, density, step="mid", alpha=0.35, color=colour)
        ax.plot(centres, density, drawstyle="steps-mid", color=colour, lw=1.2, label=label)
    eer_threshold = metrics.get("eer_threshold")
    if eer_threshold is not None:
        ax.axvline(eer_threshold, color="black", ls="--", lw=1, label="EER threshold")
    fdr = metrics.get("fdr")
    fdr_text = "inf" if fdr is None else f"{fdr:.3f}"
    ax.plot([], [], " ", label=f"EER={metrics['eer']:.4f}, FDR={fdr_text}")
    ax.set_xlabel("distance" if distance else "similarity score")
    ax.set_ylabel("density")
    ax.set_title(title or "Genuine and impostor score distributions")
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    write_bytes_atomic(Path(path), buffer.getvalue())
