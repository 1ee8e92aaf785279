"""Output-path guards run before any work and fail with one line."""

import pytest

from facesynth_bench.errors import FsbenchError
from facesynth_bench.output_paths import prepare_output_file, prepare_output_folder


def test_folder_is_created_and_checked(tmp_path):
    assert prepare_output_folder(tmp_path / "a" / "b").is_dir()
    assert list((tmp_path / "a" / "b").iterdir()) == []  # the write check leaves nothing


def test_a_file_in_the_way_is_named(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(FsbenchError, match="is a file, not a folder"):
        prepare_output_folder(tmp_path / "f")
    with pytest.raises(FsbenchError, match=r"f/sub: .*f is a file, not a folder"):
        prepare_output_folder(tmp_path / "f" / "sub")
    with pytest.raises(FsbenchError, match="is a folder"):
        prepare_output_file(tmp_path)
    with pytest.raises(FsbenchError, match=r"output file .*x.npz: .*f is a file, not a folder"):
        prepare_output_file(tmp_path / "f" / "x.npz")
