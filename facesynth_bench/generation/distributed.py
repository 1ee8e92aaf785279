"""torchrun awareness: rank, world size and a barrier (gloo on CPU, NCCL on CUDA)."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class Ranks:
    """This process's rank, the world size, and its local rank (GPU index)."""

    rank: int = 0
    world: int = 1
    local: int = 0

    @property
    def is_main(self) -> bool:
        """True on rank 0 (which writes run-level files)."""
        return self.rank == 0

    def barrier(self) -> None:
        """Wait for every rank; a no-op in a single process."""
        if self.world > 1:
            dist.barrier()

    def close(self) -> None:
        """Leave the process group (after the last barrier)."""
        if self.world > 1 and dist.is_initialized():
            dist.destroy_process_group()


def init_ranks(device: torch.device) -> Ranks:
    """Read torchrun's RANK/WORLD_SIZE/LOCAL_RANK and join the process group if needed."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Ranks()
    ranks = Ranks(int(os.environ["RANK"]), world, int(os.environ.get("LOCAL_RANK", "0")))
    if device.type == "cuda":  # NCCL collectives run on the current device
        torch.cuda.set_device(ranks.local)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return ranks


def rank_device(device: torch.device, ranks: Ranks) -> torch.device:
    """Under torchrun each rank uses its local GPU; CPU stays CPU."""
    if device.type == "cuda" and ranks.world > 1:
        return torch.device("cuda", ranks.local)
    return device
