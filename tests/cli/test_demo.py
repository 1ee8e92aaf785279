"""`fsbench demo`: the embedded default end to end, and the built-in embedding set."""

import json

from facesynth_bench.cli import main


def test_demo_generates_embeds_and_scores_each_tiny_preset(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("FSBENCH_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "demo"
    args = ["demo", "--out", str(out), "--identities", "4", "--images-per-identity", "3"]
    assert main([*args, "--device", "cpu"]) == 0
    runs = json.loads((out / "demo.json").read_text())["runs"]
    assert list(runs) == ["idiff-face", "negfacediff", "adaptdiff"]
    assert runs["adaptdiff"]["preset"] == "tiny-adaptdiff-ddim50"
    assert all(run["n_genuine"] == 12 and run["n_impostor"] == 54 for run in runs.values())
    assert len(list((out / "tiny-adaptdiff-ddim50").rglob("*.png"))) == 12
    assert (out / "histogram-adaptdiff.png").exists()
    assert "embedded default" in capsys.readouterr().out
    # A second run resumes the finished datasets instead of refusing the folders.
    assert main([*args, "--device", "cpu"]) == 0
    # A folder made with another seed (or other weights) is refused, not mixed in.
    before = sorted(p.stat().st_mtime_ns for p in out.rglob("*.png"))
    assert main([*args, "--seed", "2", "--device", "cpu"]) != 0
    assert "records a different run" in capsys.readouterr().err
    assert sorted(p.stat().st_mtime_ns for p in out.rglob("*.png")) == before


def test_builtin_embeddings_under_three_pair_protocols(tmp_path):
    out = tmp_path / "demo"
    args = ["demo", "--builtin-embeddings", "--out", str(out), "--identities", "40"]
    assert main([*args, "--images-per-identity", "4"]) == 0
    runs = json.loads((out / "demo.json").read_text())["runs"]
    assert list(runs) == ["exhaustive", "sampled-equal", "sampled-fraction"]
    assert runs["exhaustive"]["n_genuine"] == runs["sampled-equal"]["n_impostor"] == 240
    assert all((out / f"histogram-{mode}.png").exists() for mode in runs)
