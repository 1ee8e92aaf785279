"""`fsbench evaluate scores` end to end."""

import json

import numpy as np

from facesynth_bench.cli import main
from facesynth_bench.score_files import write_score_files


def test_pyeer_files_and_a_distance_file_in_bob_columns(tmp_path, capsys):
    rng = np.random.default_rng(0)
    genuine, impostor = rng.normal(5, 1, 200), rng.normal(0, 2, 2000)
    g_file, i_file = write_score_files(tmp_path / "s", genuine, impostor, "one-per-line")
    assert (
        main(
            [
                "evaluate",
                "scores",
                "--genuine",
                str(g_file),
                "--impostor",
                str(i_file),
                "--out",
                str(tmp_path / "sim"),
                "--convention",
                "pyeer",
            ]
        )
        == 0
    )
    sim = json.loads((tmp_path / "sim" / "scores.json").read_text())
    assert (sim["n_genuine"], sim["n_impostor"], sim["convention"]) == (200, 2000, "pyeer")
    assert sim["input"]["file_format"] == "one-per-line"
    assert (tmp_path / "sim" / "histogram.png").exists()

    (bob_file,) = write_score_files(tmp_path / "d.txt", -genuine, -impostor, "bob-4col")
    assert (
        main(
            [
                "evaluate",
                "scores",
                "--scores",
                str(bob_file),
                "--distance",
                "--convention",
                "pyeer",
                "--out",
                str(tmp_path / "dist"),
            ]
        )
        == 0
    )
    dist = json.loads((tmp_path / "dist" / "scores.json").read_text())
    assert dist["eer"] == sim["eer"]
    assert dist["eer_threshold"] == -sim["eer_threshold"]
    assert dist["decision"] == "match when distance <= threshold"
    assert "distance <= threshold" in capsys.readouterr().out


def test_bad_score_file_exits_1_with_the_line(tmp_path, capsys):
    (tmp_path / "g.txt").write_text("0.5\n0.7\nnan\n")
    (tmp_path / "i.txt").write_text("0.1\n")
    args = [
        "evaluate",
        "scores",
        "--genuine",
        str(tmp_path / "g.txt"),
        "--impostor",
        str(tmp_path / "i.txt"),
        "--out",
        str(tmp_path / "o"),
    ]
    assert main(args) == 1
    assert "NaN or infinite" in capsys.readouterr().err
    assert main([*args, "--nan-policy", "fta"]) == 0
    report = json.loads((tmp_path / "o" / "scores.json").read_text())
    assert report["n_failed_genuine"] == 1
