"""Per-image seeds: image (identity, k) of a run with seed S always gets the same noise."""

from __future__ import annotations

import torch

from facesynth_bench.seeding import child_seed


def image_seed(run_seed: int, identity: int, index: int) -> int:
    """The 63-bit seed of image (identity, k) of run S: child_seed(S, identity, k, bits=63)."""
    return child_seed(run_seed, identity, index, bits=63)


class BatchNoise:
    """Independent CPU generators, one per image, so noise never depends on batch layout.

    Draw order per image: x_T first, then one draw per noisy sampler step.
    """

    def __init__(self, seeds: list[int], shape: tuple[int, ...], device: torch.device) -> None:
        self.generators = [torch.Generator().manual_seed(s) for s in seeds]
        self.shape = shape
        self.device = device

    def draw(self) -> torch.Tensor:
        """One standard-normal sample per image, stacked (B, *shape), on the device."""
        draws = [torch.randn(self.shape, generator=g) for g in self.generators]
        return torch.stack(draws).to(self.device, non_blocking=True)

    def __call__(self, step_index: int) -> torch.Tensor:
        return self.draw()
