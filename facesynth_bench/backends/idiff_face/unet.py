"""IDiff-Face's ConditionalUNet, "CA" variant, with the original's state-dict layout.

Architecture (labml DDPM UNet as extended by IDiff-Face): sinusoidal time embedding,
residual blocks with adaptive GroupNorm, cross-attention blocks that attend to 32 tokens
projected from the identity context, stride-2 conv down, 4x4 transposed-conv up.

Speed: the context path (context projection, per-block token projection, c_norm and the
cross-attention keys/values) does not depend on x or t, so `encode_context` computes it
once per sampling run; attention uses `F.scaled_dot_product_attention`.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from facesynth_bench.errors import FsbenchError

NUM_GROUPS = 32


@dataclass(frozen=True)
class UNetConfig:
    """Constructor settings, named as in IDiff-Face's hydra `model` config."""

    input_channels: int = 3
    initial_channels: int = 96
    channel_multipliers: tuple[int, ...] = (1, 2, 2, 2)
    is_attention: tuple[bool, ...] = (False, True, True, True)
    attention_heads: int = -1
    attention_head_channels: int = 32
    n_blocks_per_resolution: int = 2
    condition_type: str = "CA"
    context_input_channels: int = 512
    context_channels: int = 256
    is_context_conditional: bool = True
    n_context_classes: int = 0
    learn_empty_context: bool = False
    context_dropout_probability: float = 0.25

    def __post_init__(self) -> None:
        if self.condition_type.lower() != "ca" or not self.is_context_conditional:
            raise FsbenchError(
                f"IDiff-Face UNet: only condition_type 'CA' with a context is supported, got "
                f"{self.condition_type!r} (is_context_conditional={self.is_context_conditional})"
            )
        if self.n_context_classes or self.learn_empty_context:
            raise FsbenchError(
                "IDiff-Face UNet: class contexts and learned empty contexts are not supported"
            )
        if len(self.channel_multipliers) != len(self.is_attention):
            raise FsbenchError(
                "IDiff-Face UNet: channel_multipliers and is_attention differ in length"
            )


def sinusoidal_features(t: Tensor, size: int, max_period: float = 10000.0) -> Tensor:
    """[cos(t f_i), sin(t f_i)], f_i = max_period^(-i / (size/2)), float32 (B, size).

    Always float32: in bf16 the frequencies' rounding alone would shift t f by ~2 rad at t = 999.
    """
    half = size // 2
    steps = torch.arange(half, dtype=torch.float32, device=t.device)
    args = t[:, None].float() * torch.exp(-math.log(max_period) * steps / half)[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)


class TimeEmbedding(nn.Module):
    """Sinusoidal embedding [cos, sin] of n/4 features, then Linear-SiLU-Linear to n."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.lin1 = nn.Linear(channels // 4, channels)
        self.lin2 = nn.Linear(channels, channels)

    def forward(self, t: Tensor) -> Tensor:
        emb = sinusoidal_features(t, self.lin1.in_features).to(self.lin1.weight.dtype)
        return self.lin2(F.silu(self.lin1(emb)))


class AdaptiveGroupNorm(nn.Module):
    """(1 + scale) * GroupNorm(x) + shift (Dhariwal & Nichol 2021, AdaGN)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.norm = nn.GroupNorm(NUM_GROUPS, channels)

    def forward(self, x: Tensor, scale: Tensor, shift: Tensor) -> Tensor:
        return torch.addcmul(shift, self.norm(x), 1 + scale)


class ResidualBlock(nn.Module):
    """GroupNorm-SiLU-conv, AdaGN from the time embedding, SiLU-conv, plus a shortcut."""

    def __init__(self, in_channels: int, out_channels: int, time_channels: int) -> None:
        super().__init__()
        self.norm1 = nn.GroupNorm(NUM_GROUPS, in_channels)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, padding=1)
        self.time_emb = nn.Sequential(nn.SiLU(), nn.Linear(time_channels, out_channels))
        self.scale_emb = nn.Linear(out_channels, out_channels)
        self.shift_emb = nn.Linear(out_channels, out_channels)
        self.norm2 = AdaptiveGroupNorm(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1)
        nn.init.zeros_(self.conv2.weight)
        nn.init.zeros_(self.conv2.bias)
        self.shortcut = (
            nn.Conv2d(in_channels, out_channels, 1)
            if in_channels != out_channels
            else nn.Identity()
        )

    def forward(self, x: Tensor, temb: Tensor) -> Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        emb = self.time_emb(temb)
        scale = self.scale_emb(emb)[:, :, None, None]
        shift = self.shift_emb(emb)[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h, scale, shift)))
        return h + self.shortcut(x)


