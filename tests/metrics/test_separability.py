"""End-to-end separability metrics and their input checks."""

import numpy as np
import pytest

from facesynth_bench.errors import FsbenchError
from facesynth_bench.metrics.pair_plan import IgnoredFractionWarning, PairPlan
from facesynth_bench.metrics.separability import (
    SingletonIdentityWarning,
    evaluate_separability,
)
from facesynth_bench.metrics.separability_metrics import SeparabilityMetrics


def two_cluster_set():
    """Two identities of three samples on orthogonal axes: perfectly separable."""
    x = np.zeros((6, 4))
    x[:3, 0] = 1.0
    x[3:, 1] = 1.0
    x[1, 2] = x[4, 3] = 0.5  # genuine scores 1 and 1/sqrt(1.25); impostor scores 0
    return x, np.array([7, 7, 7, 9, 9, 9])


def test_hand_computed_separability():
    x, labels = two_cluster_set()
    m = evaluate_separability(x, labels).metrics
    g = np.array([1 / np.sqrt(1.25), 1.0, 1 / np.sqrt(1.25)] * 2)
    assert (m["n_genuine"], m["n_impostor"], m["n_identities"]) == (6, 9, 2)
    assert m["eer"] == 0.0 and m["auc"] == 1.0
    assert m["fmr100"] is None and m["unresolved"] == ["fmr100", "fmr1000"]  # 9 impostors
    assert m["genuine_mean"] == pytest.approx(g.mean())
    assert m["genuine_std"] == pytest.approx(g.std())
    assert m["impostor_mean"] == pytest.approx(0.0, abs=1e-7)
    assert m["impostor_std"] == pytest.approx(0.0, abs=1e-6)
    assert m["fdr"] == pytest.approx(m["dprime"] ** 2 / 2, rel=1e-9)


def test_fdr_and_dprime_textbook():
    rng = np.random.default_rng(1)
    centres = rng.standard_normal((40, 8))
    labels = np.repeat(np.arange(40), 5)
    x = centres[labels] + 0.7 * rng.standard_normal((200, 8))
    m = evaluate_separability(x, labels, engine="exact").metrics
    mu_g, mu_i = m["genuine_mean"], m["impostor_mean"]
    sd_g, sd_i = m["genuine_std"], m["impostor_std"]
    assert m["fdr"] == pytest.approx((mu_g - mu_i) ** 2 / (sd_g**2 + sd_i**2))
    assert m["dprime"] == pytest.approx(abs(mu_g - mu_i) / np.sqrt((sd_g**2 + sd_i**2) / 2))
    hist = evaluate_separability(x, labels, engine="histogram").metrics
    assert hist["eer"] == pytest.approx(m["eer"], abs=hist["rate_error_bound"] + 1e-12)
    assert hist["genuine_std"] == pytest.approx(sd_g, rel=1e-6)


def test_seed_and_plan_are_recorded():
    x, labels = two_cluster_set()
    m = evaluate_separability(x, labels, plan=PairPlan("sampled-equal", seed=11)).metrics
    assert (m["pairs"], m["seed"], m["pairs_fraction"]) == ("sampled-equal", 11, None)
    m = evaluate_separability(x, labels, plan=PairPlan("sampled-fraction", 1.0, 2)).metrics
    assert (m["pairs"], m["pairs_fraction"]) == ("sampled-fraction", 1.0)


def test_normalisation_is_applied_unless_disabled():
    x, labels = two_cluster_set()
    scaled = x * 3.0
    a = evaluate_separability(scaled, labels).metrics
    b = evaluate_separability(scaled, labels, normalize=False).metrics
    assert a["genuine_mean"] == pytest.approx(
        evaluate_separability(x, labels).metrics["genuine_mean"]
    )
    assert b["genuine_mean"] == pytest.approx(9.0)  # raw dot products of x are all 1


def test_singleton_identities_warn_and_are_counted():
    x, labels = two_cluster_set()
    x = np.vstack([x, np.eye(4)[2]])
    labels = np.append(labels, 5)
    with pytest.warns(SingletonIdentityWarning, match="1 of 3 identities"):
        m = evaluate_separability(x, labels).metrics
    assert m["n_singleton_identities"] == 1


