"""A preset folder whose preset drives the dummy backend (see dummy_backend.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

DUMMY_PRESET = """
name = "dummy-adaptdiff"
description = "AdaptDiff sampling on the dummy backend."
[backend]
name = "dummy_backend:load"
[backend.options]
seed = 3
[sampler]
name = "ddpm"
steps = 50
[guidance]
schedule = "linear"
w_max = 1.0
[negatives]
strategy = "far"
"""


@pytest.fixture
def preset_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "presets"
    folder.mkdir()
    (folder / "dummy-adaptdiff.toml").write_text(DUMMY_PRESET)
    (folder / "dummy-ddim.toml").write_text(
        'name = "dummy-ddim"\nextends = "dummy-adaptdiff"\n[sampler]\nname = "ddim"\nsteps = 10\n'
    )
    (folder / "dummy-unguided.toml").write_text(
        'name = "dummy-unguided"\nextends = "dummy-adaptdiff"\n[guidance]\nschedule = "none"\n'
    )
    return folder
