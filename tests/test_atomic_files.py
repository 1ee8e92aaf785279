"""Atomic writes leave either the old file or the new one, never a torn one."""

import hashlib
import json
import os
import stat

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


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_written_files_respect_the_umask(tmp_path, umask, mode):
    previous = os.umask(umask)
    try:
        write_bytes_atomic(tmp_path / "f.bin", b"x")
        write_json_atomic(tmp_path / "r.json", {"a": 1})
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "f.bin").stat().st_mode) == mode
    assert stat.S_IMODE((tmp_path / "r.json").stat().st_mode) == mode
