"""The embedded default's epsilon model over the DCGAN latent z, conditioned on dlib embeddings.

A residual MLP with FiLM conditioning (Perez et al. 2018): the sinusoidal time embedding
plus the projected identity context scale and shift the normalised hidden state of every
block. The identity context is standardised per dimension (dlib embeddings are not
zero-centred), projected, and - during training only - passed through contextual partial
dropout (CPD, IDiff-Face: element-wise dropout on the projected context, p = 0.25).
The null context is a zero projected context, which is also what CPD makes of a row
whose every element is dropped.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from facesynth_bench.backends.latent_dcgan.weight_files import load_weights, save_weights
from facesynth_bench.errors import FsbenchError


@dataclass(frozen=True)
class LatentDenoiserConfig:
    """Sizes of the epsilon model; the defaults are the embedded default's.

    Args:
        latent_dim: length of the diffused latent (100, the DCGAN z).
        context_dim: length of one raw identity context (128, dlib).
        width: hidden width of the residual MLP.
        depth: number of FiLM residual blocks.
        cond_dim: width of the conditioning vector (time embedding + projected context).
        time_embedding_dim: length of the sinusoidal timestep embedding (even).
        context_dropout: CPD probability of zeroing each projected-context element.
    """

    latent_dim: int = 100
    context_dim: int = 128
    width: int = 512
    depth: int = 6
    cond_dim: int = 256
    time_embedding_dim: int = 128
    context_dropout: float = 0.25

    def __post_init__(self) -> None:
        for name in ("latent_dim", "context_dim", "width", "depth", "cond_dim"):
            value = getattr(self, name)
            if value < 1:
                raise FsbenchError(f"denoiser config {name}: must be >= 1, got {value}")
        if self.time_embedding_dim < 2 or self.time_embedding_dim % 2:
            raise FsbenchError(
                f"denoiser config time_embedding_dim: must be even and >= 2, "
                f"got {self.time_embedding_dim}"
            )
        if not 0.0 <= self.context_dropout < 1.0:
            raise FsbenchError(
                f"denoiser config context_dropout: must be in [0, 1), got {self.context_dropout}"
            )


def timestep_embedding(t: Tensor, dim: int, max_period: float = 10000.0) -> Tensor:
    """Sinusoidal embedding of integer timesteps (B,) -> (B, dim) float32, [cos | sin] halves.

    Frequencies max_period^(-i / (dim/2)), i = 0 .. dim/2 - 1 (Vaswani et al. 2017, sec. 3.5,
    as used by DDPM).
    """
    half = dim // 2
    exponent = torch.arange(half, device=t.device, dtype=torch.float32) / half
    angles = t.float()[:, None] * torch.exp(-math.log(max_period) * exponent)[None]
    return torch.cat([torch.cos(angles), torch.sin(angles)], dim=1)


def partial_context_dropout(
    projected: Tensor, p: float, generator: torch.Generator | None = None
) -> Tensor:
    """CPD: zero each element with probability p and scale survivors by 1/(1-p) (inverted)."""
    if p == 0.0:
        return projected
    keep = torch.rand(projected.shape, generator=generator, device=projected.device) >= p
    return projected * keep / (1.0 - p)


class FiLMResidualBlock(nn.Module):
    """h + MLP(LayerNorm(h) * (1 + scale) + shift), (scale, shift) = Linear(cond)."""

    def __init__(self, width: int, cond_dim: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(width, elementwise_affine=False)
        self.film = nn.Linear(cond_dim, 2 * width)
        self.fc1 = nn.Linear(width, width)
        self.fc2 = nn.Linear(width, width)

    def forward(self, h: Tensor, cond: Tensor) -> Tensor:
        scale, shift = self.film(cond).chunk(2, dim=1)
        y = self.norm(h) * (1 + scale) + shift
        return h + self.fc2(F.silu(self.fc1(F.silu(y))))


class LatentDenoiser(nn.Module):
    """eps(x_t, t, context) over (B, latent_dim) latents; context (B, context_dim) or None."""

    def __init__(self, config: LatentDenoiserConfig | None = None) -> None:
        super().__init__()
        self.config = config = config or LatentDenoiserConfig()
        self.register_buffer("context_mean", torch.zeros(config.context_dim))
        self.register_buffer("context_std", torch.ones(config.context_dim))
        self.context_proj = nn.Linear(config.context_dim, config.cond_dim)
        self.time_mlp = nn.Sequential(
            nn.Linear(config.time_embedding_dim, config.cond_dim),
            nn.SiLU(),
            nn.Linear(config.cond_dim, config.cond_dim),
        )
        self.input = nn.Linear(config.latent_dim, config.width)
        self.blocks = nn.ModuleList(
            FiLMResidualBlock(config.width, config.cond_dim) for _ in range(config.depth)
        )
        self.out_norm = nn.LayerNorm(config.width)
        self.output = nn.Linear(config.width, config.latent_dim)

    @torch.no_grad()
    def set_context_statistics(self, contexts: Tensor) -> None:
        """Store the per-dimension mean and std of training contexts (N, context_dim)."""
        if contexts.ndim != 2 or contexts.shape[1] != self.config.context_dim or len(contexts) < 2:
            raise FsbenchError(
                f"context statistics: expected (N >= 2, {self.config.context_dim}) contexts, "
                f"got {tuple(contexts.shape)}"
            )
        contexts = contexts.to(self.context_mean.device, torch.float32)
        self.context_mean.copy_(contexts.mean(dim=0))
        self.context_std.copy_(contexts.std(dim=0).clamp_min(1e-6))

    def project_context(self, context: Tensor | None, batch_size: int) -> Tensor:
        """Projected context (B, cond_dim): standardised, CPD in training; None -> zeros."""
        if context is None:
            return self.context_mean.new_zeros(batch_size, self.config.cond_dim)
        if context.ndim != 2 or context.shape[1] != self.config.context_dim:
            raise FsbenchError(
                f"denoiser context: expected shape (B, {self.config.context_dim}), "
                f"got {tuple(context.shape)}"
            )
        standardised = (context.to(self.context_mean.dtype) - self.context_mean) / self.context_std
        projected = self.context_proj(standardised)
        if self.training:
            projected = partial_context_dropout(projected, self.config.context_dropout)
        return projected

    def denoise(self, x: Tensor, t: Tensor, projected_context: Tensor) -> Tensor:
        """eps for latents x (B, latent_dim), int timesteps t (B,) or (), a projected context."""
        if t.ndim == 0:
            t = t.expand(x.shape[0])
        time = self.time_mlp(timestep_embedding(t, self.config.time_embedding_dim))
        cond = F.silu(time + projected_context)
        h = self.input(x)
        for block in self.blocks:
            h = block(h, cond)
        return self.output(self.out_norm(h))

    def forward(self, x: Tensor, t: Tensor, context: Tensor | None = None) -> Tensor:
        return self.denoise(x, t, self.project_context(context, x.shape[0]))

    def bind(self, context: Tensor | None) -> Callable[[Tensor, Tensor], Tensor]:
        """eps(x, t) with `context` projected once; equals self(x, t, context) in eval mode."""
        if context is None:
            return lambda x, t: self.denoise(x, t, self.project_context(None, x.shape[0]))
        projected = self.project_context(context, context.shape[0])
        return lambda x, t: self.denoise(x, t, projected)


def create_denoiser(config: LatentDenoiserConfig | None = None, seed: int = 0) -> LatentDenoiser:
    """A freshly initialised denoiser whose weights depend only on `config` and `seed`."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return LatentDenoiser(config)


def save_denoiser(model: LatentDenoiser, path: Path, header: dict[str, Any] | None = None) -> None:
    """Write weights, context statistics and config (plus `header`, e.g. seeds) to safetensors."""
    full_header = {**(header or {}), "config": asdict(model.config)}
    save_weights(Path(path), model.state_dict(), full_header)


def load_denoiser(
    path: Path, device: torch.device | str = "cpu"
) -> tuple[LatentDenoiser, dict[str, Any]]:
    """Read a denoiser written by `save_denoiser`, in eval mode on `device`, and its header."""
    state_dict, header = load_weights(Path(path), "latent-dcgan denoiser")
    try:
        config = LatentDenoiserConfig(**header["config"])
    except (KeyError, TypeError) as exc:
        raise FsbenchError(f"latent-dcgan denoiser {path}: bad or missing config ({exc})") from exc
    model = LatentDenoiser(config)
    try:
        model.load_state_dict(state_dict)
    except RuntimeError as exc:
        raise FsbenchError(
            f"latent-dcgan denoiser {path}: weights do not fit the config ({exc})"
        ) from exc
    return model.to(device).eval(), header
