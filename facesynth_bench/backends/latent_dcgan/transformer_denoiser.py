"""The alternative epsilon model: a small transformer over chunks of z with cross-attention.

z (100) is read as 10 tokens of 10 values; each block runs self-attention over those
tokens (FiLM-modulated by the timestep, as DiT's adaLN, Peebles & Xie 2023),
cross-attention to the identity context projected into `context_tokens` tokens (as
IDiff-Face turns its context into tokens), and an MLP. The context path, CPD and the null
context are those of `conditioning.ConditionedDenoiser`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from facesynth_bench.backends.latent_dcgan.conditioning import (
    ConditionedDenoiser,
    broadcast_timesteps,
    check_sizes,
    timestep_embedding,
)
from facesynth_bench.errors import FsbenchError


@dataclass(frozen=True)
class TransformerDenoiserConfig:
    """Sizes of the transformer epsilon model.

    Args:
        latent_dim: length of the diffused latent (100, the DCGAN z).
        context_dim: length of one raw identity context (128, dlib).
        chunk_size: values of z per token (latent_dim must be a multiple).
        width: token width.
        depth: number of transformer blocks.
        heads: attention heads (width must be a multiple).
        context_tokens: tokens the projected context is split into.
        time_embedding_dim: length of the sinusoidal timestep embedding (even).
        context_dropout: CPD probability of zeroing each projected-context element.
    """

    latent_dim: int = 100
    context_dim: int = 128
    chunk_size: int = 10
    width: int = 256
    depth: int = 4
    heads: int = 4
    context_tokens: int = 8
    time_embedding_dim: int = 128
    context_dropout: float = 0.25

    def __post_init__(self) -> None:
        check_sizes(
            self,
            (
                "latent_dim",
                "context_dim",
                "chunk_size",
                "width",
                "depth",
                "heads",
                "context_tokens",
            ),
        )
        if self.latent_dim % self.chunk_size or self.width % self.heads:
            raise FsbenchError(
                f"transformer denoiser config: latent_dim {self.latent_dim} must be a multiple "
                f"of chunk_size {self.chunk_size} and width {self.width} of heads {self.heads}"
            )


class TransformerBlock(nn.Module):
    """Time-modulated self-attention, cross-attention to context tokens, modulated MLP."""

    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.film = nn.Linear(width, 4 * width)
        self.attn_norm = nn.LayerNorm(width, elementwise_affine=False)
        self.self_attn = nn.MultiheadAttention(width, heads, batch_first=True)
        self.cross_norm = nn.LayerNorm(width)
        self.cross_attn = nn.MultiheadAttention(width, heads, batch_first=True)
        self.mlp_norm = nn.LayerNorm(width, elementwise_affine=False)
        self.mlp = nn.Sequential(
            nn.Linear(width, 4 * width), nn.GELU(), nn.Linear(4 * width, width)
        )

    def forward(self, h: Tensor, time: Tensor, context: Tensor) -> Tensor:
        attn_scale, attn_shift, mlp_scale, mlp_shift = self.film(time)[:, None].chunk(4, dim=2)
        y = self.attn_norm(h) * (1 + attn_scale) + attn_shift
        h = h + self.self_attn(y, y, y, need_weights=False)[0]
        h = h + self.cross_attn(self.cross_norm(h), context, context, need_weights=False)[0]
        return h + self.mlp(self.mlp_norm(h) * (1 + mlp_scale) + mlp_shift)


class TransformerDenoiser(ConditionedDenoiser):
    """eps(x_t, t, context) over (B, latent_dim) latents read as latent_dim/chunk_size tokens."""

    def __init__(self, config: TransformerDenoiserConfig | None = None) -> None:
        config = config or TransformerDenoiserConfig()
        super().__init__(config.context_dim)
        self.config = config
        self.tokens = config.latent_dim // config.chunk_size
        self.context_proj = nn.Linear(config.context_dim, config.context_tokens * config.width)
        self.time_mlp = nn.Sequential(
            nn.Linear(config.time_embedding_dim, config.width),
            nn.SiLU(),
            nn.Linear(config.width, config.width),
        )
        self.input = nn.Linear(config.chunk_size, config.width)
        self.position = nn.Parameter(torch.randn(1, self.tokens, config.width) * 0.02)
        self.blocks = nn.ModuleList(
            TransformerBlock(config.width, config.heads) for _ in range(config.depth)
        )
        self.out_norm = nn.LayerNorm(config.width)
        self.output = nn.Linear(config.width, config.chunk_size)

    def denoise(self, x: Tensor, t: Tensor, projected_context: Tensor) -> Tensor:
        """eps for latents x (B, latent_dim), int timesteps t (B,) or (), a projected context."""
        batch = x.shape[0]
        t = broadcast_timesteps(t, batch)
        time = F.silu(self.time_mlp(timestep_embedding(t, self.config.time_embedding_dim)))
        context = projected_context.reshape(batch, self.config.context_tokens, self.config.width)
        h = self.input(x.reshape(batch, self.tokens, self.config.chunk_size)) + self.position
        for block in self.blocks:
            h = block(h, time, context)
        return self.output(self.out_norm(h)).reshape(batch, self.config.latent_dim)
