"""Safe reading of IDiff-Face checkpoints and validation against our modules.

Checkpoints are read through safe_loading (weights-only torch or safetensors: no pickled
code runs). Key or shape mismatches raise an FsbenchError listing the first few.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from torch import Tensor, nn

from facesynth_bench.errors import FsbenchError
from facesynth_bench.safe_loading import load_tensor_file

EPS_PREFIX = "eps_model."
SCHEDULE_BUFFERS = (
    "betas",
    "alphas",
    "sigmas",
    "sqrt_alphas_inv",
    "alpha_bars",
    "sqrt_alpha_bars",
    "sqrt_one_minus_alpha_bars",
    "one_minus_alphas_over_sqrt_one_minus_alpha_bars",
)
MAX_LISTED = 5


def read_state_dict(path: Path) -> dict[str, Tensor]:
    """Tensors of a .safetensors file or a torch-saved state dict, without running pickles."""
    state = load_tensor_file(path, "checkpoint")
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, Tensor) for v in state.values()):
        raise FsbenchError(f"checkpoint {path}: expected a state dict of tensors")
    return state


def split_ddpm_checkpoint(
    state: dict[str, Tensor], path: Path
) -> tuple[dict[str, Tensor], Tensor | None]:
    """The DDPM module's state dict -> (UNet state dict without prefix, betas or None)."""
    unet = {k[len(EPS_PREFIX) :]: v for k, v in state.items() if k.startswith(EPS_PREFIX)}
    if not unet:
        if any(k.startswith("module.") for k in state):
            raise FsbenchError(
                f"checkpoint {path}: keys start with 'module.'; expected 'eps_model.'"
            )
        unet = {k: v for k, v in state.items() if k not in SCHEDULE_BUFFERS}
    betas = state.get("betas")
    return unet, (betas.double() if betas is not None else None)


def check_state_dict(module: nn.Module, state: dict[str, Tensor], path: Path) -> None:
    """Raise naming the first missing/unexpected keys and shape mismatches, if any."""
    expected = {k: tuple(v.shape) for k, v in module.state_dict().items()}
    problems: list[str] = []
    problems += [f"missing {k}" for k in expected if k not in state]
    problems += [f"unexpected {k}" for k in state if k not in expected]
    problems += [
        f"{k}: shape {tuple(state[k].shape)} in the file, {shape} expected"
        for k, shape in expected.items()
        if k in state and tuple(state[k].shape) != shape
    ]
    if problems:
        listed = "; ".join(problems[:MAX_LISTED])
        more = f" (and {len(problems) - MAX_LISTED} more)" if len(problems) > MAX_LISTED else ""
        raise FsbenchError(
            f"checkpoint {path} does not fit {type(module).__name__}: {listed}{more}"
        )


def load_checked(module: nn.Module, state: dict[str, Tensor], path: Path) -> None:
    """Validate `state` against `module`, then load it strictly."""
    check_state_dict(module, state, path)
    module.load_state_dict(state, strict=True)


_INTERPOLATION = re.compile(r"^\$\{([\w.]+)\}$")


def _resolve(value: Any, root: dict[str, Any]) -> Any:
    """Resolve OmegaConf-style `${a.b}` references that hydra leaves in its saved config."""
    if isinstance(value, str) and (match := _INTERPOLATION.match(value)):
        node: Any = root
        for part in match.group(1).split("."):
            if not isinstance(node, dict) or part not in node:
                return value
            node = node[part]
        return _resolve(node, root)
    return value


def find_hydra_config(checkpoint: Path) -> Path | None:
    """`.hydra/config.yaml` beside the checkpoint or one folder up, as hydra runs leave it."""
    for folder in (checkpoint.parent, checkpoint.parent.parent):
        candidate = folder / ".hydra" / "config.yaml"
        if candidate.is_file():
            return candidate
    return None


def read_hydra_sections(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """The resolved `model` and `diffusion` sections of a hydra run config (yaml.safe_load)."""
    try:
        root = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise FsbenchError(f"hydra config {path}: cannot read it: {exc}") from exc
    sections = []
    for name in ("model", "diffusion"):
        section = root.get(name) or {}
        if not isinstance(section, dict):
            raise FsbenchError(f"hydra config {path}: section {name!r} is not a mapping")
        sections.append({k: _resolve(v, root) for k, v in section.items()})
    return sections[0], sections[1]
