"""Tables, figures and provenance of result files."""

import numpy as np
from rich.console import Console

from facesynth_bench.metrics.error_curve import curve_from_scores
from facesynth_bench.report.score_plots import plot_score_histograms, score_densities
from facesynth_bench.report.separability_table import separability_table


def test_densities_integrate_to_one_and_keep_the_classes_apart():
    rng = np.random.default_rng(0)
    curve = curve_from_scores(rng.normal(0.6, 0.05, 500), rng.normal(0.0, 0.1, 5000))
    edges, genuine, impostor = score_densities(curve, n_bins=100)
    width = edges[1] - edges[0]
    assert abs(genuine.sum() * width - 1) < 1e-9
    assert abs(impostor.sum() * width - 1) < 1e-9
    centres = (edges[:-1] + edges[1:]) / 2
    assert abs((centres * genuine).sum() * width - 0.6) < 0.01


def test_distance_plot_maps_back_to_distances(tmp_path):
    curve = curve_from_scores(-np.array([0.1, 0.2]), -np.array([0.8, 0.9, 1.0]))
    edges, _, _ = score_densities(curve, sign=-1.0)
    assert edges[0] >= 0.1 - 1e-9 and edges[-1] <= 1.0 + 1e-6
    metrics = {
        "genuine_mean": 0.15,
        "genuine_std": 0.05,
        "impostor_mean": 0.9,
        "impostor_std": 0.08,
        "eer": 0.0,
        "fdr": None,
        "eer_threshold": 0.5,
    }
    plot_score_histograms(curve, metrics, tmp_path / "h.png", distance=True)
    assert (tmp_path / "h.png").read_bytes()[:4] == b"\x89PNG"


def test_table_shows_only_rows_some_run_has():
    console = Console(record=True, width=120)
    console.print(separability_table({"a": {"eer": 0.1, "fdr": None}, "b": {"eer": 0.2}}))
    text = console.export_text()
    assert "0.1000" in text and "0.2000" in text and "FDR" in text
    assert "identities" not in text
