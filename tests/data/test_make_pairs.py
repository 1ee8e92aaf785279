"""make_pairs: seeded LFW-layout pair sets from any dataset layout, refused when too small."""

from __future__ import annotations

from math import comb
from pathlib import Path

import numpy as np
import pytest

from facesynth_bench.data.image_io import decode_image
from facesynth_bench.data.layouts import GridSpec, open_layout
from facesynth_bench.data.make_pairs import (
    deal_folds,
    impostor_candidates,
    make_pairs,
    spread_evenly,
    triangle_pairs,
)
from facesynth_bench.data.pair_sets import decode_pair_images, read_bin, write_bin
from facesynth_bench.data.writers import (
    write_folder_dataset,
    write_grid_dataset,
    write_recordio_dataset,
)
from facesynth_bench.errors import FsbenchError

SIZE = 16  # tiny images: pair sets of SIZE x SIZE


def make_images(identities: int, per_identity: int, seed: int = 0) -> dict[str, list]:
    """Random SIZE x SIZE uint8 RGB images keyed id0, id1, ..."""
    rng = np.random.default_rng(seed)
    shape = (per_identity, SIZE, SIZE, 3)
    return {f"id{i}": list(rng.integers(0, 256, shape, dtype=np.uint8)) for i in range(identities)}


def folder_dataset(root: Path, identities: int, per_identity: int) -> Path:
    write_folder_dataset(root, make_images(identities, per_identity))
    return root


def identity_of(path: str) -> str:
    return path.split("/")[0]


def fold_blocks(made, folds):
    """The sample paths of each fold as (genuine pairs, impostor pairs) of path tuples."""
    per_fold, half = made.pairs // folds, made.pairs // folds // 2
    pairs = list(zip(made.sample_paths[0::2], made.sample_paths[1::2], strict=True))
    blocks = [pairs[f * per_fold : (f + 1) * per_fold] for f in range(folds)]
    return [(block[:half], block[half:]) for block in blocks]


def test_fold_structure_identities_and_no_repeats(tmp_path):
    root = folder_dataset(tmp_path / "d", identities=20, per_identity=4)
    made = make_pairs(root, pairs=40, folds=4, seed=1, size=SIZE)
    assert len(made.pair_set) == 40 and len(made.sample_paths) == 80
    # each fold: 5 genuine then 5 impostor pairs
    assert made.pair_set.issame.tolist() == ([True] * 5 + [False] * 5) * 4
    blocks = fold_blocks(made, 4)
    fold_identities = []
    for genuine, impostor in blocks:
        assert all(identity_of(a) == identity_of(b) and a != b for a, b in genuine)
        assert all(identity_of(a) != identity_of(b) for a, b in impostor)
        fold_identities.append({identity_of(p) for pair in genuine + impostor for p in pair})
    for f in range(4):  # no identity in two folds
        for g in range(f + 1, 4):
            assert not fold_identities[f] & fold_identities[g]
    unordered = {frozenset(pair) for genuine, impostor in blocks for pair in genuine + impostor}
    assert len(unordered) == 40  # no pair repeats
    # the paths' identities are what the record says
    assert made.sample_identities == tuple(identity_of(p) for p in made.sample_paths)
    assert made.identities_used == tuple(sorted(set(made.sample_identities)))
    # PNG files are stored as they are
    for path, image in zip(made.sample_paths, made.pair_set.images, strict=True):
        assert image == (root / path).read_bytes()
    record = made.to_dict()
    assert record["seed"] == 1 and record["genuine"] == 20 and record["folds"] == 4
    assert record["sample_paths"] == list(made.sample_paths)


def test_same_seed_same_pairs_other_seed_other_pairs(tmp_path):
    root = folder_dataset(tmp_path / "d", identities=12, per_identity=5)
    first = make_pairs(root, pairs=24, folds=2, seed=7, size=SIZE)
    again = make_pairs(root, pairs=24, folds=2, seed=7, size=SIZE)
    other = make_pairs(root, pairs=24, folds=2, seed=8, size=SIZE)
    assert first.sample_paths == again.sample_paths
    assert first.pair_set.images == again.pair_set.images
    assert first.sample_paths != other.sample_paths
    write_bin(tmp_path / "a.bin", first.pair_set)
    write_bin(tmp_path / "b.bin", again.pair_set)
    assert (tmp_path / "a.bin").read_bytes() == (tmp_path / "b.bin").read_bytes()


