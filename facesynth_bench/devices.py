"""Device selection and mixed-precision contexts, shared by every torch workload."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

from facesynth_bench.errors import FsbenchError

DEVICE_CHOICES = ("auto", "cpu", "cuda")


def resolve_device(name: str) -> torch.device:
    """Turn `auto|cpu|cuda[:N]` into a torch.device; `auto` picks CUDA when available."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise FsbenchError(f"--device {name}: CUDA is not available on this machine")
        return torch.device(name)
    raise FsbenchError(f"--device {name!r}: expected one of {', '.join(DEVICE_CHOICES)}")


@contextlib.contextmanager
def autocast_for(device: torch.device, precision: str = "auto") -> Iterator[None]:
    """Autocast to bf16/fp16 on CUDA (`auto` = bf16 where supported); full fp32 on CPU."""
    if device.type != "cuda" or precision == "fp32":
        yield
        return
    if precision == "auto":
        precision = "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision)
    if dtype is None:
        raise FsbenchError(f"precision {precision!r}: expected auto, fp32, bf16 or fp16")
    with torch.autocast(device_type="cuda", dtype=dtype):
        yield
