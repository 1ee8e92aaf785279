"""Verification pair sets: 2N encoded face images in pair order plus N same/different labels.

The file format is insightface's verification `.bin` (LFW, CFP-FP, AgeDB-30, CALFW, CPLFW,
VGG2-FP; recognition/arcface_torch/eval/verification.py `load_bin`): a pickle of the tuple
`(images, issame)`, `images` a list of 2N encoded JPEG/PNG byte strings (pair k is images
2k and 2k+1) and `issame` a list of N booleans. The published files were written by Python 2
(`str` images, read back as bytes with encoding="bytes"). They are read here with the
restricted unpickler in its plain mode (bytes, str, numbers, bools, lists, tuples only; any
class or function a pickle asks for is refused before it is called), then checked.
`write_bin` writes pickle protocol 4, which insightface's `pickle.load(f, encoding="bytes")`
reads on any Python 3.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from facesynth_bench.atomic_files import write_bytes_atomic
from facesynth_bench.data.image_io import BadImageError, decode_image
from facesynth_bench.errors import FsbenchError
from facesynth_bench.safe_loading import load_pickle

Progress = Callable[[int, int], None]
BIN_PROTOCOL = 4  # pickle protocol of written files (Python >= 3.4 reads it)
DECODE_CHUNK = 256  # images per decoding task


@dataclass(frozen=True, eq=False)
class PairSet:
    """2N encoded images in pair order (pair k = images 2k, 2k+1), N labels, where from."""

    images: tuple[bytes, ...]
    issame: np.ndarray
    source: str = ""

    def __post_init__(self) -> None:
        labels = np.asarray(self.issame)
        if labels.ndim != 1 or labels.dtype != np.bool_:
            raise FsbenchError(
                f"pair set {self.source}: labels must be a 1-d bool array, got "
                f"{labels.dtype} {labels.shape}"
            )
        if len(self.images) != 2 * len(labels):
            raise FsbenchError(
                f"pair set {self.source}: {len(self.images)} images for {len(labels)} labels; "
                "expected 2 images per label"
            )
        object.__setattr__(self, "images", tuple(self.images))
        labels = labels.copy()
        labels.flags.writeable = False
        object.__setattr__(self, "issame", labels)

    def __len__(self) -> int:
        """The number of pairs N."""
        return len(self.issame)


def _structure_error(path: Path, message: str) -> FsbenchError:
    return FsbenchError(f"pair set {path}: {message}")


def _type_name(value: Any) -> str:
    return type(value).__name__


def _check_images(path: Path, images: Any) -> tuple[bytes, ...]:
    if not isinstance(images, (list, tuple)):
        raise _structure_error(path, f"its images are a {_type_name(images)}, expected a list")
    for index, image in enumerate(images):
        if not isinstance(image, bytes):
            raise _structure_error(
                path, f"image {index} is a {_type_name(image)}, expected encoded bytes"
            )
    if len(images) % 2:
        raise _structure_error(
            path, f"it holds {len(images)} images, an odd number; pairs need 2 images each"
        )
    return tuple(images)


def _check_labels(path: Path, labels: Any, image_count: int) -> np.ndarray:
    if not isinstance(labels, (list, tuple)):
        raise _structure_error(path, f"its labels are a {_type_name(labels)}, expected a list")
    for index, label in enumerate(labels):
        if not isinstance(label, int) or label not in (0, 1):  # bool is an int subclass
            raise _structure_error(
                path, f"label {index} is {label!r} ({_type_name(label)}), expected a bool or 0/1"
            )
    if image_count != 2 * len(labels):
        raise _structure_error(
            path,
            f"it holds {image_count} images ({image_count // 2} pairs) and {len(labels)} "
            "labels; expected one label per pair",
        )
    return np.array(labels, dtype=bool).reshape(-1)


def read_bin(path: Path) -> PairSet:
    """Read an insightface verification `.bin` (Python 2 or 3 pickle) without running code."""
    path = Path(path)
    content = load_pickle(path, "pair set", numpy_arrays=False)
    if not isinstance(content, (tuple, list)):
        raise _structure_error(
            path, f"holds a {_type_name(content)}, expected a 2-tuple (images, labels)"
        )
    if len(content) != 2:
        raise _structure_error(
            path,
            f"holds a {len(content)}-item {_type_name(content)}, expected 2 items (images, labels)",
        )
    images = _check_images(path, content[0])
    labels = _check_labels(path, content[1], len(images))
    return PairSet(images, labels, str(path))


def write_bin(path: Path, pair_set: PairSet) -> None:
    """Write `pair_set` atomically as an insightface `.bin` (pickle protocol 4)."""
    content = (list(pair_set.images), [bool(label) for label in pair_set.issame])
    write_bytes_atomic(Path(path), pickle.dumps(content, protocol=BIN_PROTOCOL))


def decode_workers() -> int:
    """Threads decoding images: the CPUs, at most 8 (PIL decodes without holding the GIL)."""
    return max(1, min(8, os.cpu_count() or 1))


def _decode_range(images: Sequence[bytes], start: int, out: np.ndarray, source: str) -> int:
    """Decode images[start : start + len(out)] into `out`; returns how many were decoded."""
    size = out.shape[1]
    for offset in range(len(out)):
        index = start + offset
        where = f"pair set {source}: image {index} (pair {index // 2})"
        try:
            image = decode_image(images[index], where, min_size=1)
        except BadImageError as exc:
            raise FsbenchError(str(exc)) from None
        if image.shape != (size, size, 3):
            height, width = image.shape[:2]
            raise FsbenchError(f"{where}: {width}x{height}, expected {size}x{size}")
        out[offset] = image
    return len(out)


def decode_pair_images(
    pair_set: PairSet, size: int = 112, progress: Progress | None = None
) -> np.ndarray:
    """Decode all 2N images to uint8 RGB (2N, size, size, 3); another size is an error."""
    total = len(pair_set.images)
    decoded = np.empty((total, size, size, 3), dtype=np.uint8)
    starts = range(0, total, DECODE_CHUNK)
    done = 0
    with ThreadPoolExecutor(decode_workers()) as pool:
        tasks = [
            pool.submit(
                _decode_range,
                pair_set.images,
                start,
                decoded[start : start + DECODE_CHUNK],
                pair_set.source,
            )
            for start in starts
        ]
        try:
            for task in tasks:
                done += task.result()
                if progress:
                    progress(done, total)
        finally:
            for task in tasks:
                task.cancel()
    return decoded
