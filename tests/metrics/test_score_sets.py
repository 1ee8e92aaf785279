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
