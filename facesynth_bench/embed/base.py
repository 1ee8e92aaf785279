"""The embedder interface: uint8 RGB face images in, L2-normalised float32 features out."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import cv2
import numpy as np

from facesynth_bench.errors import FsbenchError


class Embedder(ABC):
    """A face recognition model behind one call: `embed(images) -> (N, dim)` unit rows.

    Subclasses set `name`, `input_size` (H, W of the images `embed` takes), `dim` and a
    human-readable `normalisation`. Images reach `input_size` through `resize_to` in
    DataLoader workers; `embed` runs in the main process on whole batches.
    """

    name: str
    input_size: tuple[int, int]
    dim: int
    normalisation: str

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
    height, width = size
    if image.shape[:2] == (height, width):
        return image
    shrink = image.shape[0] > height or image.shape[1] > width
    interpolation = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
    return cv2.resize(image, (width, height), interpolation=interpolation)


def l2_normalise(features: np.ndarray) -> np.ndarray:
    """Rows divided by their L2 norm, as float32 (zero rows stay zero)."""
    features = np.asarray(features, dtype=np.float32)
    norms = np.linalg.norm(features, axis=1, keepdims=True)
    return features / np.maximum(norms, np.float32(1e-12))
