"""Each convention against hand-computed answers and the library it reproduces."""

import bob.measure as bob_measure
import numpy as np
import pyeer.eer_info as pyeer_info
import pytest
from scipy.interpolate import interp1d
from scipy.optimize import brentq
from sklearn.metrics import roc_curve

from facesynth_bench.errors import FsbenchError
from facesynth_bench.metrics.conventions import CONVENTIONS
from facesynth_bench.metrics.error_curve import curve_from_scores

GENUINE = np.array([0.6, 0.95])
IMPOSTOR = np.array([0.1, 0.5, 0.9])
TARGETS = [0.0, 1e-3, 1e-2, 0.05, 0.1, 1 / 3, 0.5, 1.0]


def score_sets():
    """Random score sets, some with heavy ties, some well separated, some inverted."""
    rng = np.random.default_rng(7)
    sets = []
    for n_g, n_i, shift, decimals in [
        (50, 400, 0.6, None),
        (200, 3000, 0.4, 2),
        (30, 30, 0.0, 1),
        (500, 5000, 1.5, 3),
        (100, 1000, -0.3, None),
    ]:
        g = rng.normal(shift, 0.25, n_g)
        i = rng.normal(0.0, 0.25, n_i)
        if decimals is not None:
            g, i = np.round(g, decimals), np.round(i, decimals)
        sets.append((g, i))
    return sets


SETS = score_sets()


def test_hand_computed_strict():
    curve = curve_from_scores(GENUINE, IMPOSTOR)
    strict = CONVENTIONS.get("strict")
    point = strict.fnmr_at_fmr(curve, 1 / 3)
    assert (point.threshold, point.fmr, point.fnmr) == (0.6, pytest.approx(1 / 3), 0.0)
    eer = strict.eer(curve)
    assert eer.eer == pytest.approx(5 / 12)
    assert eer.point.threshold == 0.9
    assert strict.tar_at_far(curve, 0.0) == 0.5


def test_hand_computed_bob_and_pyeer_differ_from_strict():
    curve = curve_from_scores(GENUINE, IMPOSTOR)
    bob = CONVENTIONS.get("bob").fnmr_at_fmr(curve, 1 / 3)
    assert (bob.threshold, bob.fnmr) == (0.9, 0.5)  # bob thresholds only at impostor scores
    assert CONVENTIONS.get("bob").eer(curve).point.threshold == pytest.approx(0.75)
    assert CONVENTIONS.get("pyeer").eer(curve).eer == pytest.approx(1 / 6)


@pytest.mark.parametrize("index", range(len(SETS)))
def test_bob_matches_bob_measure(index):
    genuine, impostor = SETS[index]
    curve = curve_from_scores(genuine, impostor)
    bob = CONVENTIONS.get("bob")
    eer = bob.eer(curve)
    assert eer.eer == bob_measure.eer(impostor, genuine)
    assert eer.point.threshold == bob_measure.eer_threshold(impostor, genuine)
    for target in TARGETS:
        threshold = bob_measure.far_threshold(impostor, genuine, target)
        far, frr = bob_measure.farfrr(impostor, genuine, threshold)
        point = bob.fnmr_at_fmr(curve, target)
        assert point.threshold == threshold
        assert (point.fmr, point.fnmr) == (far, frr)


@pytest.mark.parametrize("index", range(len(SETS)))
def test_pyeer_matches_pyeer(index):
    genuine, impostor = SETS[index]
    stats = pyeer_info.get_eer_stats(genuine.tolist(), impostor.tolist())
    curve = curve_from_scores(genuine, impostor)
    pyeer = CONVENTIONS.get("pyeer")
    eer = pyeer.eer(curve)
    assert eer.eer == pytest.approx(stats.eer, abs=1e-15)
    assert eer.point.threshold == stats.eer_th
    for target, value, threshold in [
        (0.01, stats.fmr100, stats.fmr100_th),
        (0.001, stats.fmr1000, stats.fmr1000_th),
        (0.1, stats.fmr10, stats.fmr10_th),
        (0.0, stats.fmr0, stats.fmr0_th),
    ]:
        point = pyeer.fnmr_at_fmr(curve, target)
        assert point.fnmr == pytest.approx(value, abs=1e-15)
        assert point.threshold == threshold


def insightface_tar(genuine, impostor, target):
    """insightface eval_ijbc.py: sklearn ROC, flipped, min over (|fpr - x|, index)."""
    labels = np.r_[np.ones(len(genuine)), np.zeros(len(impostor))]
    fpr, tpr, _ = roc_curve(labels, np.r_[genuine, impostor])
    fpr, tpr = np.flipud(fpr), np.flipud(tpr)
    _, min_index = min(zip(abs(fpr - target), range(len(fpr)), strict=True))
    return tpr[min_index]


@pytest.mark.parametrize("index", range(len(SETS)))
def test_insightface_matches_sklearn_recipe(index):
    genuine, impostor = SETS[index]
    curve = curve_from_scores(genuine, impostor)
    insightface = CONVENTIONS.get("insightface")
    for target in TARGETS:
        assert insightface.tar_at_far(curve, target) == pytest.approx(
            insightface_tar(genuine, impostor, target), abs=1e-15
        )
    labels = np.r_[np.ones(len(genuine)), np.zeros(len(impostor))]
    fpr, tpr, _ = roc_curve(labels, np.r_[genuine, impostor])
    reference = brentq(lambda x: 1.0 - x - interp1d(fpr, tpr)(x), 0.0, 1.0, xtol=1e-14)
    assert insightface.eer(curve).eer == pytest.approx(reference, abs=1e-9)


@pytest.mark.parametrize("name", ["strict", "bob", "pyeer", "insightface"])
def test_perfect_separation(name):
    curve = curve_from_scores(np.array([0.8, 0.9]), np.array([0.1, 0.2, 0.3]))
    rules = CONVENTIONS.get(name)
    assert rules.eer(curve).eer == 0.0
    assert rules.fnmr_at_fmr(curve, 0.01).fnmr == 0.0


def test_strict_fnmr_is_the_lowest_fnmr_under_the_fmr_cap():
    for genuine, impostor in SETS:
        curve = curve_from_scores(genuine, impostor)
        for target in TARGETS:
            allowed = curve.fmr <= target
            point = CONVENTIONS.get("strict").fnmr_at_fmr(curve, target)
            assert point.fnmr == curve.fnmr[allowed].min()
            assert point.fmr <= target


def test_unknown_convention_suggests_a_name():
    with pytest.raises(FsbenchError, match="Did you mean 'pyeer'"):
        CONVENTIONS.get("pyer")
