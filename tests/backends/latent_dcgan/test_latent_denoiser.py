"""The latent-dcgan epsilon models (MLP, transformer): shapes, conditioning, CPD, seeds, files."""

from __future__ import annotations

import math
from dataclasses import asdict

import pytest
import torch

from facesynth_bench.backends.latent_dcgan.architectures import (
    create_denoiser,
    load_denoiser,
    save_denoiser,
)
from facesynth_bench.backends.latent_dcgan.conditioning import (
    partial_context_dropout,
    timestep_embedding,
)
from facesynth_bench.backends.latent_dcgan.denoiser import LatentDenoiserConfig
from facesynth_bench.backends.latent_dcgan.transformer_denoiser import TransformerDenoiserConfig
from facesynth_bench.backends.latent_dcgan.weight_files import save_weights
from facesynth_bench.diffusion.denoiser import ContextBindingDenoiser, Denoiser
from facesynth_bench.diffusion.schedules import NoiseSchedule
from facesynth_bench.errors import FsbenchError

SMALL = {
    "mlp": LatentDenoiserConfig(width=64, depth=2, cond_dim=32, time_embedding_dim=16),
    "transformer": TransformerDenoiserConfig(
        width=32, depth=2, heads=2, context_tokens=2, time_embedding_dim=16
    ),
}
ARCHITECTURES = sorted(SMALL)


def _inputs(batch: int = 6, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    rng = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, 100, generator=rng)
    t = torch.randint(0, 1000, (batch,), generator=rng)
    context = torch.randn(batch, 128, generator=rng) * 0.1 + 0.05
    return x, t, context


@pytest.fixture(params=ARCHITECTURES)
def model(request):
    return create_denoiser(SMALL[request.param], seed=1).eval()


def test_default_configs_are_the_documented_architectures():
    mlp = create_denoiser()
    assert type(mlp.config) is LatentDenoiserConfig
    assert len(mlp.blocks) == 6 and mlp.input.out_features == 512
    assert mlp.config.context_dropout == 0.25
    assert sum(p.numel() for p in mlp.parameters()) == 4_966_756
    transformer = create_denoiser(TransformerDenoiserConfig())
    assert transformer.tokens == 10 and len(transformer.blocks) == 4
    assert transformer.config.context_dropout == 0.25
    assert 4_000_000 < sum(p.numel() for p in transformer.parameters()) < 6_000_000


def test_output_shape_and_dtype_for_context_null_and_scalar_t(model):
    x, t, context = _inputs()
    assert model(x, t, context).shape == (6, 100)
    assert model(x, t, None).dtype == torch.float32
    at_seven = model(x, torch.full((6,), 7), context)
    torch.testing.assert_close(model(x, torch.tensor(7), context), at_seven)


def test_conforms_to_the_denoiser_protocols(model):
    assert isinstance(model, Denoiser)
    assert isinstance(model, ContextBindingDenoiser)


def test_conditioning_and_time_change_the_output(model):
    x, t, context = _inputs()
    other = _inputs(seed=1)[2]
    base = model(x, t, context)
    assert (model(x, t, other) - base).abs().amax(dim=1).min() > 1e-4
    assert (model(x, t, None) - base).abs().amax(dim=1).min() > 1e-4
    assert (model(x, (t + 400) % 1000, context) - base).abs().amax(dim=1).min() > 1e-4


def test_rows_are_independent_of_the_rest_of_the_batch(model):
    x, t, context = _inputs()
    torch.testing.assert_close(model(x[:2], t[:2], context[:2]), model(x, t, context)[:2])


def test_timestep_embedding_matches_the_closed_form():
    emb = timestep_embedding(torch.tensor([0, 5]), 8)
    freqs = [10000 ** (-i / 4) for i in range(4)]
    expected = [math.cos(5 * f) for f in freqs] + [math.sin(5 * f) for f in freqs]
    torch.testing.assert_close(emb[1], torch.tensor(expected))
    torch.testing.assert_close(emb[0], torch.tensor([1.0] * 4 + [0.0] * 4))


def test_cpd_zeroes_a_fraction_p_and_rescales_survivors():
    values = torch.rand(400, 256) + 0.5
    dropped = partial_context_dropout(values, 0.25, torch.Generator().manual_seed(0))
    zero = dropped == 0
    assert abs(float(zero.float().mean()) - 0.25) < 0.01
    torch.testing.assert_close(dropped[~zero], values[~zero] / 0.75)
    assert partial_context_dropout(values, 0.0) is values


def test_a_fully_dropped_row_equals_the_null_context(model):
    x, t, context = _inputs()
    projected = model.project_context(context, 6)
    # With p = 0.99 most rows lose every element; with this seed some keep a few.
    dropped = partial_context_dropout(projected, 0.99, torch.Generator().manual_seed(2))
    all_dropped = (dropped == 0).all(dim=1)
    assert all_dropped.any()
    assert not all_dropped.all()
    eps = model.denoise(x, t, dropped)
    null = model(x, t, None)
    torch.testing.assert_close(eps[all_dropped], null[all_dropped], rtol=0, atol=0)
    assert (eps[~all_dropped] - null[~all_dropped]).abs().amax(dim=1).min() > 0


