"""L2 normalisation of embedding rows that neither overflows nor underflows.

Each row is first divided by the power of two at or above its largest |value|, which is
exact, so its norm can be taken in float32 without overflow or underflow: rows scaled by
1e20 or 1e-30 give the same unit rows as the unscaled ones, and rows of ordinary size give
bit for bit the float32 x / ||x|| they always gave (so embeddings, and the identity
contexts made from them, do not change). Only rows of exact zeros have no direction.
"""

from __future__ import annotations

import numpy as np

_CHUNK_ROWS = 1 << 16  # bounds the temporaries


def unit_rows(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(rows divided by their L2 norm as float32, the norms in float64); zero rows stay 0."""
    rows = np.asarray(rows)
    if rows.ndim != 2 or rows.shape[1] == 0:
        raise ValueError(f"expected an (N, D) array with D >= 1, got shape {rows.shape}")
    unit = np.empty(rows.shape, dtype=np.float32)
    norms = np.empty(rows.shape[0], dtype=np.float64)
    for start in range(0, rows.shape[0], _CHUNK_ROWS):
        block = np.asarray(rows[start : start + _CHUNK_ROWS], dtype=np.float64)
        _, exponent = np.frexp(np.abs(block).max(axis=1))
        # |values| < 1 after an exact power-of-two scale; rounding to float32 commutes with it
        scaled = np.ldexp(block, -exponent[:, None]).astype(np.float32)
        scaled_norms = np.linalg.norm(scaled, axis=1)
        stop = start + len(block)
        norms[start:stop] = np.ldexp(scaled_norms.astype(np.float64), exponent)
        safe = np.where(scaled_norms > 0, scaled_norms, np.float32(1.0))
        unit[start:stop] = scaled / safe[:, None]
    return unit, norms
