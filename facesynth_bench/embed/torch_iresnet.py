"""The `iresnet*` embedders: insightface / ElasticFace iResNet checkpoints in torch.

Input 112x112 RGB, normalised (x/255 - 0.5)/0.5; features of the image and of its
horizontal flip are summed, then L2-normalised (insightface's "F2 add" test-time
augmentation); both halves run in one forward pass.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from facesynth_bench.atomic_files import sha256_file
from facesynth_bench.devices import autocast_for, resolve_device
from facesynth_bench.embed.base import Embedder
from facesynth_bench.embed.iresnet import (
    INPUT_SIZE,
    build_iresnet,
    detect_architecture,
    load_checkpoint_file,
    load_matching_state,
)
from facesynth_bench.errors import FsbenchError


class IResNetEmbedder(Embedder):
    """An iResNet backbone in eval mode, with flip test-time augmentation."""

    supports_flip = True
    input_size = (INPUT_SIZE, INPUT_SIZE)
    normalisation = "RGB, (x/255 - 0.5)/0.5, NCHW; flip TTA: normalise(f(x) + f(flip x))"

    def __init__(
        self,
        model: torch.nn.Module,
        arch: str,
        checkpoint_sha256: str | None,
        device: str = "auto",
        precision: str = "auto",
        flip: bool = True,
    ) -> None:
        self.device = resolve_device(device)
        self.precision = precision if self.device.type == "cuda" else "fp32"
        self.model = model.eval().to(self.device)
        self.name = f"iresnet{arch[1:]}"
        self.arch = arch
        self.dim = int(model.features.num_features)
        self.flip = flip
        self.checkpoint_sha256 = checkpoint_sha256

    def describe(self) -> dict[str, Any]:
        return {
            **super().describe(),
            "arch": self.arch,
            "flip": self.flip,
            "precision": self.precision,
            "checkpoint_sha256": self.checkpoint_sha256,
        }

    def embed_tensor(self, batch: torch.Tensor) -> torch.Tensor:
        """Embed a uint8 (N, H, W, 3) tensor on any device -> float32 (N, dim) unit rows."""
        x = batch.to(self.device, non_blocking=True).permute(0, 3, 1, 2).float()
        x = (x / 255.0 - 0.5) / 0.5
        if self.flip:
            x = torch.cat([x, torch.flip(x, dims=[3])])
        with torch.inference_mode(), autocast_for(self.device, self.precision):
            features = self.model(x).float()
        if self.flip:
            features = features[: len(batch)] + features[len(batch) :]
        # Scaled by the row's largest |value| first: the norm can neither overflow nor vanish.
        peak = features.abs().amax(dim=1, keepdim=True)
        scaled = features / peak.clamp_min(torch.finfo(features.dtype).tiny)
        return torch.nn.functional.normalize(scaled, dim=1)

    def embed(self, images: np.ndarray) -> np.ndarray:
        self.check_batch(images)
        return self.embed_tensor(torch.from_numpy(images)).cpu().numpy()


def create_iresnet(
    arch: str | None,
    checkpoint: Path | None,
    device: str = "auto",
    precision: str = "auto",
) -> IResNetEmbedder:
    """Build an iResNet embedder (flip TTA on); the architecture comes from `arch` or the
    checkpoint keys."""
    if checkpoint is None:
        raise FsbenchError(
            "iresnet embedders need a checkpoint (backbone.pth of insightface or "
            "ElasticFace; no weights ship with facesynth-bench)"
        )
    state = load_checkpoint_file(checkpoint)
    found = detect_architecture(state, str(checkpoint))
    if arch is not None and arch != found:
        raise FsbenchError(f"checkpoint {checkpoint} holds an iresnet {found}, not {arch}")
    num_features = int(state["fc.weight"].shape[0]) if "fc.weight" in state else 512
    with torch.device("meta"):
        model = build_iresnet(found, num_features=num_features)
    model = model.to_empty(device="cpu")
    load_matching_state(model, state, str(checkpoint))
    return IResNetEmbedder(model, found, sha256_file(checkpoint), device, precision)
