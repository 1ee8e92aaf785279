"""Suite-wide fixtures."""

from __future__ import annotations

import pytest
import torch

# folders the toolkit reads from the environment; a test must not see the user's
OUTSIDE_FOLDERS = ("FSBENCH_GENERATORS_PATH", "FSBENCH_PROTOCOLS_PATH")


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


@pytest.fixture(autouse=True)
def no_files_outside_the_repository(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Give each test its own embedding cache and none of the user's preset/protocol folders."""
    monkeypatch.setenv("FSBENCH_CACHE", str(tmp_path_factory.mktemp("fsbench-cache")))
    for name in OUTSIDE_FOLDERS:
        monkeypatch.delenv(name, raising=False)
