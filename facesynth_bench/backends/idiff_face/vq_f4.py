"""The VQ-f4 first stage of latent diffusion (Rombach et al. 2022, CompVis "ffhq256").

Encoder: image in [-1, 1] (B, 3, H, W) -> latent (B, 3, H/4, W/4) (no quantisation).
Decoder: latent -> nearest codebook vectors -> image in about [-1, 1]. State-dict keys
match IDiff-Face's `first_stage_{encoder,decoder}_state_dict.pt` files.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn


@dataclass(frozen=True)
class VQConfig:
    """The `ddconfig` of the first stage plus the codebook size (IDiff-Face's defaults)."""

    ch: int = 128
    ch_mult: tuple[int, ...] = (1, 2, 4)
    num_res_blocks: int = 2
    z_channels: int = 3
    in_channels: int = 3
    out_ch: int = 3
    embed_dim: int = 3
    n_embed: int = 8192

    @property
    def downsampling(self) -> int:
        """Spatial factor between image and latent."""
        return 2 ** (len(self.ch_mult) - 1)


def _norm(channels: int) -> nn.GroupNorm:
    return nn.GroupNorm(32, channels, eps=1e-6)


class ResnetBlock(nn.Module):
    """Norm-Swish-conv twice, with a 1x1 `nin_shortcut` when the width changes."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.norm1 = _norm(in_channels)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, padding=1)
        self.norm2 = _norm(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1)
        if in_channels != out_channels:
            self.nin_shortcut = nn.Conv2d(in_channels, out_channels, 1)

    def forward(self, x: Tensor) -> Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        h = self.conv2(F.silu(self.norm2(h)))
        shortcut = self.nin_shortcut(x) if hasattr(self, "nin_shortcut") else x
        return shortcut + h


class SelfAttention(nn.Module):
    """Single-head spatial self-attention with 1x1 conv projections."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.norm = _norm(channels)
        self.q = nn.Conv2d(channels, channels, 1)
        self.k = nn.Conv2d(channels, channels, 1)
        self.v = nn.Conv2d(channels, channels, 1)
        self.proj_out = nn.Conv2d(channels, channels, 1)

    def forward(self, x: Tensor) -> Tensor:
        b, c, h, w = x.shape
        normed = self.norm(x)
        q, k, v = (conv(normed).flatten(2).transpose(1, 2) for conv in (self.q, self.k, self.v))
        out = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(b, c, h, w)
        return x + self.proj_out(out)


class MiddleStack(nn.Module):
    """ResnetBlock, self-attention, ResnetBlock at the lowest resolution."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.block_1 = ResnetBlock(channels, channels)
        self.attn_1 = SelfAttention(channels)
        self.block_2 = ResnetBlock(channels, channels)

    def forward(self, x: Tensor) -> Tensor:
        return self.block_2(self.attn_1(self.block_1(x)))


class Downsample(nn.Module):
    """Zero-pad right/bottom by one, then a 3x3 stride-2 conv (the LDM convention)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, stride=2)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(F.pad(x, (0, 1, 0, 1)))


