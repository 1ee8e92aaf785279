"""Provenance recorded in every result JSON: versions, git commit, time, command line."""

from __future__ import annotations

import platform
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import torch

from facesynth_bench import __version__


def git_commit() -> str | None:
    """The commit of the facesynth-bench checkout this code runs from, if it is one."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def provenance(elapsed_s: float | None = None) -> dict[str, Any]:
    """Versions, commit, UTC time, command line and (optionally) wall time of this run."""
    return {
        "fsbench_version": __version__,
        "git_commit": git_commit(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "platform": platform.platform(),
        "date_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": sys.argv,
        "elapsed_s": elapsed_s,
    }
