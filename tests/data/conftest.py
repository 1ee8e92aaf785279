"""Small synthetic image sets shared by the data tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest


def make_images(identities: int = 3, per_identity: int = 4, size: int = 32, seed: int = 0):
    """Random uint8 RGB tiles, keyed by identity name."""
    rng = np.random.default_rng(seed)
    return {
        f"id{i}": [
            rng.integers(0, 256, (size, size, 3), dtype=np.uint8) for _ in range(per_identity)
        ]
        for i in range(identities)
    }


@pytest.fixture
def images():
    return make_images()


@pytest.fixture
def deny_listing(monkeypatch):
    """Deny listing each folder passed to it, as chmod 000 would (tests may run as root)."""
    denied: set[Path] = set()
    real = Path.iterdir

    def iterdir(self):
        if self in denied:
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "iterdir", iterdir)
    return denied.add
