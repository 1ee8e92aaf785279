"""Overflow-safe unit rows: bit for bit the float32 x / ||x|| where that does not overflow."""

import numpy as np

from facesynth_bench.unit_rows import unit_rows


def test_ordinary_rows_match_the_float32_textbook_bit_for_bit():
    rows = np.random.default_rng(0).normal(size=(300, 128))
    plain = rows.astype(np.float32)
    expected = plain / np.linalg.norm(plain, axis=1, keepdims=True)
    unit, norms = unit_rows(rows)
    assert unit.dtype == np.float32 and np.array_equal(unit, expected)
    np.testing.assert_allclose(norms, np.linalg.norm(rows, axis=1), rtol=1e-6)


def test_huge_tiny_and_zero_rows():
    rows = np.random.default_rng(1).normal(size=(20, 64))
    reference, _ = unit_rows(rows)
    for scale in (1e200, 1e20, 1e-30, 1e-300):
        unit, norms = unit_rows(rows * scale)
        np.testing.assert_allclose(unit, reference, atol=1e-7)
        assert np.isfinite(norms).all() and (norms > 0).all()
    unit, norms = unit_rows(np.zeros((2, 3)))
    assert not unit.any() and not norms.any()
