"""The DCGAN decoder: converted weights reproduce the original network's images."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from facesynth_bench.backends.latent_dcgan.dcgan import (
    DCGANGenerator,
    convert_tutorial_state_dict,
    decode_latents,
    default_weights_path,
    load_dcgan_generator,
)
from facesynth_bench.backends.latent_dcgan.weight_files import load_weights
from facesynth_bench.errors import FsbenchError

FIXTURE = Path(__file__).parent / "fixtures" / "dcgan_reference.safetensors"


@pytest.fixture(scope="module")
def generator() -> DCGANGenerator:
    return load_dcgan_generator()


def test_shipped_weights_reproduce_the_original_images_within_one_level(generator):
    # The fixture holds the ORIGINAL float32 weights' images, made by the conversion script
    # through a separate literal nn.Sequential build of the tutorial network.
    reference = load_file(str(FIXTURE))
    images = decode_latents(generator, reference["__latents"])
    assert images.shape == (8, 3, 64, 64)
    assert images.dtype == torch.float32
    assert float((images - reference["__images"]).abs().max()) < 1 / 255
    # The images are real pictures, not a constant: pixels span most of [0, 1].
    assert float(reference["__images"].std()) > 0.1


def test_decoding_is_deterministic_and_independent_of_batch_size(generator):
    z = torch.randn(5, 100, generator=torch.Generator().manual_seed(3))
    first = decode_latents(generator, z, batch_size=5)
    again = decode_latents(generator, z, batch_size=5)
    assert torch.equal(first, again)
    torch.testing.assert_close(decode_latents(generator, z, batch_size=2), first)
    assert float(first.min()) >= 0.0
    assert float(first.max()) <= 1.0


def test_decode_rejects_wrong_latent_shape(generator):
    with pytest.raises(FsbenchError, match=r"expected shape \(N, 100\)"):
        decode_latents(generator, torch.zeros(2, 64))


def test_decode_of_no_latents_is_an_empty_batch(generator):
    assert decode_latents(generator, torch.zeros(0, 100)).shape == (0, 3, 64, 64)


def test_shipped_weights_carry_their_origin_and_a_notice():
    path = default_weights_path()
    _, header = load_weights(path, "DCGAN weights")
    notice = (path.parent / "NOTICE").read_text(encoding="utf-8")
    assert header["config"] == {"latent_dim": 100, "width": 64, "channels": 3}
    assert header["origin_sha256"] in notice
    assert "Permission is hereby granted, free of charge" in notice
    assert "gan-face-generate 1.1.1" in notice


def test_missing_or_corrupt_weights_name_the_file(tmp_path):
    missing = tmp_path / "absent.safetensors"
    with pytest.raises(FsbenchError, match=r"absent\.safetensors: file not found"):
        load_dcgan_generator(missing)
    corrupt = tmp_path / "corrupt.safetensors"
    corrupt.write_bytes(b"not a safetensors file at all")
    with pytest.raises(FsbenchError, match=r"corrupt\.safetensors: not a readable"):
        load_dcgan_generator(corrupt)


def test_tutorial_keys_map_onto_our_layout():
    tutorial_keys = {
        "main.0.weight": "blocks.0.conv.weight",
        "main.4.running_var": "blocks.1.norm.running_var",
        "main.10.num_batches_tracked": "blocks.3.norm.num_batches_tracked",
        "main.12.weight": "to_rgb.weight",
    }
    converted = convert_tutorial_state_dict({key: torch.zeros(1) for key in tutorial_keys})
    assert sorted(converted) == sorted(tutorial_keys.values())
    assert set(DCGANGenerator().state_dict()) >= set(converted)


@pytest.mark.parametrize("key", ["netG.0.weight", "main.2.weight", "main.weight"])
def test_foreign_checkpoint_keys_are_refused(key):
    with pytest.raises(FsbenchError, match=key.replace(".", r"\.")):
        convert_tutorial_state_dict({key: torch.zeros(1)})


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_decoding_matches_cpu(generator):
    reference = load_file(str(FIXTURE))
    on_gpu = decode_latents(load_dcgan_generator(device="cuda"), reference["__latents"].cuda())
    assert float((on_gpu.cpu() - reference["__images"]).abs().max()) < 1 / 255
