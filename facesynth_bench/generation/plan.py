"""The images of a run as arithmetic, and the memory and files a run needs, checked up front.

A run of N identities x M images numbers its images f = i M + k in identity-major order
and cuts them into batches of B: batch c holds images [c B, min((c + 1) B, N M)). Rank r
of W torchrun processes takes batches r, r + W, ... Nothing is listed in memory, so a run
of any size costs nothing to plan, and its size is checked before anything is allocated.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from facesynth_bench.errors import FsbenchError

BYTES_PER_IDENTITY = 256
"""Identity id string, manifest and bookkeeping per identity, beyond its context floats."""
CONTEXT_COPIES_GUIDED = 6
"""Float32-sized copies of the (N, C) contexts alive at once in a guided run: the contexts,
their negatives, the float64 unit rows the negatives are chosen from (2), and the copy
written to contexts.npz (2)."""
CONTEXT_COPIES_UNGUIDED = 3
"""The contexts, their fingerprint bytes and the copy written to contexts.npz."""

Image = tuple[int, int]
"""(identity i, index k) of one image."""


@dataclass(frozen=True)
class ImagePlan:
    """The batches of one rank: N identities x M images in batches of B, every world-th one."""

    identities: int
    images_per_identity: int
    batch_size: int
    rank: int = 0
    world: int = 1

    @property
    def total(self) -> int:
        """N M, the images of the whole run (every rank)."""
        return self.identities * self.images_per_identity

    @property
    def batch_numbers(self) -> range:
        """Numbers c of this rank's batches."""
        return range(self.rank, -(-self.total // self.batch_size), self.world)

    def batch(self, number: int) -> list[Image]:
        """The images (i, k) of batch `number`."""
        start = number * self.batch_size
        stop = min(start + self.batch_size, self.total)
        return [divmod(f, self.images_per_identity) for f in range(start, stop)]

    def __iter__(self) -> Iterator[list[Image]]:
        return (self.batch(number) for number in self.batch_numbers)

    def __len__(self) -> int:
        return len(self.batch_numbers)

    def images(self) -> Iterator[Image]:
        """Every image of this rank, batch by batch."""
        return (image for batch in self for image in batch)

    @property
    def image_count(self) -> int:
        """How many images this rank's batches hold."""
        numbers = self.batch_numbers
        if not numbers:
            return 0
        short = self.batch_size - len(self.batch(numbers[-1]))
        return len(numbers) * self.batch_size - short


def run_memory_bytes(identities: int, context_dim: int, guided: bool) -> int:
    """Bytes a run holds for its identities at peak: context copies plus bookkeeping."""
    copies = CONTEXT_COPIES_GUIDED if guided else CONTEXT_COPIES_UNGUIDED
    return identities * (4 * context_dim * copies + BYTES_PER_IDENTITY)


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation (Linux MemAvailable), None if unknown."""
    try:
        for line in Path("/proc/meminfo").read_text(encoding="ascii").splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def free_files(folder: Path) -> int | None:
    """How many more files the file system of `folder` (or its nearest parent) can hold."""
    for candidate in (folder, *folder.parents):
        if candidate.exists():
            try:
                stats = os.statvfs(candidate)
            except (AttributeError, OSError):
                return None
            return stats.f_favail if stats.f_files > 0 else None  # 0: no inode limit
    return None


def check_run_size(
    identities: int,
    images_per_identity: int,
    context_dim: int,
    guided: bool,
    out: Path,
    memory: int | None = None,
    files: int | None = None,
) -> None:
    """Refuse a run whose contexts cannot fit in `memory` or whose images cannot fit as files.

    `memory` and `files` default to what this machine and the file system of `out` have
    now; `files` is checked for a run that starts in an empty folder.
    """
    need = run_memory_bytes(identities, context_dim, guided)
    memory = available_memory() if memory is None else memory
    if memory is not None and need > memory:
        raise FsbenchError(
            f"{identities:,} identities need about {_gib(need)} of memory for their "
            f"{context_dim}-d contexts{' and negatives' if guided else ''}, but "
            f"{_gib(memory)} is available; generate fewer identities per run",
            parameter="identities",
        )
    fresh = not out.is_dir() or not any(out.iterdir())
    files = free_files(out) if files is None and fresh else files
    images = identities * images_per_identity
    if files is not None and images + identities > files:
        raise FsbenchError(
            f"{identities:,} x {images_per_identity:,} images need {images + identities:,} "
            f"files and folders, but the file system of {out} has room for {files:,} more",
            parameter="identities",
        )


def _gib(size: int) -> str:
    return f"{size / 2**30:,.1f} GiB"
