"""Our IDiff-Face UNet and VQ-f4 against fixtures made by running the originals."""

from __future__ import annotations

import json
import math

import pytest
import torch
from fixture_files import FIXTURES
from safetensors.torch import load_file

from facesynth_bench.backends.idiff_face.loader import unet_config_from
from facesynth_bench.backends.idiff_face.unet import (
    ConditionalUNet,
    UNetConfig,
    sinusoidal_features,
)
from facesynth_bench.backends.idiff_face.vq_f4 import VQConfig, VQDecoder, VQEncoder

ATOL = 1e-5


def _split(name: str) -> tuple[dict, dict]:
    tensors = load_file(str(FIXTURES / name))
    io = {k: v for k, v in tensors.items() if k.startswith("__")}
    weights = {k: v for k, v in tensors.items() if not k.startswith("__")}
    return weights, io


def _key_list(name: str) -> list[tuple[str, str]]:
    lines = (FIXTURES / name).read_text().splitlines()
    return [tuple(line.split("\t")[:2]) for line in lines]


def _ours(module: torch.nn.Module) -> list[tuple[str, str]]:
    return [(k, str(tuple(v.shape))) for k, v in module.state_dict().items()]


@pytest.fixture(scope="module")
def small_unet() -> tuple[ConditionalUNet, dict]:
    weights, io = _split("idiff_unet_small.safetensors")
    args = json.loads((FIXTURES / "idiff_unet_small.json").read_text())["constructor_args"]
    unet = ConditionalUNet(unet_config_from(args)).eval()
    unet.load_state_dict(weights, strict=True)
    return unet, io


def test_full_size_unet_keys_and_shapes_equal_the_released_layout() -> None:
    with torch.device("meta"):
        unet = ConditionalUNet(UNetConfig())
    released = [
        (k.removeprefix("eps_model."), shape)
        for k, shape in _key_list("idiff_face_unet_keys.txt")
        if k.startswith("eps_model.")
    ]
    assert _ours(unet) == released
    assert sum(p.numel() for p in unet.parameters()) == 216_341_187


@pytest.mark.parametrize(("module_type", "keys"), [(VQEncoder, "encoder"), (VQDecoder, "decoder")])
def test_full_size_vq_keys_and_shapes_equal_the_released_files(module_type, keys) -> None:
    with torch.device("meta"):
        module = module_type(VQConfig())
    assert _ours(module) == _key_list(f"vq_f4_{keys}_keys.txt")


@torch.no_grad()
def test_small_unet_reproduces_the_original_outputs(small_unet) -> None:
    unet, io = small_unet
    x, t, c = io["__input_x"], io["__input_t"], io["__input_c"]
    torch.testing.assert_close(unet(x, t, c), io["__output"], atol=ATOL, rtol=0)
    torch.testing.assert_close(unet(x, t, None), io["__output_context_none"], atol=ATOL, rtol=0)
    mask = io["__input_dropout_mask"].bool()
    torch.testing.assert_close(unet(x, t, c, mask), io["__output_dropout_mask"], atol=ATOL, rtol=0)


@torch.no_grad()
def test_precomputed_context_equals_per_step_context(small_unet) -> None:
    unet, io = small_unet
    x, t, c = io["__input_x"], io["__input_t"], io["__input_c"]
    cache = unet.encode_context(c, 2)
    torch.testing.assert_close(unet.denoise(x, t, cache), unet(x, t, c), atol=0, rtol=0)


@torch.no_grad()
def test_vq_decoder_and_encoder_reproduce_the_original_outputs() -> None:
    config = VQConfig(ch=32, ch_mult=(1, 2))
    weights, io = _split("vq_decoder_small.safetensors")
    decoder = VQDecoder(config).eval()
    decoder.load_state_dict(weights, strict=True)
    assert torch.equal(decoder.quantize.indices(io["__input"]), io["__indices"])
    # the original returns the straight-through z + (z_q - z), equal to z_q up to rounding
    torch.testing.assert_close(decoder.quantize(io["__input"]), io["__quant"], atol=1e-6, rtol=0)
    torch.testing.assert_close(decoder(io["__input"]), io["__output"], atol=ATOL, rtol=0)
    torch.testing.assert_close(
        decoder(io["__input"], force_not_quantize=True),
        io["__output_force_not_quantize"],
        atol=ATOL,
        rtol=0,
    )
    weights, io = _split("vq_encoder_small.safetensors")
    encoder = VQEncoder(config).eval()
    encoder.load_state_dict(weights, strict=True)
    torch.testing.assert_close(encoder(io["__input"]), io["__output"], atol=ATOL, rtol=0)


@torch.no_grad()
def test_bf16_weights_stay_close_to_fp32_at_every_timestep(small_unet) -> None:
    """bf16 weights on CPU (the fast path); the time embedding must stay float32."""
    unet, io = small_unet
    half = ConditionalUNet(unet.config).eval()
    half.load_state_dict(unet.state_dict())
    half = half.to(torch.bfloat16)
    x, c = io["__input_x"], io["__input_c"]
    for step in (999, 500, 1):
        t = torch.full((2,), step)
        reference = unet(x, t, c)
        out = half(x.to(torch.bfloat16), t, c.to(torch.bfloat16)).float()
        assert (out - reference).abs().max() < 0.05 * reference.abs().max()


def test_sinusoidal_features_follow_the_formula_in_float32() -> None:
    t = torch.tensor([0, 1, 500, 999])
    half = torch.arange(48, dtype=torch.float64) / 48
    args = t[:, None].double() * torch.exp(-math.log(10000.0) * half)[None]
    expected = torch.cat([torch.cos(args), torch.sin(args)], dim=-1)
    features = sinusoidal_features(t, 96)
    assert features.dtype == torch.float32
    torch.testing.assert_close(features.double(), expected, atol=2e-4, rtol=0)
