"""Safetensors weight files with a JSON header: byte-reproducible writes, checked reads.

The header (config, origin, seeds) travels as ONE metadata entry, `fsbench`, holding
key-sorted JSON: safetensors stores metadata in a hash map, so several entries would be
written in a random order and the same weights would not give the same bytes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save
from torch import Tensor

from facesynth_bench.atomic_files import write_bytes_atomic
from facesynth_bench.errors import FsbenchError

HEADER_KEY = "fsbench"


def save_weights(path: Path, tensors: dict[str, Tensor], header: dict[str, Any]) -> None:
    """Write `tensors` and the JSON-able `header` to a safetensors file, atomically."""
    contiguous = {key: value.detach().cpu().contiguous() for key, value in tensors.items()}
    metadata = {HEADER_KEY: json.dumps(header, sort_keys=True)}
    write_bytes_atomic(Path(path), save(contiguous, metadata=metadata))


def load_weights(path: Path, what: str) -> tuple[dict[str, Tensor], dict[str, Any]]:
    """Read (tensors on CPU, header) from a file written by `save_weights`; `what` names it."""
    path = Path(path)
    if not path.is_file():
        raise FsbenchError(f"{what} {path}: file not found")
    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
        tensors = load_file(str(path))
    except (SafetensorError, OSError) as exc:
        raise FsbenchError(f"{what} {path}: not a readable safetensors file ({exc})") from exc
    try:
        header = json.loads(metadata[HEADER_KEY])
    except (KeyError, json.JSONDecodeError) as exc:
        raise FsbenchError(
            f"{what} {path}: missing or unreadable {HEADER_KEY!r} header in the metadata"
        ) from exc
    return tensors, header
