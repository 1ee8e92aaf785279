"""Dataset layouts: where the images of each identity are and how to load them.

Every layout lists its samples as `SampleRef`s in sorted order and loads one sample as a
uint8 RGB array. Order `lexicographic` (default) sorts identity and file names as plain
strings, as Python's sorted() and torchvision's ImageFolder do, so "first K identities"
selects what IDiff-Face's and NegFaceDiff's evaluation scripts select; order `natural`
compares embedded integers as numbers ("2" < "10"). RecordIO is always in label order. Files
that cannot be samples (non-images, stray files, empty or unreadable identity folders) are
returned as `Skipped` entries so the caller can refuse the dataset or report them; nothing
is dropped silently. Layouts are picklable so DataLoader workers can decode in parallel.

- folder: `root/<identity>/<image>` (one level; png/jpg/jpeg/bmp/webp).
- flat: `root/<identity>_<index>.<ext>` (IDiff-Face's sample dumps).
- grid: `root/<identity>.<ext>`, each image a grid of `columns` x rows tiles of
  `tile` pixels with `padding` pixels around tiles (torchvision make_grid layout; IDiff-Face
  saves make_grid(nrow=4, padding=0), which fills an incomplete last row with black tiles:
  `images` reads only the first N tiles, and an all-black tile is refused as filler).
  Tile paths are `<file>#<tile number>`.
- recordio: insightface `train.rec` + `train.idx` (see recordio.py).
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from facesynth_bench.data.dataset_record import DATASET_JSON
from facesynth_bench.data.image_io import (
    DEFAULT_MIN_SIZE,
    BadImageError,
    decode_image,
    is_image_file,
)
from facesynth_bench.data.manifest import MANIFEST_NAME
from facesynth_bench.data.recordio import RecordIOReader
from facesynth_bench.errors import FsbenchError

LAYOUTS = ("auto", "folder", "flat", "grid", "recordio")
ORDERS = ("lexicographic", "natural")
# Files the toolkit writes beside the samples (`fsbench generate`, `fsbench align`).
METADATA_FILES = frozenset({MANIFEST_NAME, DATASET_JSON, "contexts.npz", "align_report.json"})
_FLAT_NAME = re.compile(r"^(?P<identity>.+)_(?P<index>\d+)$")
_DIGITS = re.compile(r"(\d+)")


def natural_key(text: str) -> tuple:
    """Sort key that orders embedded integers numerically ("id2" < "id10")."""
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in _DIGITS.split(text) if p)


@dataclass(frozen=True)
class SampleRef:
    """One sample: identity label, POSIX path relative to the root, and a layout locator."""

    identity: str
    path: str
    locator: int = 0


@dataclass(frozen=True)
class Skipped:
    """A file that is not used, and why."""

    path: str
    reason: str


class DatasetLayout(ABC):
    """A dataset on disk in one layout; lists samples and loads them."""

    name: str

    def __init__(
        self, root: Path, min_size: int = DEFAULT_MIN_SIZE, order: str = "lexicographic"
    ) -> None:
        self.root = Path(root)
        self.min_size = min_size
        if order not in ORDERS:
            raise FsbenchError(
                f"sample order {order!r}: expected one of {', '.join(ORDERS)}", parameter="order"
            )
        self.order = order
        if not self.root.is_dir():
            raise FsbenchError(f"dataset {self.root}: not a directory")

    def sort_key(self, name: str) -> tuple | str:
        """Sort key of an identity or file name under this layout's order."""
        return natural_key(name) if self.order == "natural" else name

    def sorted_entries(self, folder: Path) -> list[Path]:
        """The entries of a folder in this layout's order (OSError when it cannot be listed)."""
        return sorted(folder.iterdir(), key=lambda p: self.sort_key(p.name))

    def root_entries(self) -> list[Path]:
        """The entries of the dataset root in this layout's order."""
        try:
            return self.sorted_entries(self.root)
        except OSError as exc:
            raise FsbenchError(f"dataset {self.root}: cannot list it ({_why(exc)})") from exc

    @abstractmethod
    def scan(self) -> tuple[list[SampleRef], list[Skipped]]:
        """All samples in sorted order, and every file that is not a sample."""

    def read_source(self, ref: SampleRef) -> bytes:
        """The encoded bytes the sample comes from (its file, or its record)."""
        path = self.root / ref.path
        try:
            return path.read_bytes()
        except OSError as exc:
            raise BadImageError(ref.path, f"cannot read file ({exc})") from exc

    def decode(self, ref: SampleRef, data: bytes) -> np.ndarray:
        """Decode the bytes of `read_source(ref)` to a uint8 RGB array (H, W, 3)."""
        return decode_image(data, ref.path, self.min_size)

    def load(self, ref: SampleRef) -> np.ndarray:
        """Read and decode one sample."""
        return self.decode(ref, self.read_source(ref))

    def describe(self) -> dict:
        """The layout's name and options, for result metadata."""
        return {"layout": self.name, "root": str(self.root), "order": self.order}

    def __iter__(self):
        """Yield (image, identity, path) for every sample, raising on the first bad one."""
        refs, skipped = self.scan()
        if skipped:
            raise FsbenchError(f"{self.root}: {describe_skipped(skipped)}", parameter="skip_bad")
        for ref in refs:
            yield self.load(ref), ref.identity, ref.path


