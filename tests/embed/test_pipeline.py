import json
import warnings

import numpy as np
import pytest
from projection_embedder import FlippingProjection as Flipping
from projection_embedder import PixelProjection

from facesynth_bench.data.layouts import GridSpec
from facesynth_bench.data.manifest import ManifestRecord, ManifestWriter
from facesynth_bench.data.writers import write_folder_dataset, write_grid_dataset
from facesynth_bench.embed.base import FlipUnsupportedWarning, resize_to
from facesynth_bench.embed.pipeline import embed_dataset, save_embeddings
from facesynth_bench.embed.registry import EMBEDDERS
from facesynth_bench.embedding_set import load_embedding_set
from facesynth_bench.errors import FsbenchError


def _images(identities=3, per_identity=4, size=24, seed=0):
    rng = np.random.default_rng(seed)
    return {
        f"{i:03d}": [
            rng.integers(0, 256, (size, size, 3), dtype=np.uint8) for _ in range(per_identity)
        ]
        for i in range(identities)
    }


def _expected(images, embedder):
    batch = np.stack([resize_to(img, embedder.input_size) for v in images.values() for img in v])
    return embedder.embed(batch)


@pytest.mark.parametrize("workers", [0, 2])
def test_embeddings_follow_sorted_sample_order(tmp_path, workers):
    images = _images()
    write_folder_dataset(tmp_path / "ds", images)
    embedder = PixelProjection()
    result = embed_dataset(tmp_path / "ds", embedder, batch_size=5, num_workers=workers)
    np.testing.assert_allclose(result.embeddings, _expected(images, PixelProjection()), atol=1e-6)
    assert result.labels.tolist() == [k for k, v in images.items() for _ in v]
    assert result.paths[:2].tolist() == ["000/0.png", "000/1.png"]
    assert result.metadata["counts"] == {
        "images": 12,
        "identities": 3,
        "skipped": 0,
        "cache_hits": 0,
        "embedded": 12,
    }


def test_cache_embeds_only_new_images(tmp_path):
    images = _images()
    write_folder_dataset(tmp_path / "ds", images)
    cache = tmp_path / "cache"
    first = embed_dataset(tmp_path / "ds", PixelProjection(), cache_dir=cache, num_workers=0)
    again = PixelProjection()
    second = embed_dataset(tmp_path / "ds", again, cache_dir=cache, num_workers=0)
    assert again.calls == 0 and second.metadata["counts"]["cache_hits"] == 12
    np.testing.assert_array_equal(first.embeddings, second.embeddings)
    write_folder_dataset(tmp_path / "ds", {"999": [images["000"][0][::-1].copy()]})
    third_model = PixelProjection()
    third = embed_dataset(tmp_path / "ds", third_model, cache_dir=cache, num_workers=0)
    assert third_model.calls == 1 and third.metadata["counts"]["embedded"] == 1
    assert len(third.labels) == 13


def test_cache_is_keyed_by_model(tmp_path):
    write_folder_dataset(tmp_path / "ds", _images(1, 2))
    embed_dataset(tmp_path / "ds", PixelProjection(), cache_dir=tmp_path / "c", num_workers=0)
    other = PixelProjection()
    other.normalisation = "changed"
    embed_dataset(tmp_path / "ds", other, cache_dir=tmp_path / "c", num_workers=0)
    assert other.calls == 2


def test_subset_and_grid_layout(tmp_path):
    images = _images(4, 4, size=16)
    write_grid_dataset(tmp_path / "g", images, columns=2)
    result = embed_dataset(
        tmp_path / "g",
        PixelProjection(),
        layout="grid",
        grid=GridSpec(16, 2),
        max_identities=2,
        max_images=3,
        num_workers=0,
    )
    assert result.labels.tolist() == ["000"] * 3 + ["001"] * 3
    expected = _expected({k: images[k][:3] for k in ("000", "001")}, PixelProjection())
    np.testing.assert_allclose(result.embeddings, expected, atol=1e-6)


