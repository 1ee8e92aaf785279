"""insightface / MXNet RecordIO (`train.rec` + `train.idx`), read and written without mxnet.

Format (dmlc-core recordio + mxnet.recordio.pack):
- Each record: uint32 magic 0xCED7230A, uint32 word = (cflag << 29) | length, then `length`
  payload bytes padded with zeros to a multiple of 4. cflag 0 is a whole record; payloads
  that contain the magic at a 4-byte aligned offset are split there into parts with cflag
  1 (first), 2 (middle), 3 (last), and the magic is re-inserted between parts on reading.
- Payload: IRHeader, struct "<IfQQ" = (flag, label, id, id2), 24 bytes. When flag > 0 the
  label is an array of `flag` float32 values that follows the header. The rest is the
  encoded image (JPEG or PNG).
- `train.idx`: text lines "key<TAB>byte offset" of each record in `train.rec`.
- insightface convention: record 0 has flag 2 and label (first identity record, end);
  images are records 1 .. first-1, and each identity record k in [first, end) carries the
  label range (start, stop) of that identity's image records. Without these identity
  records, labels come from the image headers as arcface_torch's reader takes them: the
  records 1 .. first-1 where record 0 is a header, else every record; a warning says so.
- Optional mapping `train.lst` / `list.txt` (mxnet im2rec layout: "index<TAB>label<TAB>
  path" per line) gives each record its original file path and identity folder name.
"""

from __future__ import annotations

import os
import struct
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from facesynth_bench.atomic_files import write_bytes_atomic
from facesynth_bench.errors import FsbenchError

MAGIC = 0xCED7230A
_MAGIC_BYTES = struct.pack("<I", MAGIC)
_HEADER = struct.Struct("<IfQQ")
_LENGTH_MASK = (1 << 29) - 1
MAPPING_NAMES = ("train.lst", "list.txt")


@dataclass(frozen=True)
class IRHeader:
    """The per-record header of mxnet.recordio: flag, label(s), id, id2."""

    flag: int
    label: tuple[float, ...]
    id: int
    id2: int


def pack_record(header: IRHeader, payload: bytes) -> bytes:
    """Serialise an IRHeader and payload as mxnet.recordio.pack does."""
    if len(header.label) == 1:
        head = _HEADER.pack(0, header.label[0], header.id, header.id2)
    else:
        head = _HEADER.pack(len(header.label), 0.0, header.id, header.id2)
        head += np.asarray(header.label, dtype="<f4").tobytes()
    return head + payload


def unpack_record(data: bytes, source: str) -> tuple[IRHeader, bytes]:
    """Split a record payload into its IRHeader and the remaining bytes."""
    if len(data) < _HEADER.size:
        raise FsbenchError(f"{source}: record of {len(data)} bytes is shorter than its header")
    flag, label, id_, id2 = _HEADER.unpack_from(data)
    offset = _HEADER.size
    if flag > 0:
        end = offset + 4 * flag
        if len(data) < end:
            raise FsbenchError(f"{source}: header announces {flag} labels but the record ends")
        labels = tuple(float(v) for v in np.frombuffer(data[offset:end], dtype="<f4"))
        offset = end
    else:
        labels = (float(label),)
    return IRHeader(flag, labels, id_, id2), data[offset:]


def _frame(payload: bytes) -> bytes:
    """Frame one payload as dmlc recordio bytes, splitting at aligned magic occurrences."""
    cuts = [i for i in range(0, len(payload) - 3, 4) if payload[i : i + 4] == _MAGIC_BYTES]
    parts, start = [], 0
    for cut in cuts:
        parts.append(payload[start:cut])
        start = cut + 4
    parts.append(payload[start:])
    out = bytearray()
    for number, part in enumerate(parts):
        if len(parts) == 1:
            cflag = 0
        elif number == 0:
            cflag = 1
        else:
            cflag = 3 if number == len(parts) - 1 else 2
        out += _MAGIC_BYTES + struct.pack("<I", (cflag << 29) | len(part)) + part
        out += b"\0" * (-len(part) % 4)
    return bytes(out)


def read_framed(handle: BinaryIO, offset: int, source: str) -> bytes:
    """Read the whole (possibly multi-part) record that starts at byte `offset`."""
    handle.seek(offset)
    payload = bytearray()
    while True:
        head = handle.read(8)
        if len(head) < 8:
            raise FsbenchError(f"{source}: record at byte {offset} is truncated")
        magic, word = struct.unpack("<II", head)
        if magic != MAGIC:
            raise FsbenchError(f"{source}: no RecordIO magic at byte {offset} (bad offset?)")
        cflag, length = word >> 29, word & _LENGTH_MASK
        part = handle.read(length)
        if len(part) < length:
            raise FsbenchError(f"{source}: record at byte {offset} is truncated")
        handle.seek(-length % 4, os.SEEK_CUR)
        payload += part
        if cflag in (0, 3):
            return bytes(payload)
        payload += _MAGIC_BYTES


def read_index(idx_path: Path) -> dict[int, int]:
    """Read `train.idx` into {record key: byte offset}."""
    offsets: dict[int, int] = {}
    try:
        lines = Path(idx_path).read_text(encoding="ascii").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise FsbenchError(f"{idx_path}: cannot read RecordIO index ({exc})") from exc
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        fields = line.split()
        if len(fields) != 2 or not all(f.isdigit() for f in fields):
            raise FsbenchError(f"{idx_path}:{number}: expected 'key<TAB>offset', got {line!r}")
        offsets[int(fields[0])] = int(fields[1])
    return offsets


