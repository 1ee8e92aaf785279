"""Fixtures of the embedder tests."""

from __future__ import annotations

import pytest
import torch
from fixture_files import FIXTURES
from recipe_iresnet18 import recipe_state_dict


@pytest.fixture(scope="session")
def recipe_weights():
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
