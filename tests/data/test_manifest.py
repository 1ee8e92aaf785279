import pytest

from facesynth_bench.data.manifest import (
    MANIFEST_NAME,
    ManifestRecord,
    ManifestWriter,
    read_manifest,
)
from facesynth_bench.errors import FsbenchError

RECORDS = [
    ManifestRecord("000001/0.png", "000001", 0, "adaptdiff", 11, "ctx1"),
    ManifestRecord("000001/1.png", "000001", 1),
]


def test_round_trip_and_append(tmp_path):
    with ManifestWriter(tmp_path) as writer:
        writer.append(RECORDS[:1])
    with ManifestWriter(tmp_path) as writer:
        writer.append(RECORDS[1:])
    assert read_manifest(tmp_path) == RECORDS


def test_torn_last_line_is_ignored_then_truncated(tmp_path):
    with ManifestWriter(tmp_path) as writer:
        writer.append(RECORDS)
    path = tmp_path / MANIFEST_NAME
    path.write_text(path.read_text() + '{"path": "000002/0.p')
    with pytest.warns(UserWarning, match="torn last manifest line"):
        assert read_manifest(tmp_path) == RECORDS
    with ManifestWriter(tmp_path) as writer:
        writer.append([ManifestRecord("000002/0.png", "000002", 0)])
    assert len(read_manifest(tmp_path)) == 3


def test_bad_middle_line_names_file_and_line(tmp_path):
    (tmp_path / MANIFEST_NAME).write_text('{"path": "a", "identity": "1", "index": 0}\nnope\n{}\n')
    with pytest.raises(FsbenchError, match=r"manifest\.jsonl:2: not valid JSON"):
        read_manifest(tmp_path)


def test_wrong_types_are_refused(tmp_path):
    (tmp_path / MANIFEST_NAME).write_text('{"path": "a", "identity": 1, "index": 0}\n')
    with pytest.raises(FsbenchError, match=":1: 'path' and 'identity' must be strings"):
        read_manifest(tmp_path)
