"""The streaming all-pairs scorer: pair counts, modes, and agreement with brute force."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from facesynth_bench.metrics.all_pairs import (
    PairPlan,
    all_pairs_moments,
    count_pairs,
    group_by_identity,
    score_pairs,
)
from facesynth_bench.metrics.conventions import CONVENTIONS
from facesynth_bench.metrics.distribution import ScoreMoments


def identity_set(sizes, dim=16, spread=0.6, seed=0):
    """Unit embeddings around one random centre per identity, rows grouped by identity."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((len(sizes), dim))
    codes = np.repeat(np.arange(len(sizes)), sizes)
    x = centres[codes] + spread * rng.standard_normal((len(codes), dim))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return torch.tensor(x, dtype=torch.float32), codes


def brute_force(embeddings, codes):
    scores = (embeddings @ embeddings.T).numpy()
    i, j = np.triu_indices(len(codes), k=1)
    same = codes[i] == codes[j]
    return scores[i, j][same], scores[i, j][~same]


@pytest.mark.parametrize("block_rows", [3, 7, 64])
def test_exhaustive_exact_equals_brute_force(block_rows):
    embeddings, codes = identity_set([4, 1, 6, 3, 5, 2])
    result = score_pairs(embeddings, codes, engine="exact", block_rows=block_rows)
    genuine, impostor = brute_force(embeddings, codes)
    np.testing.assert_allclose(np.sort(result.genuine.values()), np.sort(genuine), atol=1e-6)
    np.testing.assert_allclose(np.sort(result.impostor.values()), np.sort(impostor), atol=1e-6)
    assert (result.n_genuine, result.n_impostor) == count_pairs(codes) == (35, 175)


def test_histogram_counts_and_closed_form_moments():
    embeddings, codes = identity_set([20] * 30, dim=32)
    exact = score_pairs(embeddings, codes, engine="exact", block_rows=128)
    hist = score_pairs(embeddings, codes, engine="histogram", block_rows=128)
    assert hist.genuine.count == exact.n_genuine == 30 * 190
    assert hist.impostor.count == exact.n_impostor == 600 * 599 // 2 - 30 * 190
    for a, b in [
        (hist.genuine_moments, exact.genuine_moments),
        (hist.impostor_moments, exact.impostor_moments),
    ]:
        assert a.count == b.count
        assert a.mean == pytest.approx(b.mean, abs=1e-7)
        assert a.std == pytest.approx(b.std, rel=1e-6)


