import io

import numpy as np
import pytest
from PIL import Image

from facesynth_bench.data.image_io import BadImageError, decode_image, encode_image, read_image


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def test_png_round_trip_is_exact():
    rng = np.random.default_rng(1)
    array = rng.integers(0, 256, (20, 24, 3), dtype=np.uint8)
    assert np.array_equal(decode_image(encode_image(array, ".png"), "x.png"), array)


def test_grayscale_rgba_and_16bit_become_rgb():
    gray = np.arange(20 * 20, dtype=np.uint8).reshape(20, 20)
    out = decode_image(_png(Image.fromarray(gray)), "g.png")
    assert out.shape == (20, 20, 3) and np.array_equal(out[:, :, 1], gray)
    rgba = np.dstack([np.full((20, 20, 3), 7, np.uint8), np.zeros((20, 20), np.uint8)])
    assert np.array_equal(
        decode_image(_png(Image.fromarray(rgba, "RGBA")), "a.png"),
        np.full((20, 20, 3), 7, np.uint8),
    )
    wide = (np.arange(400, dtype=np.uint16).reshape(20, 20) * 150).astype(np.uint16)
    out16 = decode_image(_png(Image.fromarray(wide)), "w.png")
    assert np.array_equal(out16[:, :, 0], (wide >> 8).astype(np.uint8))


@pytest.mark.parametrize(
    ("data", "reason"),
    [(b"", "empty file"), (b"not an image at all", "not a readable image")],
)
def test_bad_bytes_raise_named_errors(data, reason):
    with pytest.raises(BadImageError, match=reason) as info:
        decode_image(data, "bad.png")
    assert info.value.source == "bad.png"


def test_fake_png_error_names_the_file_not_a_buffer(tmp_path):
    path = tmp_path / "fake.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    with pytest.raises(BadImageError, match=r"fake\.png: not a readable image") as info:
        read_image(path)
    assert "BytesIO" not in str(info.value) and "object at 0x" not in str(info.value)


def test_truncated_jpeg_is_refused(tmp_path):
    array = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    data = encode_image(array, ".jpg")
    path = tmp_path / "t.jpg"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(BadImageError, match=r"t\.jpg.*not a readable image"):
        read_image(path)


def test_too_small_image_is_refused():
    with pytest.raises(BadImageError, match="smaller than 16 px"):
        decode_image(encode_image(np.zeros((8, 40, 3), np.uint8)), "s.png")