@dataclass(frozen=True)
class RecordEntry:
    """One image record: its key in the index, integer label and optional original path."""

    key: int
    label: int
    original_path: str | None = None


def read_mapping(path: Path) -> dict[int, tuple[int, str]]:
    """Read an im2rec list file into {record key: (label, original path)}."""
    mapping: dict[int, tuple[int, str]] = {}
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) < 3:
            raise FsbenchError(f"{path}:{number}: expected 'index<TAB>label<TAB>path'")
        try:
            mapping[int(fields[0])] = (int(float(fields[1])), fields[-1])
        except ValueError as exc:
            raise FsbenchError(f"{path}:{number}: bad index or label ({exc})") from exc
    return mapping


class RecordIOReader:
    """Random access to the image records of a `train.rec` + `train.idx` pair."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.rec_path = self.root / "train.rec"
        self.idx_path = self.root / "train.idx"
        for path in (self.rec_path, self.idx_path):
            if not path.is_file():
                raise FsbenchError(f"{path}: missing (a RecordIO dataset needs train.rec + .idx)")
        self.offsets = read_index(self.idx_path)
        self._handle: BinaryIO | None = None

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_handle"] = None  # each DataLoader worker opens its own handle
        return state

    def read(self, key: int) -> tuple[IRHeader, bytes]:
        """Header and payload of the record with index key `key`."""
        if key not in self.offsets:
            raise FsbenchError(f"{self.idx_path}: no record with key {key}")
        if self._handle is None:
            self._handle = self.rec_path.open("rb")
        source = f"{self.rec_path}#{key}"
        return unpack_record(read_framed(self._handle, self.offsets[key], source), source)

    def entries(self) -> list[RecordEntry]:
        """Every image record with its label, following the insightface header convention."""
        keys = sorted(self.offsets)
        if not keys:
            raise FsbenchError(f"{self.idx_path}: the index is empty")
        header0, _ = self.read(keys[0])
        if keys[0] == 0 and header0.flag > 0:
            first, end = int(header0.label[0]), int(header0.label[1])
            if first < end and all(key in self.offsets for key in range(first, end)):
                labels = self._labels_from_identity_records(first, end)
            else:
                warnings.warn(
                    f"{self.rec_path}: record 0 names identity records {first}..{end - 1}, "
                    f"which the index lacks; labels read from the headers of image records "
                    f"1..{first - 1}, as arcface_torch does",
                    stacklevel=2,
                )
                labels = self._labels_from_image_headers(range(1, first))
        else:
            warnings.warn(
                f"{self.rec_path}: no identity records (record 0 is no header); labels read "
                "from each record's own header, as arcface_torch does",
                stacklevel=2,
            )
            labels = self._labels_from_image_headers(keys)
        mapping = {}
        for name in MAPPING_NAMES:
            if (self.root / name).is_file():
                mapping = read_mapping(self.root / name)
                break
        return [
            RecordEntry(key, label, mapping.get(key, (label, None))[1])
            for key, label in sorted(labels.items())
        ]

    def _labels_from_image_headers(self, keys: Iterable[int]) -> dict[int, int]:
        """Labels of these image keys from their own headers (the first label of an array)."""
        return {key: int(self.read(key)[0].label[0]) for key in keys}

    def _labels_from_identity_records(self, first: int, end: int) -> dict[int, int]:
        """Labels of image keys from identity records first..end-1 (reads K records, not N)."""
        labels: dict[int, int] = {}
        for identity_key in range(first, end):
            header, _ = self.read(identity_key)
            start, stop = int(header.label[0]), int(header.label[1])
            if not 1 <= start <= stop <= first:
                raise FsbenchError(
                    f"{self.rec_path}#{identity_key}: identity range ({start}, {stop}) lies "
                    f"outside the image records 1..{first - 1}"
                )
            label = int(self.read(start)[0].label[0]) if stop > start else identity_key - first
            labels.update(dict.fromkeys(range(start, stop), label))
        return labels


def write_recordio(
    root: Path, samples: Iterable[tuple[int, bytes]], image_size: tuple[int, int] = (112, 112)
) -> int:
    """Write (label, encoded image) samples, grouped by label, as insightface RecordIO.

    Labels must be 0..K-1. Writes train.rec, train.idx and `property` ("K,H,W" as
    insightface does). Returns the number of image records.
    """
    by_label: dict[int, list[bytes]] = {}
    for label, data in samples:
        by_label.setdefault(int(label), []).append(data)
    labels = sorted(by_label)
    if labels != list(range(len(labels))):
        raise FsbenchError("RecordIO labels must be the consecutive integers 0..K-1")
    n_images = sum(len(v) for v in by_label.values())
    first_identity = n_images + 1
    rec, index = bytearray(), []

    def add(key: int, header: IRHeader, payload: bytes) -> None:
        index.append(f"{key}\t{len(rec)}\n")
        rec.extend(_frame(pack_record(header, payload)))

    add(0, IRHeader(2, (first_identity, first_identity + len(labels)), 0, 0), b"")
    key, ranges = 1, []
    for label in labels:
        start = key
        for data in by_label[label]:
            add(key, IRHeader(0, (float(label),), key, 0), data)
            key += 1
        ranges.append((start, key))
    for label, (start, stop) in zip(labels, ranges, strict=True):
        add(first_identity + label, IRHeader(2, (start, stop), 0, 0), b"")
    root = Path(root)
    write_bytes_atomic(root / "train.rec", bytes(rec))
    write_bytes_atomic(root / "train.idx", "".join(index).encode("ascii"))
    height, width = image_size
    write_bytes_atomic(root / "property", f"{len(labels)},{height},{width}\n".encode("ascii"))
    return n_images
