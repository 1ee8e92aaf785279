"""Tables, figures and provenance of result files."""

import numpy as np
import pytest
from rich.console import Console

from facesynth_bench.metrics.error_curve import curve_from_scores
from facesynth_bench.metrics.score_sets import ScoreSetMetrics, evaluate_scores
from facesynth_bench.metrics.table_columns import columns_of
from facesynth_bench.report.score_plots import (
    plot_score_histograms,
    score_densities,
    score_histogram_figure,
)
from facesynth_bench.report.separability_table import TABLE_COLUMNS, separability_table


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
    result = evaluate_scores(np.array([0.1, 0.2]), np.array([0.8, 0.9, 1.0]), distance=True)
    edges, _, _ = score_densities(result.curve, sign=-1.0)
    assert edges[0] >= 0.1 - 1e-9 and edges[-1] <= 1.0 + 1e-6
    plot_score_histograms(result.curve, result.summary, tmp_path / "h.png", distance=True)
    assert (tmp_path / "h.png").read_bytes()[:4] == b"\x89PNG"


def test_table_shows_only_rows_some_run_has():
    console = Console(record=True, width=120)
    console.print(separability_table({"a": {"eer": 0.1, "fdr": None}, "b": {"eer": 0.2}}))
    text = console.export_text()
    assert "0.1000" in text and "0.2000" in text and "FDR" in text
    assert "identities" not in text


def _table_text(runs):
    console = Console(record=True, width=160)
    console.print(separability_table(runs))
    return console.export_text()


def test_large_and_small_numbers_are_scientific_and_unresolved_rates_marked():
    text = _table_text(
        {
            "a": {"eer": 0.25, "genuine_mean": 3e38, "impostor_mean": 2e-9, "fmr1000": None},
            "b": {"eer": 0.5, "genuine_mean": 0.5, "fmr1000": None, "unresolved": ["fmr1000"]},
        }
    )
    assert "3.000e+38" in text and "2.000e-09" in text and "0.5000" in text
    assert "3" + "0" * 38 not in text  # no 39-digit cell
    fmr1000 = next(line for line in text.splitlines() if "FMR1000" in line)
    assert fmr1000.replace("│", " ").split()[-2:] == ["-", "n/r"]


def test_table_labels_come_from_the_typed_metrics():
    rng = np.random.default_rng(1)
    result = evaluate_scores(rng.normal(0.6, 0.1, 50), rng.normal(0.0, 0.1, 12))
    typed, from_json = _table_text({"r": result.summary}), _table_text({"r": result.metrics})
    assert typed == from_json
    for column in columns_of(ScoreSetMetrics):
        assert column.label in typed
    assert "n/r" in typed  # 12 impostor scores resolve neither FMR100 nor FMR1000
    assert {c.key for c in TABLE_COLUMNS} >= {"eer", "fmr1000", "n_identities", "n_impostor"}


@pytest.mark.parametrize("genuine_mean", [0.2, 0.5, 0.8])
def test_histogram_legend_does_not_cover_the_data(genuine_mean):
    # Impostors near 0 with a tall peak; genuine scores left, centre or right of them.
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    rng = np.random.default_rng(2)
    result = evaluate_scores(rng.normal(genuine_mean, 0.05, 2000), rng.normal(0, 0.03, 20000))
    fig = score_histogram_figure(result.curve, result.summary)
    ax = fig.axes[0]
    renderer = FigureCanvasAgg(fig).get_renderer()
    box = ax.get_legend().get_window_extent(renderer).transformed(ax.transData.inverted())
    edges, genuine, impostor = score_densities(result.curve)
    under = (edges[1:] >= box.x0) & (edges[:-1] <= box.x1)
    assert np.maximum(genuine, impostor)[under].max(initial=0.0) < box.y0
