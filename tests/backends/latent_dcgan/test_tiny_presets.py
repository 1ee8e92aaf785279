"""The tiny-* presets of the embedded default and its two-stage identity contexts."""

from __future__ import annotations

import inspect
import json

import pytest
import torch

from facesynth_bench.backends import BACKENDS
from facesynth_bench.backends.latent_dcgan.architectures import create_denoiser, save_denoiser
from facesynth_bench.backends.latent_dcgan.contexts import two_stage_contexts, two_stage_latents
from facesynth_bench.backends.latent_dcgan.dcgan import load_dcgan_generator
from facesynth_bench.backends.latent_dcgan.denoiser import LatentDenoiserConfig
from facesynth_bench.backends.latent_dcgan.training_data import chunk_latents, embed_latents
from facesynth_bench.cli import main
from facesynth_bench.cli.generate import generate_command
from facesynth_bench.embed.dlib_resnet import DlibEmbedder
from facesynth_bench.specs import load_preset

TINY_GUIDANCE = {
    "tiny-idiff-face": ("none", 0.0),
    "tiny-negfacediff": ("constant", 0.5),
    "tiny-adaptdiff": ("linear", 1.0),
}


@pytest.mark.parametrize("name", sorted(TINY_GUIDANCE))
@pytest.mark.parametrize("variant", ["", "-ddim50"])
def test_tiny_presets_drive_latent_dcgan_with_two_stage_contexts(name, variant):
    preset = load_preset(name + variant)
    schedule, w_max = TINY_GUIDANCE[name]
    assert preset.backend == "latent_dcgan" and preset.checkpoint is None
    assert preset.guidance.name == schedule and preset.guidance.w_max == w_max
    assert preset.negatives == "far" and preset.context_source == "backend"
    assert preset.image_size == 64
    expected = ("ddim", 50) if variant else ("ddpm", 1000)
    assert (preset.sampler.name, preset.sampler.steps) == expected


def test_two_stage_latents_are_seeded_prefix_stable_and_not_training_latents():
    first = two_stage_latents(5, seed=3)
    assert torch.equal(first, two_stage_latents(5, seed=3))
    assert torch.equal(first[:2], two_stage_latents(2, seed=3))
    assert not torch.equal(first, two_stage_latents(5, seed=4))
    for seed in (0, 3):
        training = chunk_latents(seed, 0, 1000)
        assert torch.cdist(first, training).min() > 1.0
    assert first.std().item() == pytest.approx(1.0, abs=0.2)


def test_two_stage_contexts_are_dlib_embeddings_of_the_decoded_faces():
    generator, embedder = load_dcgan_generator(), DlibEmbedder()
    contexts = two_stage_contexts(generator, embedder, 3, seed=1)
    expected = embed_latents(generator, embedder, two_stage_latents(3, seed=1))
    torch.testing.assert_close(contexts.vectors, expected)
    torch.testing.assert_close(contexts.vectors.norm(dim=1), torch.ones(3))
    assert contexts.ids == ["two-stage-1-0", "two-stage-1-1", "two-stage-1-2"]
    assert "seed=1" in contexts.source


def test_generate_defaults_to_tiny_adaptdiff():
    option = inspect.signature(generate_command).parameters["generator"].default
    assert option.default == "tiny-adaptdiff"


def test_generate_runs_a_tiny_preset_with_two_stage_contexts(tmp_path):
    checkpoint = tmp_path / "eps.safetensors"
    model = create_denoiser(LatentDenoiserConfig(width=32, depth=1, cond_dim=32), seed=0)
    model.set_context_statistics(torch.randn(16, 128))
    save_denoiser(model, checkpoint, {"schedule": {"name": "linear", "num_timesteps": 1000}})
    out = tmp_path / "out"
    args = ["generate", "--generator", "tiny-adaptdiff-ddim50", "--identities", "2"]
    args += ["--images-per-identity", "1", "--out", str(out), "--checkpoint", str(checkpoint)]
    assert main([*args, "--seed", "7", "--device", "cpu"]) == 0
    record = json.loads((out / "dataset.json").read_text())
    assert record["run"]["preset"]["name"] == "tiny-adaptdiff-ddim50"
    assert record["contexts_source"] == "two-stage(dcgan+dlib, seed=7)"
    assert sorted(p.name for p in out.glob("*/*.png")) == ["0.png", "0.png"]


def test_shipped_weights_load_by_default_and_use_their_identity_context():
    model = BACKENDS.get("latent_dcgan")(None, {}, torch.device("cpu"))
    header = model.describe()["header"]
    assert header["steps"] == 48000 and header["data"]["size"] == 40000
    assert header["config"]["width"] == 512
    assert header["prediction"] == "v" and model.denoiser.prediction == "v"
    assert model.describe()["checkpoint"].endswith("assets/latent_dcgan_denoiser.safetensors")
    rng = torch.Generator().manual_seed(0)
    x, contexts = torch.randn(4, 100, generator=rng), model.synthetic_contexts(2, seed=0).vectors
    t = torch.full((4,), 300)
    first = model.denoiser(x, t, contexts[[0, 0, 0, 0]])
    other = model.denoiser(x, t, contexts[[1, 1, 1, 1]])
    assert float((first - other).abs().mean()) > 1e-3
