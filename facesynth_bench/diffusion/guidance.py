"""Negative-condition guidance: eps = (1 + w_t) eps(x, t, p+) - w_t eps(x, t, p-).

AdaptDiff (the seed paper, eq. 5) with w_t from a schedule (`guidance_schedules.py`).
p+ and p- run through the denoiser as ONE batch of 2B.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from facesynth_bench.diffusion.denoiser import BoundDenoiser, Denoiser, bind_context
from facesynth_bench.diffusion.guidance_schedules import GuidanceSchedule
from facesynth_bench.errors import FsbenchError


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
