import json

import numpy as np
import pytest

from facesynth_bench.data.align import (
    ARCFACE_TEMPLATE,
    DLIB5_TEMPLATE,
    align_dataset,
    five_from_68,
    read_landmarks_file,
    similarity_transform,
    warp_to_template,
)
from facesynth_bench.data.image_io import read_image
from facesynth_bench.data.manifest import ManifestRecord, ManifestWriter, read_manifest
from facesynth_bench.data.writers import write_folder_dataset
from facesynth_bench.errors import FsbenchError


def _apply(matrix, points):
    return points @ matrix[:, :2].T + matrix[:, 2]


def _similarity(angle, scale, shift):
    c, s = np.cos(angle), np.sin(angle)
    return np.hstack([scale * np.array([[c, -s], [s, c]]), np.asarray(shift)[:, None]])


def test_template_maps_onto_itself_exactly():
    matrix = similarity_transform(ARCFACE_TEMPLATE, ARCFACE_TEMPLATE)
    np.testing.assert_allclose(matrix, [[1, 0, 0], [0, 1, 0]], atol=1e-12)


def test_recovers_a_known_similarity_and_hits_the_template():
    forward = _similarity(0.4, 2.3, [40.0, -12.0])
    src = _apply(forward, ARCFACE_TEMPLATE)  # template moved into a larger photo
    matrix = similarity_transform(src, ARCFACE_TEMPLATE)
    np.testing.assert_allclose(_apply(matrix, src), ARCFACE_TEMPLATE, atol=1e-9)
    back = np.vstack([forward, [0, 0, 1]])
    np.testing.assert_allclose(matrix, np.linalg.inv(back)[:2], atol=1e-12)


def test_no_reflection_is_fitted():
    mirrored = ARCFACE_TEMPLATE * [-1, 1]
    matrix = similarity_transform(mirrored, ARCFACE_TEMPLATE)
    assert np.linalg.det(matrix[:, :2]) > 0


def test_warp_puts_landmark_blobs_on_the_template():
    forward = _similarity(-0.3, 1.7, [30.0, 25.0])
    src = _apply(forward, ARCFACE_TEMPLATE)
    yy, xx = np.mgrid[0:260, 0:260]
    image = np.zeros((260, 260, 3), np.uint8)
    for x, y in src:
        blob = np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * 2.5**2))
        image[..., 0] = np.maximum(image[..., 0], (255 * blob).astype(np.uint8))
    warped = warp_to_template(image, src)[..., 0].astype(float)
    assert warped.shape == (112, 112)
    for x, y in ARCFACE_TEMPLATE:
        y0, x0 = round(y), round(x)
        patch = warped[y0 - 4 : y0 + 5, x0 - 4 : x0 + 5]
        py, px = np.mgrid[y0 - 4 : y0 + 5, x0 - 4 : x0 + 5]
        centroid = np.array([(patch * px).sum(), (patch * py).sum()]) / patch.sum()
        np.testing.assert_allclose(centroid, [x, y], atol=0.25)


def test_five_from_68_picks_eye_centres_nose_and_mouth_corners():
    points = np.arange(136, dtype=float).reshape(68, 2)
    five = five_from_68(points)
    np.testing.assert_allclose(five[0], points[36:42].mean(axis=0))
    np.testing.assert_allclose(five[1], points[42:48].mean(axis=0))
    np.testing.assert_allclose(five[2:], points[[30, 48, 54]])


def _landmark_line(name, points, score=True):
    coords = " ".join(f"{v:.4f}" for v in np.asarray(points).ravel())
    return f"{name} {coords}" + (" 0.99" if score else "")


def test_landmarks_file_errors_name_the_line(tmp_path):
    path = tmp_path / "lm.txt"
    path.write_text(_landmark_line("a.jpg", ARCFACE_TEMPLATE) + "\nb.jpg 1 2 3\n")
    with pytest.raises(FsbenchError, match=r"lm\.txt:2: expected a name and 10 coordinates"):
        read_landmarks_file(path)
    line = _landmark_line("a.jpg", ARCFACE_TEMPLATE, score=False)
    path.write_text(f"{line}\n{line}\n")
    with pytest.raises(FsbenchError, match=r"lm\.txt:2: second row for 'a\.jpg'"):
        read_landmarks_file(path)


