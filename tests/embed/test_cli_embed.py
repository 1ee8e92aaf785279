import json

import numpy as np

from facesynth_bench.cli import main
from facesynth_bench.data.writers import write_flat_dataset
from facesynth_bench.embedding_set import load_embedding_set


def _dataset(root, identities=2, per_identity=2):
    rng = np.random.default_rng(0)
    images = {
        f"id{i}": [rng.integers(0, 256, (112, 112, 3), dtype=np.uint8) for _ in range(per_identity)]
        for i in range(identities)
    }
    write_flat_dataset(root, images)
    return images


def test_embed_iresnet_writes_npz_and_report(tmp_path, recipe_checkpoint, capsys):
    _dataset(tmp_path / "ds")
    out = tmp_path / "emb.npz"
    args = [
        "embed",
        "--dataset",
        str(tmp_path / "ds"),
        "--embedder",
        "iresnet18",
        "--checkpoint",
        str(recipe_checkpoint),
        "--out",
        str(out),
        "--device",
        "cpu",
        "--workers",
        "0",
        "--cache-dir",
        str(tmp_path / "cache"),
        "--batch-size",
        "3",
    ]
    assert main(args) == 0
    data = load_embedding_set(out)
    assert data.embeddings.shape == (4, 512)
    assert data.labels.tolist() == ["id0", "id0", "id1", "id1"]
    np.testing.assert_allclose(np.linalg.norm(data.embeddings, axis=1), 1.0, atol=1e-5)
    report = json.loads(out.with_suffix(".json").read_text())
    assert (
        report["embedder"]["arch"] == "r18" and len(report["embedder"]["checkpoint_sha256"]) == 64
    )
    assert main(args) == 0  # second run: everything from the cache
    again = json.loads(out.with_suffix(".json").read_text())
    assert again["counts"]["cache_hits"] == 4
    np.testing.assert_array_equal(load_embedding_set(out).embeddings, data.embeddings)


def test_embed_errors_exit_1_with_the_file_named(tmp_path, capsys):
    _dataset(tmp_path / "ds", 1, 1)
    (tmp_path / "ds" / "id0_1.png").write_bytes(b"")
    args = [
        "embed",
        "--dataset",
        str(tmp_path / "ds"),
        "--embedder",
        "dlib",
        "--out",
        str(tmp_path / "e.npz"),
        "--no-cache",
        "--workers",
        "0",
    ]
    assert main(args) == 1
    assert "id0_1.png: empty file" in capsys.readouterr().err
    assert main([*args, "--skip-bad"]) == 0
    report = json.loads((tmp_path / "e.json").read_text())
    assert report["skipped"] == [{"path": "id0_1.png", "reason": "empty file (0 bytes)"}]
    assert (
        main(
            [
                "embed",
                "--dataset",
                str(tmp_path / "ds"),
                "--embedder",
                "iresnt",
                "--out",
                str(tmp_path / "x.npz"),
            ]
        )
        == 1
    )
    assert "Did you mean 'iresnet'" in capsys.readouterr().err


def test_evaluate_separability_from_a_dataset(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("FSBENCH_CACHE", str(tmp_path / "cache"))
    rng = np.random.default_rng(1)
    bases = [rng.integers(0, 256, (150, 150, 3)).astype(np.int16) for _ in range(3)]
    images = {
        f"{i}": [
            np.clip(b + rng.integers(-8, 9, b.shape), 0, 255).astype(np.uint8) for _ in range(3)
        ]
        for i, b in enumerate(bases)
    }
    write_flat_dataset(tmp_path / "ds", images)
    (tmp_path / "ds" / "2_9.png").write_bytes(b"\x89PNG")
    out = tmp_path / "sep"
    args = [
        "evaluate",
        "separability",
        "--dataset",
        str(tmp_path / "ds"),
        "--embedder",
        "dlib",
        "--out",
        str(out),
        "--max-identities",
        "3",
        "--max-images",
        "4",
        "--device",
        "cpu",
    ]
    assert main(args) == 1
    assert "2_9.png: not a readable image" in capsys.readouterr().err
    assert main([*args, "--skip-bad"]) == 0
    report = json.loads((out / "separability.json").read_text())
    assert report["input"]["counts"]["images"] == 9
    assert report["input"]["skipped"][0]["path"] == "2_9.png"
    assert report["input"]["embedder"]["embedder"] == "dlib"
    assert any((tmp_path / "cache" / "embeddings").rglob("*.npz"))
    assert main(["evaluate", "separability", "--out", str(out)]) == 1
    assert "exactly one of --embeddings" in capsys.readouterr().err


def test_list_embedders_names_every_builtin(capsys):
    assert main(["list", "embedders"]) == 0
    out = capsys.readouterr().out
    for name in ("iresnet", "iresnet50", "iresnet100", "onnx", "dlib"):
        assert name in out
