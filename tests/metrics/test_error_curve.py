"""The error curve against hand-counted cases and brute force."""

import numpy as np
import pytest

from facesynth_bench.errors import FsbenchError
from facesynth_bench.metrics.error_curve import curve_from_histograms, curve_from_scores

GENUINE = np.array([0.6, 0.95])
IMPOSTOR = np.array([0.1, 0.5, 0.9])


def test_hand_counted_curve():
    curve = curve_from_scores(GENUINE, IMPOSTOR)
    np.testing.assert_array_equal(curve.thresholds, [0.1, 0.5, 0.6, 0.9, 0.95, np.inf])
    np.testing.assert_array_equal(curve.false_matches, [3, 2, 1, 1, 0, 0])
    np.testing.assert_array_equal(curve.false_non_matches, [0, 0, 0, 1, 1, 2])
    np.testing.assert_allclose(curve.fmr, [1, 2 / 3, 1 / 3, 1 / 3, 0, 0])
    np.testing.assert_allclose(curve.fnmr, [0, 0, 0, 0.5, 0.5, 1])
    np.testing.assert_array_equal(curve.genuine_at, [0, 0, 1, 0, 1])
    np.testing.assert_array_equal(curve.impostor_at, [1, 1, 0, 1, 0])


def test_rates_match_brute_force_with_ties():
    rng = np.random.default_rng(3)
    genuine = np.round(rng.normal(0.5, 0.2, 300), 2)
    impostor = np.round(rng.normal(0.0, 0.2, 2000), 2)
    curve = curve_from_scores(genuine, impostor)
    for t in [-0.31, 0.0, 0.12, 0.5, 0.77, 2.0]:
        fmr, fnmr = curve.rates_at(t)
        assert fmr == pytest.approx(np.mean(impostor >= t))
        assert fnmr == pytest.approx(np.mean(genuine < t))


def test_histogram_curve_is_exact_at_bin_edges():
    genuine = np.array([0.32, 0.35, 0.72, 0.74])
    impostor = np.array([-0.15, 0.05, 0.33, 0.71])
    edges = np.linspace(-1, 1, 21)[:-1]  # width 0.1
    g_counts = np.histogram(genuine, np.linspace(-1, 1, 21))[0]
    i_counts = np.histogram(impostor, np.linspace(-1, 1, 21))[0]
    curve = curve_from_histograms(g_counts, i_counts, edges)
    np.testing.assert_allclose(curve.thresholds[:-1], [-0.2, 0.0, 0.3, 0.7])
    for k, t in enumerate(curve.thresholds):
        assert curve.fmr[k] == np.mean(impostor >= t)
        assert curve.fnmr[k] == np.mean(genuine < t)
    assert curve.resolution == pytest.approx(0.1)


@pytest.mark.parametrize(
    ("genuine", "impostor", "message"),
    [
        ([], [0.1], "no genuine"),
        ([0.5], [], "no impostor"),
        ([0.5, np.nan], [0.1], "NaN"),
    ],
)
def test_bad_score_sets(genuine, impostor, message):
    with pytest.raises(FsbenchError, match=message):
        curve_from_scores(np.array(genuine), np.array(impostor))