def _photo_dataset(tmp_path):
    """Two identities of 200x200 'photos' whose landmarks are a known similarity of the template."""
    rng = np.random.default_rng(0)
    images = {
        f"p{i}": [rng.integers(0, 256, (200, 200, 3), dtype=np.uint8) for _ in range(2)]
        for i in range(2)
    }
    write_folder_dataset(tmp_path / "src", images)
    src_points = _apply(_similarity(0.2, 1.4, [20.0, 15.0]), ARCFACE_TEMPLATE)
    lines = [_landmark_line(f"p{i}/{j}.png", src_points) for i in range(2) for j in range(2)]
    return images, src_points, lines


@pytest.mark.parametrize("workers", [0, 2])
def test_align_dataset_with_landmarks_file(tmp_path, workers):
    images, src_points, lines = _photo_dataset(tmp_path)
    (tmp_path / "lm.txt").write_text("\n".join(lines) + "\n")
    with ManifestWriter(tmp_path / "src") as writer:
        writer.append([ManifestRecord("p0/0.png", "p0", 0, "idiff-face", 3, "c")])
    report = align_dataset(
        tmp_path / "src", tmp_path / "dst", landmarks=tmp_path / "lm.txt", num_workers=workers
    )
    assert report.counts == {"aligned": 4, "resized": 0, "failed": 0}
    out = read_image(tmp_path / "dst" / "p1" / "1.png")
    np.testing.assert_array_equal(out, warp_to_template(images["p1"][1], src_points.round(4)))
    assert read_manifest(tmp_path / "dst") == [
        ManifestRecord("p0/0.png", "p0", 0, "idiff-face", 3, "c")
    ]
    saved = json.loads((tmp_path / "dst" / "align_report.json").read_text())
    assert saved["counts"]["aligned"] == 4


def test_missing_landmark_rows_are_named_or_reported(tmp_path):
    _, _, lines = _photo_dataset(tmp_path)
    (tmp_path / "lm.txt").write_text("\n".join(lines[:3]) + "\n")
    with pytest.raises(FsbenchError, match=r"p1/1\.png: no row in the landmarks file"):
        align_dataset(tmp_path / "src", tmp_path / "dst", landmarks=tmp_path / "lm.txt")
    report = align_dataset(
        tmp_path / "src", tmp_path / "dst2", landmarks=tmp_path / "lm.txt", skip_bad=True
    )
    assert report.counts == {"aligned": 3, "resized": 0, "failed": 1}
    assert report.failed == [{"path": "p1/1.png", "reason": "no row in the landmarks file"}]


def test_dlib_fallback_policy_is_counted(tmp_path):
    images = {"x": [np.full((64, 64, 3), 90, np.uint8), np.full((64, 64, 3), 30, np.uint8)]}
    write_folder_dataset(tmp_path / "src", images)
    report = align_dataset(tmp_path / "src", tmp_path / "a")
    assert report.counts == {"aligned": 0, "resized": 2, "failed": 0}
    assert read_image(tmp_path / "a" / "x" / "0.png").shape == (112, 112, 3)
    skipped = align_dataset(tmp_path / "src", tmp_path / "b", on_miss="skip")
    assert skipped.counts["failed"] == 2 and skipped.failed[0]["reason"] == "no face detected"
    with pytest.raises(FsbenchError, match=r"x/0\.png: no face detected"):
        align_dataset(tmp_path / "src", tmp_path / "c", on_miss="error")


def test_cli_align_writes_report_and_exits_1_on_missing_rows(tmp_path, capsys):
    from facesynth_bench.cli import main

    _, _, lines = _photo_dataset(tmp_path)
    (tmp_path / "lm.txt").write_text("\n".join(lines[:3]) + "\n")
    args = [
        "align",
        str(tmp_path / "src"),
        str(tmp_path / "dst"),
        "--landmarks",
        str(tmp_path / "lm.txt"),
    ]
    assert main(args) == 1
    assert "no row in the landmarks file" in capsys.readouterr().err
    assert main([*args, "--skip-bad"]) == 0
    report = json.loads((tmp_path / "dst" / "align_report.json").read_text())
    assert report["counts"] == {"aligned": 3, "resized": 0, "failed": 1}


