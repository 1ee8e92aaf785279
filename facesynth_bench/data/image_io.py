"""Decode and encode face images as uint8 RGB arrays (H, W, 3), refusing broken files.

Conversions that keep the picture are applied and documented: grayscale is replicated to
three channels, an alpha channel is discarded, 16-bit samples keep their high byte, palette
images are expanded. Zero-byte, truncated or undecodable files and images smaller than
`min_size` pixels on a side raise `BadImageError`.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
from PIL import Image

from facesynth_bench.atomic_files import write_bytes_atomic
from facesynth_bench.errors import FsbenchError

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".webp")
DEFAULT_MIN_SIZE = 16
_PIL_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".bmp": "BMP", ".webp": "WEBP"}


class BadImageError(FsbenchError):
    """One sample cannot be used; `source` names it and `reason` says why."""

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason


def is_image_file(path: Path) -> bool:
    """True when the file name ends in one of IMAGE_EXTENSIONS (case-insensitive)."""
    return path.suffix.lower() in IMAGE_EXTENSIONS


def _to_rgb_array(image: Image.Image) -> np.ndarray:
    mode = image.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N"):
        wide = np.asarray(image, dtype=np.uint16)
        gray = (wide >> 8).astype(np.uint8)
        return np.repeat(gray[:, :, None], 3, axis=2)
    if mode == "I":
        wide = np.asarray(image, dtype=np.int64)
        shift = 8 if wide.max(initial=0) > 255 else 0  # PNG 16-bit gray opens as "I"
        gray = np.clip(wide >> shift, 0, 255).astype(np.uint8)
        return np.repeat(gray[:, :, None], 3, axis=2)
    if mode == "F":
        raise ValueError("floating-point images are not supported")
    return np.asarray(image.convert("RGB"), dtype=np.uint8)


def decode_image(data: bytes, source: str, min_size: int = DEFAULT_MIN_SIZE) -> np.ndarray:
    """Decode encoded image bytes to a contiguous uint8 RGB array (H, W, 3)."""
    if not data:
        raise BadImageError(source, "empty file (0 bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                image.load()
                array = _to_rgb_array(image)
    except Image.UnidentifiedImageError as exc:  # PIL's text names the in-memory buffer
        raise BadImageError(
            source, f"not a readable image (no image format recognised in {len(data)} bytes)"
        ) from exc
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError, Warning) as exc:
        raise BadImageError(source, f"not a readable image ({exc})") from exc
    height, width = array.shape[:2]
    if min(height, width) < min_size:
        raise BadImageError(source, f"image is {width}x{height}, smaller than {min_size} px")
    return np.ascontiguousarray(array)


def read_image(path: Path, min_size: int = DEFAULT_MIN_SIZE) -> np.ndarray:
    """Read and decode the image file at `path` (see decode_image)."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise BadImageError(str(path), f"cannot read file ({exc})") from exc
    return decode_image(data, str(path), min_size)


def encode_image(array: np.ndarray, suffix: str = ".png", quality: int = 95) -> bytes:
    """Encode a uint8 array (H, W, 3) or (H, W) to PNG/JPEG/BMP/WEBP bytes by file suffix."""
    fmt = _PIL_FORMATS.get(suffix.lower())
    if fmt is None:
        raise FsbenchError(f"cannot write images as {suffix!r}; use one of {IMAGE_EXTENSIONS}")
    if array.dtype != np.uint8 or array.ndim not in (2, 3):
        raise FsbenchError(f"expected a uint8 image (H, W[, 3]), got {array.dtype} {array.shape}")
    buffer = io.BytesIO()
    options = {"quality": quality} if fmt in ("JPEG", "WEBP") else {}
    Image.fromarray(array).save(buffer, format=fmt, **options)
    return buffer.getvalue()


def write_image(path: Path, array: np.ndarray, quality: int = 95) -> None:
    """Write a uint8 image atomically, in the format named by the file suffix."""
    path = Path(path)
    write_bytes_atomic(path, encode_image(array, path.suffix, quality))
