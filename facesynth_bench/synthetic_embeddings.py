"""Seeded synthetic identity embeddings with overlapping identities (demo and benchmarks)."""

from __future__ import annotations

import numpy as np


def identity_clusters(
    n_identities: int,
    per_identity: int,
    dim: int = 512,
    spread: tuple[float, float] = (1.3, 2.6),
    shared: float = 0.5,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """(embeddings float32 N x dim, unit rows; labels int N) around random identity centres.

    Each sample is centre + s * noise, with noise of unit expected norm and s drawn per
    identity from `spread`, so some identities are harder than others. A direction common
    to all centres (weight `shared`) gives impostor scores a positive mean, as real FR
    embeddings have.
    """
    rng = np.random.default_rng(seed)
    common = rng.standard_normal(dim, dtype=np.float32)
    centres = rng.standard_normal((n_identities, dim), dtype=np.float32) + shared * common
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    scale = rng.uniform(*spread, size=n_identities).astype(np.float32)
    labels = np.repeat(np.arange(n_identities), per_identity)
    x = rng.standard_normal((len(labels), dim), dtype=np.float32)
    x *= scale[labels, None] / np.float32(np.sqrt(dim))
    x += centres[labels]
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x, labels
