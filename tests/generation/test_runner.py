"""Generation runs: layout, manifest, per-image seeds, resume after a kill, bad input."""

from __future__ import annotations

import json
import pickle
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from facesynth_bench.data.layouts import open_layout
from facesynth_bench.data.manifest import read_manifest
from facesynth_bench.errors import FsbenchError
from facesynth_bench.generation import runner
from facesynth_bench.generation.runner import GenerationRequest, generate
from facesynth_bench.generation.seeds import image_seed
from facesynth_bench.specs import load_preset


def _request(preset_dir: Path, out: Path, **kw) -> GenerationRequest:
    name = kw.pop("preset", "dummy-adaptdiff")
    base = {"identities": 3, "images_per_identity": 2, "out": out, "seed": 7, "batch_size": 4}
    base["device"] = "cpu"
    base.update(kw)
    return GenerationRequest(preset=load_preset(name, [preset_dir]), **base)


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*.png"))}


def test_layout_manifest_and_provenance(preset_dir: Path, tmp_path: Path) -> None:
    result = generate(_request(preset_dir, tmp_path / "run"))
    root = tmp_path / "run"
    assert result.written == 6 and result.total == 6
    assert sorted(_files(root)) == [f"{i:06d}/{k}.png" for i in range(3) for k in range(2)]
    records = read_manifest(root)
    expected = [(f"{i:06d}", k) for i in range(3) for k in range(2)]
    assert [(r.identity, r.index) for r in records] == expected
    assert all(r.generator == "dummy-adaptdiff" for r in records)
    assert records[3].seed == image_seed(7, 1, 1)
    info = json.loads((root / "dataset.json").read_text())
    assert info["status"] == "complete" and info["run"]["seed"] == 7
    assert info["run"]["preset"]["guidance"] == {"name": "linear", "w_max": 1.0}
    saved = np.load(root / "contexts.npz")
    assert saved["contexts"].shape == (3, 16) and saved["negative_indices"].shape == (3,)
    # The generated folder reads back as a dataset: run files are metadata, not bad samples.
    samples, skipped = open_layout(root).scan()
    assert (len(samples), skipped) == (6, [])


def test_any_subset_regenerates_bit_identically(preset_dir: Path, tmp_path: Path) -> None:
    """Noise is per image: fewer identities or another batch size give the same bytes.

    (Guided runs choose negatives from the whole pool, so a subset run there is the
    same run resumed; see the resume test.)
    """
    full = _files(generate(_request(preset_dir, tmp_path / "a", preset="dummy-unguided")).out)
    part = generate(
        _request(preset_dir, tmp_path / "b", preset="dummy-unguided", identities=2, batch_size=1)
    )
    assert len(_files(part.out)) == 4
    assert all(full[name] == data for name, data in _files(part.out).items())
    other_seed = generate(_request(preset_dir, tmp_path / "c", preset="dummy-unguided", seed=8))
    assert _files(other_seed.out)["000000/0.png"] != full["000000/0.png"]
    assert full["000000/0.png"] != full["000000/1.png"]