class Attention(nn.Module):
    """Multi-head attention with 1x1 Conv1d projections over channel-first (B, C, L) tokens."""

    def __init__(self, channels: int, heads: int, head_channels: int, kv_channels: int) -> None:
        super().__init__()
        inner = heads * head_channels
        self.heads = heads
        self.to_q = nn.Conv1d(channels, inner, 1)
        self.to_k = nn.Conv1d(kv_channels, inner, 1)
        self.to_v = nn.Conv1d(kv_channels, inner, 1)
        self.proj_out = nn.Conv1d(inner, channels, 1)

    def _split(self, tokens: Tensor, conv: nn.Conv1d) -> Tensor:
        """(B, C_in, L) tokens -> (B, heads, L, head_channels) projections."""
        projected = conv(tokens)
        b, _, length = projected.shape
        # contiguous per head: the fused CPU attention kernel needs a unit last stride
        return projected.view(b, self.heads, -1, length).transpose(2, 3).contiguous()

    def keys_values(self, tokens: Tensor) -> tuple[Tensor, Tensor]:
        """Keys and values of (B, C_kv, L) tokens, each (B, heads, L, head_channels)."""
        return self._split(tokens, self.to_k), self._split(tokens, self.to_v)

    def forward(self, tokens: Tensor, keys: Tensor, values: Tensor) -> Tensor:
        """Attend from (B, C, L) tokens to keys/values; returns (B, C, L)."""
        out = F.scaled_dot_product_attention(self._split(tokens, self.to_q), keys, values)
        b, _, length, _ = out.shape
        return self.proj_out(out.transpose(2, 3).reshape(b, -1, length))


class CrossAttentionBlock(nn.Module):
    """Self-attention, cross-attention to context tokens and a feed-forward, all pre-norm.

    The context (B, D) becomes D-channel tokens: Linear(D, D * n_tokens) reshaped to
    (B, D, n_tokens) and GroupNorm'ed over channels, with n_tokens = head channels. The
    image stays channel-first (B, C, H*W) throughout, so no layout copies are needed; the
    feed-forward's Linear layers run as 1x1 convolutions with the same weights.
    """

    def __init__(self, channels: int, context_channels: int, heads: int, head_channels: int):
        super().__init__()
        heads = heads if heads > 0 else channels // head_channels
        inner = heads * head_channels
        self.context_channels = context_channels
        self.n_tokens = head_channels
        self.x_proj_in = nn.Conv2d(channels, inner, 1)
        self.x_proj_out = nn.Conv2d(inner, channels, 1)
        nn.init.zeros_(self.x_proj_out.weight)
        nn.init.zeros_(self.x_proj_out.bias)
        self.self_attention = Attention(inner, heads, head_channels, inner)
        self.c_proj_in = nn.Linear(context_channels, context_channels * self.n_tokens)
        self.cross_attention = Attention(inner, heads, head_channels, context_channels)
        self.x_norm = nn.GroupNorm(NUM_GROUPS, inner)
        self.c_norm = nn.GroupNorm(NUM_GROUPS, context_channels)
        self.ff = nn.Sequential(nn.Linear(inner, inner * 4), nn.GELU(), nn.Linear(inner * 4, inner))

    def context_keys_values(self, context: Tensor) -> tuple[Tensor, Tensor]:
        """Cross-attention keys/values of a projected context (B, D); x- and t-independent."""
        tokens = self.c_proj_in(context).view(-1, self.context_channels, self.n_tokens)
        return self.cross_attention.keys_values(self.c_norm(tokens))

    def _feed_forward(self, tokens: Tensor) -> Tensor:
        first, _, second = self.ff
        hidden = F.gelu(F.conv1d(tokens, first.weight[:, :, None], first.bias))
        return F.conv1d(hidden, second.weight[:, :, None], second.bias)

    def forward(self, x: Tensor, keys: Tensor, values: Tensor) -> Tensor:
        b, _, h, w = x.shape
        if keys.shape[0] != b:  # one shared (null) context for the whole batch
            keys, values = keys.expand(b, -1, -1, -1), values.expand(b, -1, -1, -1)
        tokens = self.x_proj_in(x).reshape(b, -1, h * w)
        normed = self.x_norm(tokens)
        tokens = self.self_attention(normed, *self.self_attention.keys_values(normed)) + tokens
        tokens = self.cross_attention(self.x_norm(tokens), keys, values) + tokens
        tokens = self._feed_forward(self.x_norm(tokens)) + tokens
        return self.x_proj_out(tokens.view(b, -1, h, w)) + x


class LevelBlock(nn.Module):
    """A residual block, optionally followed by a cross-attention block."""

    def __init__(
        self, in_channels: int, out_channels: int, config: UNetConfig, has_attention: bool
    ) -> None:
        super().__init__()
        self.res = ResidualBlock(in_channels, out_channels, config.initial_channels * 4)
        self.attn = (
            CrossAttentionBlock(
                out_channels,
                config.context_channels,
                config.attention_heads,
                config.attention_head_channels,
            )
            if has_attention
            else None
        )

    def forward(self, x: Tensor, temb: Tensor, kv: tuple[Tensor, Tensor] | None) -> Tensor:
        x = self.res(x, temb)
        return x if self.attn is None else self.attn(x, *kv)


