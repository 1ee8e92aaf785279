"""DDPM and DDIM update rules as pure functions of (eps, t, t_prev, x_t, schedule, noise).

Timesteps are 0-based training indices; `t_prev = -1` means "the clean sample" with
abar = 1. Scalars come from the float64 schedule tables; tensor math stays in x's dtype.
Samplers are registered by name in `SAMPLERS` (entry-point group `facesynth_bench.samplers`)
as a `SamplerRule`: a step function and whether a step draws fresh noise.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from facesynth_bench.errors import FsbenchError
from facesynth_bench.registry import Registry

if TYPE_CHECKING:
    from torch import Tensor

    from facesynth_bench.diffusion.schedules import NoiseSchedule


def alpha_bar(schedule: NoiseSchedule, t: int) -> float:
    """abar_t as a Python float, with abar_{-1} = 1 (no noise)."""
    return 1.0 if t < 0 else float(schedule.alpha_bars[t])


def predicted_x0(eps: Tensor, t: int, x: Tensor, schedule: NoiseSchedule) -> Tensor:
    """x0 = (x_t - sqrt(1 - abar_t) eps) / sqrt(abar_t) (Ho et al. 2020, eq. 15)."""
    abar = alpha_bar(schedule, t)
    return (x - math.sqrt(1 - abar) * eps) / math.sqrt(abar)


def ddpm_step(
    eps: Tensor, t: int, t_prev: int, x: Tensor, schedule: NoiseSchedule, noise: Tensor | None
) -> Tensor:
    """Ancestral DDPM step x_t -> x_{t_prev} (Ho et al. 2020, Algorithm 2, sigma_t^2 = beta_t).

    With t_prev = t - 1 this is exactly the paper's step; larger strides use the respaced
    beta = 1 - abar_t / abar_prev. No noise is added on the step to t_prev = -1.
    """
    alpha = alpha_bar(schedule, t) / alpha_bar(schedule, t_prev)
    beta = 1 - alpha
    mean = (x - beta / math.sqrt(1 - alpha_bar(schedule, t)) * eps) / math.sqrt(alpha)
    if t_prev < 0:
        return mean
    if noise is None:
        raise FsbenchError("ddpm_step needs noise for every step except the last")
    return mean + math.sqrt(beta) * noise


def ddim_sigma(t: int, t_prev: int, schedule: NoiseSchedule, eta: float) -> float:
    """sigma = eta sqrt((1 - abar_prev)/(1 - abar_t)) sqrt(1 - abar_t/abar_prev) (DDIM eq. 16)."""
    if eta == 0:
        return 0.0
    abar, abar_prev = alpha_bar(schedule, t), alpha_bar(schedule, t_prev)
    return eta * math.sqrt((1 - abar_prev) / (1 - abar) * (1 - abar / abar_prev))


def ddim_step(
    eps: Tensor,
    t: int,
    t_prev: int,
    x: Tensor,
    schedule: NoiseSchedule,
    eta: float,
    noise: Tensor | None,
) -> Tensor:
    """DDIM step x_t -> x_{t_prev} (Song et al. 2021, eq. 12), textbook abar_prev."""
    abar_prev = alpha_bar(schedule, t_prev)
    sigma = ddim_sigma(t, t_prev, schedule, eta)
    x0 = predicted_x0(eps, t, x, schedule)
    out = math.sqrt(abar_prev) * x0 + math.sqrt(max(1 - abar_prev - sigma**2, 0.0)) * eps
    if sigma > 0:
        if noise is None:
            raise FsbenchError("ddim_step with eta > 0 needs noise")
        out = out + sigma * noise
    return out


StepFunction = Callable[
    ["Tensor", int, int, "Tensor", "NoiseSchedule", float, "Tensor | None"], "Tensor"
]
"""step(eps, t, t_prev, x_t, schedule, eta, noise) -> x_{t_prev}."""


@dataclass(frozen=True)
class SamplerRule:
    """A registered sampler: its step, whether step t -> t_prev draws noise, and if eta applies."""

    step: StepFunction
    needs_noise: Callable[[int, int, NoiseSchedule, float], bool]
    uses_eta: bool = False


SAMPLERS: Registry[SamplerRule] = Registry("sampler", group="facesynth_bench.samplers")
SAMPLERS.register(
    "ddpm",
    SamplerRule(
        lambda eps, t, t_prev, x, schedule, eta, noise: ddpm_step(
            eps, t, t_prev, x, schedule, noise
        ),
        lambda t, t_prev, schedule, eta: t_prev >= 0,
    ),
)
SAMPLERS.register(
    "ddim",
    SamplerRule(
        ddim_step,
        lambda t, t_prev, schedule, eta: ddim_sigma(t, t_prev, schedule, eta) > 0,
        uses_eta=True,
    ),
)


@dataclass(frozen=True)
class Sampler:
    """A registered sampler by name (`ddpm`, `ddim`, ...), its number of steps and eta."""

    name: str
    steps: int
    eta: float = 0.0

    def __post_init__(self) -> None:
        SAMPLERS.get(self.name)  # an unknown name lists the registered ones
        if self.steps < 1:
            raise FsbenchError(f"sampler steps must be >= 1, got {self.steps}")
        if self.eta < 0:
            raise FsbenchError(f"sampler eta must be >= 0, got {self.eta}")

    def timesteps(self, schedule: NoiseSchedule) -> list[int]:
        """Descending training timesteps visited: floor(i T / steps) for i = steps-1 .. 0."""
        total = schedule.num_timesteps
        if self.steps > total:
            raise FsbenchError(
                f"{self.name} with {self.steps} steps exceeds the schedule's T = {total}"
            )
        return [i * total // self.steps for i in reversed(range(self.steps))]

    @property
    def rule(self) -> SamplerRule:
        """The registered step and noise rule of this sampler."""
        return SAMPLERS.get(self.name)

    def needs_noise(self, t: int, t_prev: int, schedule: NoiseSchedule) -> bool:
        """Whether the step t -> t_prev draws fresh noise."""
        return self.rule.needs_noise(t, t_prev, schedule, self.eta)

    def step(
        self,
        eps: Tensor,
        t: int,
        t_prev: int,
        x: Tensor,
        schedule: NoiseSchedule,
        noise: Tensor | None,
    ) -> Tensor:
        """One update x_t -> x_{t_prev}."""
        return self.rule.step(eps, t, t_prev, x, schedule, self.eta, noise)
