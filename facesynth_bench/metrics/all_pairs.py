"""Streaming all-pairs scoring: genuine and impostor score distributions of an embedding set.

Pairs are unordered (i < j). A pair is genuine when both samples share an identity label.
Scores are dot products of the given rows (cosine similarity when rows are unit length),
computed in row blocks by matrix multiply, so an N x N matrix never exists.

Pair modes:
- `exhaustive`: every unordered pair.
- `sampled-equal`: all genuine pairs and as many impostor pairs, drawn uniformly without
  replacement (IDiff-Face's evaluation protocol).
- `sampled-fraction`: all genuine pairs; for each identity a in sorted label order,
  floor(F * (K - a - 1)) of the later identities drawn without replacement, every image
  pair of each (NegFaceDiff's protocol, which draws with replacement and an unseeded RNG).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import torch

from facesynth_bench.errors import FsbenchError
from facesynth_bench.metrics.distribution import ScoreMoments
from facesynth_bench.metrics.error_curve import (
    ErrorCurve,
    curve_from_histograms,
    curve_from_scores,
)
from facesynth_bench.metrics.pair_plan import PairPlan
from facesynth_bench.metrics.score_sinks import DEFAULT_BINS, ArraySink, HistogramSink

ENGINES = ("auto", "exact", "histogram")
EXACT_MAX_PAIRS = 20_000_000  # `auto` keeps every score up to this many pairs (~80 MB)

Progress = Callable[[int, int], None]


@dataclass
class PairScores:
    """Genuine and impostor score distributions, exact arrays or histograms, with moments."""

    engine: str
    genuine: ArraySink | HistogramSink
    impostor: ArraySink | HistogramSink
    genuine_moments: ScoreMoments
    impostor_moments: ScoreMoments

    @property
    def n_genuine(self) -> int:
        """Number of genuine pairs scored."""
        return self.genuine_moments.count

    @property
    def n_impostor(self) -> int:
        """Number of impostor pairs scored."""
        return self.impostor_moments.count

    def curve(self) -> ErrorCurve:
        """The error curve of these scores (exact, or sampled at histogram bin edges)."""
        if isinstance(self.genuine, ArraySink):
            return curve_from_scores(self.genuine.values(), self.impostor.values())
        return curve_from_histograms(
            self.genuine.counts_numpy(), self.impostor.counts_numpy(), self.genuine.lower_edges()
        )


def group_by_identity(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(order, codes, identities): a stable sort putting each identity's rows together,
    the identity index of each sorted row, and the sorted distinct labels."""
    identities, codes = np.unique(labels, return_inverse=True)
    order = np.argsort(codes, kind="stable")
    return order, codes[order], identities


