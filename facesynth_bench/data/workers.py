"""Worker processes that load and decode samples (torch DataLoader `num_workers`)."""

from __future__ import annotations

from facesynth_bench.errors import FsbenchError


def check_workers(count: int) -> int:
    """`count` if it is a valid number of loading processes (0 loads in this process)."""
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise FsbenchError(
            f"data-loading workers must be a whole number >= 0 (0 loads in this process), "
            f"got {count!r}"
        )
    return count