def test_round_trip_through_bin_decodes_to_the_dataset_pixels(tmp_path):
    images = make_images(8, 3)
    write_folder_dataset(tmp_path / "d", images)
    made = make_pairs(tmp_path / "d", pairs=8, folds=2, seed=0, size=SIZE)
    write_bin(tmp_path / "val.bin", made.pair_set)
    back = read_bin(tmp_path / "val.bin")
    assert back.images == made.pair_set.images
    np.testing.assert_array_equal(back.issame, made.pair_set.issame)
    decoded = decode_pair_images(back, size=SIZE)
    for pixels, path in zip(decoded, made.sample_paths, strict=True):
        identity, name = path.split("/")
        np.testing.assert_array_equal(pixels, images[identity][int(Path(name).stem)])


def test_identities_restrict_the_pool(tmp_path):
    root = folder_dataset(tmp_path / "d", identities=16, per_identity=3)
    held_out = [f"id{i}" for i in range(8, 16)]
    made = make_pairs(root, pairs=16, folds=2, seed=3, identities=held_out, size=SIZE)
    assert set(made.sample_identities) <= set(held_out)
    assert set(made.identities_used) <= set(held_out)
    with pytest.raises(FsbenchError, match=r"2 of the 3 identities asked for .*: idx, idy") as err:
        make_pairs(root, pairs=16, folds=2, identities=["id1", "idx", "idy"], size=SIZE)
    assert err.value.parameter == "identities"


def test_small_pool_is_drawn_by_enumeration_without_repeats(tmp_path):
    # 4 identities x 3 images in 2 folds: per fold 3 + 3 genuine and 9 impostor pairs exist
    root = folder_dataset(tmp_path / "d", identities=4, per_identity=3)
    made = make_pairs(root, pairs=20, folds=2, seed=5, size=SIZE)
    for genuine, impostor in fold_blocks(made, 2):
        assert len({frozenset(p) for p in genuine}) == 5
        assert len({frozenset(p) for p in impostor}) == 5
        assert all(identity_of(a) != identity_of(b) for a, b in impostor)


@pytest.mark.parametrize(
    ("identities", "per_identity", "pairs", "folds", "message"),
    [
        # 3 identities with >= 2 images for 4 folds
        (3, 2, 8, 4, r"3 of its 3 identities have >= 2 images; 4 folds .* at least 4 such"),
        # 5 identities: impostor pairs need 2 per fold
        (5, 2, 12, 3, r"5 of its 5 identities .* and 6 identities in all"),
        # 2 identities x 3 images per fold give 6 genuine pairs, 7 needed
        (4, 3, 28, 2, r"7 genuine and 7 impostor pairs per fold.*fold 0 gets 2 identities "
         r"\(2 with >= 2 images, 6 images\) give 6 distinct genuine and 9 impostor"),
    ],
)  # fmt: skip
def test_too_small_datasets_are_refused_with_numbers(
    tmp_path, identities, per_identity, pairs, folds, message
):
    root = folder_dataset(tmp_path / "d", identities, per_identity)
    with pytest.raises(FsbenchError, match=message):
        make_pairs(root, pairs=pairs, folds=folds, size=SIZE)


def test_singletons_add_impostors_but_not_genuine_pairs(tmp_path):
    images = make_images(6, 1)
    images["id0"] = make_images(1, 2, seed=9)["id0"]
    write_folder_dataset(tmp_path / "d", images)
    with pytest.raises(FsbenchError, match=r"1 of its 6 identities have >= 2 images"):
        make_pairs(tmp_path / "d", pairs=4, folds=2, size=SIZE)
    made = make_pairs(tmp_path / "d", pairs=2, folds=1, size=SIZE)
    assert set(made.sample_paths[:2]) == {"id0/0.png", "id0/1.png"}


@pytest.mark.parametrize(
    ("pairs", "folds", "message"),
    [
        (30, 4, r"30 pairs in 4 folds: .* multiple of 2 x folds \(8\)"),
        (4, 4, r"4 pairs in 4 folds"),
        (4, 0, r"folds 0: must be at least 1"),
    ],
)
def test_pair_and_fold_counts_are_checked(tmp_path, pairs, folds, message):
    root = folder_dataset(tmp_path / "d", identities=2, per_identity=2)
    with pytest.raises(FsbenchError, match=message):
        make_pairs(root, pairs=pairs, folds=folds, size=SIZE)


def test_images_of_another_size_are_refused(tmp_path):
    root = folder_dataset(tmp_path / "d", identities=4, per_identity=2)
    with pytest.raises(FsbenchError, match=r"id\d/\d\.png: 16x16, pair sets hold 112x112"):
        make_pairs(root, pairs=4, folds=1, skip_bad=True)


