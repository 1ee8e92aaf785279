"""Shared fixtures: the DDPM linear schedule and the Gaussian-optimal denoiser."""

from __future__ import annotations

import pytest
from gaussian_toy import GaussianOptimalDenoiser

from facesynth_bench.diffusion.schedules import NoiseSchedule


@pytest.fixture
def linear_schedule() -> NoiseSchedule:
    return NoiseSchedule.named("linear", 1000)


@pytest.fixture
def gaussian_denoiser(linear_schedule: NoiseSchedule) -> GaussianOptimalDenoiser:
    return GaussianOptimalDenoiser(linear_schedule, mu=0.7, std=0.3)
