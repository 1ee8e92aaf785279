"""`dataset.json`: the record `fsbench generate` writes at the root of a generated dataset."""

from __future__ import annotations

import json
from pathlib import Path

from facesynth_bench.errors import FsbenchError

DATASET_JSON = "dataset.json"


def read_dataset_record(root: Path) -> dict:
    """The JSON object in `root/dataset.json`; a clear error when it is not one."""
    path = Path(root) / DATASET_JSON
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise FsbenchError(f"{path}: cannot read the dataset record ({exc.strerror})") from exc
    except UnicodeDecodeError as exc:
        raise FsbenchError(f"{path}: the dataset record is not UTF-8 text ({exc.reason})") from exc
    try:
        record = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FsbenchError(
            f"{path}: the dataset record is not valid JSON ({exc.msg}, line {exc.lineno})"
        ) from exc
    if not isinstance(record, dict):
        raise FsbenchError(
            f"{path}: expected a JSON object (the record fsbench generate writes), "
            f"got a JSON {_json_kind(record)}"
        )
    return record


def _json_kind(value: object) -> str:
    """The JSON name of a decoded value's type."""
    kinds = {list: "array", str: "string", bool: "boolean", int: "number", float: "number"}
    return "null" if value is None else kinds[type(value)]
