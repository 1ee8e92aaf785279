"""`fsbench evaluate separability` end to end through the real entry point."""

import json

import numpy as np

from facesynth_bench.cli import main
from facesynth_bench.embedding_set import EmbeddingSet, save_embedding_set


def write_set(path, n_ids=30, per_id=4, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((n_ids, 16))
    labels = np.repeat(np.arange(n_ids), per_id)
    x = centres[labels] + 0.5 * rng.standard_normal((len(labels), 16))
    save_embedding_set(path, EmbeddingSet(x, labels))


def separability(embeddings, out, *extra):
    """Run the command; its exit code."""
    return main(
        ["evaluate", "separability", "--embeddings", str(embeddings), "--out", str(out), *extra]
    )


def test_writes_json_and_figure(tmp_path, capsys):
    write_set(tmp_path / "e.npz")
    out = tmp_path / "out"
    assert separability(tmp_path / "e.npz", out, "--device", "cpu") == 0
    report = json.loads((out / "separability.json").read_text())
    required = {
        "eer", "fmr100", "fmr1000", "genuine_mean", "genuine_std", "impostor_mean",
        "impostor_std", "fdr", "dprime", "n_genuine", "n_impostor", "n_identities",
        "convention", "pairs", "seed",
    }  # fmt: skip
    assert required <= report.keys()
    assert (report["n_genuine"], report["n_impostor"]) == (30 * 6, 120 * 119 // 2 - 180)
    assert report["input"]["sha256"] and report["provenance"]["version"]
    assert (out / "histogram.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "FMR100" in capsys.readouterr().out


def test_sampled_modes_and_conventions(tmp_path):
    write_set(tmp_path / "e.npz")
    for extra in (
        ["--pairs", "sampled-fraction", "--fraction", "0.2", "--seed", "3"],
        ["--pairs", "sampled-equal", "--convention", "pyeer"],
    ):
        out = tmp_path / extra[1]
        assert separability(tmp_path / "e.npz", out, *extra) == 0
        report = json.loads((out / "separability.json").read_text())
        assert report["pairs"] == extra[1]


def test_errors_exit_non_zero_with_a_named_problem(tmp_path, capsys):
    np.savez(tmp_path / "bad.npz", embeddings=np.ones((3, 2)), labels=np.arange(2))
    assert separability(tmp_path / "bad.npz", tmp_path / "o") == 1
    assert "3 embeddings but 2 labels" in capsys.readouterr().err
    assert separability(tmp_path / "none.npz", tmp_path / "o") == 1
    write_set(tmp_path / "e.npz")
    assert separability(tmp_path / "e.npz", tmp_path / "o", "--pairs", "some") == 1
    assert "pair mode 'some'" in capsys.readouterr().err


def test_usage_errors_and_help(capsys):
    assert main(["--help"]) == 0
    assert "evaluate" in capsys.readouterr().out
    assert main(["evaluate", "separability"]) == 2
    assert main(["list", "conventions"]) == 0
    assert "insightface" in capsys.readouterr().out
    assert main(["list", "nothing"]) == 1
