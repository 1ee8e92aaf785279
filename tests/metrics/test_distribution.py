"""Score moments at any magnitude, their merge and removal, FDR and d'."""

import math

import numpy as np
import pytest

from facesynth_bench.metrics.distribution import (
    ScoreMoments,
    decidability,
    fisher_discriminant_ratio,
)

SCORES = np.array([0.3, -0.1, 0.25, 0.7, 0.05, 0.4, -0.2])


@pytest.mark.parametrize("scale", [1.0, 1e200, 1e-200, 3e38])
def test_moments_at_any_magnitude_are_the_scaled_ones(scale):
    # Sums of squares of 1e200 overflow float64; the moments themselves do not.
    m = ScoreMoments.of(SCORES * scale)
    assert m.count == SCORES.size
    assert m.mean == pytest.approx(SCORES.mean() * scale, rel=1e-12)
    assert m.std == pytest.approx(SCORES.std() * scale, rel=1e-12)


@pytest.mark.parametrize("scale", [1.0, 1e200])
def test_merge_and_minus_undo_each_other(scale):
    rng = np.random.default_rng(0)
    a, b = rng.normal(0.5, 0.1, 50) * scale, rng.normal(0.0, 0.2, 70) * scale
    whole = ScoreMoments.of(np.concatenate([a, b]))
    merged = ScoreMoments.of(a).merge(ScoreMoments.of(b))
    rest = whole.minus(ScoreMoments.of(a))
    for got, want in ((merged, whole), (rest, ScoreMoments.of(b))):
        assert got.count == want.count
        assert got.mean == pytest.approx(want.mean, rel=1e-12)
        assert got.std == pytest.approx(want.std, rel=1e-12)
    assert ScoreMoments().merge(whole) == whole.merge(ScoreMoments()) == whole
    assert whole.minus(whole) == ScoreMoments()


def test_from_sums_matches_the_scores():
    m = ScoreMoments.from_sums(SCORES.size, SCORES.sum(), float(np.dot(SCORES, SCORES)))
    assert m.mean == pytest.approx(SCORES.mean()) and m.std == pytest.approx(SCORES.std())


@pytest.mark.parametrize("scale", [1.0, 1e200, 1e-200])
def test_fdr_and_dprime_do_not_depend_on_the_score_scale(scale):
    genuine, impostor = ScoreMoments.of(SCORES + 1.0), ScoreMoments.of(SCORES)
    big_g, big_i = ScoreMoments.of((SCORES + 1.0) * scale), ScoreMoments.of(SCORES * scale)
    dprime = 1.0 / math.sqrt(SCORES.var())  # equal spreads: |mu_g - mu_i| / sd
    assert decidability(big_g, big_i) == pytest.approx(dprime, rel=1e-9)
    assert fisher_discriminant_ratio(big_g, big_i) == pytest.approx(
        fisher_discriminant_ratio(genuine, impostor), rel=1e-9
    )
    assert fisher_discriminant_ratio(big_g, big_i) == pytest.approx(dprime**2 / 2, rel=1e-9)


def test_zero_spread_gives_infinite_separation():
    same = ScoreMoments.of(np.ones(3))
    assert decidability(same, ScoreMoments.of(np.zeros(3))) == math.inf
