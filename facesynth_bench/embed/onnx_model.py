"""The `onnx` embedder: insightface-style ONNX recognition models through onnxruntime.

The input name, layout (NCHW or NHWC) and size are read from the graph's first input.
Normalisation `arcface` feeds (x - 127.5)/127.5 in RGB, as insightface's ArcFaceONNX
does for graphs without their own normalisation; `raw` feeds x in [0, 255] for graphs
that normalise inside (insightface detects those by Sub/Mul nodes at the start).
Flip TTA sums the features of each image and its mirror before L2 normalisation.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from facesynth_bench.atomic_files import sha256_file
from facesynth_bench.embed.base import Embedder, l2_normalise
from facesynth_bench.errors import FsbenchError

NORMALISATIONS = {"arcface": (127.5, 127.5), "raw": (0.0, 1.0)}


class OnnxEmbedder(Embedder):
    """An ONNX face recognition graph run by onnxruntime."""

    name = "onnx"
    supports_flip = True

    def __init__(
        self, path: Path, device: str = "auto", normalisation: str = "arcface", flip: bool = True
    ) -> None:
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise FsbenchError("the onnx embedder needs onnxruntime") from exc
        if normalisation not in NORMALISATIONS:
            raise FsbenchError(
                f"onnx normalisation {normalisation!r}: expected one of {list(NORMALISATIONS)}"
            )
        available = ort.get_available_providers()
        if device.startswith("cuda") and "CUDAExecutionProvider" not in available:
            raise FsbenchError(f"device {device!r}: onnxruntime has no CUDA provider here")
        use_cuda = device != "cpu" and "CUDAExecutionProvider" in available
        providers = ["CUDAExecutionProvider"] if use_cuda else []
        try:
            self.session = ort.InferenceSession(
                str(path), providers=[*providers, "CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own exception classes
            raise FsbenchError(f"{path}: not a loadable ONNX model ({exc})") from exc
        graph_input = self.session.get_inputs()[0]
        self.input_name = graph_input.name
        shape = list(graph_input.shape)
        if len(shape) != 4 or 3 not in (shape[1], shape[3]):
            raise FsbenchError(f"{path}: graph input {shape} is not an image batch")
        self.channels_first = shape[1] == 3
        height, width = shape[2:4] if self.channels_first else shape[1:3]
        if not isinstance(height, int) or not isinstance(width, int):
            raise FsbenchError(f"{path}: graph input size {shape} is not fixed")
        self.input_size = (height, width)
        self.fixed_batch = shape[0] if isinstance(shape[0], int) else None
        self.dim = int(self.session.get_outputs()[0].shape[-1])
        self.normalisation_name = normalisation
        mean, std = NORMALISATIONS[normalisation]
        self._mean, self._std = np.float32(mean), np.float32(std)
        self.flip = flip
        self.model_sha256 = sha256_file(path)

    @property
    def normalisation(self) -> str:  # type: ignore[override]
        """The input normalisation and whether flip TTA is on."""
        mean, std = NORMALISATIONS[self.normalisation_name]
        return f"RGB, (x - {mean})/{std}; flip TTA {'on' if self.flip else 'off'}"

    def describe(self) -> dict[str, Any]:
        return {
            **super().describe(),
            "flip": self.flip,
            "onnx_normalisation": self.normalisation_name,
            "checkpoint_sha256": self.model_sha256,
        }

    def _run(self, x: np.ndarray) -> np.ndarray:
        if self.fixed_batch is None:
            return self.session.run(None, {self.input_name: x})[0]
        step = self.fixed_batch
        if len(x) % step:
            pad = np.zeros((step - len(x) % step, *x.shape[1:]), x.dtype)
            out = self._run(np.concatenate([x, pad]))
            return out[: len(x)]
        return np.concatenate(
            [
                self.session.run(None, {self.input_name: x[i : i + step]})[0]
                for i in range(0, len(x), step)
            ]
        )

    def embed(self, images: np.ndarray) -> np.ndarray:
        self.check_batch(images)
        x = (images.astype(np.float32) - self._mean) / self._std
        if self.flip:
            x = np.concatenate([x, x[:, :, ::-1]])
        if self.channels_first:
            x = x.transpose(0, 3, 1, 2)
        features = self._run(np.ascontiguousarray(x)).astype(np.float32)
        if self.flip:
            features = features[: len(images)] + features[len(images) :]
        return l2_normalise(features)


def create_onnx(
    checkpoint: Path | None,
    device: str = "auto",
    precision: str = "auto",
    normalisation: str = "arcface",
) -> OnnxEmbedder:
    """Registry factory: `checkpoint` is the .onnx file (precision is the graph's own)."""
    if checkpoint is None:
        raise FsbenchError("the onnx embedder needs a checkpoint (a .onnx file)")
    if not Path(checkpoint).is_file():
        raise FsbenchError(f"{checkpoint}: no such ONNX file")
    return OnnxEmbedder(Path(checkpoint), device, normalisation)
