"""The embedder interface: uint8 RGB face images in, L2-normalised float32 features out."""

from __future__ import annotations

import warnings
from abc import ABC, abstractmethod
from typing import Any, ClassVar

import numpy as np

from facesynth_bench.errors import FsbenchError
from facesynth_bench.unit_rows import unit_rows


class FlipUnsupportedWarning(UserWarning):
    """Flip test-time augmentation was asked of an embedder that has none."""


class Embedder(ABC):
    """A face recognition model behind one call: `embed(images) -> (N, dim)` unit rows.

    Subclasses set `name`, `input_size` (H, W of the images `embed` takes), `dim` and a
    human-readable `normalisation`. Images reach `input_size` through `resize_to` in
    DataLoader workers; `embed` runs in the main process on whole batches.

    Declared capabilities: `supports_flip` (flip test-time augmentation: the features of
    each image and its mirror are summed; `flip` says whether it is on, None where the
    embedder has none) and `stats()` (counts the embedder keeps; none by default).
    """

    name: str
    input_size: tuple[int, int]
    dim: int
    normalisation: str
    supports_flip: ClassVar[bool] = False
    flip: bool | None = None

    def use_flip(self, flip: bool) -> None:
        """Turn flip TTA on or off; an embedder without it warns when asked to flip."""
        if self.supports_flip:
            self.flip = flip
        elif flip:
            warnings.warn(
                f"embedder {self.name!r} has no flip test-time augmentation: "
                "the images are embedded without it",
                FlipUnsupportedWarning,
                stacklevel=2,
            )

    def stats(self) -> dict[str, int]:
        """Counts since creation that the embedder keeps about its work (none by default)."""
        return {}

    @abstractmethod
    def embed(self, images: np.ndarray) -> np.ndarray:
        """Embed uint8 RGB images (N, H, W, 3) at `input_size` -> float32 (N, dim), unit rows."""

    def describe(self) -> dict[str, Any]:
        """Name, sizes and options; together with the weights' hash this keys the cache."""
        return {
            "embedder": self.name,
            "input_size": list(self.input_size),
            "dim": self.dim,
            "normalisation": self.normalisation,
        }

    def check_batch(self, images: np.ndarray) -> None:
        """Refuse a batch that is not uint8 (N, H, W, 3) at `input_size`."""
        height, width = self.input_size
        if images.dtype != np.uint8 or images.ndim != 4 or images.shape[1:] != (height, width, 3):
            raise FsbenchError(
                f"{self.name}: expected uint8 images (N, {height}, {width}, 3), "
                f"got {images.dtype} {images.shape}"
            )


def resize_to(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize a uint8 RGB image (H, W, 3) to size (H, W): area when shrinking, else linear."""
    import cv2  # heavy: loaded where images are resized, not when embedders are listed

    height, width = size
    if image.shape[:2] == (height, width):
        return image
    shrink = image.shape[0] > height or image.shape[1] > width
    interpolation = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
    return cv2.resize(image, (width, height), interpolation=interpolation)


def l2_normalise(features: np.ndarray) -> np.ndarray:
    """Rows divided by their L2 norm, as float32, at any magnitude (zero rows stay zero)."""
    return unit_rows(features)[0]
