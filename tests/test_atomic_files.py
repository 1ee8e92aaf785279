"""Atomic writes leave either the old file or the new one, never a torn one."""

import hashlib
import json

import pytest

from facesynth_bench.atomic_files import sha256_file, write_bytes_atomic, write_json_atomic


def test_write_and_replace(tmp_path):
    target = tmp_path / "sub" / "f.bin"
    write_bytes_atomic(target, b"old")
    write_bytes_atomic(target, b"new")
    assert target.read_bytes() == b"new"
    assert [p.name for p in target.parent.iterdir()] == ["f.bin"]
    assert sha256_file(target) == hashlib.sha256(b"new").hexdigest()


def test_a_failed_write_keeps_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "r.json"
    write_json_atomic(target, {"a": 1})
    with pytest.raises(ValueError):
        write_json_atomic(target, {"a": float("nan")})  # strict JSON refuses NaN
    assert json.loads(target.read_text()) == {"a": 1}

    with pytest.raises(TypeError):
        write_bytes_atomic(target, 12345)  # the write itself fails after the temp file exists
    assert json.loads(target.read_text()) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]
