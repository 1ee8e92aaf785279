"""The result record: every JSON file the toolkit writes has one envelope.

    {"format": "facesynth-bench/<name>", "schema_version": N, ...body..., "provenance": {...}}

`format` says what the file is, `schema_version` which layout of its body (raised when a
key changes meaning or disappears), and `provenance` comes from `provenance()` alone. The
formats and their bodies are documented in docs/results-format.md. This module imports
nothing heavy: library versions are read from modules already loaded, never imported.
"""

from __future__ import annotations

import json
import platform
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cache
from pathlib import Path
from typing import Any

from facesynth_bench import __version__
from facesynth_bench.atomic_files import write_json_atomic
from facesynth_bench.errors import FsbenchError

FORMAT_PREFIX = "facesynth-bench/"
FORMATS: dict[str, int] = {
    "separability": 1,
    "scores": 1,
    "dataset": 2,
    "embeddings-report": 1,
    "alignment-report": 1,
    "demo": 1,
    "generator-training": 1,
    "benchmark": 1,
    "verification-benchmark": 1,
    "fr-training": 1,
}
"""Every format this version writes, with its current schema version."""

RESERVED_KEYS = ("format", "schema_version", "provenance")
LIBRARIES = ("torch", "numpy", "dlib", "onnxruntime", "faiss", "cv2")
"""Libraries whose versions provenance records, where the run loaded them."""

_PROJECT_NAME = 'name = "facesynth-bench"'


@dataclass(frozen=True)
class RunClock:
    """When a run started: UTC wall-clock time and a monotonic start for its duration."""

    started_utc: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    started: float = field(default_factory=time.perf_counter)

    def elapsed_s(self) -> float:
        """Seconds since the start, monotonic."""
        return time.perf_counter() - self.started


def loaded_library_versions() -> dict[str, str]:
    """Versions of the LIBRARIES this process has imported (none is imported here)."""
    versions = {}
    for name in LIBRARIES:
        module = sys.modules.get(name)
        version = getattr(module, "__version__", None) if module is not None else None
        if version is not None:
            versions[name] = str(version)
    return versions


@cache
def project_commit() -> dict[str, Any] | None:
    """Commit and dirty flag of the facesynth-bench checkout this package runs from.

    None unless the package sits at the top of its own git work tree (a checkout or an
    editable install): an installed copy inside another repository reports nothing, never
    that repository's HEAD.
    """
    root = Path(__file__).resolve().parent.parent
    pyproject = root / "pyproject.toml"
    if not (root / ".git").exists() or not pyproject.is_file():
        return None
    if _PROJECT_NAME not in pyproject.read_text(encoding="utf-8", errors="replace"):
        return None
    try:
        top = _git(root, "rev-parse", "--show-toplevel")
        if Path(top).resolve() != root:
            return None
        commit = _git(root, "rev-parse", "HEAD")
        dirty = bool(_git(root, "status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": commit, "dirty": dirty}


def _git(root: Path, *args: str) -> str:
    out = subprocess.run(
        ["git", "-C", str(root), *args], capture_output=True, text=True, timeout=10, check=True
    )
    return out.stdout.strip()


def provenance(clock: RunClock, device: str | None = None) -> dict[str, Any]:
    """Who made a result, with what, where and when: the one provenance of every record."""
    git = project_commit()
    return {
        "package": "facesynth-bench",
        "version": __version__,
        "git_commit": git["commit"] if git else None,
        "git_dirty": git["dirty"] if git else None,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "libraries": loaded_library_versions(),
        "device": device,
        "command": list(sys.argv),
        "started_utc": clock.started_utc.isoformat(timespec="seconds"),
        "wall_s": round(clock.elapsed_s(), 3),
    }


def make_record(
    format_name: str, body: Mapping[str, Any], clock: RunClock, device: str | None = None
) -> dict[str, Any]:
    """The envelope around `body`: format, schema version, body keys, provenance."""
    if format_name not in FORMATS:
        raise FsbenchError(f"unknown result format {format_name!r}; known: {', '.join(FORMATS)}")
    clash = [key for key in RESERVED_KEYS if key in body]
    if clash:
        raise FsbenchError(f"result body for {format_name!r} uses reserved keys {clash}")
    return {
        "format": FORMAT_PREFIX + format_name,
        "schema_version": FORMATS[format_name],
        **body,
        "provenance": provenance(clock, device),
    }


def write_record(
    path: Path,
    format_name: str,
    body: Mapping[str, Any],
    clock: RunClock,
    device: str | None = None,
) -> dict[str, Any]:
    """Write `make_record(...)` to `path` atomically and return it."""
    record = make_record(format_name, body, clock, device)
    write_json_atomic(Path(path), record)
    return record


def read_record(path: Path, format_name: str | None = None) -> dict[str, Any]:
    """Read a record, checking the envelope (and the format, when one is expected)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FsbenchError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise FsbenchError(f"{path}: is a directory, not a result file") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise FsbenchError(f"{path}: not a readable JSON file ({exc})") from exc
    if not isinstance(data, dict) or not str(data.get("format", "")).startswith(FORMAT_PREFIX):
        raise FsbenchError(f"{path}: not a facesynth-bench result (no 'format' field)")
    name = data["format"].removeprefix(FORMAT_PREFIX)
    if format_name is not None and name != format_name:
        raise FsbenchError(f"{path}: a {name!r} record, expected {format_name!r}")
    newest = FORMATS.get(name)
    if newest is not None and data.get("schema_version", 0) > newest:
        raise FsbenchError(
            f"{path}: {name!r} schema version {data.get('schema_version')} is newer than this "
            f"facesynth-bench reads ({newest}); upgrade facesynth-bench"
        )
    return data