def test_grid_tiles_are_stored_as_png_and_recordio_jpegs_as_they_are(tmp_path):
    images = make_images(6, 4)
    write_grid_dataset(tmp_path / "grid", images, columns=2, padding=1)
    made = make_pairs(
        tmp_path / "grid", pairs=8, folds=2, layout="grid", grid=GridSpec(SIZE, 2, 1), size=SIZE
    )
    for image, path in zip(made.pair_set.images, made.sample_paths, strict=True):
        grid_file, tile = path.split("#")
        assert image.startswith(b"\x89PNG")
        np.testing.assert_array_equal(
            decode_image(image, path), images[Path(grid_file).stem][int(tile)]
        )
    write_recordio_dataset(tmp_path / "rec", images)
    made = make_pairs(tmp_path / "rec", pairs=8, folds=2, size=SIZE)
    layout = open_layout(tmp_path / "rec")
    by_path = {ref.path: ref for ref in layout.scan()[0]}
    for image, path in zip(made.pair_set.images, made.sample_paths, strict=True):
        assert image.startswith(b"\xff\xd8\xff")
        assert image == layout.read_source(by_path[path])


def test_unreadable_images_stop_or_leave_the_pool_with_skip_bad(tmp_path):
    # 5 x 3 images, one fold of 12 genuine pairs: every identity gives >= 2 of its 3 pairs,
    # so every image is chosen, the broken one included
    root = folder_dataset(tmp_path / "d", identities=5, per_identity=3)
    (root / "id2" / "1.png").write_bytes(b"\x89PNG broken")
    (root / "id3" / "notes.txt").write_text("not an image")
    with pytest.raises(FsbenchError, match=r"notes\.txt: not an image file") as err:
        make_pairs(root, pairs=24, folds=1, size=SIZE)
    assert err.value.parameter == "skip_bad"
    (root / "id3" / "notes.txt").unlink()
    with pytest.raises(FsbenchError, match=r"id2/1\.png: not a readable image") as err:
        make_pairs(root, pairs=24, folds=1, size=SIZE)
    assert err.value.parameter == "skip_bad"
    made = make_pairs(root, pairs=24, folds=1, skip_bad=True, size=SIZE)
    assert "id2/1.png" not in made.sample_paths
    assert [s.path for s in made.skipped] == ["id2/1.png"]
    assert made.to_dict()["skipped"][0]["reason"].startswith("not a readable image")


def test_workers_give_the_same_pairs_and_progress_is_reported(tmp_path):
    root = folder_dataset(tmp_path / "d", identities=6, per_identity=3)
    calls = []
    alone = make_pairs(root, pairs=8, folds=2, size=SIZE, progress=lambda *c: calls.append(c))
    assert calls[-1][0] == calls[-1][1] == len(set(alone.sample_paths))
    workers = make_pairs(root, pairs=8, folds=2, size=SIZE, num_workers=2)
    assert workers.pair_set.images == alone.pair_set.images


def test_triangle_pairs_match_numpy_triu_order():
    for count in (2, 3, 9):
        first, second = triangle_pairs(count, np.arange(comb(count, 2)))
        rows, columns = np.triu_indices(count, k=1)
        np.testing.assert_array_equal(first, rows)
        np.testing.assert_array_equal(second, columns)


def test_impostor_candidates_are_every_cross_identity_pair():
    counts = [2, 1, 3]
    owner = np.repeat([0, 1, 2], counts)
    expected = [(i, j) for i in range(6) for j in range(i + 1, 6) if owner[i] != owner[j]]
    assert [tuple(p) for p in impostor_candidates(counts).tolist()] == expected
    assert len(expected) == (6**2 - (4 + 1 + 9)) // 2


def test_spread_evenly_fills_capacities_level_first():
    rng = np.random.default_rng(0)
    assert spread_evenly(10, np.array([1, 6, 10, 3]), rng).tolist() == [1, 3, 3, 3]
    quota = spread_evenly(7, np.array([3, 3, 3]), rng)
    assert sorted(quota.tolist()) == [2, 2, 3]
    with pytest.raises(FsbenchError, match="spread 10 items into slots holding 9"):
        spread_evenly(10, np.array([3, 3, 3]), rng)


def test_deal_folds_deals_identities_with_pairs_first():
    counts = np.array([1, 2, 3, 1, 5, 2, 2])
    fold_of = deal_folds(counts, 3, np.random.default_rng(0))
    eligible = fold_of[counts >= 2]
    assert np.bincount(eligible, minlength=3).tolist() == [2, 2, 1]  # dealt 0, 1, 2, 0, 1
    assert np.bincount(fold_of, minlength=3).tolist() == [3, 2, 2]  # then 2, 0
