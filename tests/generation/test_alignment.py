"""`fsbench generate --align`: 112x112 ArcFace crops, reproducible, resumable, misses counted."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from facesynth_bench.cli import main
from facesynth_bench.data.align import ARCFACE_TEMPLATE, DlibLandmarker
from facesynth_bench.data.image_io import read_image
from facesynth_bench.data.layouts import open_layout
from facesynth_bench.data.manifest import read_manifest
from facesynth_bench.errors import FsbenchError
from facesynth_bench.generation import runner
from facesynth_bench.generation.runner import GenerationRequest, generate
from facesynth_bench.specs import load_preset

TINY = "tiny-adaptdiff-ddim50"


def _request(out: Path, preset: str = TINY, presets: tuple[Path, ...] = (), **kw):
    base = {"identities": 4, "images_per_identity": 2, "out": out, "seed": 3, "batch_size": 4}
    base.update(device="cpu", align=True)
    base.update(kw)
    return GenerationRequest(preset=load_preset(preset, list(presets)), **base)


def _dummy(preset_dir: Path, out: Path, **kw) -> GenerationRequest:
    """The dummy backend's 16x16 images are noise: no face is ever found in them."""
    kw.setdefault("identities", 3)
    return _request(out, "dummy-unguided", (preset_dir,), batch_size=2, **kw)


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*.png"))}


def _report(root: Path) -> dict:
    return json.loads((root / "align_report.json").read_text())


