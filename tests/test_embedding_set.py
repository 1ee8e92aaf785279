"""Embedding files: round trip and every refusal names the file and the problem."""

import numpy as np
import pytest

from facesynth_bench.embedding_set import EmbeddingSet, load_embedding_set, save_embedding_set
from facesynth_bench.errors import FsbenchError


def test_round_trip_with_string_labels_paths_and_meta(tmp_path):
    data = EmbeddingSet(
        np.arange(12, dtype=np.float64).reshape(4, 3),
        np.array(["a", "b", "a", "b"]),
        np.array(["a/0.png", "b/0.png", "a/1.png", "b/1.png"]),
        {"embedder": "dlib"},
    )
    save_embedding_set(tmp_path / "e.npz", data)
    back = load_embedding_set(tmp_path / "e.npz")
    assert back.embeddings.dtype == np.float32
    np.testing.assert_array_equal(back.embeddings, data.embeddings)
    assert list(back.labels) == ["a", "b", "a", "b"]
    assert list(back.paths) == list(data.paths)
    assert back.meta == {"embedder": "dlib"}


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        ({"embeddings": np.ones((3, 2))}, "missing array"),
        ({"embeddings": np.ones((3, 2)), "labels": np.arange(2)}, "3 embeddings but 2 labels"),
        ({"embeddings": np.array([[1, np.nan]]), "labels": np.arange(1)}, "NaN or Inf"),
        ({"embeddings": np.array([[1, np.inf]]), "labels": np.arange(1)}, "first rows: 0"),
        ({"embeddings": np.array([["x", "y"]]), "labels": np.arange(1)}, "real numbers"),
        ({"embeddings": np.ones(3), "labels": np.arange(3)}, "N x D"),
        ({"embeddings": np.ones((2, 2)), "labels": np.ones(2)}, "integers or strings"),
        (
            {"embeddings": np.ones((2, 2)), "labels": np.array(["a", 1], dtype=object)},
            "Python objects",
        ),
    ],
)
def test_bad_files_are_named(tmp_path, arrays, message):
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(FsbenchError, match=message) as info:
        load_embedding_set(path)
    assert str(path) in str(info.value)


def test_missing_and_corrupt_files(tmp_path):
    with pytest.raises(FsbenchError, match="no such file"):
        load_embedding_set(tmp_path / "absent.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(FsbenchError, match=r"not a readable \.npz"):
        load_embedding_set(tmp_path / "junk.npz")


@pytest.mark.parametrize("fault", ["embeddings", "labels", "paths"])
def test_an_object_array_is_named_as_the_one_at_fault(tmp_path, fault):
    arrays = {"embeddings": np.ones((2, 2)), "labels": np.arange(2), "paths": np.array(["a", "b"])}
    arrays[fault] = np.array([1, "x"], dtype=object)
    np.savez(tmp_path / "e.npz", **arrays)
    with pytest.raises(FsbenchError) as info:
        load_embedding_set(tmp_path / "e.npz")
    message = str(info.value)
    assert f"e.npz: array '{fault}' holds Python objects" in message
    assert [name for name in arrays if f"'{name}'" in message] == [fault]
