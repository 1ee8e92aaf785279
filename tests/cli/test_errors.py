"""One-line errors for bad output paths, bad options and unexpected failures (no tracebacks)."""

import numpy as np
import pytest

from facesynth_bench.cli import main


@pytest.fixture
def blocker(tmp_path):
    """A plain file where the commands below are told to write a folder."""
    path = tmp_path / "blocker"
    path.write_text("not a folder")
    return path


def _inputs(tmp_path):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "e.npz", embeddings=rng.normal(size=(8, 4)), labels=np.repeat([0, 1], 4))
    (tmp_path / "g.txt").write_text("0.9\n0.8\n")
    (tmp_path / "i.txt").write_text("0.1\n0.2\n")
    (tmp_path / "src").mkdir()


COMMANDS = {
    "separability": ["evaluate", "separability", "--embeddings", "{t}/e.npz", "--out", "{o}"],
    "scores": ["evaluate", "scores", "--genuine", "{t}/g.txt", "--impostor", "{t}/i.txt",
               "--out", "{o}"],
    "demo": ["demo", "--builtin-embeddings", "--out", "{o}"],
    "align": ["align", "{t}/src", "{o}"],
    "generate": ["generate", "--identities", "2", "--images-per-identity", "1", "--out", "{o}",
                 "--device", "cpu"],
    "train-generator": ["train-generator", "latent-dcgan", "--run-dir", "{o}", "--device", "cpu"],
    "embed": ["embed", "--dataset", "{t}/src", "--embedder", "dlib", "--out", "{o}/x.npz"],
}  # fmt: skip


@pytest.mark.parametrize("name", COMMANDS)
@pytest.mark.parametrize("where", ["is-a-file", "under-a-file"])
def test_output_in_the_way_is_one_line_before_any_work(name, where, tmp_path, blocker, capsys):
    _inputs(tmp_path)
    out = blocker if where == "is-a-file" else blocker / "sub"
    args = [a.format(t=tmp_path, o=out) for a in COMMANDS[name]]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and str(blocker) in err and "not a folder" in err, err
    assert blocker.read_text() == "not a folder"


@pytest.mark.parametrize(
    "args",
    [
        ["evaluate", "separability", "--embeddings", "e.npz", "--out", "o", "--seed", "-1"],
        ["embed", "--dataset", "d", "--embedder", "dlib", "--out", "o.npz", "--workers", "-1"],
        ["align", "a", "b", "--workers", "-1"],
        ["demo", "--seed", "-2"],
    ],
)
def test_out_of_range_numbers_are_usage_errors(args, capsys):
    assert main(args) == 2
    assert f"Invalid value for '{args[-2]}'" in capsys.readouterr().err


def test_an_option_given_twice_is_refused(tmp_path, capsys):
    _inputs(tmp_path)
    args = ["evaluate", "scores", "--genuine", f"{tmp_path}/g.txt", "--impostor",
            f"{tmp_path}/i.txt", "--out", str(tmp_path / "o")]  # fmt: skip
    assert main([*args, "--convention", "bob", "--convention=pyeer"]) == 2
    assert "--convention is given twice (also as --convention)" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
    flips = ["embed", "--dataset", "d", "--embedder", "x", "--out", "o.npz", "--flip", "--no-flip"]
    assert main(flips) == 2
    assert "given twice" in capsys.readouterr().err


def test_unknown_precision_is_refused_on_cpu(tmp_path, capsys):
    args = ["embed", "--dataset", str(tmp_path), "--embedder", "dlib", "--out",
            str(tmp_path / "o.npz"), "--precision", "fp8", "--device", "cpu"]  # fmt: skip
    assert main(args) == 1
    assert "precision 'fp8': expected one of auto, fp32, bf16, fp16" in capsys.readouterr().err


def test_an_unexpected_error_is_one_line_and_a_traceback_file(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("FSBENCH_CACHE", str(tmp_path / "cache"))
    _inputs(tmp_path)

    def broken(*args, **kwargs):
        raise ZeroDivisionError("something inside broke")

    monkeypatch.setattr("facesynth_bench.metrics.score_sets.evaluate_scores", broken)
    args = ["evaluate", "scores", "--genuine", f"{tmp_path}/g.txt", "--impostor",
            f"{tmp_path}/i.txt", "--out", str(tmp_path / "o")]  # fmt: skip
    assert main(args) == 1
    err = capsys.readouterr().err
    assert "internal error: ZeroDivisionError: something inside broke" in err
    assert "Traceback" not in err
    (report,) = (tmp_path / "cache" / "crash-reports").iterdir()
    assert str(report) in err.replace("\n", "")
    text = report.read_text()
    assert "Traceback" in text and "something inside broke" in text and "evaluate scores" in text


def test_a_library_error_gets_the_option_that_sets_its_parameter(tmp_path, capsys):
    folder = tmp_path / "ds" / "id0"
    folder.mkdir(parents=True)
    (folder / "0.png").write_bytes(b"not a png")
    (folder / "1.png").write_bytes(b"not a png either")
    (tmp_path / "lm.txt").write_text("other.png 1 1 2 2 3 3 4 4 5 5\n")
    args = [
        "align",
        str(tmp_path / "ds"),
        str(tmp_path / "out"),
        "--landmarks",
        f"{tmp_path}/lm.txt",
    ]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert "skip_bad skips" in err and "(option --skip-bad)" in err, err


@pytest.mark.parametrize("content", ["[]", "{", '{"run": 3}'])
def test_resume_on_a_broken_dataset_record_is_one_line(tmp_path, capsys, content):
    out = tmp_path / "g"
    out.mkdir()
    (out / "dataset.json").write_text(content)
    args = ["generate", "--identities", "2", "--images-per-identity", "1", "--out", str(out),
            "--device", "cpu", "--resume"]  # fmt: skip
    assert main(args) == 1
    err = capsys.readouterr().err
    assert "dataset.json" in err and "Traceback" not in err and "internal error" not in err


def test_bins_that_are_not_a_power_of_two_are_one_line(tmp_path, capsys):
    _inputs(tmp_path)
    args = ["evaluate", "separability", "--embeddings", f"{tmp_path}/e.npz", "--out",
            str(tmp_path / "o"), "--bins", "3"]  # fmt: skip
    assert main(args) == 1
    assert "histogram bins 3: expected a power of two" in capsys.readouterr().err
