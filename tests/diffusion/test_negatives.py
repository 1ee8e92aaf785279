"""Negative selection on hand-made pools, blocked scans and faiss against brute force."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from facesynth_bench.diffusion.negatives import choose_negatives
from facesynth_bench.errors import FsbenchError


def _angles(*degrees: float) -> torch.Tensor:
    rad = [math.radians(d) for d in degrees]
    return torch.tensor([[math.cos(a), math.sin(a)] for a in rad])


POOL = _angles(0, 30, 100, 180)


@pytest.mark.parametrize(
    ("strategy", "expected"),
    [
        ("far", [3, 3, 0, 0]),
        ("close", [1, 0, 1, 2]),
        ("mid", [2, 2, 3, 1]),
        ("previous", [3, 0, 1, 2]),
    ],
)
def test_strategies_on_a_hand_made_pool(strategy: str, expected: list[int]) -> None:
    chosen = choose_negatives(POOL, strategy, use_faiss=False)
    assert chosen.indices.tolist() == expected
    assert torch.equal(chosen.contexts, POOL[expected])


def test_null_is_a_zero_context() -> None:
    chosen = choose_negatives(POOL, "null")
    assert torch.equal(chosen.contexts, torch.zeros_like(POOL))
    assert chosen.indices.tolist() == [-1] * 4


def test_random_is_seeded_excludes_self_and_covers_the_others() -> None:
    pool = torch.randn(50, 8)
    a, b = choose_negatives(pool, "random", seed=1), choose_negatives(pool, "random", seed=1)
    assert torch.equal(a.indices, b.indices)
    assert not torch.equal(a.indices, choose_negatives(pool, "random", seed=2).indices)
    assert (a.indices != torch.arange(50)).all()
    counts = np.bincount(
        [choose_negatives(POOL, "random", seed=s).indices[0].item() for s in range(300)],
        minlength=4,
    )
    assert counts[0] == 0 and counts[1:].min() > 70


@pytest.mark.parametrize("strategy", ["far", "close", "mid"])
def test_blocked_scan_equals_brute_force(strategy: str) -> None:
    pool = torch.randn(301, 16, generator=torch.Generator().manual_seed(0))
    unit = torch.nn.functional.normalize(pool.double(), dim=1).numpy()
    sims = unit @ unit.T
    np.fill_diagonal(sims, np.nan)
    if strategy == "far":
        expected = np.nanargmin(sims, axis=1)
    elif strategy == "close":
        expected = np.nanargmax(sims, axis=1)
    else:
        others = [np.argsort(np.delete(row, i), kind="stable") for i, row in enumerate(sims)]
        keep = [np.delete(np.arange(301), i) for i in range(301)]
        expected = np.array([keep[i][order[(301 - 2) // 2]] for i, order in enumerate(others)])
    for block_rows in (7, 512):
        chosen = choose_negatives(pool, strategy, block_rows=block_rows, use_faiss=False)
        assert chosen.indices.tolist() == expected.tolist()


@pytest.mark.parametrize("strategy", ["far", "close"])
def test_faiss_equals_the_blocked_scan(strategy: str) -> None:
    pool = torch.randn(500, 32, generator=torch.Generator().manual_seed(1))
    ours = choose_negatives(pool, strategy, use_faiss=False).indices
    assert torch.equal(choose_negatives(pool, strategy, use_faiss=True).indices, ours)


def test_bad_requests_are_refused() -> None:
    with pytest.raises(FsbenchError, match="unknown negative strategy 'farthest'"):
        choose_negatives(POOL, "farthest")
    with pytest.raises(FsbenchError, match="at least 2 identities"):
        choose_negatives(POOL[:1], "far")


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("strategy", ["far", "close", "mid"])
def test_scan_on_the_gpu_equals_the_cpu_scan(strategy: str) -> None:
    pool = torch.randn(700, 32, generator=torch.Generator().manual_seed(2))
    cpu = choose_negatives(pool, strategy, use_faiss=False)
    gpu = choose_negatives(pool, strategy, device=torch.device("cuda"), block_rows=64)
    assert torch.equal(gpu.indices, cpu.indices) and gpu.contexts.device.type == "cpu"


def test_scan_on_an_explicit_cpu_device_equals_the_default() -> None:
    pool = torch.randn(300, 16, generator=torch.Generator().manual_seed(3))
    default = choose_negatives(pool, "far", use_faiss=False)
    explicit = choose_negatives(pool, "far", device=torch.device("cpu"), block_rows=10)
    assert torch.equal(default.indices, explicit.indices)
