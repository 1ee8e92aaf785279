"""A content-addressed embedding cache: re-running touches only new or changed images.

Key of an entry: SHA-256 of the sample's source bytes (its file or RecordIO record) plus
its layout locator (grid tile number), under a folder per model named by the SHA-256 of
the embedder's description (name, weights hash, sizes, flip, precision, options). Each
run appends shards `<folder>/<time>-<pid>-<n>.npz` (keys, embeddings) of up to
SHARD_ENTRIES entries, written atomically, so concurrent or killed runs never corrupt
the cache (a killed run loses at most its unflushed entries).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from facesynth_bench.atomic_files import write_bytes_atomic
from facesynth_bench.errors import FsbenchError
from facesynth_bench.safe_loading import open_npz

SHARD_ENTRIES = 8192


def default_cache_dir() -> Path:
    """`$FSBENCH_CACHE/embeddings`, else `~/.cache/facesynth_bench/embeddings`."""
    base = os.environ.get("FSBENCH_CACHE")
    root = Path(base) if base else Path.home() / ".cache" / "facesynth_bench"
    return root / "embeddings"


def model_key(description: dict[str, Any]) -> str:
    """Stable hex key of an embedder description."""
    text = json.dumps(description, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def content_key(data: bytes, locator: int) -> str:
    """Cache key of one sample: SHA-256 of its source bytes and its locator."""
    return f"{hashlib.sha256(data).hexdigest()}:{locator}"


class EmbeddingCache:
    """The cached embeddings of one model, loaded from all shards of its folder."""

    def __init__(self, root: Path, description: dict[str, Any]) -> None:
        self.folder = Path(root) / model_key(description)
        self.entries: dict[str, np.ndarray] = {}
        self._shard_number = 0
        self._pending: list[str] = []
        if self.folder.is_dir():
            for shard in sorted(self.folder.glob("*.npz")):
                self._load_shard(shard)

    def _load_shard(self, shard: Path) -> None:
        try:
            with open_npz(shard, "embedding cache shard") as data:
                keys, embeddings = data["keys"], data["embeddings"]
        except FsbenchError as exc:
            raise FsbenchError(f"{exc}; delete the shard to rebuild it") from None
        self.entries.update(zip(keys.tolist(), embeddings, strict=True))

    def get(self, key: str) -> np.ndarray | None:
        """The cached embedding of a sample key, or None."""
        return self.entries.get(key)

    def add(self, keys: list[str], embeddings: np.ndarray) -> None:
        """Remember new embeddings; a shard is written every SHARD_ENTRIES of them."""
        self.entries.update(zip(keys, embeddings, strict=True))
        self._pending.extend(keys)
        if len(self._pending) >= SHARD_ENTRIES:
            self.flush()

    def flush(self) -> None:
        """Write the embeddings added since the last flush as one shard file."""
        if not self._pending:
            return
        self._shard_number += 1
        name = f"{time.time_ns()}-{os.getpid()}-{self._shard_number}.npz"
        buffer = io.BytesIO()
        embeddings = np.stack([self.entries[key] for key in self._pending])
        np.savez(buffer, keys=np.asarray(self._pending, dtype=str), embeddings=embeddings)
        write_bytes_atomic(self.folder / name, buffer.getvalue())
        self._pending = []
