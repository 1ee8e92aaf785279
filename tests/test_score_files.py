"""Score files: our writers' output reads back in every format; bad files are named."""

import numpy as np
import pytest

from facesynth_bench.errors import FsbenchError
from facesynth_bench.score_files import (
    WRITE_FORMATS,
    read_labelled_scores,
    read_score_files,
    read_score_list,
    write_score_files,
)

GENUINE = np.array([3.5, 12.25, -0.125, 7.0])
IMPOSTOR = np.array([-40.0, 1e-7, 2.5, 3.5, -1.75])


@pytest.mark.parametrize("fmt", WRITE_FORMATS)
def test_round_trip(tmp_path, fmt):
    written = write_score_files(tmp_path / "s", GENUINE, IMPOSTOR, fmt)
    if len(written) == 2:
        data = read_score_files(genuine=written[0], impostor=written[1])
    else:
        data = read_score_files(scores=written[0])
    np.testing.assert_array_equal(data.genuine, GENUINE)
    np.testing.assert_array_equal(data.impostor, IMPOSTOR)


def test_pyeer_text_takes_the_last_token_and_skips_comments(tmp_path):
    path = tmp_path / "g.txt"
    path.write_text("# genuine scores\n\nprobe1 0.5\n  0.25  \nx y 1e-3\n")
    np.testing.assert_array_equal(read_score_list(path), [0.5, 0.25, 1e-3])


def test_bob_five_columns_and_zero_labels(tmp_path):
    five = tmp_path / "five.txt"
    five.write_text("a m a p1 0.9\na m b p2 0.1\nb m b p3 0.8\n")
    data = read_labelled_scores(five)
    assert (list(data.genuine), list(data.impostor), data.format) == ([0.9, 0.8], [0.1], "bob-5col")
    two = tmp_path / "two.txt"
    two.write_text("1 0.9\n0 0.2\n-1 0.3\n")
    data = read_labelled_scores(two)
    assert (list(data.genuine), list(data.impostor)) == ([0.9], [0.2, 0.3])


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "no scores"),
        ("# only a comment\n", "no scores"),
        ("0.5\nabc\n", ":2: 'abc' is not a number"),
    ],
)
def test_bad_single_class_files(tmp_path, content, message):
    path = tmp_path / "g.txt"
    path.write_text(content)
    with pytest.raises(FsbenchError, match=message):
        read_score_list(path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("1 0.5\n1 0.2\n", "no impostor scores"),
        ("2 0.5\n-1 0.2\n", "line 1: label 2 is not 1"),
        ("1 0.5\na a p\n", ":2: 3 columns where the file started with 2"),
        ("a b c 0.5 x y\n", "6 columns per line"),
        ("1 0.5\n-1 zero\n", ":2: 'zero' is not a number"),
    ],
)
def test_bad_labelled_files(tmp_path, content, message):
    path = tmp_path / "s.txt"
    path.write_text(content)
    with pytest.raises(FsbenchError, match=message):
        read_score_files(scores=path)


def test_wrong_option_combinations_and_missing_files(tmp_path):
    with pytest.raises(FsbenchError, match="either a genuine and an impostor file"):
        read_score_files(genuine=tmp_path / "g.txt")
    with pytest.raises(FsbenchError, match="no such file"):
        read_score_files(scores=tmp_path / "absent.txt")
    (tmp_path / "folder").mkdir()
    with pytest.raises(FsbenchError, match="folder: is a directory, not a score file"):
        read_score_files(scores=tmp_path / "folder")
    with pytest.raises(FsbenchError, match="is a directory"):
        read_score_files(genuine=tmp_path / "folder", impostor=tmp_path / "folder")
    np.save(tmp_path / "m.npy", np.ones((2, 3)))
    with pytest.raises(FsbenchError, match="1-D array"):
        read_score_list(tmp_path / "m.npy")
