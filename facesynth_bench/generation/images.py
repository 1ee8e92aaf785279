"""Decoded images -> uint8 PNG bytes, deterministically."""

from __future__ import annotations

import io

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image


def to_uint8(images: torch.Tensor, size: int | None) -> np.ndarray:
    """Images float [0, 1] (B, 3, H, W) -> uint8 (B, size, size, 3), antialiased resize."""
    images = images.float()
    if size is not None and tuple(images.shape[-2:]) != (size, size):
        images = F.interpolate(
            images, size=(size, size), mode="bilinear", antialias=True, align_corners=False
        )
    pixels = (images.clamp(0, 1) * 255).round().to(torch.uint8)
    return pixels.permute(0, 2, 3, 1).cpu().numpy()


def png_bytes(pixels: np.ndarray) -> bytes:
    """One (H, W, 3) uint8 image as PNG bytes (no metadata, so equal pixels = equal bytes)."""
    buffer = io.BytesIO()
    Image.fromarray(pixels, mode="RGB").save(buffer, format="PNG")
    return buffer.getvalue()