class Upsample(nn.Module):
    """Nearest-neighbour x2, then a 3x3 conv."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class Level(nn.Module):
    """Residual blocks of one resolution plus an optional resampler."""

    def __init__(self, blocks: list[ResnetBlock], resample: nn.Module | None, name: str) -> None:
        super().__init__()
        self.block = nn.ModuleList(blocks)
        if resample is not None:
            setattr(self, name, resample)
        self.resample_name = name if resample is not None else None

    def forward(self, x: Tensor) -> Tensor:
        for block in self.block:
            x = block(x)
        return x if self.resample_name is None else getattr(self, self.resample_name)(x)


class Encoder(nn.Module):
    """conv_in, per level `num_res_blocks` ResnetBlocks and a Downsample, middle, conv_out."""

    def __init__(self, config: VQConfig) -> None:
        super().__init__()
        self.conv_in = nn.Conv2d(config.in_channels, config.ch, 3, padding=1)
        levels, channels = [], config.ch
        for i, mult in enumerate(config.ch_mult):
            out = config.ch * mult
            blocks = [
                ResnetBlock(channels if j == 0 else out, out) for j in range(config.num_res_blocks)
            ]
            channels = out
            last = i == len(config.ch_mult) - 1
            levels.append(Level(blocks, None if last else Downsample(out), "downsample"))
        self.down = nn.ModuleList(levels)
        self.mid = MiddleStack(channels)
        self.norm_out = _norm(channels)
        self.conv_out = nn.Conv2d(channels, config.z_channels, 3, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        h = self.conv_in(x)
        for level in self.down:
            h = level(h)
        return self.conv_out(F.silu(self.norm_out(self.mid(h))))


class Decoder(nn.Module):
    """conv_in, middle, per level (lowest first) ResnetBlocks and an Upsample, conv_out."""

    def __init__(self, config: VQConfig) -> None:
        super().__init__()
        channels = config.ch * config.ch_mult[-1]
        self.conv_in = nn.Conv2d(config.z_channels, channels, 3, padding=1)
        self.mid = MiddleStack(channels)
        levels: list[Level] = []
        for i in reversed(range(len(config.ch_mult))):
            out = config.ch * config.ch_mult[i]
            blocks = []
            for _ in range(config.num_res_blocks + 1):
                blocks.append(ResnetBlock(channels, out))
                channels = out
            levels.insert(0, Level(blocks, Upsample(out) if i > 0 else None, "upsample"))
        self.up = nn.ModuleList(levels)
        self.norm_out = _norm(channels)
        self.conv_out = nn.Conv2d(channels, config.out_ch, 3, padding=1)

    def forward(self, z: Tensor) -> Tensor:
        h = self.mid(self.conv_in(z))
        for level in reversed(self.up):
            h = level(h)
        return self.conv_out(F.silu(self.norm_out(h)))


class VectorQuantizer(nn.Module):
    """Nearest-codebook-vector lookup by squared Euclidean distance (VQ-VAE, eq. 1)."""

    def __init__(self, n_embed: int, embed_dim: int) -> None:
        super().__init__()
        self.embedding = nn.Embedding(n_embed, embed_dim)

    def indices(self, z: Tensor) -> Tensor:
        """Code index per position of z (B, D, H, W), shape (B, H, W)."""
        flat = z.permute(0, 2, 3, 1).reshape(-1, z.shape[1])
        codebook = self.embedding.weight
        distances = (
            flat.pow(2).sum(1, keepdim=True) + codebook.pow(2).sum(1) - 2 * flat @ codebook.t()
        )
        b, _, h, w = z.shape
        return distances.argmin(1).view(b, h, w)

    def forward(self, z: Tensor) -> Tensor:
        """Replace each latent vector by its nearest code; (B, D, H, W) in and out."""
        return self.embedding(self.indices(z)).permute(0, 3, 1, 2)


class VQEncoder(nn.Module):
    """Image in [-1, 1] -> unquantised latent: quant_conv(encoder(x))."""

    def __init__(self, config: VQConfig) -> None:
        super().__init__()
        self.encoder = Encoder(config)
        self.quant_conv = nn.Conv2d(config.z_channels, config.embed_dim, 1)

    def forward(self, x: Tensor) -> Tensor:
        return self.quant_conv(self.encoder(x))


class VQDecoder(nn.Module):
    """Latent -> image in about [-1, 1]: decoder(post_quant_conv(quantize(h)))."""

    def __init__(self, config: VQConfig) -> None:
        super().__init__()
        self.decoder = Decoder(config)
        self.quantize = VectorQuantizer(config.n_embed, config.embed_dim)
        self.post_quant_conv = nn.Conv2d(config.embed_dim, config.z_channels, 1)

    def forward(self, h: Tensor, force_not_quantize: bool = False) -> Tensor:
        quant = h if force_not_quantize else self.quantize(h)
        return self.decoder(self.post_quant_conv(quant))


@torch.no_grad()
def unit_images_to_latents(encoder: VQEncoder, images: Tensor) -> Tensor:
    """Encode images float in [0, 1] (B, 3, H, W) to latents (B, 3, H/4, W/4)."""
    return encoder(images * 2 - 1)


@torch.no_grad()
def latents_to_unit_images(decoder: VQDecoder, latents: Tensor) -> Tensor:
    """Decode latents to images float in [0, 1] (IDiff-Face pixels live in [-1, 1])."""
    return ((decoder(latents).float() + 1) / 2).clamp(0, 1)
