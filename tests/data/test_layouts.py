from pathlib import Path

import numpy as np
import pytest

from facesynth_bench.data.image_io import decode_image, encode_image
from facesynth_bench.data.layouts import (
    FolderLayout,
    GridSpec,
    Skipped,
    describe_skipped,
    detect_layout,
    grid_spec,
    natural_key,
    open_layout,
)
from facesynth_bench.data.subsets import select_subset
from facesynth_bench.data.writers import (
    write_flat_dataset,
    write_folder_dataset,
    write_grid_dataset,
    write_recordio_dataset,
)
from facesynth_bench.errors import FsbenchError


def _read_all(layout):
    return [(img, identity, path) for img, identity, path in layout]


@pytest.mark.parametrize("writer", [write_folder_dataset, write_flat_dataset])
def test_file_layouts_round_trip(tmp_path, images, writer):
    writer(tmp_path, images)
    layout = open_layout(tmp_path)
    read = _read_all(layout)
    assert [identity for _, identity, _ in read] == [k for k, v in images.items() for _ in v]
    expected = [img for v in images.values() for img in v]
    assert all(np.array_equal(a, b) for (a, _, _), b in zip(read, expected, strict=True))


@pytest.mark.parametrize("padding", [0, 2])
def test_grid_round_trip(tmp_path, images, padding):
    write_grid_dataset(tmp_path, images, columns=2, padding=padding)
    layout = open_layout(tmp_path, "grid", grid=GridSpec(32, 2, padding))
    read = _read_all(layout)
    expected = [img for v in images.values() for img in v]
    assert len(read) == len(expected)
    assert all(np.array_equal(a, b) for (a, _, _), b in zip(read, expected, strict=True))
    assert [r[1] for r in read[:4]] == ["id0"] * 4


def test_grid_of_wrong_size_is_reported(tmp_path, images):
    write_grid_dataset(tmp_path, images, columns=2)
    refs, skipped = open_layout(tmp_path, "grid", grid=GridSpec(30, 2)).scan()
    assert not refs and len(skipped) == 3 and "not a grid" in skipped[0].reason


def test_recordio_round_trip(tmp_path, images):
    labels = write_recordio_dataset(tmp_path, images, quality=100)
    assert detect_layout(tmp_path) == "recordio"
    read = _read_all(open_layout(tmp_path))
    expected = [(img, str(labels[k])) for k, v in images.items() for img in v]
    assert [r[1] for r in read] == [e[1] for e in expected]
    # JPEG is lossy but deterministic: the records hold exactly the writer's JPEG bytes
    for (got, _, _), (original, _) in zip(read, expected, strict=True):
        assert np.array_equal(got, decode_image(encode_image(original, ".jpg", 100), "ref"))


def test_recordio_mapping_gives_original_paths(tmp_path, images):
    write_recordio_dataset(tmp_path, images)
    (tmp_path / "list.txt").write_text("1\t0\tid0/a.jpg\n2\t0\tid0/b.jpg\n")
    refs, _ = open_layout(tmp_path).scan()
    assert [r.path for r in refs[:3]] == ["id0/a.jpg", "id0/b.jpg", "train.rec#3"]


def test_folder_problems_are_all_reported(tmp_path, images):
    write_folder_dataset(tmp_path, images)
    (tmp_path / "empty").mkdir()
    (tmp_path / "id0" / "notes.txt").write_text("x")
    (tmp_path / "id1" / "deeper").mkdir()
    (tmp_path / "README").write_text("x")
    (tmp_path / "manifest.jsonl").write_text("")
    refs, skipped = FolderLayout(tmp_path).scan()
    assert len(refs) == 12
    reasons = {s.path: s.reason for s in skipped}
    assert reasons == {
        "README": "file at the dataset root, not a folder",
        "empty/": "empty identity folder",
        "id0/notes.txt": "not an image file (by extension)",
        "id1/deeper": "nested folder (only one level is read)",
    }
    with pytest.raises(FsbenchError, match="4 unusable file"):
        _read_all(FolderLayout(tmp_path))


def test_natural_order_and_detection_errors(tmp_path):
    assert sorted(["id10", "id2", "id1"], key=natural_key) == ["id1", "id2", "id10"]
    with pytest.raises(FsbenchError, match="no identity folders"):
        detect_layout(tmp_path)
    with pytest.raises(FsbenchError, match="the grid layout needs a tile size and columns"):
        open_layout(tmp_path, "grid")


