"""The latent-dcgan epsilon-model architectures by name, seeded creation and weight files.

A denoiser file is safetensors (see `weight_files`) whose header holds the architecture
name and its config, plus whatever the caller adds (seeds, data size, schedule).
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from facesynth_bench.backends.latent_dcgan.conditioning import ConditionedDenoiser
from facesynth_bench.backends.latent_dcgan.denoiser import LatentDenoiser, LatentDenoiserConfig
from facesynth_bench.backends.latent_dcgan.transformer_denoiser import (
    TransformerDenoiser,
    TransformerDenoiserConfig,
)
from facesynth_bench.backends.latent_dcgan.weight_files import load_weights, save_weights
from facesynth_bench.errors import FsbenchError

DenoiserConfig = LatentDenoiserConfig | TransformerDenoiserConfig
ARCHITECTURES: dict[str, tuple[type, type[ConditionedDenoiser]]] = {
    "mlp": (LatentDenoiserConfig, LatentDenoiser),
    "transformer": (TransformerDenoiserConfig, TransformerDenoiser),
}
WHAT = "latent-dcgan denoiser"


def architecture_of(config: DenoiserConfig) -> str:
    """The name under which `config`'s architecture is registered."""
    for name, (config_type, _) in ARCHITECTURES.items():
        if type(config) is config_type:
            return name
    raise FsbenchError(f"denoiser config {config!r}: not a known architecture's config")


def config_for(architecture: str, settings: dict[str, Any]) -> DenoiserConfig:
    """Build the config of `architecture` (mlp | transformer) from keyword settings."""
    if architecture not in ARCHITECTURES:
        raise FsbenchError(
            f"denoiser architecture {architecture!r}: expected one of {', '.join(ARCHITECTURES)}"
        )
    config_type, _ = ARCHITECTURES[architecture]
    try:
        return config_type(**settings)
    except TypeError as exc:
        raise FsbenchError(f"denoiser architecture {architecture!r}: bad settings ({exc})") from exc


def create_denoiser(config: DenoiserConfig | None = None, seed: int = 0) -> ConditionedDenoiser:
    """A freshly initialised denoiser (default: the MLP) whose weights depend on config+seed."""
    config = config or LatentDenoiserConfig()
    _, model_type = ARCHITECTURES[architecture_of(config)]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return model_type(config)


CONTEXT_STATISTICS = ("context_mean", "context_std")


def save_denoiser(
    model: ConditionedDenoiser,
    path: Path,
    header: dict[str, Any] | None = None,
    weights_dtype: torch.dtype = torch.float32,
) -> None:
    """Write weights, context statistics, architecture and config (+ `header`) to safetensors.

    `weights_dtype` (e.g. float16, half the file) applies to the layers; the context
    statistics stay float32. `load_denoiser` reads either into a float32 model.
    """
    full_header = {
        **(header or {}),
        "architecture": architecture_of(model.config),
        "config": asdict(model.config),
    }
    tensors = {
        name: value if name in CONTEXT_STATISTICS else value.to(weights_dtype)
        for name, value in model.state_dict().items()
    }
    save_weights(Path(path), tensors, full_header)


def load_denoiser(
    path: Path, device: torch.device | str = "cpu"
) -> tuple[ConditionedDenoiser, dict[str, Any]]:
    """Read a denoiser written by `save_denoiser`, in eval mode on `device`, and its header."""
    state_dict, header = load_weights(Path(path), WHAT)
    if "architecture" not in header or not isinstance(header.get("config"), dict):
        raise FsbenchError(f"{WHAT} {path}: header lacks 'architecture' or 'config'")
    try:
        config = config_for(header["architecture"], header["config"])
    except FsbenchError as exc:
        raise FsbenchError(f"{WHAT} {path}: {exc}") from exc
    model = create_denoiser(config)
    try:
        model.load_state_dict(state_dict)
    except RuntimeError as exc:
        raise FsbenchError(f"{WHAT} {path}: weights do not fit the config ({exc})") from exc
    return model.to(device).eval(), header
