"""Context files that are not numbers: one clear error naming the file and the array."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from facesynth_bench.errors import FsbenchError
from facesynth_bench.generation.contexts import load_contexts

STRINGS = np.array([["a", "b", "c"], ["d", "e", "f"]])
OBJECTS = np.array([[1.0, "b", 3.0], [4.0, 5.0, 6.0]], dtype=object)


def test_strings_in_a_npy_file_are_named(tmp_path) -> None:
    np.save(tmp_path / "s.npy", STRINGS)
    with pytest.raises(FsbenchError, match=r"context file .*s\.npy: the array holds strings"):
        load_contexts(tmp_path / "s.npy", 3)


def test_an_object_array_in_a_npy_file_is_named(tmp_path) -> None:
    np.save(tmp_path / "o.npy", OBJECTS)
    with pytest.raises(FsbenchError, match=r"o\.npy: the array holds Python objects"):
        load_contexts(tmp_path / "o.npy", 3)


@pytest.mark.parametrize(
    ("arrays", "fault", "held"),
    [
        ({"contexts": STRINGS}, "contexts", "strings"),
        ({"contexts": OBJECTS}, "contexts", "Python objects"),
        ({"embeddings": np.ones((2, 3)), "paths": np.array(["a", 1], dtype=object)}, "paths", ""),
        ({"contexts": np.ones((2, 3)), "ids": np.array(["a", 1], dtype=object)}, "ids", ""),
    ],
)
def test_npz_errors_name_the_array_at_fault(tmp_path, arrays, fault, held) -> None:
    np.savez(tmp_path / "c.npz", **arrays)
    with pytest.raises(FsbenchError, match=rf"c\.npz: array '{fault}' holds {held}"):
        load_contexts(tmp_path / "c.npz", 3)


def test_a_string_in_an_original_context_dict_names_its_key(tmp_path) -> None:
    path = tmp_path / "contexts.npy"
    torch.save({"0": np.ones(3, np.float32), "1": "not a vector"}, path)
    with pytest.raises(FsbenchError, match=r"contexts\.npy: vector '1' holds strings"):
        load_contexts(path, 3)


def test_a_scalar_is_a_shape_error_not_a_traceback(tmp_path) -> None:
    np.save(tmp_path / "one.npy", np.float32(1))
    with pytest.raises(FsbenchError, match=r"one\.npy: expected vectors of dimension 3, got shape"):
        load_contexts(tmp_path / "one.npy", 3)


def test_a_folder_is_named_as_one(tmp_path) -> None:
    with pytest.raises(FsbenchError, match="is a folder, not a file"):
        load_contexts(tmp_path, 3)
