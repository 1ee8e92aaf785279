"""Suite-wide fixtures."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Run every test on one torch thread.

    The tests use small models and matrices; on a shared 2-core box two OpenMP threads
    spin-wait for each other and make millisecond forwards take seconds (measured: 5x).
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
