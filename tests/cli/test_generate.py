"""`fsbench generate` options: --set overrides, the backend's batch size, flag-named errors."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from facesynth_bench.cli import main

TINY = ["generate", "--generator", "tiny-idiff-face-ddim50", "--device", "cpu"]


def _args(out: Path, *extra: str) -> list[str]:
    return [*TINY, "--identities", "2", "--images-per-identity", "1", "--out", str(out), *extra]


def test_set_overrides_a_preset_key_and_is_recorded(tmp_path: Path, capsys) -> None:
    out = tmp_path / "run"
    assert main(_args(out, "--set", "sampler.steps=20", "--set", "sampler.eta=0.5")) == 0
    run = json.loads((out / "dataset.json").read_text())["run"]
    assert run["overrides"] == {"sampler.steps": 20, "sampler.eta": 0.5}
    assert run["preset"]["sampler"] == {"name": "ddim", "steps": 20, "eta": 0.5}
    assert run["batch_size"] == 100  # the embedded default's own batch size
    assert len(list(out.rglob("*.png"))) == 2
    # resuming needs the same overrides
    assert main(_args(out, "--resume", "--set", "sampler.steps=20")) == 1
    assert "(overrides, preset differ" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("sampler.stepz=20", "unknown key(s) ['stepz'] in [sampler]"),
        ("sampler.steps=many", "steps must be an integer, got 'many' (with overrides"),
        ("sampler.steps", "override 'sampler.steps': expected KEY=VALUE"),
    ],
)
def test_bad_set_options_give_one_line_errors(
    tmp_path: Path, capsys, setting: str, message: str
) -> None:
    assert main(_args(tmp_path / "run", "--set", setting)) == 1
    err = capsys.readouterr().err.strip()
    assert message in err and err.endswith("(option --set)") and "Traceback" not in err
    assert "\n" not in err and not (tmp_path / "run").exists()


def test_a_key_set_twice_is_refused(tmp_path: Path, capsys) -> None:
    args = _args(tmp_path / "run", "--set", "guidance.w_max=1", "--set", "guidance.w_max=2")
    assert main(args) == 1
    assert "--set guidance.w_max is given twice" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("option", "value"),
    [("--identities", "0"), ("--batch-size", "0"), ("--seed", "-1")],
)
def test_bad_counts_name_the_flag(tmp_path: Path, capsys, option: str, value: str) -> None:
    args = _args(tmp_path / "run")
    if option in args:
        args[args.index(option) + 1] = value
    else:
        args += [option, value]
    assert main(args) == 2
    assert option in capsys.readouterr().err


def test_a_huge_request_fails_at_once_naming_the_option(tmp_path: Path, capsys) -> None:
    """The embedded default once grew to 22 GB on --identities 100000000000 before a check."""
    args = ["generate", "--identities", "100000000000", "--images-per-identity", "1"]
    start = time.perf_counter()
    assert main([*args, "--device", "cpu", "--out", str(tmp_path / "run")]) == 1
    assert time.perf_counter() - start < 30
    err = " ".join(capsys.readouterr().err.split())
    assert "100,000,000,000 identities need about" in err and "(option --identities)" in err