@pytest.mark.parametrize(
    ("embeddings", "labels", "message"),
    [
        (np.eye(3), np.array([1, 1, 1]), "1 identity found"),
        (np.eye(3), np.array([1, 2, 3]), "single sample"),
        (np.vstack([np.eye(3), np.zeros(3)]), np.array([1, 1, 2, 2]), "all zeros"),
    ],
)
def test_bad_sets_are_refused(embeddings, labels, message):
    with pytest.raises(FsbenchError, match=message):
        evaluate_separability(embeddings, labels)


def test_zero_vectors_only_warn_without_normalisation():
    x = np.vstack([np.eye(3), np.zeros(3)])
    with pytest.warns(UserWarning, match="all zeros"):
        evaluate_separability(x, np.array([1, 1, 2, 2]), normalize=False)


def clustered_set(seed=3, identities=12, per_identity=4, dim=16):
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((identities, dim))
    labels = np.repeat(np.arange(identities), per_identity)
    return centres[labels] + 0.8 * rng.standard_normal((len(labels), dim)), labels


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("scale", [1e20, 1e-30])
@pytest.mark.parametrize("engine", ["exact", "histogram"])
def test_scaled_embeddings_give_the_metrics_of_unscaled_ones(dtype, scale, engine):
    # 1e20 rows used to overflow the float32 norm (EER 0.5); 1e-30 rows were "all zeros".
    x, labels = clustered_set()
    plain = evaluate_separability(x.astype(dtype), labels, engine=engine).summary
    scaled = evaluate_separability((x * scale).astype(dtype), labels, engine=engine).summary
    assert scaled.eer == pytest.approx(plain.eer, abs=1e-6)
    assert 0.0 < plain.eer < 0.5
    assert scaled.auc == pytest.approx(plain.auc, abs=1e-6)
    assert scaled.genuine_mean == pytest.approx(plain.genuine_mean, rel=1e-6)
    assert scaled.impostor_std == pytest.approx(plain.impostor_std, rel=1e-5)


def test_only_exact_zero_rows_are_zero_and_raw_overflow_is_refused():
    x, labels = clustered_set()
    x[5] = 0.0
    with pytest.raises(FsbenchError, match=r"1 embedding row\(s\) are all zeros \(first rows: "):
        evaluate_separability(x, labels)
    x[5] = 1e-30  # tiny, not zero
    with pytest.raises(FsbenchError, match="raw dot products overflow float32"):
        evaluate_separability(x * 1e20, labels, normalize=False)


def test_sampled_fraction_names_the_identities_it_needs():
    x, labels = clustered_set(identities=12)
    with pytest.raises(FsbenchError, match=r"12 identities found; .* needs at least 21"):
        evaluate_separability(x, labels, plan=PairPlan("sampled-fraction", 0.05))
    m = evaluate_separability(x, labels, plan=PairPlan("sampled-fraction", 0.1)).metrics
    assert m["pairs_fraction"] == 0.1 and m["n_impostor"] > 0


@pytest.mark.parametrize("bins", [3, 1000, 1 << 25, 0])
def test_bad_histogram_bins_are_refused_before_any_work(bins):
    x, labels = clustered_set()
    with pytest.raises(FsbenchError, match=f"histogram bins {bins}: expected a power of two"):
        evaluate_separability(x, labels, bins=bins)


def test_a_fraction_with_exhaustive_pairs_is_not_silent():
    x, labels = clustered_set()
    with pytest.warns(IgnoredFractionWarning, match="pair fraction 0.3 is ignored"):
        plan = PairPlan("exhaustive", 0.3)
    assert evaluate_separability(x, labels, plan=plan).metrics["pairs_fraction"] is None


def test_typed_summary_and_json_dict_agree():
    x, labels = clustered_set(identities=10)
    result = evaluate_separability(x, labels)
    assert result.metrics == result.summary.to_dict()
    assert SeparabilityMetrics.from_dict(result.metrics).to_dict() == result.metrics
    assert list(result.metrics)[:3] == ["eer", "eer_threshold", "fmr100"]
    assert result.metrics["unresolved"] == ["fmr1000"]  # 720 impostor pairs
