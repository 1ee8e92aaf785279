"""q(x_t | x_0) on the noise schedule, against the textbook formula."""

from __future__ import annotations

import math

import torch

from facesynth_bench.diffusion.schedules import NoiseSchedule


def test_add_noise_is_the_forward_marginal(linear_schedule: NoiseSchedule) -> None:
    """x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) eps (Ho et al. 2020, eq. 4), per sample."""
    gen = torch.Generator().manual_seed(0)
    x0 = torch.randn(4, 3, 2, 2, generator=gen, dtype=torch.float64)
    noise = torch.randn(4, 3, 2, 2, generator=gen, dtype=torch.float64)
    t = torch.tensor([0, 10, 500, 999])
    x_t = linear_schedule.add_noise(x0, t, noise)
    for row, step in enumerate(t.tolist()):
        abar = float(torch.prod(1 - linear_schedule.betas[: step + 1]))
        expected = math.sqrt(abar) * x0[row] + math.sqrt(1 - abar) * noise[row]
        torch.testing.assert_close(x_t[row], expected, atol=1e-12, rtol=0)


def test_add_noise_keeps_the_dtype_and_broadcasts_over_features(
    linear_schedule: NoiseSchedule,
) -> None:
    x0, noise = torch.ones(2, 5), torch.zeros(2, 5)
    x_t = linear_schedule.add_noise(x0, torch.tensor([0, 999]), noise)
    assert x_t.dtype == torch.float32 and x_t.shape == (2, 5)
    abar = linear_schedule.alpha_bars[[0, 999]].float().sqrt()
    torch.testing.assert_close(x_t, abar[:, None].expand(2, 5))
