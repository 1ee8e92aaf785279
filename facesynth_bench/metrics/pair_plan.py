"""Which pairs a separability evaluation scores: the pair mode, its fraction and seed.

Light (no torch), so protocol specs and command lines can check a plan before any work.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

from facesynth_bench.errors import FsbenchError

PAIR_MODES = ("exhaustive", "sampled-equal", "sampled-fraction")
DEFAULT_FRACTION = 0.05


class IgnoredFractionWarning(UserWarning):
    """A pair fraction was given for a pair mode that draws no fraction."""


@dataclass(frozen=True)
class PairPlan:
    """Which pairs to score: the mode, its parameter and the seed of any random draw.

    `fraction` is the share F of later identities of `sampled-fraction` (default 0.05);
    for the other modes it is None, and a fraction given with them is ignored with a
    warning.
    """

    mode: str = "exhaustive"
    fraction: float | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        if self.mode not in PAIR_MODES:
            raise FsbenchError(f"pair mode {self.mode!r}: expected one of {', '.join(PAIR_MODES)}")
        if self.fraction is not None and not 0.0 < self.fraction <= 1.0:
            raise FsbenchError(f"pair fraction {self.fraction}: expected 0 < F <= 1")
        if self.mode == "sampled-fraction":
            if self.fraction is None:
                object.__setattr__(self, "fraction", DEFAULT_FRACTION)
        elif self.fraction is not None:
            warnings.warn(
                f"pair fraction {self.fraction:g} is ignored: the {self.mode} pair mode "
                "draws no fraction (only sampled-fraction does)",
                IgnoredFractionWarning,
                stacklevel=3,
            )
            object.__setattr__(self, "fraction", None)

    @property
    def min_identities(self) -> int:
        """The fewest identities for which this plan yields an impostor pair."""
        if self.fraction is None:
            return 2
        # sampled-fraction: identity 0 draws floor(F * (K - 1)) partners, the most of any.
        later = math.ceil(1.0 / self.fraction)
        while math.floor(self.fraction * later) < 1:
            later += 1
        while later > 1 and math.floor(self.fraction * (later - 1)) >= 1:
            later -= 1
        return later + 1

    def describe(self) -> str:
        """The mode with its fraction, as messages name it."""
        return self.mode if self.fraction is None else f"{self.mode} {self.fraction:g}"
