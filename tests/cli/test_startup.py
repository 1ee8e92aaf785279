"""The CLI starts without heavy libraries; each command imports only what it uses."""

import json
import subprocess
import sys

import pytest

HEAVY = ("torch", "matplotlib", "cv2", "dlib", "onnxruntime")


def loaded_after(args: list[str]) -> set[str]:
    """The HEAVY libraries a fresh interpreter has imported after `fsbench ARGS`."""
    code = (
        "import json, sys\n"
        "from facesynth_bench.cli import main\n"
        f"code = main({args!r})\n"
        f"print(json.dumps([code, [m for m in {HEAVY!r} if m in sys.modules]]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    code, loaded = json.loads(out.stdout.strip().splitlines()[-1])
    assert code == 0, out.stderr
    return set(loaded)


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["--version"],
        ["list"],
        ["evaluate", "--help"],
        ["generate", "--help"],
        ["train-generator", "latent-dcgan", "--help"],
    ],
)
def test_start_up_imports_no_heavy_library(args):
    assert loaded_after(args) == set()


def test_score_files_need_neither_torch_nor_cv2(tmp_path):
    (tmp_path / "g.txt").write_text("0.9\n0.8\n")
    (tmp_path / "i.txt").write_text("0.1\n0.2\n0.85\n")
    args = ["evaluate", "scores", "--genuine", f"{tmp_path}/g.txt", "--impostor",
            f"{tmp_path}/i.txt", "--out", str(tmp_path / "out")]  # fmt: skip
    assert loaded_after(args) == {"matplotlib"}  # the histogram


def test_generate_without_align_needs_no_cv2(tmp_path):
    # uniform contexts: the tiny presets' own two-stage contexts are embedded with dlib
    args = ["generate", "--generator", "tiny-idiff-face-ddim50", "--identities", "2",
            "--images-per-identity", "1", "--out", str(tmp_path / "g"),
            "--set", "contexts.source=uniform", "--device", "cpu"]  # fmt: skip
    assert loaded_after(args) == {"torch"}
