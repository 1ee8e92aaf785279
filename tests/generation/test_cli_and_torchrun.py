"""`fsbench generate` end to end, and torchrun with 2 gloo processes == 1 process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from facesynth_bench.cli import main
from facesynth_bench.data.manifest import MANIFEST_NAME


def _pngs(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*.png"))}


def _args(preset_dir: Path, out: Path) -> list[str]:
    return [
        "generate", "--generator", "dummy-ddim", "--presets", str(preset_dir),
        "--identities", "5", "--images-per-identity", "3", "--batch-size", "4",
        "--seed", "11", "--device", "cpu", "--out", str(out),
    ]  # fmt: skip


def test_cli_generates_and_reports_errors(preset_dir: Path, tmp_path: Path, capsys) -> None:
    assert main(_args(preset_dir, tmp_path / "one")) == 0
    assert len(_pngs(tmp_path / "one")) == 15
    assert main(_args(preset_dir, tmp_path / "one")) == 1
    assert "is not empty; pass --resume" in capsys.readouterr().err
    assert main([*_args(preset_dir, tmp_path / "one"), "--resume"]) == 0
    assert "0 images written, 15 already present" in capsys.readouterr().err
    bad = [*_args(preset_dir, tmp_path / "two")]
    bad[bad.index("dummy-ddim")] = "dummy-dim"
    assert main(bad) == 1
    assert "Did you mean 'dummy-ddim'" in capsys.readouterr().err


@pytest.mark.slow
def test_torchrun_two_gloo_processes_match_one_process(preset_dir: Path, tmp_path: Path) -> None:
    assert main(_args(preset_dir, tmp_path / "single")) == 0
    here = str(Path(__file__).resolve().parent)  # dummy_backend.py lives here
    path = os.pathsep.join([here, os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, "PYTHONPATH": path, "OMP_NUM_THREADS": "1"}
    fsbench = Path(sys.executable).with_name("fsbench")
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
        "--no-python", str(fsbench), *_args(preset_dir, tmp_path / "ranks"),
    ]  # fmt: skip
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    assert _pngs(tmp_path / "ranks") == _pngs(tmp_path / "single")
    single = (tmp_path / "single" / MANIFEST_NAME).read_text()
    assert (tmp_path / "ranks" / MANIFEST_NAME).read_text() == single
    assert not (tmp_path / "ranks" / ".manifest-parts").exists()


def test_list_generators_shows_the_presets_with_their_parameters(capsys) -> None:
    assert main(["list", "generators"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "adaptdiff-ddim200" in out and "ddim-200 eta=0" in out
    assert "guidance linear(w_max=1)" in out and "guidance constant(w_max=0.5)" in out
