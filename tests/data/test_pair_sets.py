"""Pair sets: insightface `.bin` files read without running code, checked, written, decoded."""

from __future__ import annotations

import os
import pickle
import pickletools
import struct
from pathlib import Path

import numpy as np
import pytest

from facesynth_bench.data.image_io import encode_image
from facesynth_bench.data.pair_sets import (
    DECODE_CHUNK,
    PairSet,
    decode_pair_images,
    read_bin,
    write_bin,
)
from facesynth_bench.errors import FsbenchError


def python2_pickle(images: list[bytes], labels: list[bool]) -> bytes:
    """The opcodes Python 2's `pickle.dump((images, labels), f, 2)` writes for str images.

    Python 2 writes a str of < 256 bytes as SHORT_BINSTRING (U, 1-byte length), a longer one
    as BINSTRING (T, 4-byte little-endian length); it memoises with BINPUT (q).
    """
    out = bytearray(b"\x80\x02]q\x00(")
    for memo, image in enumerate(images, start=1):
        if len(image) < 256:
            out += b"U" + bytes([len(image)]) + image
        else:
            out += b"T" + struct.pack("<i", len(image)) + image
        out += b"q" + bytes([memo])
    out += b"e]q" + bytes([len(images) + 1]) + b"("
    out += b"".join(b"\x88" if label else b"\x89" for label in labels)
    out += b"e\x86q" + bytes([len(images) + 2]) + b"."
    return bytes(out)


def png(value: int, size: int = 112) -> bytes:
    rng = np.random.default_rng(value)
    return encode_image(rng.integers(0, 256, (size, size, 3), dtype=np.uint8), ".png")


