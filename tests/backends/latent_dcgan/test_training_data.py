"""The (z, dlib(G(z))) training set: seeded, cached in chunks, resumable, checked."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from facesynth_bench.backends.latent_dcgan.dcgan import decode_latents, load_dcgan_generator
from facesynth_bench.backends.latent_dcgan.training_data import (
    SPEC_FILE,
    build_training_set,
    chunk_latents,
    chunk_path,
    load_training_set,
)
from facesynth_bench.embed.base import resize_to
from facesynth_bench.embed.dlib_resnet import DlibEmbedder
from facesynth_bench.errors import FsbenchError


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    folder = tmp_path_factory.mktemp("training_set")
    events = []
    build_training_set(folder, size=6, seed=3, chunk_size=4, on_chunk=lambda *e: events.append(e))
    return folder, events


def test_builds_seeded_latents_and_their_dlib_contexts(built):
    folder, events = built
    z, contexts, spec = load_training_set(folder)
    assert events == [(1, 2, False), (2, 2, False)]
    assert spec["size"] == 6 and spec["seed"] == 3 and len(spec["decoder_sha256"]) == 64
    assert spec["embedder"]["embedder"] == "dlib" and spec["embedder"]["box"] == "fixed-box"
    assert len(spec["embedder"]["checkpoint_sha256"]) == 64
    assert z.shape == (6, 100) and contexts.shape == (6, 128)
    torch.testing.assert_close(z[:4], chunk_latents(3, 0, 4), rtol=0, atol=0)
    torch.testing.assert_close(z[4:], chunk_latents(3, 1, 2), rtol=0, atol=0)
    # Recompute two contexts by hand: decode, round to uint8, upscale, embed with dlib.
    images = decode_latents(load_dcgan_generator(), z[:2])
    pixels = (images * 255).round().byte().permute(0, 2, 3, 1).numpy()
    expected = DlibEmbedder().embed(np.stack([resize_to(p, (150, 150)) for p in pixels]))
    np.testing.assert_allclose(contexts[:2].numpy(), expected, atol=1e-6)
    torch.testing.assert_close(contexts.norm(dim=1), torch.ones(6))
    # Different DCGAN faces are different dlib identities (cosine well below 1).
    assert float((contexts @ contexts.T).fill_diagonal_(0).max()) < 0.97


def test_chunk_latents_depend_on_seed_and_chunk_only():
    assert torch.equal(chunk_latents(3, 1, 5), chunk_latents(3, 1, 5))
    assert not torch.equal(chunk_latents(3, 1, 5), chunk_latents(4, 1, 5))
    assert not torch.equal(chunk_latents(3, 1, 5), chunk_latents(3, 2, 5))


def test_resume_rebuilds_only_missing_chunks_with_the_same_bytes(built, tmp_path):
    folder, _ = built
    copy = tmp_path / "copy"
    copy.mkdir()
    for name in (SPEC_FILE, chunk_path(folder, 0).name):
        (copy / name).write_bytes((folder / name).read_bytes())
    events = []
    build_training_set(copy, size=6, seed=3, chunk_size=4, on_chunk=lambda *e: events.append(e))
    assert events == [(1, 2, True), (2, 2, False)]
    assert chunk_path(copy, 1).read_bytes() == chunk_path(folder, 1).read_bytes()
    again = []
    build_training_set(copy, size=6, seed=3, chunk_size=4, on_chunk=lambda *e: again.append(e))
    assert again == [(1, 2, True), (2, 2, True)]


def test_a_folder_is_never_reused_for_another_spec(built):
    folder, _ = built
    with pytest.raises(FsbenchError, match=f"{SPEC_FILE}: this folder holds"):
        build_training_set(folder, size=6, seed=4, chunk_size=4)


def test_foreign_or_missing_chunks_are_reported(built, tmp_path):
    folder, _ = built
    copy = tmp_path / "copy"
    copy.mkdir()
    (copy / SPEC_FILE).write_bytes((folder / SPEC_FILE).read_bytes())
    (copy / "chunk_00000.safetensors").write_bytes(chunk_path(folder, 0).read_bytes())
    with pytest.raises(FsbenchError, match="1 of 2 chunks missing"):
        load_training_set(copy)
    # Chunk 1's file under chunk 0's name: its header names the wrong chunk.
    (copy / "chunk_00000.safetensors").write_bytes(chunk_path(folder, 1).read_bytes())
    (copy / "chunk_00001.safetensors").write_bytes(chunk_path(folder, 1).read_bytes())
    with pytest.raises(FsbenchError, match=r"chunk_00000\.safetensors: built for"):
        load_training_set(copy)
    with pytest.raises(FsbenchError, match=r"no training_set\.json"):
        load_training_set(tmp_path)


@pytest.mark.slow
def test_worker_processes_write_the_same_bytes_as_one_process(tmp_path):
    # Slow: two spawned processes each import torch and load dlib (~9 s on 2 busy cores).
    build_training_set(tmp_path / "serial", size=4, seed=5, chunk_size=2)
    build_training_set(tmp_path / "parallel", size=4, seed=5, chunk_size=2, workers=2)
    for chunk in range(2):
        serial = chunk_path(tmp_path / "serial", chunk).read_bytes()
        assert chunk_path(tmp_path / "parallel", chunk).read_bytes() == serial


def test_a_larger_build_grows_the_folder_and_reuses_its_full_chunks(built, tmp_path):
    folder, _ = built
    grown = tmp_path / "grown"
    grown.mkdir()
    for name in (SPEC_FILE, chunk_path(folder, 0).name, chunk_path(folder, 1).name):
        (grown / name).write_bytes((folder / name).read_bytes())
    events = []
    build_training_set(grown, size=10, seed=3, chunk_size=4, on_chunk=lambda *e: events.append(e))
    # Chunk 0 is reused; chunk 1 held 2 of now 4 rows and is rebuilt; chunk 2 is new.
    assert events == [(1, 3, True), (2, 3, False), (3, 3, False)]
    assert chunk_path(grown, 0).read_bytes() == chunk_path(folder, 0).read_bytes()
    z, contexts, spec = load_training_set(grown)
    assert spec["size"] == 10 and z.shape == (10, 100) and contexts.shape == (10, 128)
    torch.testing.assert_close(z[4:8], chunk_latents(3, 1, 4), rtol=0, atol=0)
    # Back to the smaller size: the first 8 rows of the grown folder.
    build_training_set(grown, size=8, seed=3, chunk_size=4)
    small, _, spec = load_training_set(grown)
    assert spec["size"] == 8 and torch.equal(small, z[:8])
