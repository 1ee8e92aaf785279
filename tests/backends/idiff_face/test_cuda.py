"""The IDiff-Face UNet and a guided generation run on a CUDA device."""

from __future__ import annotations

import json

import pytest
import torch
from fixture_files import FIXTURES
from safetensors.torch import load_file

from facesynth_bench.backends.idiff_face.loader import IDiffFaceDenoiser, unet_config_from
from facesynth_bench.backends.idiff_face.unet import ConditionalUNet

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA"),
]


@pytest.fixture(scope="module")
def fixture_unet():
    tensors = load_file(str(FIXTURES / "idiff_unet_small.safetensors"))
    args = json.loads((FIXTURES / "idiff_unet_small.json").read_text())["constructor_args"]
    unet = ConditionalUNet(unet_config_from(args)).eval()
    unet.load_state_dict({k: v for k, v in tensors.items() if not k.startswith("__")})
    return unet.cuda().to(memory_format=torch.channels_last), tensors


@torch.no_grad()
def test_fp32_on_cuda_reproduces_the_fixture(fixture_unet, monkeypatch) -> None:
    unet, io = fixture_unet
    monkeypatch.setattr(torch.backends.cuda.matmul, "allow_tf32", False)
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", False)
    x, t, c = (io[k].cuda() for k in ("__input_x", "__input_t", "__input_c"))
    torch.testing.assert_close(unet(x, t, c).cpu(), io["__output"], atol=1e-4, rtol=1e-4)


@torch.no_grad()
def test_bf16_autocast_stays_close(fixture_unet) -> None:
    unet, io = fixture_unet
    denoiser = IDiffFaceDenoiser(unet, torch.device("cuda"), "bf16")
    x, t, c = (io[k].cuda() for k in ("__input_x", "__input_t", "__input_c"))
    out = denoiser.bind(c)(x, t).cpu()
    assert out.dtype == torch.float32
    error = (out - io["__output"]).abs().max().item()
    assert error < 0.05 * io["__output"].abs().max().item()
