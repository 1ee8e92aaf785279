"""The image plan as arithmetic (same batches as a listed plan) and the up-front size checks."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from facesynth_bench.errors import FsbenchError
from facesynth_bench.generation.plan import ImagePlan, check_run_size, run_memory_bytes


def _listed(n: int, m: int, batch: int, rank: int, world: int) -> list[list[tuple[int, int]]]:
    """The plan as the runner used to build it: every image listed, then cut."""
    images = [(i, k) for i in range(n) for k in range(m)]
    chunks = [images[start : start + batch] for start in range(0, len(images), batch)]
    return chunks[rank::world]


@pytest.mark.parametrize(
    ("n", "m", "batch", "world"), [(3, 2, 4, 1), (5, 3, 4, 2), (7, 1, 3, 3), (1, 1, 16, 4)]
)
def test_plan_batches_are_those_of_a_listed_plan(n: int, m: int, batch: int, world: int) -> None:
    for rank in range(world):
        plan = ImagePlan(n, m, batch, rank, world)
        listed = _listed(n, m, batch, rank, world)
        assert list(plan) == listed and len(plan) == len(listed)
        assert plan.image_count == sum(map(len, listed)) == len(list(plan.images()))
    assert plan.total == n * m


def test_a_plan_of_any_size_costs_nothing() -> None:
    start = time.perf_counter()
    plan = ImagePlan(100_000_000_000, 50, 16, rank=3, world=8)
    assert plan.total == 5_000_000_000_000 and len(plan) == 39_062_500_000
    assert plan.batch(3) == [(0, 48), (0, 49), *[(1, k) for k in range(14)]]
    assert plan.image_count == 39_062_500_000 * 16
    assert time.perf_counter() - start < 0.1


def test_contexts_that_cannot_fit_in_memory_are_refused(tmp_path: Path) -> None:
    need = run_memory_bytes(1_000_000, 512, guided=True)
    assert need == 1_000_000 * (4 * 512 * 6 + 256)
    check_run_size(1_000_000, 10, 512, True, tmp_path, memory=need, files=None)
    with pytest.raises(FsbenchError, match=r"1,000,000 identities need about 11\.7 GiB of memory"):
        check_run_size(1_000_000, 10, 512, True, tmp_path, memory=need - 1)


def test_images_that_cannot_fit_as_files_are_refused(tmp_path: Path) -> None:
    check_run_size(10, 9, 16, False, tmp_path / "new", memory=2**30, files=100)
    with pytest.raises(FsbenchError, match=r"10 x 10 images need 110 files and folders.*100 more"):
        check_run_size(10, 10, 16, False, tmp_path / "new", memory=2**30, files=100)
