"""Output-path guards: check where results go before any work, so a run never ends in a crash."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from facesynth_bench.errors import FsbenchError


def _make_writable_folder(path: Path) -> str | None:
    """Create `path` with parents and prove it writable; None, or the reason it is not."""
    for folder in (path, *path.parents):
        if folder.exists():
            if not folder.is_dir():
                return f"{folder} is a file, not a folder"
            break
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path, prefix=".fsbench-write-check-"):
            pass
    except OSError as exc:
        return f"cannot write in {path} ({exc.strerror or exc})"
    return None


def prepare_output_folder(path: Path, what: str = "output folder") -> Path:
    """Create `path` (with parents) and prove it writable, or fail with one line naming it."""
    path = Path(path)
    reason = _make_writable_folder(path)
    if reason is not None:
        raise FsbenchError(f"{what} {path}: {reason}")
    return path


def prepare_output_file(path: Path, what: str = "output file") -> Path:
    """Check that `path` can be written as a file: not a folder, in a writable folder."""
    path = Path(path)
    if path.is_dir():
        raise FsbenchError(f"{what} {path}: is a folder; give a file name")
    if path.exists() and not os.access(path, os.W_OK):
        raise FsbenchError(f"{what} {path}: exists and is read-only")
    reason = _make_writable_folder(path.parent)
    if reason is not None:
        raise FsbenchError(f"{what} {path}: {reason}")
    return path
