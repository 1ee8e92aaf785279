"""Numbers as reports print them: fixed point where it is readable, scientific elsewhere."""

from __future__ import annotations

import math

FIXED_BELOW = 1e6  # larger magnitudes, and those fixed point would show as 0, are scientific


def format_number(value: float, decimals: int) -> str:
    """Fixed point with `decimals`, or scientific where that would show 0 or a long number."""
    if value == 0 or 10.0**-decimals <= abs(value) < FIXED_BELOW or not math.isfinite(value):
        return f"{value:.{decimals}f}"
    return f"{value:.{max(decimals - 1, 1)}e}"
