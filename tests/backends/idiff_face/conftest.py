"""Run these small-model tests on one torch thread.

On a shared 2-core box, two OpenMP threads spin-wait for each other and make millisecond
forwards take seconds (measured: the suite ran 5x faster on one thread).
"""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def one_torch_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