def count_pairs(codes: np.ndarray) -> tuple[int, int]:
    """(genuine, impostor) counts of all unordered pairs for identity codes."""
    sizes = np.bincount(codes).astype(np.int64)
    n = int(sizes.sum())
    genuine = int((sizes * (sizes - 1) // 2).sum())
    return genuine, n * (n - 1) // 2 - genuine


def score_pairs(
    embeddings: torch.Tensor,
    codes: np.ndarray,
    plan: PairPlan = PairPlan(),
    engine: str = "auto",
    block_rows: int | None = None,
    bins: int = DEFAULT_BINS,
    progress: Progress | None = None,
) -> PairScores:
    """Score the pairs `plan` asks for; rows must be grouped by identity (sorted `codes`).

    `engine`: `exact` keeps every score, `histogram` streams them into a fixed grid of
    `bins` bins, `auto` picks exact up to EXACT_MAX_PAIRS pairs.
    """
    if engine not in ENGINES:
        raise FsbenchError(f"engine {engine!r}: expected one of {', '.join(ENGINES)}")
    if np.any(np.diff(codes) < 0):
        raise ValueError("rows must be grouped by identity: sort them with group_by_identity")
    n_gen, n_imp = count_pairs(codes)
    exhaustive = plan.mode == "exhaustive"
    if engine == "auto":
        planned = n_gen + _planned_impostors(plan, n_gen, n_imp)
        engine = "exact" if planned <= EXACT_MAX_PAIRS else "histogram"
    device = embeddings.device
    if block_rows is None:
        block_rows = 8192 if device.type == "cuda" else 2048
    radius = float(embeddings.norm(dim=1).max()) ** 2
    genuine, impostor = _make_sinks(engine, radius, bins, device, exhaustive)
    blocks = _BlockScorer(embeddings, codes, block_rows)
    total = blocks.planned_pairs(exhaustive)
    done = 0
    for block in blocks.blocks(exhaustive):
        if block.genuine is not None:
            genuine.add(block.genuine)
        if exhaustive:
            impostor.add_row_suffixes(block.scores, block.first_impostor)
        done += block.visited
        if progress is not None:
            progress(done, total)
    genuine_moments = genuine.moments()
    if exhaustive:
        if isinstance(impostor, ArraySink):
            impostor_moments = impostor.moments()
        else:
            impostor_moments = all_pairs_moments(embeddings, block_rows).minus(genuine_moments)
    else:
        sampler = _sample_equal if plan.mode == "sampled-equal" else _sample_fraction
        for block in sampler(embeddings, codes, plan, n_gen, n_imp):
            impostor.add(block)
        impostor_moments = impostor.moments()
    return PairScores(engine, genuine, impostor, genuine_moments, impostor_moments)


def all_pairs_moments(embeddings: torch.Tensor, block_rows: int = 4096) -> ScoreMoments:
    """Moments of e_i . e_j over all unordered pairs, in closed form (float64).

    sum_{i<j} s_ij = (|sum e|^2 - sum |e_i|^2) / 2 and
    sum_{i<j} s_ij^2 = (|E^T E|_F^2 - sum |e_i|^4) / 2.
    """
    n, d = embeddings.shape
    gram = torch.zeros(d, d, dtype=torch.float64, device=embeddings.device)
    total = torch.zeros(d, dtype=torch.float64, device=embeddings.device)
    sq_norms = []
    for start in range(0, n, block_rows):
        rows = embeddings[start : start + block_rows].double()
        gram += rows.T @ rows
        total += rows.sum(0)
        sq_norms.append((rows * rows).sum(1))
    norms2 = torch.cat(sq_norms)
    s1 = (total @ total - norms2.sum()) / 2
    s2 = ((gram * gram).sum() - (norms2 * norms2).sum()) / 2
    return ScoreMoments.from_sums(n * (n - 1) // 2, float(s1), float(s2))


def _planned_impostors(plan: PairPlan, n_gen: int, n_imp: int) -> int:
    if plan.mode == "exhaustive":
        return n_imp
    if plan.mode == "sampled-equal":
        return min(n_gen, n_imp)
    return n_imp  # an upper bound for sampled-fraction


def _make_sinks(
    engine: str, radius: float, bins: int, device: torch.device, exhaustive: bool
) -> tuple[ArraySink | HistogramSink, ArraySink | HistogramSink]:
    if engine == "exact":
        return ArraySink(), ArraySink()
    genuine = HistogramSink(radius, bins, device)
    # Exhaustive impostor moments come in closed form: no per-score float64 work.
    impostor = HistogramSink(radius, bins, device, track_moments=not exhaustive)
    return genuine, impostor


class _BlockScorer:
    """Walks the upper triangle of the score matrix in row blocks.

    Rows are grouped by identity, so in row r the pairs that are neither genuine nor already
    visited (lower triangle, diagonal) are exactly the columns at or after the end of r's
    identity group: every block's impostor scores are a suffix of each row.
    """

    def __init__(self, embeddings: torch.Tensor, codes: np.ndarray, block_rows: int) -> None:
        self.embeddings = embeddings
        self.codes = codes
        sizes = np.bincount(codes)
        self.group_end = np.repeat(np.cumsum(sizes), sizes)  # one past each row's group
        n = len(codes)
        self.starts = list(range(0, n, block_rows))
        self.stops = [*self.starts[1:], n]

    def _overlap(self, bi: int, bj: int) -> bool:
        # Blocks share an identity only if their ranges meet.
        return bool(self.codes[self.stops[bi] - 1] >= self.codes[self.starts[bj]])

    def _block_pairs(self, with_impostors: bool) -> Iterator[tuple[int, int]]:
        for bi in range(len(self.starts)):
            for bj in range(bi, len(self.starts)):
                if not (with_impostors or self._overlap(bi, bj)):
                    break
                yield bi, bj

    def planned_pairs(self, with_impostors: bool) -> int:
        """Number of matrix entries the walk will visit (upper triangle only)."""
        total = 0
        for bi, bj in self._block_pairs(with_impostors):
            rows = self.stops[bi] - self.starts[bi]
            cols = self.stops[bj] - self.starts[bj]
            total += rows * (rows - 1) // 2 if bi == bj else rows * cols
        return total

    def _genuine_index(self, rows: range, col_start: int, col_stop: int) -> np.ndarray:
        """Flat block indices of the genuine pairs (r, c), r < c, of one block."""
        r = np.arange(rows.start, rows.stop)
        first = np.maximum(r + 1, col_start) - col_start
        stop = np.minimum(self.group_end[r], col_stop) - col_start
        counts = np.maximum(stop - first, 0)
        row_of = np.repeat(np.arange(len(r)), counts)
        offset = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        return row_of * (col_stop - col_start) + np.repeat(first, counts) + offset

    def blocks(self, with_impostors: bool) -> Iterator[_Block]:
        """Every block of the walk, with its genuine scores and impostor row suffixes."""
        e = self.embeddings
        for bi, bj in self._block_pairs(with_impostors):
            rows = range(self.starts[bi], self.stops[bi])
            c0, c1 = self.starts[bj], self.stops[bj]
            scores = e[rows.start : rows.stop] @ e[c0:c1].T
            visited = len(rows) * (len(rows) - 1) // 2 if bi == bj else scores.numel()
            if not self._overlap(bi, bj):
                yield _Block(scores, None, None, visited)
                continue
            index = torch.as_tensor(self._genuine_index(rows, c0, c1), device=e.device)
            genuine = scores.reshape(-1)[index]
            first_impostor = np.clip(self.group_end[rows.start : rows.stop] - c0, 0, c1 - c0)
            yield _Block(scores, genuine, torch.as_tensor(first_impostor, device=e.device), visited)


@dataclass
class _Block:
    """One block of scores: impostors are row r's columns from `first_impostor[r]` on
    (all columns when None); `genuine` holds the block's genuine scores (None: none)."""

    scores: torch.Tensor
    genuine: torch.Tensor | None
    first_impostor: torch.Tensor | None
    visited: int


def _sample_equal(
    embeddings: torch.Tensor, codes: np.ndarray, plan: PairPlan, n_gen: int, n_imp: int
) -> Iterator[torch.Tensor]:
    rng = np.random.default_rng(plan.seed)
    need = min(n_gen, n_imp)
    n = len(codes)
    if 2 * need >= n_imp:  # a large share: enumerate every impostor pair and choose
        i, j = np.triu_indices(n, k=1)
        impostor = codes[i] != codes[j]
        pick = rng.choice(int(impostor.sum()), size=need, replace=False)
        first, second = i[impostor][pick], j[impostor][pick]
    else:  # rejection sampling of unordered pairs, duplicates dropped
        keys = np.empty(0, dtype=np.int64)
        while keys.size < need:
            m = int((need - keys.size) * 1.2) + 1024
            a, b = rng.integers(0, n, m), rng.integers(0, n, m)
            lo, hi = np.minimum(a, b), np.maximum(a, b)
            fresh = lo * n + hi
            keys = np.concatenate([keys, fresh[codes[lo] != codes[hi]]])
            _, first_seen = np.unique(keys, return_index=True)
            keys = keys[np.sort(first_seen)]
        keys = keys[:need]
        first, second = keys // n, keys % n
    chunk = 1 << 20
    for start in range(0, need, chunk):
        a = torch.as_tensor(first[start : start + chunk], device=embeddings.device)
        b = torch.as_tensor(second[start : start + chunk], device=embeddings.device)
        yield (embeddings[a] * embeddings[b]).sum(1)


def _sample_fraction(
    embeddings: torch.Tensor, codes: np.ndarray, plan: PairPlan, n_gen: int, n_imp: int
) -> Iterator[torch.Tensor]:
    rng = np.random.default_rng(plan.seed)
    sizes = np.bincount(codes)
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    k_total = len(sizes)
    for a in range(k_total - 1):
        later = k_total - a - 1
        k = math.floor(plan.fraction * later)
        if k == 0:
            continue
        partners = np.sort(rng.choice(later, size=k, replace=False)) + a + 1
        rows = np.concatenate([np.arange(offsets[p], offsets[p + 1]) for p in partners])
        own = embeddings[offsets[a] : offsets[a + 1]]
        yield own @ embeddings[torch.as_tensor(rows, device=embeddings.device)].T
