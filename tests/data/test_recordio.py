import numpy as np
import pytest

from facesynth_bench.data.recordio import (
    _MAGIC_BYTES,
    IRHeader,
    RecordIOReader,
    pack_record,
    unpack_record,
    write_recordio,
)
from facesynth_bench.errors import FsbenchError


def test_header_pack_unpack_scalar_and_array():
    header = IRHeader(0, (7.0,), 3, 0)
    assert unpack_record(pack_record(header, b"abc"), "r") == (header, b"abc")
    ranged = IRHeader(2, (5.0, 9.0), 0, 0)
    assert unpack_record(pack_record(ranged, b""), "r") == (ranged, b"")


def test_round_trip_with_identity_records_and_embedded_magic(tmp_path):
    payloads = [
        (0, b"plain jpeg bytes"),
        (0, b"abcd" + _MAGIC_BYTES + b"efgh" + _MAGIC_BYTES + b"xy"),  # split into 3 parts
        (1, b"q" * 13),
        (2, _MAGIC_BYTES),
    ]
    assert write_recordio(tmp_path, payloads) == 4
    reader = RecordIOReader(tmp_path)
    header0, _ = reader.read(0)
    assert header0.flag == 2 and header0.label == (5.0, 8.0)
    entries = reader.entries()
    assert [(e.key, e.label) for e in entries] == [(1, 0), (2, 0), (3, 1), (4, 2)]
    assert [reader.read(e.key)[1] for e in entries] == [p for _, p in payloads]
    assert (tmp_path / "property").read_text() == "3,112,112\n"


def test_records_are_4_byte_aligned_in_the_file(tmp_path):
    write_recordio(tmp_path, [(0, b"x" * n) for n in range(1, 9)])
    offsets = RecordIOReader(tmp_path).offsets.values()
    assert all(offset % 4 == 0 for offset in offsets)


def test_truncated_record_and_bad_offset_are_named(tmp_path):
    write_recordio(tmp_path, [(0, b"y" * 40)])
    rec = tmp_path / "train.rec"
    data = rec.read_bytes()
    rec.write_bytes(data[:60])
    reader = RecordIOReader(tmp_path)
    with pytest.raises(FsbenchError, match=r"train\.rec#1: record at byte \d+ is truncated"):
        reader.read(1)
    (tmp_path / "train.idx").write_text("0\t0\n1\t3\n")
    with pytest.raises(FsbenchError, match="no RecordIO magic at byte 3"):
        RecordIOReader(tmp_path).read(1)


def test_bad_index_line_is_named(tmp_path):
    write_recordio(tmp_path, [(0, b"z")])
    (tmp_path / "train.idx").write_text("0\t0\nbroken\n")
    with pytest.raises(FsbenchError, match=r"train\.idx:2"):
        RecordIOReader(tmp_path)


def test_labels_must_be_consecutive(tmp_path):
    with pytest.raises(FsbenchError, match="consecutive"):
        write_recordio(tmp_path, [(0, b"a"), (2, b"b")])


def test_reader_without_header_record_uses_each_label(tmp_path):
    # A plain im2rec file: no record-0 header, each record labelled in its own header.
    from facesynth_bench.data.recordio import _frame

    frames = [_frame(pack_record(IRHeader(0, (float(k % 2),), k, 0), bytes([k]))) for k in range(3)]
    offsets = np.cumsum([0] + [len(f) for f in frames[:-1]])
    (tmp_path / "train.rec").write_bytes(b"".join(frames))
    (tmp_path / "train.idx").write_text("".join(f"{k}\t{o}\n" for k, o in enumerate(offsets)))
    with pytest.warns(UserWarning, match="no identity records .* as arcface_torch does"):
        entries = RecordIOReader(tmp_path).entries()
    assert [(e.key, e.label) for e in entries] == [(0, 0), (1, 1), (2, 0)]


def _write_records(root, records):
    """train.rec + train.idx of (key, header, payload) records, in this order."""
    from facesynth_bench.data.recordio import _frame

    frames = [_frame(pack_record(header, payload)) for _, header, payload in records]
    offsets = np.cumsum([0] + [len(f) for f in frames[:-1]])
    (root / "train.rec").write_bytes(b"".join(frames))
    index = "".join(f"{key}\t{o}\n" for (key, _, _), o in zip(records, offsets, strict=True))
    (root / "train.idx").write_text(index)


def test_header_without_identity_records_reads_image_labels(tmp_path):
    """Record 0 names identity records 5..7 that were never written: arcface_torch's case."""
    labels = [0, 0, 1, 2]
    images = [(k, IRHeader(0, (float(labels[k - 1]),), k, 0), b"img%d" % k) for k in range(1, 5)]
    _write_records(tmp_path, [(0, IRHeader(2, (5.0, 8.0), 0, 0), b""), *images])
    with pytest.warns(UserWarning, match=r"identity records 5\.\.7, which the index lacks"):
        entries = RecordIOReader(tmp_path).entries()
    assert [(e.key, e.label) for e in entries] == [(1, 0), (2, 0), (3, 1), (4, 2)]
