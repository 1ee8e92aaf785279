"""Device selection and mixed-precision contexts, shared by every torch workload."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

from facesynth_bench.errors import FsbenchError

if TYPE_CHECKING:
    import torch

DEVICE_CHOICES = ("auto", "cpu", "cuda")
DEVICE_HELP = "auto (CUDA when available), cpu, cuda or cuda:N."
PRECISIONS = ("auto", "fp32", "bf16", "fp16")


def resolve_device(name: str) -> torch.device:
    """Turn `auto|cpu|cuda[:N]` into a torch.device; `auto` picks CUDA when available."""
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name == "cuda" or (name.startswith("cuda:") and name[5:].isdigit()):
        if not torch.cuda.is_available():
            raise FsbenchError(f"device {name!r}: CUDA is not available on this machine")
        return torch.device(name)
    raise FsbenchError(f"device {name!r}: expected auto, cpu, cuda or cuda:N")


def check_precision(precision: str) -> str:
    """`precision` if it is one of PRECISIONS, else a one-line error (on every device)."""
    if precision not in PRECISIONS:
        raise FsbenchError(f"precision {precision!r}: expected one of {', '.join(PRECISIONS)}")
    return precision


@contextlib.contextmanager
def autocast_for(device: torch.device, precision: str = "auto") -> Iterator[None]:
    """Autocast to bf16/fp16 on CUDA (`auto` = bf16 where supported); full fp32 on CPU."""
    import torch

    check_precision(precision)
    if device.type != "cuda" or precision == "fp32":
        yield
        return
    if precision == "auto":
        precision = "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}[precision]
    with torch.autocast(device_type="cuda", dtype=dtype):
        yield
