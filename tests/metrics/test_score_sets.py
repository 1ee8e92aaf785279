"""Metrics of given score arrays: any range, distances, failures to acquire."""

import numpy as np
import pytest

from facesynth_bench.errors import FsbenchError
from facesynth_bench.metrics.conventions import CONVENTIONS
from facesynth_bench.metrics.score_sets import evaluate_scores

# Hand-checked: genuine {10, 30, 50}, impostor {-20, 20, 40, 60} (outside [-1, 1]).
GENUINE = np.array([10.0, 30.0, 50.0])
IMPOSTOR = np.array([-20.0, 20.0, 40.0, 60.0])


def test_hand_checked_similarity_scores_strict():
    result = evaluate_scores(GENUINE, IMPOSTOR)
    m = result.metrics
    # Thresholds 30 and 40 both give |FMR - FNMR| = 1/6 (FMR 3/4 | 1/2, FNMR 1/3 | 2/3);
    # the tie goes to the higher threshold: EER = (1/2 + 2/3) / 2.
    assert m["eer"] == pytest.approx(7 / 12)
    assert m["eer_threshold"] == 40.0
    # FMR <= 1% needs t > 60: every genuine score is rejected. Four impostor scores cannot
    # resolve an FMR of 1%, so the result leaves FMR100 out.
    assert CONVENTIONS.get("strict").fnmr_at_fmr(result.curve, 1e-2).fnmr == 1.0
    assert m["fmr100"] is None and m["unresolved"] == ["fmr100", "fmr1000"]
    assert m["genuine_mean"] == 30.0
    assert m["genuine_std"] == pytest.approx(np.std(GENUINE))
    assert m["impostor_mean"] == 25.0
    assert m["auc"] == pytest.approx(np.mean(GENUINE[:, None] > IMPOSTOR[None, :]))
    assert m["decision"] == "match when score >= threshold"


def test_hand_checked_pyeer_convention():
    result = evaluate_scores(GENUINE, IMPOSTOR, convention="pyeer")
    m = result.metrics
    # pyeer: the first point with FMR <= FNMR is t=40 (1/2, 2/3), the one before t=30
    # (1/2, 1/3); sums 7/6 and 5/6, the smaller (t=30) wins: EER = 5/12 (strict says 7/12).
    assert m["eer"] == pytest.approx(5 / 12)
    # FMR closest to 1%: the first point with FMR 1/4 (t=50), FNMR 2/3; no +inf point.
    assert CONVENTIONS.get("pyeer").fnmr_at_fmr(result.curve, 1e-2).fnmr == pytest.approx(2 / 3)


def test_distances_give_the_mirror_result_in_distance_units():
    sim = evaluate_scores(GENUINE, IMPOSTOR).metrics
    dist = evaluate_scores(-GENUINE, -IMPOSTOR, distance=True).metrics
    for key in ("eer", "fmr100", "fmr1000", "fdr", "dprime", "auc", "genuine_std"):
        assert dist[key] == pytest.approx(sim[key])
    assert dist["eer_threshold"] == -sim["eer_threshold"] == -40.0
    assert dist["genuine_mean"] == -30.0
    assert dist["decision"] == "match when distance <= threshold"
    assert dist["distance"] is True


def test_non_finite_scores_error_or_count_as_failures_to_acquire():
    genuine = np.array([10.0, np.nan, 30.0, 50.0])
    impostor = np.array([-20.0, 20.0, np.inf, 40.0, 60.0])
    with pytest.raises(FsbenchError, match="1 genuine and 1 impostor scores are NaN"):
        evaluate_scores(genuine, impostor)
    m = evaluate_scores(genuine, impostor, nan_policy="fta").metrics
    assert (m["n_failed_genuine"], m["n_failed_impostor"]) == (1, 1)
    assert m["fta_rate"] == pytest.approx(2 / 9)
    assert m["eer"] == pytest.approx(7 / 12)
    assert m["n_genuine"] == 3


def test_a_single_class_is_refused():
    with pytest.raises(FsbenchError, match="no impostor scores"):
        evaluate_scores(GENUINE, np.array([np.nan]), nan_policy="fta")


@pytest.mark.parametrize("scale", [1e200, 1e-200, 3e38])
def test_huge_and_tiny_scores_give_the_metrics_of_unscaled_ones(scale):
    # A score of 1e200 used to end in an OverflowError from its squared moments.
    rng = np.random.default_rng(4)
    genuine, impostor = rng.normal(0.6, 0.1, 300), rng.normal(0.0, 0.1, 3000)
    plain = evaluate_scores(genuine, impostor).summary
    scaled = evaluate_scores(genuine * scale, impostor * scale).summary
    assert scaled.eer == plain.eer and scaled.fmr100 == plain.fmr100
    assert scaled.fdr == pytest.approx(plain.fdr, rel=1e-9)
    assert scaled.dprime == pytest.approx(plain.dprime, rel=1e-9)
    assert scaled.genuine_mean == pytest.approx(plain.genuine_mean * scale, rel=1e-12)
    assert scaled.impostor_std == pytest.approx(plain.impostor_std * scale, rel=1e-12)


@pytest.mark.parametrize(
    ("n_impostor", "unresolved"),
    [(12, ["fmr100", "fmr1000"]), (150, ["fmr1000"]), (1000, [])],
)
def test_fmr_targets_too_fine_for_the_impostor_count_are_unresolved(n_impostor, unresolved):
    # FMR1000 from 12 impostor scores would need 0.012 false matches: it is not reported.
    rng = np.random.default_rng(5)
    m = evaluate_scores(rng.normal(0.6, 0.1, 40), rng.normal(0.0, 0.2, n_impostor)).metrics
    assert m["unresolved"] == unresolved
    for name in ("fmr100", "fmr1000"):
        missing = name in unresolved
        assert (m[name] is None, m[f"{name}_threshold"] is None) == (missing, missing)
    assert all(float(t) * n_impostor >= 1 for t in m["fnmr_at_fmr"])
