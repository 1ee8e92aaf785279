"""Embedding files: `.npz` with `embeddings` (N x D float) and `labels` (N,), validated on load."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from facesynth_bench.atomic_files import write_bytes_atomic
from facesynth_bench.errors import FsbenchError
from facesynth_bench.safe_loading import open_npz


@dataclass
class EmbeddingSet:
    """Embeddings (N x D float32), identity labels (N,) and optional per-row paths."""

    embeddings: np.ndarray
    labels: np.ndarray
    paths: np.ndarray | None = None
    meta: dict[str, Any] = field(default_factory=dict)


def load_embedding_set(path: Path) -> EmbeddingSet:
    """Read and check an `.npz` embedding file; errors name the file and the problem."""
    path = Path(path)
    with open_npz(path, "embedding file") as archive:
        missing = {"embeddings", "labels"} - set(archive.names)
        if missing:
            raise FsbenchError(
                f"embedding file {path}: missing array(s) {', '.join(sorted(missing))}; "
                f"found {', '.join(sorted(archive.names)) or 'none'}"
            )
        embeddings = archive["embeddings"]
        labels = archive["labels"]
        paths = archive.get("paths")
        meta_json = archive.get("meta_json")
    try:
        meta = json.loads(str(meta_json)) if meta_json is not None else {}
    except json.JSONDecodeError as exc:
        raise FsbenchError(f"embedding file {path}: 'meta_json' is not JSON ({exc})") from None
    return EmbeddingSet(check_embeddings(embeddings, labels, str(path)), labels, paths, meta)


def check_embeddings(embeddings: np.ndarray, labels: np.ndarray, source: str) -> np.ndarray:
    """Validate shapes, dtypes and values; return the embeddings as float32."""
    if not np.issubdtype(embeddings.dtype, np.number) or np.issubdtype(
        embeddings.dtype, np.complexfloating
    ):
        raise FsbenchError(
            f"{source}: embeddings must be real numbers, got dtype {embeddings.dtype}"
        )
    if embeddings.ndim != 2 or embeddings.shape[0] == 0 or embeddings.shape[1] == 0:
        raise FsbenchError(
            f"{source}: embeddings must be a non-empty N x D array, got {embeddings.shape}"
        )
    if labels.ndim != 1:
        raise FsbenchError(f"{source}: labels must be one-dimensional, got shape {labels.shape}")
    if labels.dtype.kind not in "iuUS":
        raise FsbenchError(
            f"{source}: labels must be integers or strings, got dtype {labels.dtype}"
        )
    if len(labels) != len(embeddings):
        raise FsbenchError(
            f"{source}: {len(embeddings)} embeddings but {len(labels)} labels; they must match"
        )
    values = embeddings.astype(np.float32, copy=False)
    bad_rows = np.flatnonzero(~np.isfinite(values).all(axis=1))
    if bad_rows.size:
        raise FsbenchError(
            f"{source}: {bad_rows.size} embedding row(s) contain NaN or Inf "
            f"(first rows: {', '.join(map(str, bad_rows[:5]))})"
        )
    return values


def save_embedding_set(path: Path, data: EmbeddingSet) -> None:
    """Write an `.npz` embedding file atomically (labels as strings, never pickled objects)."""
    arrays = {
        "embeddings": np.asarray(data.embeddings, dtype=np.float32),
        "labels": np.asarray(data.labels).astype(str),
    }
    if data.paths is not None:
        arrays["paths"] = np.asarray(data.paths).astype(str)
    if data.meta:
        arrays["meta_json"] = np.asarray(json.dumps(data.meta, sort_keys=True))
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    write_bytes_atomic(Path(path), buffer.getvalue())
