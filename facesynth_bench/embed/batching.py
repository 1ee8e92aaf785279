"""Batches of decoded, resized images from a dataset layout, decoded in DataLoader workers.

Workers read, decode and `prepare` (resize) samples while the main process runs the
model. A sample that fails to load travels as an error entry instead of an exception
(DataLoader cannot re-raise our error type from a worker), so the caller decides to stop
with a named error or to record it when bad files are skipped.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from facesynth_bench.data.image_io import BadImageError
from facesynth_bench.data.layouts import DatasetLayout, SampleRef

Prepare = Callable[[np.ndarray], np.ndarray]


@dataclass
class Batch:
    """Positions (into the ref list) and images of the good samples, plus the failures."""

    positions: list[int]
    images: np.ndarray
    failures: list[tuple[int, str]]


class _PreparedSamples(Dataset):
    def __init__(self, layout: DatasetLayout, refs: Sequence[SampleRef], prepare: Prepare):
        self.layout, self.refs, self.prepare = layout, list(refs), prepare

    def __len__(self) -> int:
        return len(self.refs)

    def __getitem__(self, position: int):
        try:
            return position, self.prepare(self.layout.load(self.refs[position])), None
        except BadImageError as exc:
            return position, None, exc.reason


def _collate(items) -> Batch:
    good = [(position, image) for position, image, _ in items if image is not None]
    failures = [(position, reason) for position, image, reason in items if image is None]
    images = np.stack([image for _, image in good]) if good else np.zeros((0, 1, 1, 3), np.uint8)
    return Batch([position for position, _ in good], images, failures)


def default_workers() -> int:
    """Decode workers: all CPUs but one for the model, at most 8, 0 on a single CPU."""
    return max(0, min(8, (os.cpu_count() or 1) - 1))


def iterate_batches(
    layout: DatasetLayout,
    refs: Sequence[SampleRef],
    prepare: Prepare,
    batch_size: int = 64,
    num_workers: int | None = None,
) -> Iterator[Batch]:
    """Yield batches of prepared uint8 images in ref order; workers=0 decodes in-process."""
    workers = default_workers() if num_workers is None else num_workers
    loader = DataLoader(
        _PreparedSamples(layout, refs, prepare),
        batch_size=batch_size,
        shuffle=False,
        num_workers=workers,
        collate_fn=_collate,
        prefetch_factor=4 if workers else None,
        persistent_workers=False,
        multiprocessing_context="spawn" if workers and torch.cuda.is_initialized() else None,
    )
    yield from loader
