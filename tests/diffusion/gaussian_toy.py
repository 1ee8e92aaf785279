"""Toy denoisers with closed-form optimal eps: data x0 ~ N(mu, s^2) per coordinate."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from facesynth_bench.diffusion.schedules import NoiseSchedule


class GaussianOptimalDenoiser:
    """E[eps | x_t] = sqrt(1 - abar) (x_t - sqrt(abar) mu) / (abar s^2 + 1 - abar)."""

    def __init__(self, schedule: NoiseSchedule, mu: float, std: float) -> None:
        self.alpha_bars = schedule.alpha_bars
        self.mu = mu
        self.var = std**2

    def __call__(self, x: Tensor, t: Tensor, context: Tensor | None) -> Tensor:
        abar = self.alpha_bars[t].to(x.dtype).view(-1, *([1] * (x.dim() - 1)))
        shift = torch.zeros_like(x) if context is None else context.view_as(x[:, :1]).to(x.dtype)
        marginal_var = abar * self.var + 1 - abar
        return torch.sqrt(1 - abar) * (x - torch.sqrt(abar) * (self.mu + shift)) / marginal_var


def marginal_std(schedule: NoiseSchedule, t: int, std: float) -> float:
    """Std of x_t under the forward process for data std `std`."""
    abar = float(schedule.alpha_bars[t])
    return math.sqrt(abar * std**2 + 1 - abar)
