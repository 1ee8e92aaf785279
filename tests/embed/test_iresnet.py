import json

import numpy as np
import pytest
import torch
from fixture_files import FIXTURES
from recipe_iresnet18 import read_key_list

from facesynth_bench.embed.iresnet import (
    build_iresnet,
    detect_architecture,
    load_matching_state,
    normalise_state_dict,
)
from facesynth_bench.embed.registry import create_embedder
from facesynth_bench.errors import FsbenchError


@pytest.mark.parametrize(
    ("arch", "keys"),
    [("r18", "iresnet18_keys.txt"), ("r50", "iresnet50_keys.txt"), ("r100", "iresnet100_keys.txt")],
)
def test_state_dict_layout_matches_insightface(arch, keys):
    with torch.device("meta"):
        model = build_iresnet(arch)
    ours = [
        (k, tuple(v.shape), str(v.dtype).removeprefix("torch."))
        for k, v in model.state_dict().items()
    ]
    assert ours == read_key_list(keys)


def test_recipe_weights_match_fixture_checksums(recipe_weights):
    checksums = json.loads((FIXTURES / "iresnet18_small.json").read_text())["recipe_checksums"]
    for key, expected in checksums.items():
        value = recipe_weights[key].double()
        assert list(value.shape) == expected["shape"]
        assert value.sum().item() == pytest.approx(expected["sum"], rel=1e-6, abs=1e-6)


def test_recipe_forward_matches_insightface_output(recipe_weights, iresnet18_fixture):
    model = build_iresnet("r18").eval()
    load_matching_state(model, recipe_weights, "recipe")
    with torch.no_grad():
        out = model(torch.from_numpy(iresnet18_fixture["__input"])).numpy()
    np.testing.assert_allclose(out, iresnet18_fixture["__output"], atol=1e-5, rtol=0)


def test_torch_seed0_init_matches_insightface(iresnet18_fixture):
    torch.manual_seed(0)
    model = build_iresnet("r18").eval()
    with torch.no_grad():
        out = model(torch.from_numpy(iresnet18_fixture["__input"])).numpy()
    ref = iresnet18_fixture["__output_torch_seed0"]
    assert np.abs(out - ref).max() <= 1e-5 * np.abs(ref).max()


def test_embedder_loads_prefixed_checkpoint_and_applies_flip_tta(recipe_checkpoint, recipe_weights):
    embedder = create_embedder("iresnet", recipe_checkpoint, device="cpu")
    assert (embedder.name, embedder.dim, embedder.input_size) == ("iresnet18", 512, (112, 112))
    images = np.random.default_rng(3).integers(0, 256, (2, 112, 112, 3), dtype=np.uint8)
    got = embedder.embed(images)
    model = build_iresnet("r18").eval()
    load_matching_state(model, recipe_weights, "recipe")
    x = torch.from_numpy(images).permute(0, 3, 1, 2).double() / 127.5 - 1.0
    with torch.no_grad():
        model = model.double()
        summed = model(x) + model(torch.flip(x, dims=[3]))
    expected = (summed / summed.norm(dim=1, keepdim=True)).numpy()
    assert got.dtype == np.float32 and got.shape == (2, 512)
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_mismatched_checkpoint_names_first_mismatches(recipe_weights, tmp_path):
    state = dict(recipe_weights)
    del state["layer1.0.conv1.weight"]
    state["fc.bias"] = torch.zeros(7)
    state["extra.weight"] = torch.zeros(1)
    model = build_iresnet("r18")
    with pytest.raises(FsbenchError) as info:
        load_matching_state(model, state, "bad.pth")
    message = str(info.value)
    assert "1 missing: layer1.0.conv1.weight" in message
    assert "1 unexpected: extra.weight" in message
    assert "fc.bias (7,) != (512,)" in message


def test_architecture_detection_and_wrappers(recipe_weights, tmp_path):
    wrapped = {"state_dict": {f"module.{k}": v for k, v in recipe_weights.items()}}
    state = normalise_state_dict(wrapped, "x")
    assert detect_architecture(state, "x") == "r18"
    with pytest.raises(FsbenchError, match="match no iresnet"):
        detect_architecture({"layer1.0.conv1.weight": torch.zeros(1)}, "x")
    path = tmp_path / "r18.pth"
    torch.save(recipe_weights, path)
    with pytest.raises(FsbenchError, match="holds an iresnet r18, not r50"):
        create_embedder("iresnet50", path, device="cpu")


def test_pickled_code_is_refused(tmp_path):
    path = tmp_path / "evil.pth"
    torch.save({"a": object()}, path)
    with pytest.raises(FsbenchError, match=r"evil\.pth: refused"):
        create_embedder("iresnet", path, device="cpu")


@pytest.mark.cuda
def test_cuda_autocast_matches_cpu(recipe_checkpoint):
    if not torch.cuda.is_available():
        pytest.skip("needs CUDA")
    images = np.random.default_rng(4).integers(0, 256, (4, 112, 112, 3), dtype=np.uint8)
    cpu = create_embedder("iresnet", recipe_checkpoint, device="cpu").embed(images)
    for precision in ("fp32", "bf16", "fp16"):
        gpu = create_embedder("iresnet", recipe_checkpoint, device="cuda", precision=precision)
        out = gpu.embed(images)
        assert out.dtype == np.float32
        cosine = (out * cpu).sum(axis=1)
        assert cosine.min() > (0.9999 if precision == "fp32" else 0.99), precision
