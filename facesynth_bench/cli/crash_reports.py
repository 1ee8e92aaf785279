"""Crash reports: the full traceback of an unexpected error, written to a file for bug reports."""

from __future__ import annotations

import os
import tempfile
import traceback
from datetime import datetime, timezone
from pathlib import Path

from facesynth_bench import __version__


def crash_report_dir() -> Path:
    """`$FSBENCH_CACHE/crash-reports`, else `~/.cache/facesynth_bench/crash-reports`."""
    base = os.environ.get("FSBENCH_CACHE")
    root = Path(base) if base else Path.home() / ".cache" / "facesynth_bench"
    return root / "crash-reports"


def write_crash_report(exc: BaseException, args: list[str]) -> Path | None:
    """Write the traceback of `exc` and the command line to a file; its path (None: unwritable)."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    text = "".join(
        [
            f"fsbench {__version__}, {stamp}\n",
            f"command: fsbench {' '.join(args)}\n\n",
            *traceback.format_exception(type(exc), exc, exc.__traceback__),
        ]
    )
    for folder in (crash_report_dir(), Path(tempfile.gettempdir())):
        path = folder / f"fsbench-crash-{stamp}-{os.getpid()}.txt"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        except OSError:
            continue
        return path
    return None
