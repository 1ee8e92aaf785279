"""Guidance weight schedules w_t: named, registered, and validated without torch.

w_t is a function of the fraction t/T: none (IDiff-Face, w = 0), constant (NegFaceDiff,
w = w_max = 0.5), linear (AdaptDiff, w_max (1 - t/T)), reverse (w_max t/T), piecewise
(linear interpolation of (t/T, w) points), or any callable registered in
`GUIDANCE_SCHEDULES` (entry-point group `facesynth_bench.guidance`). Applying w_t to a
denoiser is `diffusion/guidance.py`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from facesynth_bench.errors import FsbenchError
from facesynth_bench.registry import Registry

WeightFunction = Callable[[float, float], float]
"""w(fraction, w_max) with fraction = t/T in [0, 1): 1 is pure noise, 0 the clean end."""

GUIDANCE_SCHEDULES: Registry[WeightFunction] = Registry(
    "guidance schedule", group="facesynth_bench.guidance"
)
GUIDANCE_SCHEDULES.register("none", lambda fraction, w_max: 0.0)
GUIDANCE_SCHEDULES.register("constant", lambda fraction, w_max: w_max)
GUIDANCE_SCHEDULES.register("linear", lambda fraction, w_max: w_max * (1 - fraction))
GUIDANCE_SCHEDULES.register("reverse", lambda fraction, w_max: w_max * fraction)

PIECEWISE = "piecewise"


@dataclass(frozen=True)
class GuidanceSchedule:
    """w_t as a function of the training timestep t of a T-step schedule."""

    name: str = "none"
    w_max: float = 0.0
    points: tuple[tuple[float, float], ...] = ()

    def __post_init__(self) -> None:
        if self.name == PIECEWISE:
            fractions = [p[0] for p in self.points]
            if len(self.points) < 2 or any(len(p) != 2 for p in self.points):
                raise FsbenchError("piecewise guidance needs at least two (t/T, w) points")
            if fractions != sorted(fractions) or not 0 <= fractions[0] <= fractions[-1] <= 1:
                raise FsbenchError(
                    f"piecewise guidance points must have increasing t/T in [0, 1], got {fractions}"
                )
        else:
            GUIDANCE_SCHEDULES.get(self.name)

    def weight(self, t: int, num_timesteps: int) -> float:
        """w_t at training timestep t (0-based) of a schedule with T = num_timesteps."""
        fraction = t / num_timesteps
        if self.name == PIECEWISE:
            xs, ys = zip(*self.points, strict=True)
            return float(np.interp(fraction, xs, ys))
        return float(GUIDANCE_SCHEDULES.get(self.name)(fraction, self.w_max))

    @property
    def is_unguided(self) -> bool:
        """True when w_t = 0 at every t, so p- never needs a forward pass."""
        if self.name == PIECEWISE:
            return all(w == 0 for _, w in self.points)
        return self.name == "none" or (
            self.name in ("constant", "linear", "reverse") and not self.w_max
        )

    def describe(self) -> dict[str, object]:
        """JSON-able form for provenance."""
        out: dict[str, object] = {"name": self.name, "w_max": self.w_max}
        if self.points:
            out["points"] = [list(p) for p in self.points]
        return out
