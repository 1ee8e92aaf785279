"""The result record: envelope, provenance and the project's own commit only."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from facesynth_bench import records
from facesynth_bench.errors import FsbenchError
from facesynth_bench.records import RunClock, make_record, read_record, write_record

REPO = Path(__file__).resolve().parents[1]


def test_record_has_envelope_body_and_provenance(tmp_path):
    record = write_record(tmp_path / "r.json", "scores", {"eer": 0.1}, RunClock(), "cpu")
    on_disk = json.loads((tmp_path / "r.json").read_text())
    assert on_disk == record
    assert list(record)[:2] == ["format", "schema_version"] and list(record)[-1] == "provenance"
    assert record["format"] == "facesynth-bench/scores" and record["schema_version"] == 1
    prov = record["provenance"]
    assert prov["version"] and prov["device"] == "cpu" and prov["started_utc"].endswith("+00:00")
    assert prov["wall_s"] >= 0 and prov["command"] == sys.argv
    assert read_record(tmp_path / "r.json", "scores")["eer"] == 0.1


def test_unknown_format_and_reserved_keys_are_refused():
    with pytest.raises(FsbenchError, match="unknown result format"):
        make_record("nonsense", {}, RunClock())
    with pytest.raises(FsbenchError, match="reserved keys"):
        make_record("scores", {"provenance": 1}, RunClock())


def test_read_record_names_the_problem(tmp_path):
    (tmp_path / "plain.json").write_text("[]")
    with pytest.raises(FsbenchError, match="not a facesynth-bench result"):
        read_record(tmp_path / "plain.json")
    with pytest.raises(FsbenchError, match="is a directory"):
        read_record(tmp_path)
    write_record(tmp_path / "d.json", "demo", {}, RunClock())
    with pytest.raises(FsbenchError, match="a 'demo' record, expected 'scores'"):
        read_record(tmp_path / "d.json", "scores")
    newer = json.loads((tmp_path / "d.json").read_text()) | {"schema_version": 99}
    (tmp_path / "n.json").write_text(json.dumps(newer))
    with pytest.raises(FsbenchError, match="newer than this"):
        read_record(tmp_path / "n.json")


def test_library_versions_are_read_only_from_loaded_modules(monkeypatch):
    monkeypatch.delitem(sys.modules, "dlib", raising=False)
    assert "dlib" not in records.loaded_library_versions()
    assert records.loaded_library_versions()["numpy"]


def test_commit_is_the_checkouts_own():
    git = records.project_commit()
    assert git is not None
    head = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    )
    assert git["commit"] == head.stdout.strip()


def test_an_installed_copy_inside_another_repository_reports_no_commit(tmp_path):
    other = tmp_path / "other-repo"
    site = other / "venv" / "site-packages"
    shutil.copytree(REPO / "facesynth_bench", site / "facesynth_bench", ignore=_no_assets)
    subprocess.run(["git", "init", "-q", str(other)], check=True)
    subprocess.run(
        ["git", "-C", str(other), "-c", "user.name=x", "-c", "user.email=x@x", "commit", "-q",
         "--allow-empty", "-m", "other"],
        check=True,
    )  # fmt: skip
    code = "from facesynth_bench.records import project_commit; print(project_commit())"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env={"PYTHONPATH": str(site)},
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert out.stdout.strip() == "None"


def _no_assets(folder: str, names: list[str]) -> list[str]:
    return [n for n in names if n in ("assets", "__pycache__")]
