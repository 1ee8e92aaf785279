"""Negative contexts p- for each identity, chosen from the run's own positive contexts.

Strategies (NegFaceDiff, Caldeira et al. 2025, and the seed paper):
    far       argmin cosine similarity over the pool (AdaptDiff's choice)
    close     argmax cosine similarity, excluding the identity itself
    mid       the lower median by cosine of the other identities
    random    a seeded uniform choice among the other identities
    previous  the identity before it, (i - 1) mod N: what NegFaceDiff's code calls "Rand"
    null      a zero context, passed through the model's context projection as given

Pools are scanned in row blocks, so 100k+ contexts need no N x N matrix; faiss (when
installed) serves far/close through an exact inner-product index.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from facesynth_bench.errors import FsbenchError
from facesynth_bench.seeding import child_rng

if TYPE_CHECKING:  # torch is imported where negatives are chosen: presets validate without it
    import torch
    from torch import Tensor

NEGATIVE_STRATEGIES = ("far", "close", "mid", "random", "previous", "null")
NULL_INDEX = -1
BLOCK_ELEMENTS = 1 << 24
"""Similarity entries per block (128 MB of float64): rows per block = this // N."""


@dataclass(frozen=True)
class Negatives:
    """Chosen negatives: contexts (N, C) and the pool index of each (-1 for null)."""

    contexts: Tensor
    indices: Tensor


def _unit_rows(pool: Tensor) -> Tensor:
    import torch

    return torch.nn.functional.normalize(pool.double(), dim=1)


def _blocked_choice(unit: Tensor, strategy: str, block_rows: int) -> Tensor:
    """far/close/mid indices by scanning (block x N) similarity blocks, on unit's device."""
    import torch

    n, device = unit.shape[0], unit.device
    chosen = torch.empty(n, dtype=torch.long, device=device)
    for start in range(0, n, block_rows):
        rows = torch.arange(start, min(start + block_rows, n), device=device)
        diagonal = (torch.arange(len(rows), device=device), rows)
        sims = unit[rows] @ unit.T
        if strategy == "far":
            sims[diagonal] = torch.inf
            chosen[rows] = sims.argmin(dim=1)
        elif strategy == "close":
            sims[diagonal] = -torch.inf
            chosen[rows] = sims.argmax(dim=1)
        else:
            # drop self by sorting it to the end, then take the lower median of the rest
            sims[diagonal] = torch.inf
            order = sims.argsort(dim=1, stable=True)
            chosen[rows] = order[:, (n - 2) // 2]
    return chosen.cpu()


def _faiss_choice(unit: Tensor, strategy: str) -> Tensor:
    """far/close through an exact faiss inner-product index, skipping self in the top 2."""
    import faiss
    import torch

    data = np.ascontiguousarray(unit.float().cpu().numpy())
    # far: the most similar to -q is the least similar to q
    indexed = -data if strategy == "far" else data
    index = faiss.IndexFlatIP(data.shape[1])
    index.add(indexed)
    _, found = index.search(data, 2)
    own = np.arange(len(data))
    pick = np.where(found[:, 0] == own, found[:, 1], found[:, 0])
    return torch.from_numpy(pick.astype(np.int64))


def choose_negatives(
    pool: Tensor,
    strategy: str,
    seed: int = 0,
    block_rows: int | None = None,
    use_faiss: bool | None = None,
    device: torch.device | None = None,
) -> Negatives:
    """One negative per row of `pool` (N, C) by `strategy`; `seed` drives `random`.

    `block_rows` bounds memory to (block_rows x N) similarities (default: 2^24 // N rows).
    The scan runs on `device` (e.g. the GPU of the run); results are on the pool's device.
    """
    import torch

    if strategy not in NEGATIVE_STRATEGIES:
        raise FsbenchError(
            f"unknown negative strategy {strategy!r}; choose from {', '.join(NEGATIVE_STRATEGIES)}"
        )
    n = pool.shape[0]
    if strategy == "null":
        return Negatives(torch.zeros_like(pool), torch.full((n,), NULL_INDEX, dtype=torch.long))
    if n < 2:
        raise FsbenchError(f"negative strategy {strategy!r} needs at least 2 identities, got {n}")
    if strategy == "previous":
        indices = (torch.arange(n) - 1) % n
    elif strategy == "random":
        draws = torch.from_numpy(child_rng(seed).integers(0, n - 1, size=n))
        indices = draws + (draws >= torch.arange(n)).long()
    else:
        if use_faiss is None:  # on a GPU the blocked torch scan is the fast path
            on_cpu = device is None or torch.device(device).type == "cpu"
            has_faiss = importlib.util.find_spec("faiss") is not None
            use_faiss = on_cpu and strategy != "mid" and has_faiss
        unit = _unit_rows(pool if device is None else pool.to(device))
        indices = (
            _faiss_choice(unit, strategy)
            if use_faiss
            else _blocked_choice(unit, strategy, block_rows or max(1, BLOCK_ELEMENTS // n))
        )
    indices = indices.to(pool.device)
    return Negatives(pool[indices], indices)
