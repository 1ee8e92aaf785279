"""A tiny generator backend: the worked example of docs/plugins.md and a test fixture.

eps(x, t, c) = tanh(conv3x3(x) + W c + sin(t / 10)); 3x8x8 latents, 16-d contexts,
a 50-step linear schedule, and a decoder that squashes latents to [0, 1] at 16x16.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from facesynth_bench.backends import BackendCapabilities
from facesynth_bench.diffusion.schedules import NoiseSchedule


class DummyDenoiser(nn.Module):
    """A small fixed epsilon model (weights from a seeded generator, no checkpoint)."""

    def __init__(self, context_dim: int, seed: int) -> None:
        super().__init__()
        generator = torch.Generator().manual_seed(seed)
        self.conv = nn.Conv2d(3, 3, 3, padding=1)
        self.context = nn.Linear(context_dim, 3)
        with torch.no_grad():
            for parameter in self.parameters():
                parameter.copy_(0.3 * torch.randn(parameter.shape, generator=generator))

    @torch.no_grad()
    def forward(self, x: Tensor, t: Tensor, context: Tensor | None) -> Tensor:
        h = self.conv(x) + torch.sin(t.float() / 10).view(-1, 1, 1, 1)
        if context is not None:
            h = h + self.context(context)[:, :, None, None]
        return torch.tanh(h)


class DummyGenerator:
    """GeneratorModel: latent (3, 8, 8), 16-d contexts, 16x16 images."""

    latent_shape = (3, 8, 8)
    context_dim = 16
    image_size = (16, 16)

    def __init__(self, device: torch.device, seed: int, aligned_output: bool = False) -> None:
        self.denoiser = DummyDenoiser(self.context_dim, seed).to(device)
        self.schedule = NoiseSchedule.named("linear", 50)
        self.seed = seed
        self.capabilities = BackendCapabilities(aligned_output=aligned_output, default_batch_size=4)

    def decode(self, latents: Tensor) -> Tensor:
        up = nn.functional.interpolate(latents, scale_factor=2, mode="nearest")
        return torch.sigmoid(up)

    def describe(self) -> dict[str, Any]:
        return {"backend": "dummy", "seed": self.seed}


def load(checkpoint: Path | None, options: dict[str, Any], device: torch.device):
    """The BackendLoader: options may set the weight `seed` and declare `aligned_output`."""
    return DummyGenerator(
        device, int(options.get("seed", 0)), bool(options.get("aligned_output", False))
    )
