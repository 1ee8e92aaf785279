"""Where pair scores go: an exact array sink or a fine fixed-grid histogram sink.

Both take blocks of float32 scores on any device. The histogram assigns a score s to bin
floor(s / h) + bins/2 with a power-of-two bin width h, computed in float32 where scaling by
a power of two and flooring are exact: so the count of scores >= any bin edge is exact and
rates read at bin edges equal the exact rates there (docs/protocols.md).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from facesynth_bench.errors import FsbenchError
from facesynth_bench.metrics.distribution import ScoreMoments

DEFAULT_BINS = 1 << 20
MAX_BINS = 1 << 24  # bin indices stay exact integers in float32
_CHUNK = 1 << 22  # scores binned per pass


def check_bins(bins: int) -> None:
    """Refuse a histogram bin count that is not a power of two from 2 to MAX_BINS."""
    if not 2 <= bins <= MAX_BINS or bins & (bins - 1):
        raise FsbenchError(
            f"histogram bins {bins}: expected a power of two from 2 to 2^24 ({MAX_BINS:,})"
        )


class ArraySink:
    """Keeps every score (float32, on the CPU) for the exact sort-based path."""

    def __init__(self) -> None:
        self._chunks: list[np.ndarray] = []

    def add(self, scores: torch.Tensor) -> None:
        """Append a block of scores."""
        self._chunks.append(scores.detach().reshape(-1).float().cpu().numpy())

    def add_row_suffixes(self, scores: torch.Tensor, first: torch.Tensor | None) -> None:
        """Append scores[r, first[r]:] of every row r (the whole block when `first` is None)."""
        if first is None:
            self.add(scores)
            return
        columns = torch.arange(scores.shape[1], device=scores.device)
        self.add(scores[columns[None, :] >= first[:, None]])

    def values(self) -> np.ndarray:
        """All scores added so far, in insertion order."""
        if not self._chunks:
            return np.empty(0, dtype=np.float32)
        return np.concatenate(self._chunks)

    @property
    def count(self) -> int:
        """Number of scores added."""
        return sum(chunk.size for chunk in self._chunks)

    def moments(self) -> ScoreMoments:
        """Moments of every score added (float64)."""
        return ScoreMoments.of(self.values())


class HistogramSink:
    """Counts scores in `bins` equal bins over [-r, r), r the smallest power of two >= `radius`.

    Scores outside the range are clamped into the first or last bin. Moments are accumulated
    from the scores in float64 unless `track_moments` is off (the caller then derives them).
    """

    def __init__(
        self,
        radius: float = 1.0,
        bins: int = DEFAULT_BINS,
        device: torch.device | str = "cpu",
        track_moments: bool = True,
    ) -> None:
        check_bins(bins)
        self.bins = bins
        self.radius = 2.0 ** math.ceil(math.log2(max(radius, 2.0**-60)))
        self.width = 2.0 * self.radius / bins
        self._inv_width = 1.0 / self.width  # a power of two: scaling is exact
        self.counts = torch.zeros(bins, dtype=torch.int64, device=device)
        self.track_moments = track_moments
        self._moments = ScoreMoments()
        self._scaled = torch.empty(0, dtype=torch.float32, device=device)
        self._index = torch.empty(0, dtype=torch.int32, device=device)

    def add(self, scores: torch.Tensor) -> None:
        """Count a block of float32 scores."""
        flat = scores.detach().reshape(-1)
        if flat.dtype != torch.float32:
            flat = flat.float()
        if self.track_moments:
            self._moments = self._moments.merge(_moments_of_tensor(flat))
        # Chunks through reused buffers: bounded temporaries, no page faults per block.
        if self._scaled.numel() < min(flat.numel(), _CHUNK):
            self._scaled = torch.empty(min(flat.numel(), _CHUNK), device=flat.device)
            self._index = torch.empty_like(self._scaled, dtype=torch.int32)
        for chunk in flat.split(_CHUNK):
            scaled = torch.mul(chunk, self._inv_width, out=self._scaled[: chunk.numel()])
            scaled.floor_().add_(self.bins // 2).clamp_(0, self.bins - 1)
            index = self._index[: chunk.numel()].copy_(scaled)
            self.counts += torch.bincount(index, minlength=self.bins)

    def add_row_suffixes(self, scores: torch.Tensor, first: torch.Tensor | None) -> None:
        """Count scores[r, first[r]:] of every row r (the whole block when `first` is None).

        Overwrites the block: the excluded prefixes are set below every bin, counted into
        bin 0 with the rest, and taken out of it again, which costs one pass, not a gather.
        """
        if first is None:
            self.add(scores)
            return
        columns = torch.arange(scores.shape[1], device=scores.device)
        excluded = columns[None, :] < first[:, None]
        if self.track_moments:  # moments need the kept scores themselves
            self.add(scores[~excluded])
            return
        scores.masked_fill_(excluded, float("-inf"))
        self.add(scores)
        self.counts[0] -= first.sum()

    @property
    def count(self) -> int:
        """Number of scores counted."""
        return int(self.counts.sum())

    def moments(self) -> ScoreMoments:
        """Moments of every score added (needs `track_moments`)."""
        if not self.track_moments:
            raise RuntimeError("this histogram does not track moments")
        return self._moments

    def lower_edges(self) -> np.ndarray:
        """Lower edge of every bin, float64."""
        return (np.arange(self.bins, dtype=np.float64) - self.bins // 2) * self.width

    def counts_numpy(self) -> np.ndarray:
        """Bin counts as an int64 numpy array."""
        return self.counts.cpu().numpy()


def _moments_of_tensor(flat: torch.Tensor) -> ScoreMoments:
    if flat.numel() == 0:
        return ScoreMoments()
    x = flat.double()  # float32 scores: their squares cannot overflow float64
    mean = x.mean()
    return ScoreMoments(int(x.numel()), float(mean), float((x - mean).square().mean().sqrt()))