def test_dlib_alignment_is_equivariant_on_generated_faces():
    """Rotating and scaling a face must not change its aligned crop (real dlib landmarks).

    Faces come from the shipped DCGAN (seed 0, faces 6 and 13 are detected frontally).
    """
    import cv2
    import torch

    from facesynth_bench.backends.latent_dcgan.dcgan import decode_latents, load_dcgan_generator
    from facesynth_bench.data.align import DlibLandmarker

    z = torch.randn(16, 100, generator=torch.Generator().manual_seed(0))[[6, 13]]
    faces = decode_latents(load_dcgan_generator(), z).permute(0, 2, 3, 1).numpy()
    landmarker = DlibLandmarker()
    moved = cv2.getRotationMatrix2D((150, 150), 10, 1.2)
    for face in (faces * 255).round().astype(np.uint8):
        canvas = np.zeros((300, 300, 3), np.uint8)
        canvas[75:225, 75:225] = cv2.resize(face, (150, 150), interpolation=cv2.INTER_CUBIC)
        rotated = cv2.warpAffine(canvas, moved, (300, 300))
        points, points_rotated = landmarker(canvas), landmarker(rotated)
        assert points is not None and points_rotated is not None
        assert np.abs(points_rotated - _apply(moved, points)).mean() < 1.5
        aligned = warp_to_template(canvas, points).astype(int)
        aligned_rotated = warp_to_template(rotated, points_rotated).astype(int)
        shifted = np.roll(aligned, 4, axis=1)
        assert np.abs(aligned - aligned_rotated).mean() < np.abs(aligned - shifted).mean() / 3


def test_align_grid_dataset_names_tiles_by_number(tmp_path):
    from facesynth_bench.data.layouts import GridSpec
    from facesynth_bench.data.writers import write_grid_dataset

    tiles = [np.full((32, 32, 3), 40 * (i + 1), np.uint8) for i in range(3)]
    write_grid_dataset(tmp_path / "g", {"017": tiles}, columns=2)
    report = align_dataset(
        tmp_path / "g", tmp_path / "a", layout="grid", grid=GridSpec(32, 2, images=3)
    )
    assert report.counts == {"aligned": 0, "resized": 3, "failed": 0}
    assert sorted(p.name for p in (tmp_path / "a" / "017").iterdir()) == ["0.png", "1.png", "2.png"]
    assert read_image(tmp_path / "a" / "017" / "2.png")[0, 0, 0] == 120


def test_dlib5_template_puts_its_eye_centres_on_the_arcface_eyes():
    eyes = np.stack([DLIB5_TEMPLATE[2:4].mean(axis=0), DLIB5_TEMPLATE[0:2].mean(axis=0)])
    np.testing.assert_allclose(eyes, ARCFACE_TEMPLATE[:2], atol=1e-9)
    assert ARCFACE_TEMPLATE[2, 1] < DLIB5_TEMPLATE[4, 1] < ARCFACE_TEMPLATE[3, 1]  # nose base


def test_centred_face_landmarker_aligns_rotated_generated_faces():
    """64x64 DCGAN faces turned by 12 degrees: --align puts their eyes back on the template.

    Eyes are re-detected (HOG + 68 points) on the output; a plain resize misses by more.
    """
    import cv2
    import torch

    from facesynth_bench.backends.latent_dcgan.dcgan import decode_latents, load_dcgan_generator
    from facesynth_bench.data.align import (
        CentredFaceLandmarker,
        DlibLandmarker,
        align_face,
        resize_unaligned,
    )

    z = torch.randn(16, 100, generator=torch.Generator().manual_seed(0))
    faces = decode_latents(load_dcgan_generator(), z).permute(0, 2, 3, 1).numpy()
    turn = cv2.getRotationMatrix2D((31.5, 31.5), 12, 1.0)
    landmarker, reference = CentredFaceLandmarker(), DlibLandmarker()
    errors = {"aligned": [], "resized": []}
    for face in (faces * 255).round().astype(np.uint8):
        turned = cv2.warpAffine(face, turn, (64, 64), borderMode=cv2.BORDER_REFLECT)
        aligned, action = align_face(turned, landmarker, "skip")
        assert action == "aligned" and aligned.shape == (112, 112, 3)
        found = reference(aligned), reference(resize_unaligned(turned))
        if all(points is not None for points in found):
            for key, points in zip(errors, found, strict=True):
                errors[key].append(np.linalg.norm(points[:2] - ARCFACE_TEMPLATE[:2], axis=1).max())
    assert len(errors["aligned"]) >= 5
    assert np.mean(errors["aligned"]) < 3.5 < np.mean(errors["resized"])
    blank = np.full((64, 64, 3), 90, np.uint8)
    assert landmarker(blank) is None
    assert align_face(blank, landmarker, "skip") == (None, "failed")
    resized, action = align_face(blank, landmarker, "resize")
    assert action == "resized" and resized.shape == (112, 112, 3)