def test_cpd_acts_in_training_only(model):
    _, _, context = _inputs(batch=64)
    clean = model.project_context(context, 64)
    torch.testing.assert_close(model.project_context(context, 64), clean, rtol=0, atol=0)
    model.train()
    torch.manual_seed(0)
    noisy = model.project_context(context, 64)
    zero = noisy == 0
    assert 0.15 < float(zero.float().mean()) < 0.35
    torch.testing.assert_close(noisy[~zero], clean[~zero] / 0.75)


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_contexts_are_standardised_with_stored_statistics(architecture):
    contexts = torch.randn(500, 128, generator=torch.Generator().manual_seed(4)) * 0.05 + 0.3
    model = create_denoiser(SMALL[architecture], seed=1).eval()
    model.set_context_statistics(contexts)
    torch.testing.assert_close(model.context_mean, contexts.mean(0))
    plain = create_denoiser(SMALL[architecture], seed=1).eval()
    # Standardising is the same as feeding standardised contexts to an unstandardised model.
    x, t, _ = _inputs(batch=4)
    standard = (contexts[:4] - contexts.mean(0)) / contexts.std(0)
    torch.testing.assert_close(model(x, t, contexts[:4]), plain(x, t, standard))


def test_bind_equals_the_direct_call(model):
    x, t, context = _inputs()
    torch.testing.assert_close(model.bind(context)(x, t), model(x, t, context), rtol=0, atol=0)
    torch.testing.assert_close(model.bind(None)(x, t), model(x, t, None), rtol=0, atol=0)


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_seeded_init_reproduces_bytes(architecture, tmp_path):
    for name, seed in [("a", 5), ("b", 5), ("c", 6)]:
        model = create_denoiser(SMALL[architecture], seed=seed)
        save_denoiser(model, tmp_path / f"{name}.safetensors")
    a, b, c = (tmp_path / f"{n}.safetensors" for n in "abc")
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != c.read_bytes()


def test_safetensors_round_trip_keeps_outputs_statistics_and_header(model, tmp_path):
    model.set_context_statistics(torch.rand(50, 128))
    path = tmp_path / "denoiser.safetensors"
    save_denoiser(model, path, {"seed": 11, "data_size": 50})
    loaded, header = load_denoiser(path)
    assert type(loaded) is type(model)
    assert header["seed"] == 11 and header["data_size"] == 50
    assert header["config"] == asdict(model.config)
    assert not loaded.training
    x, t, context = _inputs()
    torch.testing.assert_close(loaded(x, t, context), model(x, t, context), rtol=0, atol=0)


def test_bad_inputs_raise_clear_errors(tmp_path):
    model = create_denoiser(SMALL["mlp"]).eval()
    x, t, _ = _inputs()
    with pytest.raises(FsbenchError, match=r"expected shape \(B, 128\)"):
        model(x, t, torch.zeros(6, 512))
    with pytest.raises(FsbenchError, match="context_dropout"):
        LatentDenoiserConfig(context_dropout=1.0)
    with pytest.raises(FsbenchError, match="time_embedding_dim"):
        LatentDenoiserConfig(time_embedding_dim=7)
    with pytest.raises(FsbenchError, match="multiple of chunk_size"):
        TransformerDenoiserConfig(chunk_size=7)
    mismatched = tmp_path / "mismatched.safetensors"
    other = {"architecture": "mlp", "config": asdict(LatentDenoiserConfig(width=32))}
    save_weights(mismatched, model.state_dict(), other)
    with pytest.raises(FsbenchError, match=r"mismatched\.safetensors: weights do not fit"):
        load_denoiser(mismatched)
    unknown = tmp_path / "unknown.safetensors"
    save_weights(unknown, model.state_dict(), {"architecture": "unet", "config": {}})
    with pytest.raises(FsbenchError, match="architecture 'unet': expected one of mlp, transformer"):
        load_denoiser(unknown)
    save_weights(unknown, model.state_dict(), {})
    with pytest.raises(FsbenchError, match="lacks 'architecture'"):
        load_denoiser(unknown)
    with pytest.raises(FsbenchError, match="file not found"):
        load_denoiser(tmp_path / "none.safetensors")


TOY = {
    "mlp": LatentDenoiserConfig(
        latent_dim=4, context_dim=4, width=64, depth=2, cond_dim=32, time_embedding_dim=16
    ),
    "transformer": TransformerDenoiserConfig(
        latent_dim=4,
        context_dim=4,
        chunk_size=2,
        width=32,
        depth=2,
        heads=2,
        context_tokens=2,
        time_embedding_dim=16,
    ),
}


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_a_short_training_run_learns_to_use_its_conditioning(architecture):
    # Toy task: the context IS the clean latent (4-d). With it, eps is determined by x_t;
    # without it (null context) the model can only shrink x_t, so its loss stays high.
    torch.manual_seed(0)
    schedule = NoiseSchedule.named("linear", 1000)
    model = create_denoiser(TOY[architecture], seed=0)
    model.set_context_statistics(torch.randn(1000, 4))
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)

    def loss_of(x0: torch.Tensor, use_context: bool) -> torch.Tensor:
        t = torch.randint(0, 500, (len(x0),))
        noise = torch.randn_like(x0)
        xt = schedule.add_noise(x0, t, noise)
        eps = model(xt, t, x0 if use_context else None)
        return torch.nn.functional.mse_loss(eps, noise)

    for _ in range(150):
        optimizer.zero_grad()
        loss_of(torch.randn(128, 4), True).backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        x0 = torch.randn(1024, 4)
        torch.manual_seed(1)
        conditional = float(loss_of(x0, True))
        torch.manual_seed(1)
        null = float(loss_of(x0, False))
    assert conditional < 0.25
    assert conditional < 0.5 * null


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_output_matches_cpu(model):
    x, t, context = _inputs()
    on_cpu = model(x, t, context)
    on_gpu = model.to("cuda")(x.cuda(), t.cuda(), context.cuda()).cpu()
    torch.testing.assert_close(on_gpu, on_cpu, rtol=1e-3, atol=1e-4)
