"""Every JSON the toolkit writes is a result record: format, schema_version, provenance."""

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np

from facesynth_bench.cli import main
from facesynth_bench.records import FORMATS

REPO = Path(__file__).resolve().parents[1]
PROVENANCE_KEYS = {
    "package", "version", "git_commit", "git_dirty", "python", "platform", "libraries",
    "device", "command", "started_utc", "wall_s",
}  # fmt: skip
# JSON files that are a run's internal state, not results: each with the reason.
INTERNAL_JSON = {
    "facesynth_bench/generation/alignment.py": "per-batch alignment misses, merged into the "
    "alignment-report record when the run finishes",
    "facesynth_bench/backends/latent_dcgan/training_data.py": "the training-set cache's spec, "
    "compared on reuse",
}


def assert_record(path: Path, format_name: str) -> dict:
    """The file is a `format_name` record with the full provenance; return it."""
    record = json.loads(path.read_text())
    assert record["format"] == f"facesynth-bench/{format_name}", path
    assert record["schema_version"] == FORMATS[format_name], path
    assert set(record["provenance"]) >= PROVENANCE_KEYS, path
    return record


def test_every_cli_writer_writes_a_record(tmp_path, monkeypatch):
    monkeypatch.setenv("FSBENCH_CACHE", str(tmp_path / "cache"))
    rng = np.random.default_rng(0)
    np.savez(
        tmp_path / "e.npz", embeddings=rng.normal(size=(12, 8)), labels=np.repeat([0, 1, 2], 4)
    )
    (tmp_path / "g.txt").write_text("0.9\n0.8\n0.7\n")
    (tmp_path / "i.txt").write_text("0.1\n0.2\n0.75\n")
    synth = tmp_path / "synth"
    runs = [
        (["evaluate", "separability", "--embeddings", f"{tmp_path}/e.npz", "--out",
          f"{tmp_path}/sep"], tmp_path / "sep" / "separability.json", "separability"),
        (["evaluate", "scores", "--genuine", f"{tmp_path}/g.txt", "--impostor",
          f"{tmp_path}/i.txt", "--out", f"{tmp_path}/sc"], tmp_path / "sc" / "scores.json",
         "scores"),
        (["demo", "--builtin-embeddings", "--identities", "21", "--images-per-identity", "2",
          "--out", f"{tmp_path}/demo"], tmp_path / "demo" / "demo.json", "demo"),
        (["generate", "--generator", "tiny-adaptdiff-ddim50", "--identities", "3",
          "--images-per-identity", "2", "--out", str(synth), "--device", "cpu"],
         synth / "dataset.json", "dataset"),
        (["embed", "--dataset", str(synth), "--embedder", "dlib", "--out",
          f"{tmp_path}/emb.npz", "--device", "cpu"], tmp_path / "emb.json", "embeddings-report"),
        (["evaluate", "separability", "--dataset", str(synth), "--embedder", "dlib", "--out",
          f"{tmp_path}/sep-ds", "--device", "cpu"], tmp_path / "sep-ds" / "separability.json",
         "separability"),
        (["align", str(synth), f"{tmp_path}/aligned"], tmp_path / "aligned" / "align_report.json",
         "alignment-report"),
    ]  # fmt: skip
    for args, path, format_name in runs:
        assert main(args) == 0, args
        assert_record(path, format_name)
    from_dataset = json.loads((tmp_path / "sep-ds" / "separability.json").read_text())
    assert re.fullmatch(r"[0-9a-f]{64}", from_dataset["input"]["dataset"]["fingerprint"])


def test_benchmarks_write_records(tmp_path):
    out = tmp_path / "cli.json"
    subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "cli_startup.py"), "--repeats", "1",
         "--output", str(out)],
        check=True, capture_output=True,
    )  # fmt: skip
    assert assert_record(out, "benchmark")["benchmark"] == "cli_startup"
    for script in sorted((REPO / "benchmarks").glob("*.py")):
        assert "write_record(" in script.read_text(), f"{script.name} writes no result record"
    for result in sorted((REPO / "benchmarks" / "results").glob("*.json")):
        assert_record(result, "benchmark")


def test_no_json_is_written_around_the_record():
    """Only records.py writes result JSON; the other writers are named internal state."""
    writers = re.compile(r"write_json_atomic\(|json\.dump\(|write_text\(json\.dumps")
    found = {
        str(path.relative_to(REPO))
        for folder in ("facesynth_bench", "benchmarks", "scripts")
        for path in (REPO / folder).rglob("*.py")
        if writers.search(path.read_text())
    }
    allowed = {"facesynth_bench/records.py", "facesynth_bench/atomic_files.py", *INTERNAL_JSON}
    assert found <= allowed, sorted(found - allowed)