def test_non_finite_landmarks_are_refused_naming_file_and_line(tmp_path):
    path = tmp_path / "lm.txt"
    good = _landmark_line("a.jpg", ARCFACE_TEMPLATE)
    bad = ARCFACE_TEMPLATE.copy()
    bad[2, 0] = np.nan
    path.write_text(f"{good}\n{_landmark_line('b.jpg', bad)}\n")
    with pytest.raises(FsbenchError, match=r"lm\.txt:2: non-finite coordinate for 'b\.jpg'"):
        read_landmarks_file(path)
    path.write_text(good.replace("38.2946", "inf", 1) + "\n")
    with pytest.raises(FsbenchError, match=r"lm\.txt:1: non-finite coordinate"):
        read_landmarks_file(path)
    with pytest.raises(FsbenchError, match="points must be finite numbers"):
        similarity_transform(bad, ARCFACE_TEMPLATE)
    path.write_text(_landmark_line("c.jpg", np.ones((5, 2))) + "\n")
    with pytest.raises(FsbenchError, match=r"lm\.txt:1: the 5 points of 'c\.jpg' coincide"):
        read_landmarks_file(path)


def test_binary_landmarks_file_is_named(tmp_path):
    (tmp_path / "lm.txt").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(FsbenchError, match=r"landmarks file .*lm\.txt: not UTF-8 text"):
        read_landmarks_file(tmp_path / "lm.txt")


def test_a_non_empty_destination_is_refused_before_any_work(tmp_path):
    _, _, lines = _photo_dataset(tmp_path)
    (tmp_path / "lm.txt").write_text("\n".join(lines) + "\n")
    dst = tmp_path / "dst"
    (dst / "p0").mkdir(parents=True)
    (dst / "p0" / "old.png").write_bytes(b"kept")
    with pytest.raises(FsbenchError, match=rf"output folder {dst} is not empty") as caught:
        align_dataset(tmp_path / "src", dst, landmarks=tmp_path / "lm.txt")
    assert "--" not in str(caught.value)
    assert sorted(p.name for p in dst.rglob("*")) == ["old.png", "p0"]
    (dst / "p0" / "old.png").unlink()
    (dst / "p0").rmdir()
    report = align_dataset(tmp_path / "src", dst, landmarks=tmp_path / "lm.txt")  # empty: fine
    assert report.counts["aligned"] == 4 and (dst / "p1" / "1.png").is_file()


def test_destinations_inside_the_source_or_files_are_refused(tmp_path):
    _photo_dataset(tmp_path)
    with pytest.raises(FsbenchError, match="must not lie inside the source dataset"):
        align_dataset(tmp_path / "src", tmp_path / "src" / "aligned")
    (tmp_path / "out").write_text("x")
    with pytest.raises(FsbenchError, match=r"out: exists and is not a folder"):
        align_dataset(tmp_path / "src", tmp_path / "out")


