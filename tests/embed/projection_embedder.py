"""A tiny deterministic embedder (fixed random projection of pixels) for pipeline tests."""

from __future__ import annotations

import numpy as np

from facesynth_bench.embed.base import Embedder, l2_normalise


class PixelProjection(Embedder):
    """Unit-norm random projection of the 16x16 RGB pixels: cheap and content-sensitive."""

    name = "pixel-projection"
    input_size = (16, 16)
    dim = 8
    normalisation = "x/255, fixed Gaussian projection (seed 0)"

    def __init__(self) -> None:
        self.matrix = np.random.default_rng(0).standard_normal((16 * 16 * 3, 8))
        self.calls = 0

    def embed(self, images: np.ndarray) -> np.ndarray:
        self.check_batch(images)
        self.calls += len(images)
        return l2_normalise(images.reshape(len(images), -1) / 255.0 @ self.matrix)


class FlippingProjection(PixelProjection):
    """PixelProjection with flip TTA: the projections of each image and its mirror summed."""

    name = "flipping-projection"
    supports_flip = True

    def __init__(self) -> None:
        super().__init__()
        self.flip = True

    def embed(self, images: np.ndarray) -> np.ndarray:
        features = super().embed(images)
        if self.flip:
            features = features + super().embed(np.ascontiguousarray(images[:, :, ::-1]))
        return l2_normalise(features)