class MiddleBlock(nn.Module):
    """Residual block, cross-attention block, residual block at the lowest resolution."""

    def __init__(self, channels: int, config: UNetConfig) -> None:
        super().__init__()
        time_channels = config.initial_channels * 4
        self.res1 = ResidualBlock(channels, channels, time_channels)
        self.attn = CrossAttentionBlock(
            channels,
            config.context_channels,
            config.attention_heads,
            config.attention_head_channels,
        )
        self.res2 = ResidualBlock(channels, channels, time_channels)

    def forward(self, x: Tensor, temb: Tensor, kv: tuple[Tensor, Tensor]) -> Tensor:
        return self.res2(self.attn(self.res1(x, temb), *kv), temb)


class Resample(nn.Module):
    """Stride-2 3x3 conv (down) or 4x4 stride-2 transposed conv (up)."""

    def __init__(self, channels: int, up: bool) -> None:
        super().__init__()
        conv_type = nn.ConvTranspose2d if up else nn.Conv2d
        self.conv = conv_type(channels, channels, 4 if up else 3, 2, 1)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(x)


ContextCache = list[tuple[Tensor, Tensor]]


class ConditionalUNet(nn.Module):
    """eps(x_t, t, context) of IDiff-Face; `forward` matches the original's signature."""

    def __init__(self, config: UNetConfig) -> None:
        super().__init__()
        self.config = config
        multipliers = config.channel_multipliers
        n_levels = len(multipliers)
        blocks = config.n_blocks_per_resolution
        self.image_proj = nn.Conv2d(config.input_channels, config.initial_channels, 3, padding=1)
        self.time_emb = TimeEmbedding(config.initial_channels * 4)
        self.context_emb = nn.Linear(config.context_input_channels, config.context_channels)
        self.register_buffer(
            "empty_context", torch.zeros(config.context_channels), persistent=False
        )

        down: list[nn.Module] = []
        channels = config.initial_channels
        for level in range(n_levels):
            out_channels = channels * multipliers[level]
            for _ in range(blocks):
                down.append(LevelBlock(channels, out_channels, config, config.is_attention[level]))
                channels = out_channels
            if level < n_levels - 1:
                down.append(Resample(channels, up=False))
        self.down = nn.ModuleList(down)
        self.middle = MiddleBlock(channels, config)

        up: list[nn.Module] = []
        for level in reversed(range(n_levels)):
            has_attention = config.is_attention[level]
            for _ in range(blocks):
                up.append(LevelBlock(channels * 2, channels, config, has_attention))
            out_channels = channels // multipliers[level]
            up.append(LevelBlock(channels + out_channels, out_channels, config, has_attention))
            channels = out_channels
            if level > 0:
                up.append(Resample(channels, up=True))
        self.up = nn.ModuleList(up)

        self.norm = nn.GroupNorm(NUM_GROUPS, config.initial_channels)
        self.final = nn.Conv2d(channels, config.input_channels, 3, padding=1)
        nn.init.zeros_(self.final.weight)
        nn.init.zeros_(self.final.bias)

    def _attention_blocks(self) -> list[CrossAttentionBlock]:
        return [m for m in self.modules() if isinstance(m, CrossAttentionBlock)]

    def project_context(
        self, context: Tensor | None, batch: int, dropout_mask: Tensor | None = None
    ) -> Tensor:
        """Raw contexts (B, C_in) -> projected (B, D); None or masked rows -> zero context."""
        if context is None:
            return self.empty_context.to(self.context_emb.weight.dtype).expand(batch, -1)
        projected = self.context_emb(context)
        if dropout_mask is not None:
            empty = self.empty_context.to(projected.dtype)
            projected = torch.where(dropout_mask[:, None], empty, projected)
        return projected

    def encode_context(
        self, context: Tensor | None, batch: int, dropout_mask: Tensor | None = None
    ) -> ContextCache:
        """Every cross-attention block's keys/values for these contexts (once per run)."""
        projected = self.project_context(context, batch, dropout_mask)
        return [block.context_keys_values(projected) for block in self._attention_blocks()]

    def denoise(self, x: Tensor, t: Tensor, cache: ContextCache) -> Tensor:
        """eps for noisy latents x (B, C, H, W) at timesteps t (B,) with encoded contexts."""
        kv = iter(cache)
        temb = self.time_emb(t)
        x = self.image_proj(x)
        skips = [x]
        for module in self.down:
            x = module(x) if isinstance(module, Resample) else module(x, temb, _next_kv(module, kv))
            skips.append(x)
        x = self.middle(x, temb, next(kv))
        for module in self.up:
            if isinstance(module, Resample):
                x = module(x)
            else:
                x = module(torch.cat((x, skips.pop()), dim=1), temb, _next_kv(module, kv))
        return self.final(F.silu(self.norm(x)))

    def forward(
        self,
        x: Tensor,
        t: Tensor,
        context: Tensor | None = None,
        dropout_mask: Tensor | None = None,
    ) -> Tensor:
        """eps(x_t, t, context); `dropout_mask` rows (bool) use the zero empty context."""
        return self.denoise(x, t, self.encode_context(context, x.shape[0], dropout_mask))


def _next_kv(
    module: LevelBlock, kv: Iterator[tuple[Tensor, Tensor]]
) -> tuple[Tensor, Tensor] | None:
    return next(kv) if module.attn is not None else None
