"""Score sinks: exact binning at bin edges, row suffixes, moments."""

import numpy as np
import pytest
import torch

from facesynth_bench.errors import FsbenchError
from facesynth_bench.metrics.distribution import ScoreMoments
from facesynth_bench.metrics.score_sinks import ArraySink, HistogramSink


def test_binning_is_exact_at_bin_edges():
    sink = HistogramSink(radius=1.0, bins=16)  # width 1/8
    edge = np.float32(0.25)
    below = np.nextafter(edge, np.float32(-1))
    sink.add(torch.tensor([below, edge, -1.0, 0.99999994, 1.0, 1.5, -3.0], dtype=torch.float32))
    counts = sink.counts_numpy()
    assert counts[8 + 1] == 1  # just below 0.25 -> [0.125, 0.25)
    assert counts[8 + 2] == 1  # exactly 0.25 -> [0.25, 0.375)
    assert counts[0] == 2  # -1.0 and the clamped -3.0
    assert counts[15] == 3  # 0.99999994, 1.0 and 1.5 clamped into the last bin
    np.testing.assert_allclose(sink.lower_edges()[[0, 8, 15]], [-1.0, 0.0, 0.875])


def test_radius_rounds_up_to_a_power_of_two():
    assert HistogramSink(radius=3.0, bins=8).radius == 4.0
    assert HistogramSink(radius=1.0, bins=8).width == 0.25
    with pytest.raises(FsbenchError, match="histogram bins 1000: expected a power of two"):
        HistogramSink(bins=1000)


@pytest.mark.parametrize("track_moments", [True, False])
def test_row_suffixes_equal_an_explicit_gather(track_moments):
    rng = np.random.default_rng(0)
    scores = rng.uniform(-1, 1, (6, 9)).astype(np.float32)
    first = np.array([0, 3, 9, 1, 8, 5])
    kept = np.concatenate([scores[r, f:] for r, f in enumerate(first)])
    hist = HistogramSink(bins=64, track_moments=track_moments)
    hist.add_row_suffixes(torch.tensor(scores), torch.tensor(first))
    reference = HistogramSink(bins=64)
    reference.add(torch.tensor(kept))
    np.testing.assert_array_equal(hist.counts_numpy(), reference.counts_numpy())
    if track_moments:
        assert hist.moments().mean == pytest.approx(ScoreMoments.of(kept).mean)
        assert hist.moments().std == pytest.approx(ScoreMoments.of(kept).std)
    array = ArraySink()
    array.add_row_suffixes(torch.tensor(scores), torch.tensor(first))
    np.testing.assert_array_equal(array.values(), kept)
    assert array.count == kept.size == hist.count


def test_chunks_and_buffers_do_not_change_counts():
    rng = np.random.default_rng(1)
    values = torch.tensor(rng.normal(0, 0.3, 5_000_000), dtype=torch.float32)
    sink = HistogramSink()
    sink.add(values[:10])  # small buffers first, then grown
    sink.add(values[10:])
    expected = np.bincount(
        np.clip(np.floor(values.numpy().astype(np.float64) * 2**19) + 2**19, 0, 2**20 - 1).astype(
            np.int64
        ),
        minlength=2**20,
    )
    np.testing.assert_array_equal(sink.counts_numpy(), expected)
