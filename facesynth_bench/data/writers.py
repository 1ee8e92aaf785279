"""Write identity-labelled images in each layout that layouts.py reads.

Used by the tests, which write a dataset with these writers and read it back, and by
benchmarks/embed.py, which writes its benchmark datasets with them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np

from facesynth_bench.data.image_io import encode_image, write_image
from facesynth_bench.data.layouts import natural_key
from facesynth_bench.data.recordio import write_recordio
from facesynth_bench.errors import FsbenchError

Images = Mapping[str, Sequence[np.ndarray]]


def _write_named(root: Path, images: Images, name: Callable[[str, int], str]) -> list[str]:
    """Write every image at `root / name(identity, index)`; returns the relative paths."""
    paths = []
    for identity, items in images.items():
        for index, image in enumerate(items):
            rel = name(identity, index)
            write_image(Path(root) / rel, image)
            paths.append(rel)
    return paths


def write_folder_dataset(root: Path, images: Images, suffix: str = ".png") -> list[str]:
    """Write `root/<identity>/<index><suffix>`; returns the relative paths written."""
    return _write_named(root, images, lambda identity, index: f"{identity}/{index}{suffix}")


def write_flat_dataset(root: Path, images: Images, suffix: str = ".png") -> list[str]:
    """Write `root/<identity>_<index><suffix>`; returns the relative paths written."""
    return _write_named(root, images, lambda identity, index: f"{identity}_{index}{suffix}")


def compose_grid(tiles: Sequence[np.ndarray], columns: int, padding: int = 0) -> np.ndarray:
    """Lay equal square uint8 tiles out row-major on a grid (torchvision make_grid layout).

    As make_grid does, an incomplete last row is filled with black tiles.
    """
    size = tiles[0].shape[0]
    if any(t.shape != tiles[0].shape or t.shape[:2] != (size, size) for t in tiles):
        raise FsbenchError("grid tiles must be square and all of the same shape")
    rows, step = -(-len(tiles) // columns), size + padding
    grid = np.zeros((rows * step + padding, columns * step + padding, 3), dtype=np.uint8)
    for number, tile in enumerate(tiles):
        row, column = divmod(number, columns)
        top, left = padding + row * step, padding + column * step
        grid[top : top + size, left : left + size] = tile
    return grid


def write_grid_dataset(
    root: Path, images: Images, columns: int, padding: int = 0, suffix: str = ".png"
) -> list[str]:
    """Write one grid image `root/<identity><suffix>` per identity."""
    paths = []
    for identity, items in images.items():
        rel = f"{identity}{suffix}"
        write_image(Path(root) / rel, compose_grid(items, columns, padding))
        paths.append(rel)
    return paths


def write_recordio_dataset(root: Path, images: Images, quality: int = 95) -> dict[str, int]:
    """Write insightface RecordIO with JPEG payloads; identities (natural order) -> labels."""
    order = sorted(images, key=natural_key)
    labels = {identity: label for label, identity in enumerate(order)}
    first = next((items[0] for items in images.values() if len(items)), None)
    size = first.shape[:2] if first is not None else (112, 112)

    def samples() -> Iterable[tuple[int, bytes]]:
        for identity in order:
            for image in images[identity]:
                yield labels[identity], encode_image(image, ".jpg", quality)

    write_recordio(Path(root), samples(), image_size=(int(size[0]), int(size[1])))
    return labels
