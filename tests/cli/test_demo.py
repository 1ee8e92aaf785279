"""`fsbench demo` runs end to end on its built-in set and writes its files."""

import json

from facesynth_bench.cli import main


def test_demo_writes_three_protocol_runs(tmp_path, capsys):
    out = tmp_path / "demo"
    assert (
        main(["demo", "--out", str(out), "--identities", "40", "--images-per-identity", "4"]) == 0
    )
    runs = json.loads((out / "demo.json").read_text())["runs"]
    assert list(runs) == ["exhaustive", "sampled-equal", "sampled-fraction"]
    assert runs["exhaustive"]["n_genuine"] == runs["sampled-equal"]["n_impostor"] == 240
    assert all((out / f"histogram-{mode}.png").exists() for mode in runs)
    assert "sampled-fraction" in capsys.readouterr().out
