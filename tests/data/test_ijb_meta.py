"""IJB meta files: exact values with explicit dtypes, each malformed case named; alignment."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from facesynth_bench.data.align import ARCFACE_TEMPLATE
from facesynth_bench.data.ijb_meta import align_ijb_face, read_ijb_meta
from facesynth_bench.errors import FsbenchError

FACES = """\
1.jpg 1 10
2.jpg 1 10
3.jpg 1 11
4.jpg 7 12
5.jpg 9000000000 13
"""
# template ids beyond 2**53 would lose digits through float64 (9007199254740993 -> ...992)
PAIRS = """\
1 7 0
1 1 1
9000000000 7 0
7 9000000000 1
"""
LANDMARKS = """\
1.jpg 38.5 51.25 73.5 51.5 56.0 71.75 41.5 92.25 70.75 92.0 0.99
2.jpg 1 2 3 4 5 6 7 8 9 10 0.5
3.jpg 10.5 20.5 30.5 40.5 50.5 60.5 70.5 80.5 90.5 100.5 0.875
4.jpg 0 0 1 0 0.5 0.5 0 1 1 1 0.25
5.jpg 100 200 300 400 500 600 700 800 900 1000 1
"""


def write_meta(folder: Path, faces=FACES, pairs=PAIRS, landmarks=LANDMARKS):
    folder.mkdir(exist_ok=True)
    paths = (
        folder / "ijbc_face_tid_mid.txt",
        folder / "ijbc_template_pair_label.txt",
        folder / "ijbc_name_5pts_score.txt",
    )
    for path, text in zip(paths, (faces, pairs, landmarks), strict=True):
        path.write_text(text)
    return paths


def test_meta_files_are_read_with_exact_values_and_dtypes(tmp_path):
    meta = read_ijb_meta(*write_meta(tmp_path))
    assert meta.image_names == ("1.jpg", "2.jpg", "3.jpg", "4.jpg", "5.jpg")
    assert len(meta) == 5
    assert meta.templates.dtype == np.int64 and meta.media.dtype == np.int64
    assert meta.templates.tolist() == [1, 1, 1, 7, 9_000_000_000]
    assert meta.media.tolist() == [10, 10, 11, 12, 13]
    assert meta.landmarks.dtype == np.float32 and meta.landmarks.shape == (5, 5, 2)
    assert meta.landmarks[0].tolist() == [
        [38.5, 51.25],
        [73.5, 51.5],
        [56.0, 71.75],
        [41.5, 92.25],
        [70.75, 92.0],
    ]
    assert meta.landmarks[1, :, 0].tolist() == [1, 3, 5, 7, 9]  # x1 y1 x2 y2 ...
    assert meta.faceness.dtype == np.float32
    assert meta.faceness.tolist() == [0.99000000953674316, 0.5, 0.875, 0.25, 1.0]
    assert meta.pair_t1.dtype == np.int64 and meta.pair_t2.dtype == np.int64
    assert meta.pair_t1.tolist() == [1, 1, 9_000_000_000, 7]
    assert meta.pair_t2.tolist() == [7, 1, 7, 9_000_000_000]
    assert meta.pair_labels.dtype == np.int8
    assert meta.pair_labels.tolist() == [0, 1, 0, 1]
    assert meta.landmark_rows.tolist() == [0, 1, 2, 3, 4]


def test_large_ids_are_not_read_through_floats(tmp_path):
    big = 2**53 + 1  # float64 would make it 2**53
    faces = f"a.jpg {big} 1\nb.jpg 2 2\n"
    landmarks = "a.jpg 0 0 1 0 0 1 1 1 2 2 1\nb.jpg 0 0 1 0 0 1 1 1 2 2 1\n"
    meta = read_ijb_meta(*write_meta(tmp_path, faces, f"{big} 2 1\n", landmarks))
    assert meta.templates[0] == big and meta.pair_t1[0] == big


def test_landmark_rows_in_another_order_are_matched_by_name(tmp_path):
    lines = LANDMARKS.splitlines(keepends=True)
    shuffled = "".join(lines[i] for i in (3, 0, 4, 2, 1))
    meta = read_ijb_meta(*write_meta(tmp_path, landmarks=shuffled))
    assert meta.landmark_rows.tolist() == [1, 4, 3, 0, 2]
    assert meta.faceness.tolist() == [0.99000000953674316, 0.5, 0.875, 0.25, 1.0]
    assert meta.landmarks[3].tolist() == [[0, 0], [1, 0], [0.5, 0.5], [0, 1], [1, 1]]


@pytest.mark.parametrize(
    ("which", "text", "message"),
    [
        (0, "1.jpg 1 10\n2.jpg 1\n", r"ijbc_face_tid_mid\.txt:2: expected 3 columns "
         r"\(image name template media\), got 2"),
        (0, "1.jpg 1 10\n\n2.jpg 1 10 5\n", r"ijbc_face_tid_mid\.txt:3: expected 3 columns"),
        (0, "1.jpg 1 10\n2.jpg 1.5 10\n", r"ijbc_face_tid_mid\.txt:2: template '1\.5' is not "
         r"an integer"),
        (0, "1.jpg 1 10\n2.jpg 1 1e3\n", r"ijbc_face_tid_mid\.txt:2: media '1e3' is not an"),
        (0, "", r"IJB face file .*ijbc_face_tid_mid\.txt: no rows"),
        (1, "1 7 0\n1 1 1\n9000000000 7\n", r"ijbc_template_pair_label\.txt:3: expected 3 "
         r"columns \(template 1 template 2 label\), got 2"),
        (1, "1 7 0\n1 1.0 1\n", r"ijbc_template_pair_label\.txt:2: template 2 '1\.0' is not "
         r"an integer"),
        (1, "1 7 0\n1 x 1\n", r"pair_label\.txt:2: template 2 'x' is not an integer"),
        (1, "1 7 0 4\n1 1 1 4\n", r"pair_label\.txt: expected 3 columns .*every row has 4"),
        (1, "1 7\n1 1\n", r"pair_label\.txt: expected 3 columns .*every row has 2"),
        (1, "1 7 0\n1 1 2\n7 1 -1\n7 7 2\n", r"pair_label\.txt: 3 labels are not 0 or 1, "
         r"first 2 in row 2 \(-1, 2\)"),
        (1, "1 7 1\n99 1 0\n1 98 0\n98 99 1\n", r"pair_label\.txt: 3 pairs name 2 templates "
         r"with no images in .*face_tid_mid\.txt \(98, 99\), first in row 2"),
        (1, "", r"IJB pair file .*: no rows"),
        (2, LANDMARKS.replace(" 0.5\n", "\n"), r"5pts_score\.txt:2: expected 12 columns "
         r"\(image name x1 y1 x2 y2 .* y5 faceness\), got 11"),
        (2, LANDMARKS.replace("56.0", "5,6"), r"5pts_score\.txt:1: x3 '5,6' is not a number"),
        (2, LANDMARKS.replace("0.875", "nan"), r"5pts_score\.txt: 1 rows hold non-finite "
         r"numbers \(NaN or inf\), first row 3 \(3\.jpg\)"),
    ],
)  # fmt: skip
def test_malformed_files_are_named_with_line_and_numbers(tmp_path, which, text, message):
    files = [FACES, PAIRS, LANDMARKS]
    files[which] = text
    with pytest.raises(FsbenchError, match=message):
        read_ijb_meta(*write_meta(tmp_path, *files))


def test_landmark_rows_not_matching_the_images_are_counted_and_named(tmp_path):
    lines = LANDMARKS.splitlines(keepends=True)
    landmarks = lines[0] + lines[2] + lines[4] + lines[4].replace("5.jpg", "x.jpg")
    with pytest.raises(FsbenchError) as err:
        read_ijb_meta(*write_meta(tmp_path, landmarks=landmarks))
    text = str(err.value)
    assert "ijbc_name_5pts_score.txt does not match the images of" in text
    assert "2 of the 5 images have no row (2.jpg, 4.jpg)" in text
    assert "1 of its 4 rows name images not in" in text and "(x.jpg)" in text
    twice = "".join(LANDMARKS.splitlines(keepends=True)[i] for i in (1, 0, 2, 3, 4, 4))
    with pytest.raises(FsbenchError, match=r"5pts_score\.txt names 1 images twice or more \(5"):
        read_ijb_meta(*write_meta(tmp_path, landmarks=twice))


def test_missing_files_are_named(tmp_path):
    faces, pairs, landmarks = write_meta(tmp_path)
    pairs.unlink()
    with pytest.raises(FsbenchError, match=r"IJB pair file .*pair_label\.txt: no such file"):
        read_ijb_meta(faces, pairs, landmarks)


def coordinate_image(size: int = 256) -> np.ndarray:
    """Red = x, green = y of each pixel: a linear image, which bilinear warping keeps exact."""
    y, x = np.mgrid[0:size, 0:size]
    return np.stack([x, y, np.full_like(x, 128)], axis=-1).astype(np.uint8)


def similarity(scale: float, degrees: float, shift) -> np.ndarray:
    angle = np.deg2rad(degrees)
    rotation = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    return np.hstack([rotation, np.asarray(shift, float)[:, None]])


def test_alignment_maps_the_landmarks_onto_the_template():
    # the face in the crop is the template turned 20 degrees, 1.6 times larger, moved
    crop_from_template = similarity(1.6, 20.0, (60.0, 20.0))
    landmarks = ARCFACE_TEMPLATE @ crop_from_template[:, :2].T + crop_from_template[:, 2]
    aligned = align_ijb_face(coordinate_image(), landmarks.astype(np.float32))
    assert aligned.dtype == np.uint8 and aligned.shape == (112, 112, 3)
    # every output pixel holds the crop coordinates it came from: crop_from_template(pixel)
    y, x = np.mgrid[0:112, 0:112]
    pixels = np.stack([x, y], axis=-1).reshape(-1, 2).astype(float)
    source = pixels @ crop_from_template[:, :2].T + crop_from_template[:, 2]
    inside = ((source >= 0) & (source <= 255)).all(axis=1)
    assert inside.mean() > 0.9
    found = aligned.reshape(-1, 3)[inside, :2].astype(float)
    assert np.abs(found - source[inside]).max() <= 1.0
    # so the pixel nearest each template point shows the landmark it was given
    for point, landmark in zip(ARCFACE_TEMPLATE, landmarks, strict=True):
        column, row = np.rint(point).astype(int)
        offset = crop_from_template[:, :2] @ (np.array([column, row]) - point)
        assert np.abs(aligned[row, column, :2] - (landmark + offset)).max() <= 1.0


def test_landmarks_on_the_template_leave_a_112_image_unchanged():
    image = np.random.default_rng(0).integers(0, 256, (112, 112, 3), dtype=np.uint8)
    np.testing.assert_array_equal(align_ijb_face(image, ARCFACE_TEMPLATE), image)


def test_alignment_inputs_are_checked():
    with pytest.raises(FsbenchError, match=r"uint8 RGB image .*float64 \(8, 8, 3\)"):
        align_ijb_face(np.zeros((8, 8, 3)), ARCFACE_TEMPLATE)
    with pytest.raises(FsbenchError, match=r"5 \(x, y\) landmarks, got shape \(4, 2\)"):
        align_ijb_face(np.zeros((8, 8, 3), np.uint8), ARCFACE_TEMPLATE[:4])
    with pytest.raises(FsbenchError, match="finite"):
        align_ijb_face(np.zeros((8, 8, 3), np.uint8), np.full((5, 2), np.nan))
