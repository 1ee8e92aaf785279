"""Pair plans: defaults, a fraction given to a mode that draws none, the fewest identities."""

import warnings

import pytest

from facesynth_bench.errors import FsbenchError
from facesynth_bench.metrics.pair_plan import IgnoredFractionWarning, PairPlan


def test_fraction_defaults_only_for_the_mode_that_draws_one():
    assert PairPlan("sampled-fraction").fraction == 0.05
    assert PairPlan("exhaustive").fraction is None
    assert PairPlan("sampled-equal", seed=3).fraction is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        PairPlan("sampled-fraction", 0.3)


@pytest.mark.parametrize("mode", ["exhaustive", "sampled-equal"])
def test_a_fraction_for_a_mode_that_draws_none_is_named_and_dropped(mode):
    with pytest.warns(IgnoredFractionWarning, match=f"pair fraction 0.3 is ignored: the {mode}"):
        plan = PairPlan(mode, 0.3)
    assert plan.fraction is None


def test_bad_values_are_refused():
    with pytest.raises(FsbenchError, match=r"pair fraction 1\.5: expected 0 < F <= 1"):
        PairPlan("sampled-fraction", 1.5)
    with pytest.raises(FsbenchError, match="pair mode 'all'"):
        PairPlan("all")


@pytest.mark.parametrize(
    ("plan", "fewest"),
    [
        (PairPlan(), 2),
        (PairPlan("sampled-equal"), 2),
        (PairPlan("sampled-fraction", 1.0), 2),
        (PairPlan("sampled-fraction", 0.5), 3),
        (PairPlan("sampled-fraction", 0.3), 5),
        (PairPlan("sampled-fraction"), 21),  # floor(0.05 x 20) = 1 partner for identity 0
    ],
)
def test_fewest_identities_that_give_an_impostor_pair(plan, fewest):
    assert plan.min_identities == fewest