def test_grid_filler_tiles_are_refused_unless_counted(tmp_path):
    rng = np.random.default_rng(2)
    tiles = [rng.integers(1, 256, (32, 32, 3), dtype=np.uint8) for _ in range(6)]
    write_grid_dataset(tmp_path, {"007": tiles}, columns=4)  # 2 black filler tiles
    with pytest.raises(FsbenchError, match=r"007\.png#6: blank \(all-black\) tile"):
        _read_all(open_layout(tmp_path, "grid", grid=GridSpec(32, 4)))
    read = _read_all(open_layout(tmp_path, "grid", grid=GridSpec(32, 4, images=6)))
    assert [path for _, _, path in read] == [f"007.png#{i}" for i in range(6)]
    assert all(np.array_equal(a, b) for (a, _, _), b in zip(read, tiles, strict=True))
    _, skipped = open_layout(tmp_path, "grid", grid=GridSpec(32, 4, images=9)).scan()
    assert skipped[0].reason == "holds 8 tiles, fewer than the 9 to read"


def test_grid_options_are_validated():
    with pytest.raises(FsbenchError, match="must be positive"):
        GridSpec(0, 4)
    with pytest.raises(FsbenchError, match="a grid needs both a tile size and a column count"):
        grid_spec(112, None)
    assert grid_spec(None, None) is None
    assert grid_spec(112, 4, images=50) == GridSpec(112, 4, 0, 50)


@pytest.mark.parametrize("writer", [write_folder_dataset, write_flat_dataset])
def test_lexicographic_default_matches_sorted_and_natural_is_numeric(tmp_path, writer):
    rng = np.random.default_rng(3)
    images = {
        str(i): [rng.integers(0, 256, (16, 16, 3), dtype=np.uint8) for _ in range(12)]
        for i in (1, 2, 10)
    }
    writer(tmp_path, images)
    lexicographic, _ = open_layout(tmp_path).scan()
    assert [r.identity for r in lexicographic[::12]] == ["1", "10", "2"]  # as sorted()
    assert [Path(r.path).stem[-2:].lstrip("/_") for r in lexicographic[:4]] == [
        "0",
        "1",
        "10",
        "11",
    ]
    natural, _ = open_layout(tmp_path, order="natural").scan()
    assert [r.identity for r in natural[::12]] == ["1", "2", "10"]
    assert [Path(r.path).stem[-2:].lstrip("/_") for r in natural[:4]] == ["0", "1", "2", "3"]
    with pytest.raises(FsbenchError, match="sample order 'random'"):
        open_layout(tmp_path, order="random")


def test_unreadable_identity_folder_is_skipped_and_named(tmp_path, images, deny_listing):
    write_folder_dataset(tmp_path, images)
    deny_listing(tmp_path / "id1")
    refs, skipped = FolderLayout(tmp_path).scan()
    assert {r.identity for r in refs} == {"id0", "id2"}
    assert [(s.path, s.reason) for s in skipped] == [
        ("id1/", "cannot read folder (Permission denied)")
    ]
    with pytest.raises(FsbenchError, match=r"id1/: cannot read folder \(Permission denied\)"):
        _read_all(FolderLayout(tmp_path))


@pytest.mark.parametrize("layout", ["auto", "folder", "flat"])
def test_unreadable_dataset_root_is_one_named_error(tmp_path, images, deny_listing, layout):
    write_folder_dataset(tmp_path, images)
    deny_listing(tmp_path)
    with pytest.raises(FsbenchError, match=r"cannot list it \(Permission denied\)") as caught:
        open_layout(tmp_path, layout).scan()
    assert str(tmp_path) in str(caught.value)


def test_library_errors_name_values_not_command_line_flags(tmp_path):
    (tmp_path / "file").write_text("x")
    calls = {
        "not a directory": lambda: open_layout(tmp_path / "file", "folder"),
        "no identity folders": lambda: detect_layout(tmp_path),
        "layout 'rows'": lambda: open_layout(tmp_path, "rows"),
        "sample order 'random'": lambda: open_layout(tmp_path, "flat", order="random"),
        "0 px tiles": lambda: GridSpec(0, 4),
        "tile None, columns 4": lambda: grid_spec(None, 4),
        "at most 0 identities": lambda: select_subset([], max_identities=0),
        "at most -1 images per identity": lambda: select_subset([], max_images=-1),
    }
    for expected, call in calls.items():
        with pytest.raises(FsbenchError) as caught:
            call()
        assert expected in str(caught.value) and "--" not in str(caught.value)
    skipped = [Skipped("a.txt", "not an image file (by extension)")]
    assert "--" not in describe_skipped(skipped)


def test_grid_too_large_to_open_is_skipped_not_a_traceback(tmp_path, monkeypatch):
    from PIL import Image

    write_grid_dataset(tmp_path, {"001": [np.full((32, 32, 3), 9, np.uint8)] * 4}, columns=2)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # 64x64 > 2 x 100 pixels: a "bomb"
    refs, skipped = open_layout(tmp_path, "grid", grid=GridSpec(32, 2)).scan()
    assert refs == [] and skipped[0].path == "001.png"
    assert skipped[0].reason.startswith("not a readable image")