def describe_skipped(skipped: list[Skipped], limit: int = 5) -> str:
    """A one-line summary naming the first few skipped files and their reasons."""
    shown = "; ".join(f"{s.path}: {s.reason}" for s in skipped[:limit])
    more = f" (and {len(skipped) - limit} more)" if len(skipped) > limit else ""
    return f"{len(skipped)} unusable file(s): {shown}{more}; skip_bad skips and reports them"


def _why(exc: OSError) -> str:
    """The OS's reason for a failed file operation, without the path it repeats."""
    return exc.strerror or str(exc)


class FolderLayout(DatasetLayout):
    """`root/<identity>/<image>`: one folder per identity."""

    name = "folder"

    def scan(self) -> tuple[list[SampleRef], list[Skipped]]:
        refs, skipped = [], []
        for entry in self.root_entries():
            if not entry.is_dir():
                if entry.name not in METADATA_FILES:
                    skipped.append(Skipped(entry.name, "file at the dataset root, not a folder"))
                continue
            try:
                found, bad = self._scan_identity(entry)
            except OSError as exc:
                skipped.append(Skipped(entry.name + "/", f"cannot read folder ({_why(exc)})"))
                continue
            refs.extend(found)
            skipped.extend(bad)
            if not found:
                skipped.append(Skipped(entry.name + "/", "empty identity folder"))
        return refs, skipped

    def _scan_identity(self, folder: Path) -> tuple[list[SampleRef], list[Skipped]]:
        """The samples of one identity folder and its unusable entries (OSError if unreadable)."""
        refs, skipped = [], []
        for item in self.sorted_entries(folder):
            rel = f"{folder.name}/{item.name}"
            if item.is_dir():
                skipped.append(Skipped(rel, "nested folder (only one level is read)"))
            elif not is_image_file(item):
                skipped.append(Skipped(rel, "not an image file (by extension)"))
            else:
                refs.append(SampleRef(folder.name, rel))
        return refs, skipped


class FlatLayout(DatasetLayout):
    """`root/<identity>_<index>.<ext>` files in one folder."""

    name = "flat"

    def scan(self) -> tuple[list[SampleRef], list[Skipped]]:
        found, skipped = [], []
        for entry in self.root_entries():
            match = _FLAT_NAME.match(entry.stem)
            if entry.name in METADATA_FILES:
                continue
            if entry.is_dir():
                skipped.append(Skipped(entry.name + "/", "folder inside a flat dataset"))
            elif not is_image_file(entry):
                skipped.append(Skipped(entry.name, "not an image file (by extension)"))
            elif match is None:
                skipped.append(Skipped(entry.name, "name is not <identity>_<index>.<ext>"))
            else:
                identity, index = match["identity"], int(match["index"])
                image_key = index if self.order == "natural" else entry.name
                found.append((self.sort_key(identity), image_key, SampleRef(identity, entry.name)))
        found.sort(key=lambda item: item[:2])
        return [ref for *_, ref in found], skipped


@dataclass(frozen=True)
class GridSpec:
    """Geometry of identity grids: tile size (px), columns, padding (px), tiles to read."""

    tile: int
    columns: int
    padding: int = 0
    images: int | None = None

    def __post_init__(self) -> None:
        images_bad = self.images is not None and self.images <= 0
        if self.tile <= 0 or self.columns <= 0 or self.padding < 0 or images_bad:
            raise FsbenchError(
                f"grid of {self.tile} px tiles, {self.columns} columns, {self.padding} px "
                f"padding, {self.images} images: tile size, columns and images must be "
                "positive, padding non-negative"
            )


def grid_spec(
    tile: int | None, columns: int | None, padding: int = 0, images: int | None = None
) -> GridSpec | None:
    """A GridSpec from optional values (command-line options), or None when none is given."""
    if tile is None and columns is None:
        return None
    if tile is None or columns is None:
        raise FsbenchError(
            f"a grid needs both a tile size and a column count, got tile {tile}, columns {columns}"
        )
    return GridSpec(tile, columns, padding, images)