def _damage(root):
    (root / "000" / "1.png").write_bytes(b"")
    (root / "001" / "2.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    (root / "002" / "notes.txt").write_text("hello")
    (root / "empty").mkdir()


def test_bad_files_stop_with_a_named_error(tmp_path):
    write_folder_dataset(tmp_path / "ds", _images())
    _damage(tmp_path / "ds")
    with pytest.raises(FsbenchError, match=r"002/notes\.txt: not an image file"):
        embed_dataset(tmp_path / "ds", PixelProjection(), num_workers=0)
    (tmp_path / "ds" / "002" / "notes.txt").unlink()
    (tmp_path / "ds" / "empty").rmdir()
    with pytest.raises(FsbenchError, match=r"000/1\.png: empty file"):
        embed_dataset(tmp_path / "ds", PixelProjection(), num_workers=0)


@pytest.mark.parametrize("cache", [False, True])
def test_skip_bad_reports_every_skipped_file(tmp_path, cache):
    write_folder_dataset(tmp_path / "ds", _images())
    _damage(tmp_path / "ds")
    result = embed_dataset(
        tmp_path / "ds",
        PixelProjection(),
        skip_bad=True,
        num_workers=2,
        cache_dir=tmp_path / "c" if cache else None,
    )
    reasons = {item["path"]: item["reason"] for item in result.skipped}
    assert set(reasons) == {"000/1.png", "001/2.png", "002/notes.txt", "empty/"}
    assert reasons["000/1.png"] == "empty file (0 bytes)"
    assert len(result.labels) == 10 and "000/1.png" not in result.paths.tolist()


def test_npz_is_readable_by_the_evaluation_loader(tmp_path):
    images = _images(2, 2)
    write_folder_dataset(tmp_path / "ds", images)
    with ManifestWriter(tmp_path / "ds") as writer:
        writer.append([ManifestRecord("000/0.png", "000", 0, "idiff-face", 5, "c0")])
    result = embed_dataset(tmp_path / "ds", PixelProjection(), num_workers=0)
    save_embeddings(tmp_path / "e.npz", result)
    loaded = load_embedding_set(tmp_path / "e.npz")
    assert loaded.labels.dtype.kind == "U" and loaded.embeddings.dtype == np.float32
    np.testing.assert_array_equal(loaded.embeddings, result.embeddings)
    assert loaded.meta["counts"]["images"] == 4
    with np.load(tmp_path / "e.npz", allow_pickle=False) as data:
        assert str(data["embedder"]) == "pixel-projection"
        assert data["seeds"].tolist() == [5, -1, -1, -1]
        assert data["context_ids"].tolist() == ["c0", "", "", ""]
    json.dumps(result.metadata)


def test_cache_writes_bounded_shards_and_survives_an_interrupted_run(tmp_path, monkeypatch):
    import facesynth_bench.embed.cache as cache_module

    monkeypatch.setattr(cache_module, "SHARD_ENTRIES", 5)
    write_folder_dataset(tmp_path / "ds", _images())
    embed_dataset(
        tmp_path / "ds", PixelProjection(), cache_dir=tmp_path / "c", batch_size=4, num_workers=0
    )
    shards = sorted((tmp_path / "c").rglob("*.npz"))
    sizes = [len(np.load(s)["keys"]) for s in shards]
    assert sorted(sizes) == [4, 8]  # flushed at 8 >= 5 entries, then the last 4

    class Interrupted(PixelProjection):
        def embed(self, images):
            if self.calls >= 4:
                raise KeyboardInterrupt
            return super().embed(images)

    (tmp_path / "ds2").mkdir()
    write_folder_dataset(tmp_path / "ds2", _images(seed=9))
    with pytest.raises(KeyboardInterrupt):
        embed_dataset(
            tmp_path / "ds2", Interrupted(), cache_dir=tmp_path / "c", batch_size=4, num_workers=0
        )
    resumed = PixelProjection()
    embed_dataset(tmp_path / "ds2", resumed, cache_dir=tmp_path / "c", num_workers=0)
    assert resumed.calls == 8  # the first batch of the interrupted run was kept


def test_unreadable_recordio_records_are_named_or_reported(tmp_path):
    from facesynth_bench.data.recordio import RecordIOReader
    from facesynth_bench.data.writers import write_recordio_dataset

    write_recordio_dataset(tmp_path / "rec", _images(2, 3, size=16))
    reader = RecordIOReader(tmp_path / "rec")
    rec = tmp_path / "rec" / "train.rec"
    data = bytearray(rec.read_bytes())
    data[reader.offsets[2]] ^= 0xFF  # break the magic of record 2
    jpeg = reader.offsets[4] + 8 + 24  # frame header + IRHeader, then the JPEG payload
    data[jpeg : jpeg + 40] = b"\0" * 40  # corrupt the JPEG of record 4
    rec.write_bytes(bytes(data))
    with pytest.raises(FsbenchError, match=r"train\.rec#2: unreadable record"):
        embed_dataset(tmp_path / "rec", PixelProjection(), num_workers=0)
    result = embed_dataset(
        tmp_path / "rec", PixelProjection(), num_workers=0, skip_bad=True, cache_dir=tmp_path / "c"
    )
    reasons = {item["path"]: item["reason"] for item in result.skipped}
    assert set(reasons) == {"train.rec#2", "train.rec#4"}
    assert "no RecordIO magic" in reasons["train.rec#2"]
    assert "not a readable image" in reasons["train.rec#4"]
    assert result.labels.tolist() == ["0", "0", "1", "1"]


def _register_projections():
    for name, cls in (("pixel-projection", PixelProjection), ("flipping-projection", Flipping)):
        if name not in EMBEDDERS:
            EMBEDDERS.register(name, lambda checkpoint, device, precision, cls=cls: cls())


@pytest.mark.parametrize("flip", [False, True])
def test_flip_is_applied_where_declared_and_recorded_where_not(tmp_path, flip):
    _register_projections()
    write_folder_dataset(tmp_path / "ds", _images(2, 2))
    options = {"flip": flip}
    capable = embed_dataset(tmp_path / "ds", "flipping-projection", embedder_options=options)
    assert (capable.metadata["flip"], capable.metadata["flip_supported"]) == (flip, True)
    assert capable.metadata["embedder"]["normalisation"]  # built through the registry
    # An embedder without flip TTA embeds anyway: flip recorded as null, a warning if asked.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        plain = embed_dataset(tmp_path / "ds", "pixel-projection", embedder_options=options)
    assert (plain.metadata["flip"], plain.metadata["flip_supported"]) == (None, False)
    assert sum(issubclass(w.category, FlipUnsupportedWarning) for w in caught) == int(flip)
    assert "embedder_stats" not in plain.metadata  # no stats declared


def test_dataset_fingerprint_follows_content_not_location(tmp_path):
    images = _images(2, 3)
    write_folder_dataset(tmp_path / "a", images)
    write_folder_dataset(tmp_path / "b", images)

    def fingerprint(root):
        result = embed_dataset(root, PixelProjection(), num_workers=0)
        return result.metadata["dataset"]["fingerprint"]

    first = fingerprint(tmp_path / "a")
    assert len(first) == 64 and fingerprint(tmp_path / "b") == first
    write_folder_dataset(tmp_path / "b", {"000": [images["000"][0][::-1].copy()]})
    assert fingerprint(tmp_path / "b") != first  # one image changed


def test_bad_worker_count_and_precision_are_refused_before_any_work(tmp_path):
    write_folder_dataset(tmp_path / "ds", _images(1, 2))
    model = PixelProjection()
    with pytest.raises(FsbenchError, match="got -1"):
        embed_dataset(tmp_path / "ds", model, num_workers=-1)
    with pytest.raises(FsbenchError, match="precision 'fp8'"):
        embed_dataset(tmp_path / "ds", model, precision="fp8")
    assert model.calls == 0
