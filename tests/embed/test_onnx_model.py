import numpy as np
import pytest
import torch

from facesynth_bench.embed.registry import create_embedder
from facesynth_bench.errors import FsbenchError


class TinyRecognition(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3, stride=2)
        self.fc = torch.nn.Linear(4 * 15 * 15, 16)

    def forward(self, x):
        return self.fc(torch.flatten(torch.relu(self.conv(x)), 1))


@pytest.fixture(scope="module")
def onnx_path(tmp_path_factory):
    torch.manual_seed(0)
    model = TinyRecognition().eval()
    path = tmp_path_factory.mktemp("onnx") / "tiny.onnx"
    torch.onnx.export(
        model,
        (torch.zeros(1, 3, 32, 32),),
        str(path),
        dynamo=False,
        input_names=["data"],
        dynamic_axes={"data": {0: "batch"}},
    )
    return path, model


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_onnx_matches_torch_with_arcface_normalisation_and_flip(onnx_path):
    path, model = onnx_path
    embedder = create_embedder("onnx", path, device="cpu")
    assert (embedder.input_size, embedder.dim, embedder.input_name) == ((32, 32), 16, "data")
    images = np.random.default_rng(0).integers(0, 256, (3, 32, 32, 3), dtype=np.uint8)
    x = (torch.from_numpy(images).permute(0, 3, 1, 2).float() - 127.5) / 127.5
    with torch.no_grad():
        summed = model(x) + model(torch.flip(x, dims=[3]))
    expected = torch.nn.functional.normalize(summed, dim=1).numpy()
    np.testing.assert_allclose(embedder.embed(images), expected, atol=1e-5)


def test_raw_normalisation_without_flip(onnx_path):
    path, model = onnx_path
    embedder = create_embedder("onnx", path, device="cpu", normalisation="raw", flip=False)
    images = np.random.default_rng(1).integers(0, 256, (2, 32, 32, 3), dtype=np.uint8)
    with torch.no_grad():
        out = model(torch.from_numpy(images).permute(0, 3, 1, 2).float())
    expected = torch.nn.functional.normalize(out, dim=1).numpy()
    np.testing.assert_allclose(embedder.embed(images), expected, atol=1e-5)


def test_broken_onnx_file_is_named(tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a graph")
    with pytest.raises(FsbenchError, match=r"bad\.onnx: not a loadable ONNX model"):
        create_embedder("onnx", bad, device="cpu")
