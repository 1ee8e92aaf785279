"""Beta schedules and the derived DDPM tables (Ho et al. 2020; Nichol & Dhariwal 2021)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from facesynth_bench.errors import FsbenchError


def linear_betas(num_timesteps: int, start: float = 1e-4, end: float = 0.02) -> Tensor:
    """Linear betas from `start` to `end`, scaled by 1000/T (DDPM; IDiff-Face), float64."""
    if num_timesteps < 1:
        raise FsbenchError(f"num_timesteps must be >= 1, got {num_timesteps}")
    scale = 1000.0 / num_timesteps
    return torch.linspace(start * scale, end * scale, num_timesteps, dtype=torch.float64)


def cosine_betas(num_timesteps: int, offset: float = 0.008, max_beta: float = 0.999) -> Tensor:
    """Cosine betas: abar(t) = cos^2((t/T + s)/(1 + s) pi/2) (Nichol & Dhariwal 2021, eq. 17)."""
    if num_timesteps < 1:
        raise FsbenchError(f"num_timesteps must be >= 1, got {num_timesteps}")
    steps = torch.arange(num_timesteps + 1, dtype=torch.float64) / num_timesteps
    alpha_bar = torch.cos((steps + offset) / (1 + offset) * math.pi / 2) ** 2
    return (1 - alpha_bar[1:] / alpha_bar[:-1]).clamp(max=max_beta)


BETA_SCHEDULES = {"linear": linear_betas, "cosine": cosine_betas}


@dataclass(frozen=True)
class NoiseSchedule:
    """The forward process q(x_t | x_0) = N(sqrt(abar_t) x_0, (1 - abar_t) I), t in [0, T).

    Tables are float64 on the CPU; samplers index them with Python ints.
    """

    betas: Tensor

    @classmethod
    def named(cls, name: str, num_timesteps: int) -> NoiseSchedule:
        """Build the `linear` or `cosine` schedule with `num_timesteps` training steps."""
        if name not in BETA_SCHEDULES:
            raise FsbenchError(
                f"unknown beta schedule {name!r}; choose from {', '.join(BETA_SCHEDULES)}"
            )
        return cls(BETA_SCHEDULES[name](num_timesteps))

    @property
    def num_timesteps(self) -> int:
        """T, the number of training timesteps."""
        return self.betas.shape[0]

    @property
    def alphas(self) -> Tensor:
        """alpha_t = 1 - beta_t."""
        return 1 - self.betas

    @property
    def alpha_bars(self) -> Tensor:
        """abar_t = prod_{s<=t} alpha_s."""
        return torch.cumprod(self.alphas, dim=0)

    def alpha_bars_at(self, t: Tensor, like: Tensor) -> Tensor:
        """abar_t of timesteps t (B,) in like's dtype and device, shaped (B, 1, ...)."""
        alpha_bars = self.alpha_bars.to(like.device)[t.to(like.device)].to(like.dtype)
        return alpha_bars.reshape(-1, *([1] * (like.ndim - 1)))

    def add_noise(self, x0: Tensor, t: Tensor, noise: Tensor) -> Tensor:
        """x_t ~ q(x_t | x_0): sqrt(abar_t) x0 + sqrt(1 - abar_t) noise, per sample t (B,)."""
        alpha_bars = self.alpha_bars_at(t, x0)
        return alpha_bars.sqrt() * x0 + (1 - alpha_bars).sqrt() * noise

    def describe(self) -> dict[str, object]:
        """A JSON-able summary for provenance records."""
        return {
            "num_timesteps": self.num_timesteps,
            "beta_first": float(self.betas[0]),
            "beta_last": float(self.betas[-1]),
        }
