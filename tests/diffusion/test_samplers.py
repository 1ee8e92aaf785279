"""DDPM/DDIM against closed forms: posterior means, Gaussian marginals, determinism."""

from __future__ import annotations

import math

import pytest
import torch
from fixture_files import FIXTURES
from gaussian_toy import GaussianOptimalDenoiser, marginal_std
from safetensors.torch import load_file

from facesynth_bench.diffusion import samplers
from facesynth_bench.diffusion.samplers import (
    SAMPLERS,
    Sampler,
    SamplerRule,
    ddim_sigma,
    ddim_step,
    ddpm_step,
)
from facesynth_bench.diffusion.schedules import NoiseSchedule, cosine_betas, linear_betas
from facesynth_bench.errors import FsbenchError
from facesynth_bench.registry import Registry


def test_linear_schedule_matches_the_original_buffers() -> None:
    path = FIXTURES / "idiff_ddpm_schedule_linear_T1000.safetensors"
    buffers = load_file(str(path))
    schedule = NoiseSchedule(linear_betas(1000))
    torch.testing.assert_close(schedule.betas.float(), buffers["betas"], atol=3e-9, rtol=0)
    torch.testing.assert_close(
        schedule.alpha_bars.float(), buffers["alpha_bars"], atol=2e-6, rtol=0
    )
    torch.testing.assert_close(
        torch.sqrt(schedule.betas).float(), buffers["sigmas"], atol=3e-8, rtol=0
    )


def test_linear_betas_scale_with_t_count_and_cosine_follows_its_definition() -> None:
    assert linear_betas(500)[0].item() == pytest.approx(2e-4)
    assert linear_betas(500)[-1].item() == pytest.approx(0.04)
    abar = torch.cumprod(1 - cosine_betas(1000), 0)
    f = lambda t: math.cos((t / 1000 + 0.008) / 1.008 * math.pi / 2) ** 2  # noqa: E731
    assert abar[499].item() == pytest.approx(f(500) / f(0), rel=1e-9)


def test_ddpm_step_mean_is_the_true_posterior_mean(linear_schedule: NoiseSchedule) -> None:
    """With the true noise as eps, the DDPM mean is mu~(x_t, x0) of Ho et al. eq. 7."""
    gen = torch.Generator().manual_seed(0)
    x0, noise = torch.randn(4, 8, generator=gen), torch.randn(4, 8, generator=gen)
    for t in (1, 10, 500, 999):
        abar, abar_prev = (linear_schedule.alpha_bars[i].item() for i in (t, t - 1))
        beta = linear_schedule.betas[t].item()
        xt = math.sqrt(abar) * x0 + math.sqrt(1 - abar) * noise
        posterior_mean = (math.sqrt(abar_prev) * beta / (1 - abar)) * x0 + (
            math.sqrt(1 - beta) * (1 - abar_prev) / (1 - abar)
        ) * xt
        stepped = ddpm_step(noise, t, t - 1, xt, linear_schedule, torch.zeros_like(xt))
        torch.testing.assert_close(stepped, posterior_mean, atol=1e-5, rtol=1e-5)
        # the ancestral noise has sigma_t = sqrt(beta_t)
        ones = torch.ones_like(xt)
        delta = ddpm_step(noise, t, t - 1, xt, linear_schedule, ones) - stepped
        torch.testing.assert_close(delta, ones * math.sqrt(beta), atol=1e-6, rtol=0)


def test_ddpm_adds_no_noise_on_the_last_step(linear_schedule: NoiseSchedule) -> None:
    x, eps = torch.randn(3, 5), torch.randn(3, 5)
    assert torch.equal(
        ddpm_step(eps, 0, -1, x, linear_schedule, None),
        ddpm_step(eps, 0, -1, x, linear_schedule, torch.randn(3, 5)),
    )
    assert not Sampler("ddpm", 1000).needs_noise(0, -1, linear_schedule)


def test_ddim_with_the_true_noise_lands_on_the_forward_marginal(linear_schedule) -> None:
    """eta = 0 and eps = the true noise: x_prev = sqrt(abar_prev) x0 + sqrt(1-abar_prev) eps."""
    x0, noise = torch.randn(2, 6, dtype=torch.float64), torch.randn(2, 6, dtype=torch.float64)
    t, t_prev = 700, 350
    abar, abar_prev = (linear_schedule.alpha_bars[i].item() for i in (t, t_prev))
    xt = math.sqrt(abar) * x0 + math.sqrt(1 - abar) * noise
    out = ddim_step(noise, t, t_prev, xt, linear_schedule, 0.0, None)
    expected = math.sqrt(abar_prev) * x0 + math.sqrt(1 - abar_prev) * noise
    torch.testing.assert_close(out, expected, atol=1e-12, rtol=0)
    to_clean = ddim_step(noise, t, -1, xt, linear_schedule, 0.0, None)
    torch.testing.assert_close(to_clean, x0, atol=1e-12, rtol=0)