class GridLayout(DatasetLayout):
    """`root/<identity>.<ext>`: one image per identity holding a grid of tiles."""

    name = "grid"

    def __init__(
        self,
        root: Path,
        spec: GridSpec,
        min_size: int = DEFAULT_MIN_SIZE,
        order: str = "lexicographic",
    ) -> None:
        super().__init__(root, min_size, order)
        self.tile, self.columns, self.padding = spec.tile, spec.columns, spec.padding
        self.images = spec.images
        self._last: tuple[str, np.ndarray] | None = None

    def describe(self) -> dict:
        return {
            **super().describe(),
            "tile": self.tile,
            "columns": self.columns,
            "padding": self.padding,
            "images": self.images,
        }

    def _rows(self, width: int, height: int) -> int | None:
        """Rows of tiles in an image of this size, or None when it is not such a grid."""
        step = self.tile + self.padding
        rows, rest = divmod(height - self.padding, step)
        if width != self.columns * step + self.padding or rest or rows < 1:
            return None
        return rows

    def scan(self) -> tuple[list[SampleRef], list[Skipped]]:
        refs, skipped = [], []
        for entry in self.root_entries():
            if entry.name in METADATA_FILES:
                continue
            if entry.is_dir() or not is_image_file(entry):
                skipped.append(Skipped(entry.name, "not an image file (by extension)"))
                continue
            try:
                with Image.open(entry) as image:
                    width, height = image.size
            except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
                skipped.append(Skipped(entry.name, f"not a readable image ({exc})"))
                continue
            rows = self._rows(width, height)
            if rows is None:
                skipped.append(
                    Skipped(
                        entry.name,
                        (
                            f"{width}x{height} is not a grid of {self.columns} columns of "
                            f"{self.tile}px tiles with {self.padding}px padding"
                        ),
                    )
                )
                continue
            count = rows * self.columns
            if self.images is not None and self.images > count:
                skipped.append(
                    Skipped(
                        entry.name, f"holds {count} tiles, fewer than the {self.images} to read"
                    )
                )
                continue
            refs.extend(
                SampleRef(entry.stem, f"{entry.name}#{tile}", tile)
                for tile in range(self.images or count)
            )
        return refs, skipped

    def read_source(self, ref: SampleRef) -> bytes:
        return super().read_source(SampleRef(ref.identity, ref.path.rpartition("#")[0]))

    def decode(self, ref: SampleRef, data: bytes) -> np.ndarray:
        grid_path = ref.path.rpartition("#")[0]
        if self._last is None or self._last[0] != grid_path:
            self._last = (grid_path, decode_image(data, grid_path, self.min_size))
        grid = self._last[1]
        row, column = divmod(ref.locator, self.columns)
        step = self.tile + self.padding
        top, left = self.padding + row * step, self.padding + column * step
        tile = grid[top : top + self.tile, left : left + self.tile]
        if tile.shape[:2] != (self.tile, self.tile):
            raise BadImageError(ref.path, "tile lies outside the grid")
        if self.tile < self.min_size:
            raise BadImageError(
                ref.path, f"tiles of {self.tile}px are smaller than {self.min_size} px"
            )
        if not tile.any():
            raise BadImageError(
                ref.path, "blank (all-black) tile, e.g. make_grid filler; give the images per grid"
            )
        return np.ascontiguousarray(tile)


class RecordIOLayout(DatasetLayout):
    """insightface `train.rec` + `train.idx`; identities are the integer labels."""

    name = "recordio"

    def __init__(
        self, root: Path, min_size: int = DEFAULT_MIN_SIZE, order: str = "lexicographic"
    ) -> None:
        super().__init__(root, min_size, order)
        self.reader = RecordIOReader(self.root)

    def scan(self) -> tuple[list[SampleRef], list[Skipped]]:
        entries = self.reader.entries()
        refs = [
            SampleRef(str(e.label), e.original_path or f"train.rec#{e.key}", e.key) for e in entries
        ]
        refs.sort(key=lambda r: (int(r.identity), r.locator))
        return refs, []

    def read_source(self, ref: SampleRef) -> bytes:
        try:
            return self.reader.read(ref.locator)[1]
        except FsbenchError as exc:
            raise BadImageError(ref.path, f"unreadable record ({exc})") from exc


def detect_layout(root: Path) -> str:
    """Guess the layout of `root`: recordio, folder (sub-folders) or flat (image files)."""
    root = Path(root)
    if not root.is_dir():
        raise FsbenchError(f"dataset {root}: not a directory")
    if (root / "train.rec").is_file():
        return "recordio"
    try:
        entries = list(root.iterdir())
    except OSError as exc:
        raise FsbenchError(f"dataset {root}: cannot list it ({_why(exc)})") from exc
    if any(entry.is_dir() for entry in entries):
        return "folder"
    if any(is_image_file(e) and _FLAT_NAME.match(e.stem) for e in entries):
        return "flat"
    raise FsbenchError(
        f"dataset {root}: no identity folders, no <identity>_<index> images and no "
        "train.rec; IDiff-Face grids need the grid layout with a tile size and column count"
    )


def open_layout(
    root: Path,
    layout: str = "auto",
    *,
    grid: GridSpec | None = None,
    min_size: int = DEFAULT_MIN_SIZE,
    order: str = "lexicographic",
) -> DatasetLayout:
    """Open the dataset at `root` in the named (or detected) layout and sample order."""
    name = detect_layout(root) if layout == "auto" else layout
    if name == "folder":
        return FolderLayout(root, min_size, order)
    if name == "flat":
        return FlatLayout(root, min_size, order)
    if name == "recordio":
        return RecordIOLayout(root, min_size, order)
    if name == "grid":
        if grid is None:
            raise FsbenchError(f"dataset {root}: the grid layout needs a tile size and columns")
        return GridLayout(root, grid, min_size, order)
    raise FsbenchError(
        f"layout {layout!r}: expected one of {', '.join(LAYOUTS)}", parameter="layout"
    )
