"""`embed_dataset`: a dataset folder in, embeddings + labels + paths + metadata out.

Steps: open the layout, list samples (unusable files are refused, or recorded with
skip_bad), take the subset, look every sample up in the content cache, embed only the
misses in batches decoded by DataLoader workers, and assemble the result in sample
order. `.npz` files written by `save_embeddings` hold `embeddings` float32 (N, D),
`labels` and `paths` as unicode arrays, `embedder`, `checkpoint_sha256`, the JSON
`meta_json` string and, when the dataset has a manifest, `generators`, `seeds` and
`context_ids`; `facesynth_bench.embedding_set.load_embedding_set` reads them.
"""

from __future__ import annotations

import hashlib
import io
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from facesynth_bench.atomic_files import write_bytes_atomic
from facesynth_bench.data.image_io import DEFAULT_MIN_SIZE, BadImageError
from facesynth_bench.data.layouts import (
    GridSpec,
    SampleRef,
    Skipped,
    describe_skipped,
    open_layout,
)
from facesynth_bench.data.manifest import MANIFEST_NAME, read_manifest
from facesynth_bench.data.subsets import select_subset
from facesynth_bench.data.workers import check_workers
from facesynth_bench.devices import check_precision
from facesynth_bench.embed.base import Embedder, resize_to
from facesynth_bench.embed.batching import default_workers, iterate_batches
from facesynth_bench.embed.cache import EmbeddingCache, content_key
from facesynth_bench.embed.registry import create_embedder
from facesynth_bench.errors import FsbenchError

Progress = Callable[[int, int], None]


@dataclass
class EmbeddingResult:
    """Unit-norm float32 embeddings (N, D) with their identity labels and relative paths."""

    embeddings: np.ndarray
    labels: np.ndarray
    paths: np.ndarray
    metadata: dict[str, Any] = field(default_factory=dict)
    provenance: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def skipped(self) -> list[dict[str, str]]:
        """Every file left out under skip_bad, with the reason."""
        return self.metadata.get("skipped", [])


def _provenance(root: Path, refs: list[SampleRef]) -> dict[str, np.ndarray]:
    if not (root / MANIFEST_NAME).is_file():
        return {}
    records = {record.path: record for record in read_manifest(root)}
    found = [records.get(ref.path) for ref in refs]
    return {
        "generators": np.asarray([r.generator or "" if r else "" for r in found], dtype=str),
        "seeds": np.asarray([-1 if r is None or r.seed is None else r.seed for r in found]),
        "context_ids": np.asarray([r.context_id or "" if r else "" for r in found], dtype=str),
    }


def dataset_fingerprint(items: list[tuple[str, str | None]]) -> str:
    """SHA-256 of the sorted (relative path, content key) pairs of the images used."""
    lines = sorted(f"{path}\t{key}" for path, key in items)
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()


def _fail_or_record(root: Path, failures: list[Skipped], skip_bad: bool) -> None:
    if failures and not skip_bad:
        raise FsbenchError(f"dataset {root}: {describe_skipped(failures)}", parameter="skip_bad")