def test_ddim_eta_one_sigma_is_the_ddpm_posterior_std(linear_schedule) -> None:
    t = 400
    abar, abar_prev = (linear_schedule.alpha_bars[i].item() for i in (t, t - 1))
    beta_tilde = (1 - abar_prev) / (1 - abar) * linear_schedule.betas[t].item()
    assert ddim_sigma(t, t - 1, linear_schedule, 1.0) == pytest.approx(math.sqrt(beta_tilde))


def test_timesteps_are_descending_and_respaced() -> None:
    schedule = NoiseSchedule.named("linear", 1000)
    assert Sampler("ddpm", 1000).timesteps(schedule) == list(range(999, -1, -1))
    ddim = Sampler("ddim", 200).timesteps(schedule)
    assert ddim[:3] == [995, 990, 985] and ddim[-1] == 0 and len(ddim) == 200
    assert len(Sampler("ddim", 7).timesteps(schedule)) == 7
    with pytest.raises(FsbenchError, match="exceeds"):
        Sampler("ddim", 2000).timesteps(schedule)
    with pytest.raises(FsbenchError, match=r"unknown sampler 'euler'.*Available: ddim, ddpm"):
        Sampler("euler", 10)


def test_a_registered_sampler_is_used_by_name(
    linear_schedule: NoiseSchedule, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Plugins add samplers to SAMPLERS; Sampler dispatches through the registry only."""
    calls = []

    def halve(eps, t, t_prev, x, schedule, eta, noise):
        calls.append((t, t_prev, eta, noise is not None))
        return x / 2

    registry = Registry("sampler")
    registry.register("ddpm", SAMPLERS.get("ddpm"))
    registry.register("halving", SamplerRule(halve, lambda t, t_prev, schedule, eta: t_prev == 0))
    monkeypatch.setattr(samplers, "SAMPLERS", registry)
    sampler = Sampler("halving", 2, eta=0.5)
    x = torch.ones(3)
    for t, t_prev in zip(sampler.timesteps(linear_schedule), (0, -1), strict=True):
        noise = torch.zeros(3) if sampler.needs_noise(t, t_prev, linear_schedule) else None
        x = sampler.step(x, t, t_prev, x, linear_schedule, noise)
    assert torch.equal(x, torch.full((3,), 0.25))
    assert calls == [(500, 0, 0.5, True), (0, -1, 0.5, False)]
    assert SAMPLERS.group == "facesynth_bench.samplers"


def _run(sampler: Sampler, model, schedule: NoiseSchedule, x: torch.Tensor, seed: int):
    gen = torch.Generator().manual_seed(seed)
    steps = sampler.timesteps(schedule)
    for t, t_prev in zip(steps, [*steps[1:], -1], strict=True):
        eps = model(x, torch.full((x.shape[0],), t), None)
        noise = (
            torch.randn(x.shape, generator=gen, dtype=x.dtype)
            if sampler.needs_noise(t, t_prev, schedule)
            else None
        )
        x = sampler.step(eps, t, t_prev, x, schedule, noise)
    return x


@pytest.mark.parametrize(
    "sampler", [Sampler("ddpm", 1000), Sampler("ddim", 200), Sampler("ddim", 1000, eta=1.0)]
)
def test_samplers_draw_the_data_distribution_with_the_optimal_denoiser(
    sampler: Sampler, linear_schedule: NoiseSchedule, gaussian_denoiser: GaussianOptimalDenoiser
) -> None:
    n = 5_000
    start = torch.randn(n, 1, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    start = start * marginal_std(linear_schedule, 999, 0.3)
    out = _run(sampler, gaussian_denoiser, linear_schedule, start, seed=2)
    # standard errors: 0.3/sqrt(n) = 0.004 for the mean, 0.003 for the std
    assert out.mean().item() == pytest.approx(0.7, abs=0.012)
    assert out.std().item() == pytest.approx(0.3, abs=0.012)


def test_ddim_eta_zero_is_deterministic_and_invertible(linear_schedule, gaussian_denoiser) -> None:
    x_T = torch.randn(64, 1, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    sampler = Sampler("ddim", 1000)
    x0_a = _run(sampler, gaussian_denoiser, linear_schedule, x_T.clone(), seed=4)
    x0_b = _run(sampler, gaussian_denoiser, linear_schedule, x_T.clone(), seed=5)
    assert torch.equal(x0_a, x0_b)
    # invert: run the same ODE steps backwards from x0 to x_T
    steps = sampler.timesteps(linear_schedule)
    x = x0_a
    for t_prev, t in zip([-1, *steps[::-1][:-1]], steps[::-1], strict=True):
        eps = gaussian_denoiser(x, torch.full((x.shape[0],), max(t_prev, 0)), None)
        x = ddim_step(eps, t_prev, t, x, linear_schedule, 0.0, None)
    # the discretisation error of the inversion shrinks with the step count (0.076 at 250)
    torch.testing.assert_close(x, x_T, atol=0.03, rtol=0)
