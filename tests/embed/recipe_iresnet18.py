"""The insightface iresnet18 recipe weights of fixtures/README.md section 5, and key lists."""

from __future__ import annotations

import ast

import numpy as np
import torch
from fixture_files import FIXTURES


def read_key_list(name: str) -> list[tuple[str, tuple[int, ...], str]]:
    """Parse a `key<TAB>shape<TAB>dtype` key list of the reference fixtures."""
    rows = []
    for line in (FIXTURES / name).read_text().splitlines():
        key, shape, dtype = line.split("\t")
        rows.append((key, tuple(ast.literal_eval(shape)), dtype))
    return rows


def recipe_state_dict() -> dict[str, torch.Tensor]:
    """The portable numpy recipe of fixtures/README.md section 5, in key-list order."""
    state = {}
    for i, (key, shape, _) in enumerate(read_key_list("iresnet18_keys.txt")):
        if key.endswith("num_batches_tracked"):
            state[key] = torch.tensor(0, dtype=torch.int64)
            continue
        rng = np.random.default_rng(i)
        if key.endswith("running_var"):
            value = 0.5 + rng.random(shape)
        else:
            n = rng.standard_normal(shape)
            if key.endswith("running_mean"):
                value = 0.1 * n
            elif "prelu" in key:
                value = 0.25 + 0.05 * n
            elif len(shape) == 4:
                value = n * np.sqrt(1.0 / (shape[1] * shape[2] * shape[3]))
            elif key == "fc.weight":
                value = n * np.sqrt(1.0 / 25088)
            elif key.endswith("weight"):
                value = 1 + 0.1 * n
            else:
                value = 0.1 * n
        state[key] = torch.from_numpy(value.astype(np.float32))
    return state
