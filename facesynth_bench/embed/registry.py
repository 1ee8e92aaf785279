"""The embedder registry: `create_embedder(name, checkpoint=..., device=..., **options)`.

Built-ins are lazy "module:attr" factories (torch/onnxruntime/dlib import only when
chosen); third-party packages add embedders through the `facesynth_bench.embedders`
entry-point group. A factory takes (checkpoint, device, precision, **options); flip
test-time augmentation is set through the embedder contract (`Embedder.use_flip`).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

from facesynth_bench.embed.base import Embedder
from facesynth_bench.errors import FsbenchError
from facesynth_bench.registry import Registry

EmbedderFactory = Callable[..., Embedder]

EMBEDDERS: Registry[EmbedderFactory] = Registry("embedder", group="facesynth_bench.embedders")
EMBEDDERS.register("iresnet", "facesynth_bench.embed.factories:iresnet_any")
for _arch in ("18", "34", "50", "100", "200"):
    EMBEDDERS.register(f"iresnet{_arch}", f"facesynth_bench.embed.factories:iresnet{_arch}")
EMBEDDERS.register("onnx", "facesynth_bench.embed.onnx_model:create_onnx")
EMBEDDERS.register("dlib", "facesynth_bench.embed.dlib_resnet:create_dlib")

DESCRIPTIONS = {
    "iresnet": "insightface/ElasticFace iResNet .pth, architecture read from the keys",
    "iresnet18": "iResNet-18 (insightface arcface_torch layout), 112x112, 512-d, flip TTA",
    "iresnet34": "iResNet-34, 112x112, 512-d, flip TTA",
    "iresnet50": "iResNet-50, 112x112, 512-d, flip TTA",
    "iresnet100": "iResNet-100 (ElasticFace R100), 112x112, 512-d, flip TTA",
    "iresnet200": "iResNet-200, 112x112, 512-d, flip TTA",
    "onnx": "any insightface-style ONNX recognition model via onnxruntime",
    "dlib": "dlib ResNet (face-recognition-models), 150x150 chips, 128-d",
}


def create_embedder(
    name: str,
    checkpoint: Path | None = None,
    device: str = "auto",
    precision: str = "auto",
    flip: bool | None = None,
    **options: Any,
) -> Embedder:
    """Build the embedder registered as `name`, with flip TTA on or off where it has one.

    `flip` None keeps the embedder's default; an embedder without flip TTA
    (`supports_flip` False) is built anyway, with a warning when `flip` is True.
    """
    factory = EMBEDDERS.get(name)
    try:
        inspect.signature(factory).bind(checkpoint, device=device, precision=precision, **options)
    except TypeError as exc:
        raise FsbenchError(f"embedder {name!r}: bad options {sorted(options)} ({exc})") from exc
    model = factory(checkpoint, device=device, precision=precision, **options)
    if flip is not None:
        model.use_flip(flip)
    return model