def test_closed_form_moments_equal_direct_sums():
    embeddings, _ = identity_set([5] * 40, dim=8)
    scores = (embeddings.double() @ embeddings.double().T).numpy()
    direct = ScoreMoments.of(scores[np.triu_indices(200, k=1)])
    closed = all_pairs_moments(embeddings, block_rows=17)
    assert closed.count == direct.count
    assert closed.mean == pytest.approx(direct.mean, rel=1e-9, abs=1e-12)
    assert closed.std == pytest.approx(direct.std, rel=1e-9)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    sizes=st.lists(st.integers(1, 12), min_size=2, max_size=25),
    seed=st.integers(0, 2**16),
    spread=st.floats(0.05, 3.0),
    bins=st.sampled_from([1 << 10, 1 << 14, 1 << 20]),
)
def test_histogram_agrees_with_exact_within_the_stated_bound(sizes, seed, spread, bins):
    if sum(s * (s - 1) // 2 for s in sizes) == 0:
        sizes = [*sizes, 2]
    embeddings, codes = identity_set(sizes, spread=spread, seed=seed)
    exact = score_pairs(embeddings, codes, engine="exact", block_rows=16).curve()
    hist = score_pairs(embeddings, codes, engine="histogram", bins=bins, block_rows=16).curve()
    # Every operating point stays within the bound it reports (insightface's candidates are
    # sklearn's ROC corners, which differ between the two curves: not covered)...
    for name in ["strict", "bob", "pyeer"]:
        rules = CONVENTIONS.get(name)
        eer_hist = rules.eer(hist)
        assert abs(eer_hist.eer - rules.eer(exact).eer) <= eer_hist.point.bound + 1e-12
        for target in [1e-3, 1e-2, 0.1]:
            a, b = rules.fnmr_at_fmr(hist, target), rules.fnmr_at_fmr(exact, target)
            assert abs(a.fnmr - b.fnmr) <= a.bound + 1e-12
            assert abs(a.fmr - b.fmr) <= a.bound + 1e-12
    # ...and strict's FNMR@FMR moves by at most one bin's mass.
    one_bin = max(hist.genuine_at.max() / hist.n_genuine, hist.impostor_at.max() / hist.n_impostor)
    for target in [1e-3, 1e-2, 0.1]:
        a = CONVENTIONS.get("strict").fnmr_at_fmr(hist, target)
        b = CONVENTIONS.get("strict").fnmr_at_fmr(exact, target)
        assert abs(a.fnmr - b.fnmr) <= one_bin + 1e-12
    strict = CONVENTIONS.get("strict")
    for target in [1e-3, 1e-2, 0.1]:
        # Rates at a bin edge are exact: the histogram's pick is a point of the exact curve.
        point = strict.fnmr_at_fmr(hist, target)
        assert exact.rates_at(point.threshold) == (point.fmr, point.fnmr)


def test_sampled_equal_draws_as_many_distinct_impostor_pairs_as_genuine():
    embeddings, codes = identity_set([6] * 50)
    plan = PairPlan("sampled-equal", seed=3)
    result = score_pairs(embeddings, codes, plan, engine="exact")
    genuine, _ = count_pairs(codes)
    assert result.n_genuine == result.n_impostor == genuine == 750
    _, impostor = brute_force(embeddings, codes)
    # Every sampled score is an impostor score, and distinct pairs give (almost) distinct scores.
    assert np.isin(np.round(result.impostor.values(), 5), np.round(impostor, 5)).all()
    again = score_pairs(embeddings, codes, plan, engine="exact")
    np.testing.assert_array_equal(result.impostor.values(), again.impostor.values())
    other = score_pairs(embeddings, codes, PairPlan("sampled-equal", seed=4), engine="exact")
    assert not np.array_equal(result.impostor.values(), other.impostor.values())


def test_sampled_equal_with_few_impostor_pairs_takes_them_all():
    embeddings, codes = identity_set([30, 2])
    result = score_pairs(embeddings, codes, PairPlan("sampled-equal"), engine="exact")
    assert result.n_impostor == count_pairs(codes)[1] == 60


@pytest.mark.parametrize("fraction", [0.05, 0.25, 1.0])
def test_sampled_fraction_counts(fraction):
    sizes = [3, 5, 2, 4] * 10
    embeddings, codes = identity_set(sizes)
    result = score_pairs(embeddings, codes, PairPlan("sampled-fraction", fraction, 1), "exact")
    k = len(sizes)
    per_identity = [int(np.floor(fraction * (k - a - 1))) for a in range(k)]
    mean_size = np.mean(sizes)
    expected_low = sum(p * min(sizes) for p in per_identity) * min(sizes)
    expected_high = sum(p * max(sizes) for p in per_identity) * max(sizes)
    assert expected_low <= result.n_impostor <= expected_high
    if fraction == 1.0:
        assert result.n_impostor == count_pairs(codes)[1]
    assert result.n_genuine == count_pairs(codes)[0]
    assert mean_size > 0


def test_sampled_fraction_pairs_each_identity_with_distinct_later_ones():
    sizes = [2] * 41
    embeddings, codes = identity_set(sizes)
    result = score_pairs(embeddings, codes, PairPlan("sampled-fraction", 0.1, 5), "exact")
    # floor(0.1 * (40 - a)) partners for identity a, 4 image pairs each, no repeats.
    expected = sum(int(np.floor(0.1 * (40 - a))) * 4 for a in range(41))
    assert result.n_impostor == expected


def test_group_by_identity_accepts_string_labels():
    order, codes, identities = group_by_identity(np.array(["b", "a", "b", "c", "a"]))
    assert list(identities) == ["a", "b", "c"]
    assert list(codes) == [0, 0, 1, 1, 2]
    assert list(order) == [1, 4, 0, 2, 3]


def test_ungrouped_rows_are_refused():
    embeddings, _ = identity_set([2, 2])
    with pytest.raises(ValueError, match="grouped"):
        score_pairs(embeddings, np.array([0, 1, 0, 1]))


def test_pair_counts_by_hand():
    assert count_pairs(np.array([0, 0, 0, 1, 1, 2])) == (4, 11)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_streaming_scores_equal_the_cpu_ones():
    embeddings, codes = identity_set([20] * 50, dim=64)
    cpu = score_pairs(embeddings, codes, engine="histogram")
    gpu = score_pairs(embeddings.cuda(), codes, engine="histogram")
    assert gpu.n_genuine == cpu.n_genuine and gpu.n_impostor == cpu.n_impostor
    # GEMM rounding may differ across devices: compare the curves, not bin by bin.
    for name in ["strict", "pyeer"]:
        rules = CONVENTIONS.get(name)
        assert rules.eer(gpu.curve()).eer == pytest.approx(rules.eer(cpu.curve()).eer, abs=1e-3)
    assert gpu.impostor_moments.mean == pytest.approx(cpu.impostor_moments.mean, abs=1e-6)