def embed_dataset(
    dataset: Path,
    embedder: Embedder | str,
    *,
    checkpoint: Path | None = None,
    layout: str = "auto",
    grid: GridSpec | None = None,
    order: str = "lexicographic",
    min_size: int = DEFAULT_MIN_SIZE,
    max_identities: int | None = None,
    max_images: int | None = None,
    subset_seed: int | None = None,
    skip_bad: bool = False,
    batch_size: int = 64,
    num_workers: int | None = None,
    device: str = "auto",
    precision: str = "auto",
    cache_dir: Path | None = None,
    progress: Progress | None = None,
    embedder_options: dict[str, Any] | None = None,
) -> EmbeddingResult:
    """Embed every (selected) image of a dataset; see the module docstring for the steps."""
    started = time.perf_counter()
    if batch_size < 1:
        raise FsbenchError(f"batch size {batch_size}: must be at least 1", parameter="batch_size")
    check_precision(precision)
    if num_workers is not None:
        check_workers(num_workers)
    root = Path(dataset)
    data = open_layout(
        root,
        layout,
        grid=grid,
        order=order,
        min_size=min_size,
    )
    refs, skipped = data.scan()
    _fail_or_record(root, skipped, skip_bad)
    refs = select_subset(refs, max_identities, max_images, subset_seed)
    if not refs:
        raise FsbenchError(f"dataset {root}: no images to embed")
    model = (
        create_embedder(embedder, checkpoint, device, precision, **(embedder_options or {}))
        if isinstance(embedder, str)
        else embedder
    )
    description = model.describe()
    cache = EmbeddingCache(cache_dir, description) if cache_dir is not None else None

    rows: list[np.ndarray | None] = [None] * len(refs)
    keys: list[str | None] = [None] * len(refs)
    bad: dict[int, str] = {}
    for position, ref in enumerate(refs):
        try:
            keys[position] = content_key(data.read_source(ref), ref.locator)
        except BadImageError as exc:
            bad[position] = exc.reason
            continue
        if cache is not None:
            rows[position] = cache.get(keys[position])
    todo = [p for p in range(len(refs)) if rows[p] is None and p not in bad]
    hits = len(refs) - len(todo) - len(bad)
    done = hits
    if progress:
        progress(done, len(refs))
    prepare = partial(resize_to, size=model.input_size)
    batches = iterate_batches(data, [refs[p] for p in todo], prepare, batch_size, num_workers)
    try:
        for batch in batches:
            positions = [todo[i] for i in batch.positions]
            bad.update((todo[i], reason) for i, reason in batch.failures)
            if not skip_bad and bad:
                break
            embeddings = model.embed(batch.images) if positions else np.zeros((0, model.dim))
            for position, row in zip(positions, embeddings, strict=True):
                rows[position] = row
            if cache is not None:
                cache.add([keys[p] for p in positions], embeddings)
            done += len(positions) + len(batch.failures)
            if progress:
                progress(done, len(refs))
    finally:
        if cache is not None:
            cache.flush()
    failures = [Skipped(refs[p].path, reason) for p, reason in sorted(bad.items())]
    _fail_or_record(root, failures, skip_bad)

    kept = [p for p in range(len(refs)) if p not in bad]
    if not kept:
        raise FsbenchError(f"dataset {root}: every selected image was unusable")
    kept_refs = [refs[p] for p in kept]
    metadata = {
        "embedder": description,
        "dataset": {
            **data.describe(),
            "min_size": min_size,
            "fingerprint": dataset_fingerprint([(refs[p].path, keys[p]) for p in kept]),
        },
        "subset": {"max_identities": max_identities, "max_images": max_images, "seed": subset_seed},
        "counts": {
            "images": len(kept),
            "identities": len({r.identity for r in kept_refs}),
            "skipped": len(skipped) + len(failures),
            "cache_hits": hits,
            "embedded": len(kept) - hits,
        },
        "skipped": [{"path": s.path, "reason": s.reason} for s in [*skipped, *failures]],
        "flip": model.flip,
        "flip_supported": model.supports_flip,
        "batch_size": batch_size,
        "num_workers": default_workers() if num_workers is None else num_workers,
        "seconds": round(time.perf_counter() - started, 3),
    }
    stats = model.stats()
    if stats:
        metadata["embedder_stats"] = stats
    return EmbeddingResult(
        embeddings=np.stack([rows[p] for p in kept]).astype(np.float32),
        labels=np.asarray([r.identity for r in kept_refs], dtype=str),
        paths=np.asarray([r.path for r in kept_refs], dtype=str),
        metadata=metadata,
        provenance=_provenance(root, kept_refs),
    )


def save_embeddings(path: Path, result: EmbeddingResult) -> None:
    """Write an EmbeddingResult as `.npz` atomically (no object arrays, loads without pickle)."""
    description = result.metadata.get("embedder", {})
    arrays = {
        "embeddings": result.embeddings.astype(np.float32),
        "labels": np.asarray(result.labels, dtype=str),
        "paths": np.asarray(result.paths, dtype=str),
        "embedder": np.asarray(description.get("embedder", "")),
        "checkpoint_sha256": np.asarray(description.get("checkpoint_sha256") or ""),
        "meta_json": np.asarray(json.dumps(result.metadata, sort_keys=True)),
        **result.provenance,
    }
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    write_bytes_atomic(Path(path), buffer.getvalue())