def test_resume_after_a_kill_is_byte_identical(
    preset_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reference = _files(generate(_request(preset_dir, tmp_path / "ref", batch_size=2)).out)
    out = tmp_path / "killed"
    real = runner.write_bytes_atomic
    calls = {"n": 0}

    def dying_write(path, data):
        if path.suffix == ".png":
            calls["n"] += 1
            if calls["n"] == 4:  # the kill lands after 3 images: mid-batch
                raise KeyboardInterrupt
        return real(path, data)

    monkeypatch.setattr(runner, "write_bytes_atomic", dying_write)
    with pytest.raises(KeyboardInterrupt):
        generate(_request(preset_dir, out, batch_size=2))
    monkeypatch.setattr(runner, "write_bytes_atomic", real)
    assert len(_files(out)) == 3
    assert not list(out.rglob("*.tmp"))
    with pytest.raises(runner.OutputNotEmptyError, match="not empty; resume the run recorded in"):
        generate(_request(preset_dir, out, batch_size=2))
    result = generate(_request(preset_dir, out, batch_size=2, resume=True))
    assert result.written == 3 and result.skipped == 3
    assert _files(out) == reference
    paths = [r.path for r in read_manifest(out)]
    assert sorted(paths) == sorted(reference) and len(paths) == len(set(paths))


def test_resume_after_a_kill_between_images_and_manifest(
    preset_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reference = _files(generate(_request(preset_dir, tmp_path / "ref", batch_size=2)).out)
    out = tmp_path / "killed"
    real = runner.ManifestWriter.append
    calls = {"n": 0}

    def dying_append(self, records):
        calls["n"] += 1
        if calls["n"] == 2:  # the second batch's PNGs are on disk, its lines are not
            raise KeyboardInterrupt
        return real(self, records)

    monkeypatch.setattr(runner.ManifestWriter, "append", dying_append)
    with pytest.raises(KeyboardInterrupt):
        generate(_request(preset_dir, out, batch_size=2))
    monkeypatch.setattr(runner.ManifestWriter, "append", real)
    assert len(_files(out)) == 4 and len(read_manifest(out)) == 2
    generate(_request(preset_dir, out, batch_size=2, resume=True))
    assert _files(out) == reference
    assert sorted(r.path for r in read_manifest(out)) == sorted(reference)


def test_resume_refuses_a_different_run(preset_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    generate(_request(preset_dir, out))
    with pytest.raises(FsbenchError, match=r"different run.*seed"):
        generate(_request(preset_dir, out, seed=8, resume=True))
    with pytest.raises(FsbenchError, match=r"different run.*preset"):
        generate(_request(preset_dir, out, preset="dummy-ddim", resume=True))


def test_bad_context_files_are_refused(preset_dir: Path, tmp_path: Path) -> None:
    wrong_dim = tmp_path / "wrong.npy"
    np.save(wrong_dim, np.ones((3, 8), np.float32))
    with pytest.raises(FsbenchError, match=r"wrong.npy: expected vectors of dimension 16"):
        generate(_request(preset_dir, tmp_path / "a", contexts=wrong_dim))
    nan = tmp_path / "nan.npy"
    values = np.ones((3, 16), np.float32)
    values[1, 2] = np.nan
    np.save(nan, values)
    with pytest.raises(FsbenchError, match=r"nan.npy: 1 vectors contain NaN.*row 1"):
        generate(_request(preset_dir, tmp_path / "b", contexts=nan))
    few = tmp_path / "few.npy"
    np.save(few, np.ones((2, 16), np.float32))
    with pytest.raises(FsbenchError, match="2 contexts, fewer than the 3 identities asked for"):
        generate(_request(preset_dir, tmp_path / "c", contexts=few))
    assert not (tmp_path / "a").exists()


def test_original_context_dicts_load_without_running_pickles(preset_dir, tmp_path) -> None:
    vectors = np.random.default_rng(0).standard_normal((3, 16)).astype(np.float32)
    path = tmp_path / "contexts.npy"
    torch.save({str(i): vectors[i] for i in (2, 0, 1)}, path)
    result = generate(_request(preset_dir, tmp_path / "run", contexts=path))
    saved = np.load(result.out / "contexts.npz")
    np.testing.assert_array_equal(saved["contexts"], vectors)
    assert saved["ids"].tolist() == ["0", "1", "2"]


def test_disk_errors_leave_no_half_written_image(preset_dir, tmp_path, monkeypatch) -> None:
    real = runner.write_bytes_atomic

    def full_disk(path, data):
        if path.suffix == ".png":
            raise OSError(28, "No space left on device")
        return real(path, data)

    monkeypatch.setattr(runner, "write_bytes_atomic", full_disk)
    with pytest.raises(FsbenchError, match="cannot write"):
        generate(_request(preset_dir, tmp_path / "run"))
    assert not list((tmp_path / "run").rglob("*.png"))
    assert not list((tmp_path / "run").rglob("*.tmp"))


def test_embeddings_of_images_are_two_stage_contexts(tmp_path) -> None:
    from facesynth_bench.generation.contexts import load_contexts, uniform_contexts

    vectors = np.random.default_rng(1).standard_normal((4, 16)).astype(np.float32)
    path = tmp_path / "embedded.npz"
    paths = np.array([f"faces/{i}.png" for i in range(4)])
    np.savez(path, embeddings=vectors, labels=np.array(["a"] * 4), paths=paths)
    contexts = load_contexts(path, 16, normalize=True)
    assert contexts.ids == paths.tolist()
    np.testing.assert_allclose(np.linalg.norm(contexts.vectors.numpy(), axis=1), 1, rtol=1e-6)
    uniform = uniform_contexts(1000, 16, seed=3)
    assert torch.equal(uniform.vectors, uniform_contexts(1000, 16, seed=3).vectors)
    np.testing.assert_allclose(uniform.vectors.norm(dim=1).numpy(), 1, rtol=1e-6)
    # uniform on the sphere: the mean direction vanishes (|mean| ~ 1/sqrt(n) = 0.03)
    assert uniform.vectors.mean(0).norm().item() < 0.1


class _Payload:
    def __reduce__(self):
        return (print, ("pwned",))


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_context_files_with_code_are_refused_unrun(tmp_path, capsys) -> None:
    from facesynth_bench.generation.contexts import load_contexts

    zipped = tmp_path / "evil.npy"
    torch.save({"0": _Payload()}, zipped)
    with pytest.raises(FsbenchError, match=r"evil\.npy: refused"):
        load_contexts(zipped, 16)
    raw = tmp_path / "raw.npy"
    raw.write_bytes(pickle.dumps({"0": _Payload()}))
    with pytest.raises(FsbenchError, match=r"raw\.npy: not a \.npy array"):
        load_contexts(raw, 16)
    assert "pwned" not in capsys.readouterr().out


def test_a_huge_request_fails_fast_before_allocating(preset_dir: Path, tmp_path: Path) -> None:
    """10^11 identities once grew to 22 GB before anything was checked."""
    start = time.perf_counter()
    with pytest.raises(FsbenchError, match=r"100,000,000,000 identities need about .* GiB"):
        generate(_request(preset_dir, tmp_path / "huge", identities=100_000_000_000))
    assert time.perf_counter() - start < 5
    assert not (tmp_path / "huge").exists()


def test_batch_size_defaults_to_the_backends_and_is_recorded(
    preset_dir: Path, tmp_path: Path
) -> None:
    result = generate(_request(preset_dir, tmp_path / "run", batch_size=None))
    info = json.loads((result.out / "dataset.json").read_text())
    assert info["run"]["batch_size"] == 4  # DummyGenerator.capabilities.default_batch_size
    explicit = generate(_request(preset_dir, tmp_path / "explicit", batch_size=4))
    assert _files(explicit.out) == _files(result.out)
    assert generate(_request(preset_dir, result.out, batch_size=4, resume=True)).written == 0
    with pytest.raises(FsbenchError, match=r"different run \(batch_size differ"):
        generate(_request(preset_dir, result.out, batch_size=2, resume=True))


def test_overrides_are_recorded_and_part_of_the_run(preset_dir: Path, tmp_path: Path) -> None:
    preset = load_preset("dummy-adaptdiff", [preset_dir], {"sampler.steps": 20})
    request = GenerationRequest(preset, 2, 1, tmp_path / "run", seed=7, device="cpu")
    generate(request)
    run = json.loads((tmp_path / "run" / "dataset.json").read_text())["run"]
    assert run["overrides"] == {"sampler.steps": 20} and run["preset"]["sampler"]["steps"] == 20
    plain = GenerationRequest(
        load_preset("dummy-adaptdiff", [preset_dir]), 2, 1, request.out, seed=7, device="cpu",
        resume=True,
    )  # fmt: skip
    with pytest.raises(FsbenchError, match=r"different run \(overrides, preset differ"):
        generate(plain)


def test_requests_name_bad_values_without_cli_flags(preset_dir: Path, tmp_path: Path) -> None:
    for field, value, message in (
        ("identities", 0, "identities must be >= 1, got 0"),
        ("images_per_identity", -1, "images_per_identity must be >= 1, got -1"),
        ("batch_size", 0, "batch_size must be >= 1, got 0"),
        ("seed", -1, "seed must be >= 0, got -1"),
        ("on_miss", "drop", "on_miss policy 'drop'"),
    ):
        with pytest.raises(FsbenchError, match=message) as info:
            _request(preset_dir, tmp_path / "run", **{field: value})
        assert "--" not in str(info.value) and info.value.parameter == field
