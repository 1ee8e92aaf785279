import pytest

from facesynth_bench.data.dataset_record import DATASET_JSON, read_dataset_record
from facesynth_bench.errors import FsbenchError


def test_reads_the_record_object(tmp_path):
    (tmp_path / DATASET_JSON).write_text('{"format": "facesynth-bench/dataset", "run": {}}')
    assert read_dataset_record(tmp_path) == {"format": "facesynth-bench/dataset", "run": {}}


@pytest.mark.parametrize(
    "text, problem",
    [
        ("[]", r"expected a JSON object \(the record fsbench generate writes\), got a JSON array"),
        ('"run"', "expected a JSON object .* got a JSON string"),
        ("3", "expected a JSON object .* got a JSON number"),
        ("null", "expected a JSON object .* got a JSON null"),
        (
            "{",
            r"the dataset record is not valid JSON \(Expecting property name .*, line 1\)",
        ),
    ],
)
def test_anything_but_an_object_is_one_named_error(tmp_path, text, problem):
    (tmp_path / DATASET_JSON).write_text(text)
    with pytest.raises(FsbenchError, match=rf"dataset\.json: {problem}") as caught:
        read_dataset_record(tmp_path)
    assert str(tmp_path) in str(caught.value)


def test_missing_or_binary_record_is_named(tmp_path):
    with pytest.raises(FsbenchError, match=r"dataset\.json: cannot read the dataset record"):
        read_dataset_record(tmp_path)
    (tmp_path / DATASET_JSON).write_bytes(b"\xff\xfe{}")
    with pytest.raises(FsbenchError, match=r"dataset\.json: the dataset record is not UTF-8"):
        read_dataset_record(tmp_path)