class SystemCall:
    """Unpickling this runs a shell command that creates `marker`."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def test_python2_bin_is_read_as_bytes(tmp_path):
    images = [b"\xff\xd8short", bytes(range(256)) * 2, b"x", b"\x00\x01"]
    data = python2_pickle(images, [True, False])
    opcodes = {op.name for op, _, _ in pickletools.genops(data)}
    assert {"SHORT_BINSTRING", "BINSTRING"} <= opcodes  # what Python 3 never writes
    path = tmp_path / "lfw.bin"
    path.write_bytes(data)
    pair_set = read_bin(path)
    assert pair_set.images == tuple(images)
    assert pair_set.issame.tolist() == [True, False]
    assert pair_set.issame.dtype == bool
    assert len(pair_set) == 2
    assert pair_set.source == str(path)


def test_python2_protocol_0_bin_is_read(tmp_path):
    # pickle.dump((["ab", "c\xff", "d", "e"], [True, False]), f) under Python 2 (protocol 0)
    data = b"((lp0\nS'ab'\np1\naS'c\\xff'\np2\naS'd'\np3\naS'e'\np4\na(lp5\nI01\naI00\natp6\n."
    path = tmp_path / "p0.bin"
    path.write_bytes(data)
    pair_set = read_bin(path)
    assert pair_set.images == (b"ab", b"c\xff", b"d", b"e")
    assert pair_set.issame.tolist() == [True, False]


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_python3_pickles_are_read(tmp_path, protocol):
    images = [bytes([i]) * (i + 300) + b"\x80\xff" for i in range(6)]
    path = tmp_path / "set.bin"
    path.write_bytes(pickle.dumps((images, [True, 0, 1]), protocol=protocol))
    pair_set = read_bin(path)
    assert pair_set.images == tuple(images)
    assert pair_set.issame.tolist() == [True, False, True]


@pytest.mark.parametrize("protocol", [0, 2, 4])
def test_code_in_a_bin_is_refused_and_never_run(tmp_path, protocol):
    marker = tmp_path / "marker"
    path = tmp_path / "evil.bin"
    path.write_bytes(pickle.dumps(([SystemCall(marker), b"x"], [True]), protocol=protocol))
    with pytest.raises(FsbenchError, match=r"evil\.bin: refused, it asks for \w+\.system"):
        read_bin(path)
    assert not marker.exists()


def test_numpy_arrays_are_refused_in_a_bin(tmp_path):
    path = tmp_path / "arrays.bin"
    path.write_bytes(pickle.dumps(([b"a", b"b"], np.array([True])), protocol=4))
    with pytest.raises(FsbenchError, match=r"arrays\.bin: refused, it asks for numpy"):
        read_bin(path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (([b"a", b"b", b"c"], [True]), r"3 images, an odd number"),
        (([b"a", b"b", b"c", b"d"], [True]), r"4 images \(2 pairs\) and 1 labels"),
        (([b"a", b"b"], [True, False]), r"2 images \(1 pairs\) and 2 labels"),
        (([b"a", "b"], [True]), r"image 1 is a str, expected encoded bytes"),
        (([b"a", b"b"], [2]), r"label 0 is 2 \(int\), expected a bool or 0/1"),
        (([b"a", b"b"], [1.0]), r"label 0 is 1.0 \(float\)"),
        (([b"a", b"b"], [True], []), r"a 3-item tuple, expected 2 items"),
        ({"images": []}, r"holds a dict, expected a 2-tuple"),
        ((b"ab", [True]), r"images are a bytes, expected a list"),
        (([b"a", b"b"], None), r"labels are a NoneType, expected a list"),
    ],
)
def test_malformed_bins_are_named(tmp_path, content, message):
    path = tmp_path / "bad.bin"
    path.write_bytes(pickle.dumps(content, protocol=2))
    with pytest.raises(FsbenchError, match=rf"pair set .*bad\.bin: .*{message}"):
        read_bin(path)


def test_a_damaged_or_missing_bin_is_named(tmp_path):
    path = tmp_path / "cut.bin"
    path.write_bytes(pickle.dumps(([b"a", b"b"], [True]), protocol=4)[:-5])
    with pytest.raises(FsbenchError, match=r"pair set .*cut\.bin: not a readable pickle"):
        read_bin(path)
    with pytest.raises(FsbenchError, match=r"pair set .*absent\.bin: no such file"):
        read_bin(tmp_path / "absent.bin")


def test_write_bin_round_trip_is_identical_and_plain_pickle_reads_it(tmp_path):
    images = tuple(png(i, size=20) for i in range(8))
    pair_set = PairSet(images, np.array([True, False, False, True]), "made")
    first, second = tmp_path / "a.bin", tmp_path / "b.bin"
    write_bin(first, pair_set)
    back = read_bin(first)
    assert back.images == images
    assert back.issame.tolist() == [True, False, False, True]
    write_bin(second, back)
    assert first.read_bytes() == second.read_bytes()
    with first.open("rb") as stream:  # insightface's load_bin; our own file, so plain pickle
        bins, issame = pickle.load(stream, encoding="bytes")
    assert bins == list(images)
    assert issame == [True, False, False, True]
    assert all(type(label) is bool for label in issame)


def test_pair_set_checks_its_parts():
    with pytest.raises(FsbenchError, match=r"pair set s: 3 images for 1 labels"):
        PairSet((b"a", b"b", b"c"), np.array([True]), "s")
    with pytest.raises(FsbenchError, match=r"labels must be a 1-d bool array, got int64"):
        PairSet((b"a", b"b"), np.array([1]), "s")
    labels = np.array([True, False])
    pair_set = PairSet((b"a", b"b", b"c", b"d"), labels, "s")
    labels[0] = False
    assert pair_set.issame.tolist() == [True, False]  # a copy, read-only
    with pytest.raises(ValueError, match="read-only"):
        pair_set.issame[0] = False


def test_decode_gives_the_pixels_in_order_with_progress():
    rng = np.random.default_rng(3)
    count = DECODE_CHUNK + 44  # more than one decoding task
    arrays = rng.integers(0, 256, (count, 112, 112, 3), dtype=np.uint8)
    images = tuple(encode_image(a, ".png") for a in arrays)
    pair_set = PairSet(images, np.zeros(count // 2, bool), "s")
    calls = []
    decoded = decode_pair_images(pair_set, progress=lambda done, total: calls.append((done, total)))
    assert decoded.dtype == np.uint8
    assert decoded.shape == (count, 112, 112, 3)
    np.testing.assert_array_equal(decoded, arrays)
    assert calls == [(DECODE_CHUNK, count), (count, count)]


def test_decode_names_an_image_of_another_size():
    images = [png(i) for i in range(6)]
    images[3] = png(3, size=100)
    pair_set = PairSet(tuple(images), np.zeros(3, bool), "cfp.bin")
    with pytest.raises(FsbenchError, match=r"cfp\.bin: image 3 \(pair 1\): 100x100, expected 112"):
        decode_pair_images(pair_set)
    small = PairSet(tuple(png(i, size=20) for i in range(2)), np.zeros(1, bool), "s")
    assert decode_pair_images(small, size=20).shape == (2, 20, 20, 3)


def test_decode_names_a_broken_image():
    images = [png(i) for i in range(4)]
    images[2] = b"\xff\xd8\xff not a jpeg"
    pair_set = PairSet(tuple(images), np.zeros(2, bool), "agedb.bin")
    with pytest.raises(FsbenchError, match=r"agedb\.bin: image 2 \(pair 1\): not a readable"):
        decode_pair_images(pair_set)
