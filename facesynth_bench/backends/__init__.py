"""Generator backends: a loaded model = denoiser + latent shape + schedule + decoder.

A backend is a function `load(checkpoint, options, device) -> GeneratorModel`, registered
in `BACKENDS` under a name that presets refer to. Third-party packages add backends
through the entry-point group `facesynth_bench.backends`, e.g. in their pyproject.toml:

    [project.entry-points."facesynth_bench.backends"]
    my_model = "my_package.backend:load"

The samplers, guidance schedules and negative strategies in `facesynth_bench.diffusion`
work with every backend unchanged: they only call `model.denoiser(x, t, context)`. What a
backend offers beyond that it declares in `model.capabilities` (`BackendCapabilities`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import torch
from torch import Tensor

from facesynth_bench.diffusion.denoiser import Denoiser
from facesynth_bench.diffusion.schedules import NoiseSchedule
from facesynth_bench.errors import FsbenchError
from facesynth_bench.registry import Registry


@dataclass(frozen=True)
class Contexts:
    """N identity contexts (N, C) float32 with a string id each, and where they came from."""

    vectors: torch.Tensor
    ids: list[str]
    source: str

    def __len__(self) -> int:
        return self.vectors.shape[0]

    def head(self, n: int) -> Contexts:
        """The first n contexts."""
        return Contexts(self.vectors[:n], self.ids[:n], self.source)


@dataclass(frozen=True)
class BackendCapabilities:
    """What a backend declares about itself, read by generation instead of probing the model.

    Attributes:
        synthetic_contexts: the model makes its own identity contexts with
            `synthetic_contexts(n, seed) -> Contexts` (for presets with contexts source
            "backend").
        aligned_output: its images are aligned face crops already, so generation refuses
            to align them again.
        default_batch_size: images per denoiser batch when the user names none (part of
            a run's identity, so a fixed number per backend).
    """

    synthetic_contexts: bool = False
    aligned_output: bool = False
    default_batch_size: int = 16

    def __post_init__(self) -> None:
        if self.default_batch_size < 1:
            raise FsbenchError(
                f"backend default_batch_size must be >= 1, got {self.default_batch_size}"
            )


@runtime_checkable
class GeneratorModel(Protocol):
    """What a backend's `load` returns.

    Attributes:
        denoiser: the epsilon model eps(x_t, t, context), see `Denoiser`.
        latent_shape: shape of one sample x_t without the batch axis, e.g. (3, 32, 32).
        context_dim: length C of one raw identity context (512 for IDiff-Face).
        schedule: the noise schedule the denoiser was trained with.
        image_size: (height, width) of decoded images in pixels.
        capabilities: what else it offers (`BackendCapabilities`); a model declaring
            synthetic_contexts also has `synthetic_contexts(n, seed) -> Contexts`.
    """

    denoiser: Denoiser
    latent_shape: tuple[int, ...]
    context_dim: int
    schedule: NoiseSchedule
    image_size: tuple[int, int]
    capabilities: BackendCapabilities

    def decode(self, latents: Tensor) -> Tensor:
        """Latents (B, *latent_shape) -> images float in [0, 1], (B, 3, H, W)."""
        ...

    def describe(self) -> dict[str, Any]:
        """JSON-able provenance: backend name, checkpoint path and hash, config."""
        ...


class BackendLoader(Protocol):
    """Signature of a backend entry: build the model from a checkpoint and options."""

    def __call__(
        self, checkpoint: Path | None, options: dict[str, Any], device: torch.device
    ) -> GeneratorModel: ...


BACKENDS: Registry[BackendLoader] = Registry("backend", group="facesynth_bench.backends")
BACKENDS.register("idiff_face", "facesynth_bench.backends.idiff_face.loader:load_idiff_face")
# The embedded default; its package exposes `load` with the BackendLoader signature.
BACKENDS.register("latent_dcgan", "facesynth_bench.backends.latent_dcgan:load")