@pytest.fixture(scope="module")
def aligned_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One aligned run of the embedded default (4 identities x 2 images)."""
    return generate(_request(tmp_path_factory.mktemp("aligned") / "run")).out


def test_images_are_112_and_reproduce_byte_for_byte(aligned_run: Path, tmp_path: Path) -> None:
    files = _files(aligned_run)
    assert len(files) == 8
    assert {read_image(aligned_run / name).shape for name in files} == {(112, 112, 3)}
    assert _files(generate(_request(tmp_path / "again")).out) == files
    info = json.loads((aligned_run / "dataset.json").read_text())
    assert info["run"]["align"]["size"] == 112 and info["run"]["align"]["on_miss"] == "resize"
    assert info["layout"]["image_size"] == [112, 112]
    counts = info["alignment"]["counts"]
    assert counts == _report(aligned_run)["counts"] and sum(counts.values()) == 8
    assert counts["failed"] == 0 and counts["aligned"] >= 6
    assert len(read_manifest(aligned_run)) == 8
    samples, skipped = open_layout(aligned_run).scan()  # the report is metadata
    assert (len(samples), skipped) == (8, [])
    assert not (aligned_run / ".align-parts").exists()


def test_eyes_land_on_the_template(aligned_run: Path) -> None:
    """Landmarks re-detected (HOG + 68 points) on the output sit on the ArcFace eyes."""
    landmarker = DlibLandmarker()
    names = sorted(set(_files(aligned_run)) - set(_report(aligned_run)["resized"]))
    found = [landmarker(read_image(aligned_run / name)) for name in names]
    errors = [_eye_error(points) for points in found if points is not None]
    assert len(errors) >= 3
    assert np.median(errors) < 4.0 and max(errors) < 8.0


def _eye_error(points: np.ndarray) -> float:
    return float(np.linalg.norm(points[:2] - ARCFACE_TEMPLATE[:2], axis=1).max())


def test_resume_with_another_align_setting_is_refused(preset_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    generate(_dummy(preset_dir, out, align=False))
    with pytest.raises(
        FsbenchError, match=r"different run \(align differ, recorded with no alignment"
    ):
        generate(_dummy(preset_dir, out, resume=True))
    aligned = tmp_path / "aligned"
    generate(_dummy(preset_dir, aligned))
    with pytest.raises(FsbenchError, match=r"recorded with alignment with on_miss resize\)"):
        generate(_dummy(preset_dir, aligned, on_miss="skip", resume=True))
    with pytest.raises(FsbenchError, match=r"use the same .*and alignment settings"):
        generate(_dummy(preset_dir, aligned, align=False, resume=True))
    assert generate(_dummy(preset_dir, aligned, resume=True)).written == 0


def test_misses_are_resized_and_counted(preset_dir: Path, tmp_path: Path) -> None:
    result = generate(_dummy(preset_dir, tmp_path / "run"))
    assert result.alignment == {"aligned": 0, "resized": 6, "failed": 0}
    files = _files(result.out)
    assert len(files) == 6 and read_image(result.out / "000002/1.png").shape == (112, 112, 3)
    report = _report(result.out)
    assert report["resized"] == sorted(files) and report["policy"]["on_miss"] == "resize"
    assert json.loads((result.out / "dataset.json").read_text())["alignment"]["counts"] == {
        "aligned": 0,
        "resized": 6,
        "failed": 0,
    }


def test_skip_drops_lists_and_does_not_redo_misses(preset_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = generate(_dummy(preset_dir, out, on_miss="skip"))
    assert (result.written, result.alignment) == (0, {"aligned": 0, "resized": 0, "failed": 6})
    assert result.skipped == 0  # dropped images are not "already present"
    assert _files(out) == {} and read_manifest(out) == []
    assert _report(out)["failed"][0] == {"path": "000000/0.png", "reason": "no face found"}
    again = generate(_dummy(preset_dir, out, on_miss="skip", resume=True))
    assert again.alignment == result.alignment and (again.written, again.skipped) == (0, 0)


def test_error_policy_names_the_image(preset_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(FsbenchError, match=r"000000/0\.png: no face found to align"):
        generate(_dummy(preset_dir, tmp_path / "run", on_miss="error"))
    with pytest.raises(FsbenchError, match=r"on_miss policy 'drop': expected one of resize"):
        _dummy(preset_dir, tmp_path / "other", on_miss="drop")


def test_counts_survive_a_kill_and_resume(
    preset_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reference = _files(generate(_dummy(preset_dir, tmp_path / "ref")).out)
    out, real, calls = tmp_path / "killed", runner.write_bytes_atomic, {"n": 0}

    def dying_write(path, data):
        calls["n"] += path.suffix == ".png"
        if calls["n"] == 4:  # killed mid-batch, after the batch's misses were recorded
            raise KeyboardInterrupt
        return real(path, data)

    monkeypatch.setattr(runner, "write_bytes_atomic", dying_write)
    with pytest.raises(KeyboardInterrupt):
        generate(_dummy(preset_dir, out))
    monkeypatch.setattr(runner, "write_bytes_atomic", real)
    assert (out / ".align-parts").is_dir()
    result = generate(_dummy(preset_dir, out, resume=True))
    assert result.written == 3 and _files(out) == reference
    assert result.alignment == {"aligned": 0, "resized": 6, "failed": 0}
    assert _report(out)["resized"] == sorted(reference)


def test_backends_declaring_aligned_crops_are_refused(preset_dir: Path, tmp_path: Path) -> None:
    """The backend's capabilities decide, not its name; nothing is written."""
    crops = load_preset("dummy-unguided", [preset_dir], {"backend.options.aligned_output": True})
    request = GenerationRequest(crops, 2, 1, tmp_path / "a", device="cpu", align=True)
    with pytest.raises(FsbenchError, match="writes aligned face crops already"):
        generate(request)
    (preset_dir / "dummy-112.toml").write_text(
        'name = "dummy-112"\nextends = "dummy-unguided"\n[output]\nsize = 112\n'
    )
    with pytest.raises(FsbenchError, match="writes 112x112 images already"):
        generate(_request(tmp_path / "b", preset="dummy-112", presets=(preset_dir,)))
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_cli_align_reports_the_counts(preset_dir: Path, tmp_path: Path, capsys) -> None:
    args = [
        "generate", "--generator", "dummy-unguided", "--presets", str(preset_dir),
        "--identities", "2", "--images-per-identity", "2", "--device", "cpu",
        "--out", str(tmp_path / "run"),
    ]  # fmt: skip
    assert main([*args, "--on-miss", "skip"]) == 1
    assert "--on-miss applies to --align only" in capsys.readouterr().err
    assert main([*args, "--align"]) == 0
    err = " ".join(capsys.readouterr().err.split())
    assert "--align: 0 aligned to 112x112, 4 resized and 0 dropped" in err
