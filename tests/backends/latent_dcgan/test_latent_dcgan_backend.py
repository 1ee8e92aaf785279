"""The latent_dcgan backend entry: loads through the registry and drives the samplers."""

from __future__ import annotations

import pytest
import torch

import facesynth_bench.backends.latent_dcgan.model as latent_dcgan_model
from facesynth_bench.backends import BACKENDS, GeneratorModel
from facesynth_bench.backends.latent_dcgan.architectures import create_denoiser, save_denoiser
from facesynth_bench.backends.latent_dcgan.denoiser import LatentDenoiserConfig
from facesynth_bench.backends.latent_dcgan.transformer_denoiser import TransformerDenoiserConfig
from facesynth_bench.diffusion.guidance import NegativeGuidance
from facesynth_bench.diffusion.guidance_schedules import GuidanceSchedule
from facesynth_bench.diffusion.samplers import Sampler
from facesynth_bench.errors import FsbenchError

SMALL = {
    "mlp": LatentDenoiserConfig(width=64, depth=2, cond_dim=32, time_embedding_dim=16),
    "transformer": TransformerDenoiserConfig(
        width=32, depth=2, heads=2, context_tokens=2, time_embedding_dim=16
    ),
}
CPU = torch.device("cpu")


@pytest.fixture(scope="module", params=sorted(SMALL))
def checkpoint(request, tmp_path_factory):
    path = tmp_path_factory.mktemp("latent_dcgan") / f"{request.param}.safetensors"
    model = create_denoiser(SMALL[request.param], seed=2)
    model.set_context_statistics(torch.rand(64, 128, generator=torch.Generator().manual_seed(0)))
    save_denoiser(model, path, {"schedule": {"name": "linear", "num_timesteps": 50}})
    return path


def _sample(model: GeneratorModel, contexts: torch.Tensor, seed: int) -> torch.Tensor:
    """Ten DDIM steps with AdaptDiff guidance (w_max = 1, negative = reversed contexts)."""
    sampler = Sampler("ddim", 10)
    guidance = NegativeGuidance(
        model.denoiser,
        contexts,
        contexts.flip(0),
        GuidanceSchedule("linear", 1.0),
        model.schedule.num_timesteps,
    )
    rng = torch.Generator().manual_seed(seed)
    x = torch.randn(len(contexts), *model.latent_shape, generator=rng)
    steps = sampler.timesteps(model.schedule)
    for t, t_prev in zip(steps, [*steps[1:], -1], strict=True):
        eps = guidance(x, torch.full((len(x),), t))
        x = sampler.step(eps, t, t_prev, x, model.schedule, None)
    return model.decode(x)


def test_registry_loads_a_generator_model(checkpoint):
    model = BACKENDS.get("latent_dcgan")(checkpoint, {}, CPU)
    assert isinstance(model, GeneratorModel)
    assert model.latent_shape == (100,)
    assert model.context_dim == 128
    assert model.image_size == (64, 64)
    assert model.schedule.num_timesteps == 50
    described = model.describe()
    assert described["backend"] == "latent_dcgan"
    assert len(described["checkpoint_sha256"]) == 64
    assert described["header"]["architecture"] == checkpoint.stem
    assert described["header"]["config"]["width"] in (32, 64)


def test_backend_denoiser_equals_the_module_and_its_bound_form(checkpoint):
    model = BACKENDS.get("latent_dcgan")(checkpoint, {"precision": "fp32"}, CPU)
    rng = torch.Generator().manual_seed(1)
    x, context = torch.randn(3, 100, generator=rng), torch.rand(3, 128, generator=rng)
    t = torch.tensor([3, 20, 49])
    direct = model.denoiser(x, t, context)
    assert not direct.requires_grad
    torch.testing.assert_close(direct, model.denoiser.model(x, t, context).detach())
    torch.testing.assert_close(model.denoiser.bind(context)(x, t), direct, rtol=0, atol=0)


def test_a_v_prediction_network_is_converted_to_eps(checkpoint, tmp_path):
    eps_model = BACKENDS.get("latent_dcgan")(checkpoint, {}, CPU)
    network = eps_model.denoiser.model
    v_file = tmp_path / "v.safetensors"
    header = {"schedule": {"name": "linear", "num_timesteps": 50}, "prediction": "v"}
    save_denoiser(network, v_file, header)
    v_model = BACKENDS.get("latent_dcgan")(v_file, {}, CPU)
    rng = torch.Generator().manual_seed(3)
    x, context = torch.randn(3, 100, generator=rng), torch.rand(3, 128, generator=rng)
    t = torch.tensor([0, 25, 49])
    a = v_model.schedule.alpha_bars.float()[t][:, None]
    expected = (1 - a).sqrt() * x + a.sqrt() * eps_model.denoiser(x, t, context)
    torch.testing.assert_close(v_model.denoiser(x, t, context), expected)
    header["prediction"] = "x0"
    save_denoiser(network, v_file, header)
    with pytest.raises(FsbenchError, match=r"v\.safetensors: prediction 'x0'"):
        BACKENDS.get("latent_dcgan")(v_file, {}, CPU)


def test_seeded_guided_sampling_reproduces_bytes_and_decodes_to_images(checkpoint):
    model = BACKENDS.get("latent_dcgan")(checkpoint, {}, CPU)
    contexts = torch.rand(3, 128, generator=torch.Generator().manual_seed(5))
    first = _sample(model, contexts, seed=9)
    assert first.shape == (3, 3, 64, 64)
    assert float(first.min()) >= 0.0 and float(first.max()) <= 1.0
    assert torch.equal(first, _sample(model, contexts, seed=9))
    assert not torch.equal(first, _sample(model, contexts, seed=10))


def test_load_errors_name_the_problem(checkpoint, tmp_path, monkeypatch):
    loader = BACKENDS.get("latent_dcgan")
    missing = tmp_path / "latent_dcgan_denoiser.safetensors"
    monkeypatch.setattr(latent_dcgan_model, "shipped_denoiser_path", lambda: missing)
    with pytest.raises(FsbenchError, match=r"denoiser\.safetensors not found; train them"):
        loader(None, {}, CPU)
    with pytest.raises(FsbenchError, match=r"options \['colour'\]: unknown"):
        loader(checkpoint, {"colour": "blue"}, CPU)
    with pytest.raises(FsbenchError, match=r"DCGAN weights .*missing\.safetensors: file not found"):
        loader(checkpoint, {"decoder": str(tmp_path / "missing.safetensors")}, CPU)