def test_a_failed_run_leaves_no_output_so_a_rerun_can_use_the_folder(tmp_path):
    _, _, lines = _photo_dataset(tmp_path)
    (tmp_path / "lm.txt").write_text("\n".join(lines) + "\n")
    (tmp_path / "src" / "p1" / "1.png").write_bytes(b"not a png")  # fails when loaded
    dst = tmp_path / "dst"
    with pytest.raises(FsbenchError, match=r"p1/1\.png: .*skip_bad skips") as caught:
        align_dataset(tmp_path / "src", dst, landmarks=tmp_path / "lm.txt")
    assert "--" not in str(caught.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lm.txt", "src"]  # no staging left
    report = align_dataset(tmp_path / "src", dst, landmarks=tmp_path / "lm.txt", skip_bad=True)
    assert report.counts == {"aligned": 3, "resized": 0, "failed": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dst", "lm.txt", "src"]


def test_staging_left_by_a_killed_run_is_named(tmp_path):
    _photo_dataset(tmp_path)
    (tmp_path / ".dst.aligning").mkdir()
    with pytest.raises(FsbenchError, match=r"\.dst\.aligning is left from an interrupted align"):
        align_dataset(tmp_path / "src", tmp_path / "dst")


def test_missing_rows_are_refused_before_anything_is_written(tmp_path):
    _, _, lines = _photo_dataset(tmp_path)
    (tmp_path / "lm.txt").write_text("\n".join(lines[1:3]) + "\n")
    with pytest.raises(FsbenchError, match=r"p0/0\.png \(and 1 more\): no row in the landmarks"):
        align_dataset(tmp_path / "src", tmp_path / "dst", landmarks=tmp_path / "lm.txt")
    assert not (tmp_path / "dst").exists()


@pytest.mark.parametrize("workers", [-1, 1.5])
def test_bad_worker_counts_are_refused_naming_the_value(tmp_path, workers):
    _photo_dataset(tmp_path)
    with pytest.raises(FsbenchError, match=rf"got {workers}"):
        align_dataset(tmp_path / "src", tmp_path / "dst", num_workers=workers)
    assert not (tmp_path / "dst").exists()


def test_align_option_errors_name_values_not_flags(tmp_path):
    _photo_dataset(tmp_path)
    calls = {
        "on_miss policy 'drop'": lambda: align_dataset(
            tmp_path / "src", tmp_path / "a", on_miss="drop"
        ),
        "landmarks file": lambda: align_dataset(
            tmp_path / "src", tmp_path / "b", landmarks=tmp_path / "missing.txt"
        ),
        "dataset": lambda: align_dataset(tmp_path / "nowhere", tmp_path / "c"),
    }
    for expected, call in calls.items():
        with pytest.raises(FsbenchError) as caught:
            call()
        assert expected in str(caught.value) and "--" not in str(caught.value)


def test_empty_dataset_is_refused(tmp_path):
    (tmp_path / "src").mkdir()
    with pytest.raises(FsbenchError, match=r"src: no images to align"):
        align_dataset(tmp_path / "src", tmp_path / "dst", layout="folder")


def test_unreadable_identity_folder_is_reported_or_named(tmp_path, deny_listing):
    _, _, lines = _photo_dataset(tmp_path)
    (tmp_path / "lm.txt").write_text("\n".join(lines) + "\n")
    deny_listing(tmp_path / "src" / "p1")
    with pytest.raises(FsbenchError, match=r"p1/: cannot read folder \(Permission denied\)"):
        align_dataset(tmp_path / "src", tmp_path / "dst", landmarks=tmp_path / "lm.txt")
    report = align_dataset(
        tmp_path / "src", tmp_path / "dst", landmarks=tmp_path / "lm.txt", skip_bad=True
    )
    assert report.counts == {"aligned": 2, "resized": 0, "failed": 1}
    assert report.failed == [{"path": "p1/", "reason": "cannot read folder (Permission denied)"}]


def test_a_failed_write_is_named_and_leaves_no_output(tmp_path, monkeypatch):
    import facesynth_bench.data.align as align_module

    _, _, lines = _photo_dataset(tmp_path)
    (tmp_path / "lm.txt").write_text("\n".join(lines) + "\n")

    def full_disk(path, image):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(align_module, "write_image", full_disk)
    dst = tmp_path / "dst"
    with pytest.raises(FsbenchError, match=r"dst/p0/0\.png: cannot write \(No space left"):
        align_dataset(tmp_path / "src", dst, landmarks=tmp_path / "lm.txt")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lm.txt", "src"]
