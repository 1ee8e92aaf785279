"""The embedded default's epsilon model: a residual MLP with FiLM over the DCGAN latent z.

The sinusoidal time embedding plus the projected identity context (see `conditioning`)
scale and shift the normalised hidden state of every block (FiLM, Perez et al. 2018).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch.nn.functional as F
from torch import Tensor, nn

from facesynth_bench.backends.latent_dcgan.conditioning import (
    ConditionedDenoiser,
    broadcast_timesteps,
    check_sizes,
    timestep_embedding,
)


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
        check_sizes(self, ("latent_dim", "context_dim", "width", "depth", "cond_dim"))


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


class LatentDenoiser(ConditionedDenoiser):
    """eps(x_t, t, context) over (B, latent_dim) latents; context (B, context_dim) or None."""

    def __init__(self, config: LatentDenoiserConfig | None = None) -> None:
        config = config or LatentDenoiserConfig()
        super().__init__(config.context_dim)
        self.config = config
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

    def denoise(self, x: Tensor, t: Tensor, projected_context: Tensor) -> Tensor:
        """eps for latents x (B, latent_dim), int timesteps t (B,) or (), a projected context."""
        t = broadcast_timesteps(t, x.shape[0])
        time = self.time_mlp(timestep_embedding(t, self.config.time_embedding_dim))
        cond = F.silu(time + projected_context)
        h = self.input(x)
        for block in self.blocks:
            h = block(h, cond)
        return self.output(self.out_norm(h))
