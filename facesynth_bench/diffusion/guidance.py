"""Negative-condition guidance: eps = (1 + w_t) eps(x, t, p+) - w_t eps(x, t, p-).

AdaptDiff (the seed paper, eq. 5) with w_t from a schedule of the fraction t/T:
none (IDiff-Face, w = 0), constant (NegFaceDiff, w = w_max = 0.5), linear (AdaptDiff,
w_max (1 - t/T)), reverse (w_max t/T), piecewise (linear interpolation of (t/T, w)
points), or any callable registered in `GUIDANCE_SCHEDULES` (entry-point group
`facesynth_bench.guidance`). p+ and p- run through the denoiser as ONE batch of 2B.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from facesynth_bench.diffusion.denoiser import BoundDenoiser, Denoiser, bind_context
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


def combine(eps_positive: Tensor, eps_negative: Tensor, w: Tensor) -> Tensor:
    """(1 + w) eps(p+) - w eps(p-), with w a per-sample weight broadcastable to eps."""
    return torch.lerp(eps_positive, eps_negative, -w.to(eps_positive.dtype))


class NegativeGuidance:
    """eps(x, t) for B samples with identity contexts p+ and negatives p- fixed for a run.

    Both halves go through the denoiser as one batch [p+; p-] of 2B, with the context
    path bound once (`bind_context`); an unguided schedule runs only the B positives.
    w_t is tabulated for every t once and looked up on the device, so a step never waits
    for the GPU to report t.
    """

    def __init__(
        self,
        denoiser: Denoiser,
        positive: Tensor,
        negative: Tensor | None,
        schedule: GuidanceSchedule,
        num_timesteps: int,
    ) -> None:
        self.guided = not schedule.is_unguided
        if self.guided and negative is None:
            raise FsbenchError(f"guidance schedule {schedule.name!r} needs negative contexts")
        contexts = torch.cat([positive, negative]) if self.guided else positive
        self._eps: BoundDenoiser = bind_context(denoiser, contexts)
        weights = [schedule.weight(step, num_timesteps) for step in range(num_timesteps)]
        self._weights = torch.tensor(weights, dtype=torch.float32, device=positive.device)

    def __call__(self, x: Tensor, t: Tensor) -> Tensor:
        """Guided eps for x (B, ...) at timesteps t (B,)."""
        if not self.guided:
            return self._eps(x, t)
        eps_positive, eps_negative = self._eps(torch.cat([x, x]), torch.cat([t, t])).chunk(2)
        w = self._weights[t.to(self._weights.device)].view(-1, *([1] * (x.dim() - 1)))
        return combine(eps_positive, eps_negative, w)


def two_pass_guidance(
    denoiser: Denoiser,
    x: Tensor,
    t: Tensor,
    positive: Tensor,
    negative: Tensor,
    w: float,
) -> Tensor:
    """The originals' form: two separate forwards for p+ and p- (reference for tests/benchmarks)."""
    return (1 + w) * denoiser(x, t, positive) - w * denoiser(x, t, negative)


def parse_points(raw: Sequence[Sequence[float]]) -> tuple[tuple[float, float], ...]:
    """TOML [[t/T, w], ...] -> tuple of float pairs."""
    return tuple((float(a), float(b)) for a, b in raw)
