"""Device names resolve, and asking for CUDA where there is none is a clear error."""

import pytest
import torch

from facesynth_bench.devices import autocast_for, resolve_device
from facesynth_bench.errors import FsbenchError


def test_cpu_and_auto():
    assert resolve_device("cpu") == torch.device("cpu")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected


def test_bad_names():
    with pytest.raises(FsbenchError, match="expected auto, cpu, cuda or cuda:N"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(FsbenchError, match="CUDA is not available"):
            resolve_device("cuda")


def test_autocast_is_a_no_op_on_cpu():
    with autocast_for(torch.device("cpu")):
        y = torch.ones(2, 2) @ torch.ones(2, 2)
    assert y.dtype == torch.float32


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_autocast_lowers_precision_on_cuda():
    with autocast_for(torch.device("cuda")):
        y = torch.ones(2, 2, device="cuda") @ torch.ones(2, 2, device="cuda")
    assert y.dtype in (torch.bfloat16, torch.float16)
