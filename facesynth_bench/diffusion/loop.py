"""The sampling loop: x_T -> x_0 with any sampler, any eps(x, t) and supplied noise."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from facesynth_bench.diffusion.denoiser import BoundDenoiser
from facesynth_bench.diffusion.samplers import Sampler
from facesynth_bench.diffusion.schedules import NoiseSchedule

NoiseSource = Callable[[int], Tensor]
"""noise(step_index) -> a standard normal tensor shaped like x, on x's device."""


@torch.no_grad()
def run_sampler(
    eps: BoundDenoiser,
    x_T: Tensor,
    sampler: Sampler,
    schedule: NoiseSchedule,
    noise: NoiseSource,
    on_step: Callable[[int], None] | None = None,
) -> Tensor:
    """Denoise x_T (B, ...) through the sampler's timesteps; returns x_0 in latent units."""
    x = x_T
    steps = sampler.timesteps(schedule)
    for i, (t, t_prev) in enumerate(zip(steps, [*steps[1:], -1], strict=True)):
        t_batch = torch.full((x.shape[0],), t, device=x.device, dtype=torch.long)
        prediction = eps(x, t_batch)
        fresh = noise(i) if sampler.needs_noise(t, t_prev, schedule) else None
        x = sampler.step(prediction, t, t_prev, x, schedule, fresh)
        if on_step is not None:
            on_step(i)
    return x
