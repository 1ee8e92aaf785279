"""L2 normalisation of embedding rows that neither overflows nor underflows.

Each row is divided by the power of two at or above its largest |value| (exact) before its
norm is taken in float64, so rows scaled by 1e20 or 1e-30 give the same unit rows as the
unscaled ones; only rows of exact zeros have no direction.
"""

from __future__ import annotations

import numpy as np

_CHUNK_ROWS = 1 << 16  # bounds the float64 temporaries


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
        scaled = np.ldexp(block, -exponent[:, None])  # |values| < 1, scaled exactly
        scaled_norms = np.linalg.norm(scaled, axis=1)
        stop = start + len(block)
        norms[start:stop] = np.ldexp(scaled_norms, exponent)
        unit[start:stop] = scaled / np.where(scaled_norms > 0, scaled_norms, 1.0)[:, None]
    return unit, norms
