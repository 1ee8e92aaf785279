"""Fixtures of the embedder tests."""

from __future__ import annotations

import pytest
import torch
from recipe_iresnet18 import FIXTURES, recipe_state_dict


@pytest.fixture(scope="session")
def recipe_weights():
    if not FIXTURES.is_dir():
        pytest.skip(f"reference fixtures not found at {FIXTURES}")
    return recipe_state_dict()


@pytest.fixture(scope="session")
def iresnet18_fixture():
    from safetensors.numpy import load_file

    return load_file(str(FIXTURES / "iresnet18_small.safetensors"))


@pytest.fixture(scope="session")
def recipe_checkpoint(tmp_path_factory, recipe_weights):
    """The recipe weights saved as a DataParallel-style `backbone.pth` (module. prefix)."""
    path = tmp_path_factory.mktemp("ckpt") / "backbone.pth"
    torch.save({f"module.{k}": v for k, v in recipe_weights.items()}, path)
    return path
