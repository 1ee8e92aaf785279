"""eps / v parameterisations: targets and the conversion back to eps (Salimans & Ho 2022)."""

from __future__ import annotations

import pytest
import torch

from facesynth_bench.diffusion.parameterisation import eps_from_output, training_target
from facesynth_bench.errors import FsbenchError


def _forward(alpha_bar, seed=0):
    g = torch.Generator().manual_seed(seed)
    x0, noise = (
        torch.randn(6, 5, generator=g, dtype=torch.float64),
        torch.randn(6, 5, generator=g, dtype=torch.float64),
    )
    return x0, noise, alpha_bar.sqrt() * x0 + (1 - alpha_bar).sqrt() * noise


@pytest.mark.parametrize("prediction", ["eps", "v"])
def test_a_perfect_prediction_gives_back_the_noise(prediction):
    alpha_bar = torch.linspace(0.001, 0.999, 6, dtype=torch.float64)[:, None]
    x0, noise, x_t = _forward(alpha_bar)
    target = training_target(prediction, x0, noise, alpha_bar)
    torch.testing.assert_close(eps_from_output(prediction, target, x_t, alpha_bar), noise)


def test_v_is_the_textbook_velocity_and_gives_x0_back():
    alpha_bar = torch.tensor([[0.3]], dtype=torch.float64)
    x0, noise, x_t = _forward(alpha_bar, seed=1)
    v = training_target("v", x0, noise, alpha_bar)
    # v = alpha eps - sigma x0 with alpha^2 + sigma^2 = 1, so x0 = alpha x_t - sigma v.
    alpha, sigma = 0.3**0.5, 0.7**0.5
    torch.testing.assert_close(v, alpha * noise - sigma * x0)
    torch.testing.assert_close(alpha * x_t - sigma * v, x0)


def test_under_a_standard_normal_prior_v_is_uncorrelated_with_x_t():
    # x0 ~ N(0, I): E[v x_t] = sqrt(abar) sqrt(1 - abar) - sqrt(1 - abar) sqrt(abar) = 0, so
    # v = 0 is the best linear guess and converts to eps = sqrt(1 - abar) x_t = E[eps | x_t].
    g = torch.Generator().manual_seed(4)
    alpha_bar = torch.tensor(0.2, dtype=torch.float64)
    x0 = torch.randn(200_000, generator=g, dtype=torch.float64)
    noise = torch.randn(200_000, generator=g, dtype=torch.float64)
    x_t = alpha_bar.sqrt() * x0 + (1 - alpha_bar).sqrt() * noise
    v = training_target("v", x0, noise, alpha_bar)
    assert abs(float((v * x_t).mean())) < 0.01
    assert abs(float((noise * x_t).mean()) - float((1 - alpha_bar).sqrt())) < 0.01
    eps = eps_from_output("v", torch.zeros_like(x_t), x_t, alpha_bar)
    torch.testing.assert_close(eps, (1 - alpha_bar).sqrt() * x_t)


def test_unknown_prediction_is_refused():
    with pytest.raises(FsbenchError, match="prediction 'x0'"):
        training_target("x0", torch.zeros(1), torch.zeros(1), torch.ones(1))
