"""What every latent-dcgan epsilon model shares: time embedding, context path, CPD, binding.

The identity context is standardised per dimension (dlib embeddings are not zero-centred),
projected, and - during training only - passed through contextual partial dropout (CPD,
IDiff-Face: element-wise dropout on the projected context, p = 0.25). The null context is
a zero projected context, which is also what CPD makes of a row whose every element is
dropped.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable

import torch
from torch import Tensor, nn

from facesynth_bench.errors import FsbenchError


def check_sizes(config: object, positive: tuple[str, ...]) -> None:
    """Refuse a config whose named sizes are < 1, odd time embedding or p outside [0, 1)."""
    for name in positive:
        value = getattr(config, name)
        if value < 1:
            raise FsbenchError(f"denoiser config {name}: must be >= 1, got {value}")
    time_dim = config.time_embedding_dim
    if time_dim < 2 or time_dim % 2:
        raise FsbenchError(
            f"denoiser config time_embedding_dim: must be even and >= 2, got {time_dim}"
        )
    p = config.context_dropout
    if not 0.0 <= p < 1.0:
        raise FsbenchError(f"denoiser config context_dropout: must be in [0, 1), got {p}")


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


class ConditionedDenoiser(nn.Module, ABC):
    """eps(x_t, t, context): the shared context path; subclasses define `denoise`.

    Subclasses set `self.config` (with `context_dim` and `context_dropout`) and
    `self.context_proj` (the Linear that projects standardised contexts) in __init__.
    """

    config: object
    context_proj: nn.Linear

    def __init__(self, context_dim: int) -> None:
        super().__init__()
        self.register_buffer("context_mean", torch.zeros(context_dim))
        self.register_buffer("context_std", torch.ones(context_dim))

    @abstractmethod
    def denoise(self, x: Tensor, t: Tensor, projected_context: Tensor) -> Tensor:
        """eps for latents x (B, latent_dim), int timesteps t (B,) or (), a projected context."""

    @torch.no_grad()
    def set_context_statistics(self, contexts: Tensor) -> None:
        """Store the per-dimension mean and std of training contexts (N, context_dim)."""
        dim = self.context_mean.shape[0]
        if contexts.ndim != 2 or contexts.shape[1] != dim or len(contexts) < 2:
            raise FsbenchError(
                f"context statistics: expected (N >= 2, {dim}) contexts, "
                f"got {tuple(contexts.shape)}"
            )
        contexts = contexts.to(self.context_mean.device, torch.float32)
        self.context_mean.copy_(contexts.mean(dim=0))
        self.context_std.copy_(contexts.std(dim=0).clamp_min(1e-6))

    def project_context(self, context: Tensor | None, batch_size: int) -> Tensor:
        """Projected context (B, projected width): standardised, CPD in training; None -> 0."""
        if context is None:
            return self.context_mean.new_zeros(batch_size, self.context_proj.out_features)
        dim = self.context_mean.shape[0]
        if context.ndim != 2 or context.shape[1] != dim:
            raise FsbenchError(
                f"denoiser context: expected shape (B, {dim}), got {tuple(context.shape)}"
            )
        standardised = (context.to(self.context_mean.dtype) - self.context_mean) / self.context_std
        projected = self.context_proj(standardised)
        if self.training:
            projected = partial_context_dropout(projected, self.config.context_dropout)
        return projected

    def forward(self, x: Tensor, t: Tensor, context: Tensor | None = None) -> Tensor:
        return self.denoise(x, t, self.project_context(context, x.shape[0]))

    def bind(self, context: Tensor | None) -> Callable[[Tensor, Tensor], Tensor]:
        """eps(x, t) with `context` projected once; equals self(x, t, context) in eval mode."""
        if context is None:
            return lambda x, t: self.denoise(x, t, self.project_context(None, x.shape[0]))
        projected = self.project_context(context, context.shape[0])
        return lambda x, t: self.denoise(x, t, projected)


def broadcast_timesteps(t: Tensor, batch_size: int) -> Tensor:
    """Timesteps (B,) as given, or a scalar () repeated B times."""
    return t.expand(batch_size) if t.ndim == 0 else t
