"""The DigiFace-trained DCGAN generator (Radford et al. 2016): latent z (100-d) -> 64x64 face.

Our own module for the weights that ship (MIT licence) in the PyPI package
`gan-face-generate` 1.1.1; `scripts/convert_dcgan_weights.py` converts them once into
`facesynth_bench/assets/dcgan_digiface.safetensors` (see `facesynth_bench/assets/NOTICE`).
"""

from __future__ import annotations

import itertools
from importlib.resources import files
from pathlib import Path

import torch
from torch import Tensor, nn

from facesynth_bench.backends.latent_dcgan.weight_files import load_weights
from facesynth_bench.devices import autocast_for
from facesynth_bench.errors import FsbenchError

LATENT_DIM = 100
IMAGE_SIZE = 64
WEIGHTS_NAME = "dcgan_digiface.safetensors"


def default_weights_path() -> Path:
    """Path of the converted DigiFace DCGAN weights shipped inside the package."""
    return Path(str(files("facesynth_bench") / "assets" / WEIGHTS_NAME))


class _UpBlock(nn.Module):
    """Transposed 4x4 convolution (no bias), BatchNorm, ReLU."""

    def __init__(self, in_channels: int, out_channels: int, stride: int, padding: int) -> None:
        super().__init__()
        self.conv = nn.ConvTranspose2d(in_channels, out_channels, 4, stride, padding, bias=False)
        self.norm = nn.BatchNorm2d(out_channels)

    def forward(self, x: Tensor) -> Tensor:
        return torch.relu(self.norm(self.conv(x)))


class DCGANGenerator(nn.Module):
    """The standard DCGAN generator: 1 -> 4 -> 8 -> 16 -> 32 -> 64 pixels, Tanh output.

    Args:
        latent_dim: length of z (100 for the shipped weights).
        width: feature maps of the last hidden block (`ngf`, 64); earlier blocks have
            8x, 4x, 2x that.
        channels: output image channels (3, RGB).
    """

    def __init__(self, latent_dim: int = LATENT_DIM, width: int = 64, channels: int = 3) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        widths = [width * 8, width * 4, width * 2, width]
        self.blocks = nn.ModuleList([_UpBlock(latent_dim, widths[0], stride=1, padding=0)])
        self.blocks.extend(
            _UpBlock(c_in, c_out, stride=2, padding=1) for c_in, c_out in itertools.pairwise(widths)
        )
        self.to_rgb = nn.ConvTranspose2d(width, channels, 4, 2, 1, bias=False)

    def forward(self, z: Tensor) -> Tensor:
        """Latents (N, latent_dim) -> images (N, channels, 64, 64) in [-1, 1]."""
        h = z.reshape(z.shape[0], self.latent_dim, 1, 1)
        for block in self.blocks:
            h = block(h)
        return torch.tanh(self.to_rgb(h))


def convert_tutorial_state_dict(state_dict: dict[str, Tensor]) -> dict[str, Tensor]:
    """Rename a PyTorch-tutorial DCGAN generator state dict (`main.<i>.*`) to our layout.

    The tutorial's `nn.Sequential` puts each (ConvTranspose, BatchNorm, ReLU) triple at
    indices 3k, 3k+1, 3k+2 and the last ConvTranspose at 12.
    """
    converted = {}
    for key, value in state_dict.items():
        parts = key.split(".")
        if len(parts) != 3 or parts[0] != "main" or not parts[1].isdigit():
            raise FsbenchError(f"DCGAN checkpoint key {key!r}: expected 'main.<index>.<name>'")
        index, name = int(parts[1]), parts[2]
        block, role = divmod(index, 3)
        if index == 12:
            converted[f"to_rgb.{name}"] = value
        elif role == 0:
            converted[f"blocks.{block}.conv.{name}"] = value
        elif role == 1:
            converted[f"blocks.{block}.norm.{name}"] = value
        else:
            raise FsbenchError(f"DCGAN checkpoint key {key!r}: index {index} holds no weights")
    return converted


def load_dcgan_generator(
    path: Path | None = None, device: torch.device | str = "cpu"
) -> DCGANGenerator:
    """Load converted DCGAN weights (default: the shipped ones) in eval mode, as float32."""
    path = Path(path) if path is not None else default_weights_path()
    state_dict, header = load_weights(path, "DCGAN weights")
    try:
        generator = DCGANGenerator(**header.get("config", {}))
    except TypeError as exc:
        raise FsbenchError(f"DCGAN weights {path}: bad config in the header ({exc})") from exc
    state_dict = {
        key: value.float() if value.is_floating_point() else value
        for key, value in state_dict.items()
    }
    try:
        generator.load_state_dict(state_dict)
    except RuntimeError as exc:
        raise FsbenchError(f"DCGAN weights {path}: do not fit the generator ({exc})") from exc
    return generator.to(device).eval()


@torch.no_grad()
def decode_latents(
    generator: DCGANGenerator, z: Tensor, batch_size: int = 256, precision: str = "fp32"
) -> Tensor:
    """Latents z (N, 100) -> images float32 in [0, 1], (N, 3, 64, 64), on the generator's device.

    Runs in batches of `batch_size`; `precision` is passed to `autocast_for` (CUDA only):
    the default fp32 keeps images within float rounding of the original network.
    """
    if z.ndim != 2 or z.shape[1] != generator.latent_dim:
        raise FsbenchError(
            f"DCGAN latents: expected shape (N, {generator.latent_dim}), got {tuple(z.shape)}"
        )
    device = next(generator.parameters()).device
    images = []
    with autocast_for(device, precision):
        for start in range(0, z.shape[0], batch_size):
            batch = z[start : start + batch_size].to(device, torch.float32)
            images.append(((generator(batch).float() + 1) / 2).clamp(0, 1))
    if not images:
        return torch.empty(0, generator.to_rgb.out_channels, IMAGE_SIZE, IMAGE_SIZE, device=device)
    return torch.cat(images)
