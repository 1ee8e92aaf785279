"""A checkpoint in the original IDiff-Face repository's layout samples without a preset file.

The repository keeps the first-stage decoder in `<repo>/models/autoencoder/` and training
runs in `<repo>/trained_models/<run>/` (hydra config in `.hydra/`, weights in
`checkpoints/`). Small random models in that layout are built here from code.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import torch
import yaml

from facesynth_bench.backends.idiff_face.loader import (
    IDiffFaceGenerator,
    decoder_candidates,
    load_idiff_face,
)
from facesynth_bench.backends.idiff_face.unet import ConditionalUNet, UNetConfig
from facesynth_bench.backends.idiff_face.vq_f4 import VQConfig, VQDecoder
from facesynth_bench.cli import main
from facesynth_bench.diffusion.schedules import linear_betas
from facesynth_bench.errors import FsbenchError

SMALL_UNET = UNetConfig(
    initial_channels=32,
    channel_multipliers=(1, 2),
    is_attention=(False, True),
    n_blocks_per_resolution=1,
    context_channels=32,
)
SMALL_VQ = VQConfig(ch=32, ch_mult=(1, 2), num_res_blocks=1)
CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def repository(tmp_path_factory) -> Path:
    """<repo>/models/autoencoder/<decoder> and <repo>/trained_models/run/checkpoints/<ckpt>."""
    repo = tmp_path_factory.mktemp("IDiff-Face")
    torch.manual_seed(0)
    run = repo / "trained_models" / "2023-01-01_run"
    (run / "checkpoints").mkdir(parents=True)
    state = {f"eps_model.{k}": v for k, v in ConditionalUNet(SMALL_UNET).state_dict().items()}
    torch.save({**state, "betas": linear_betas(1000).float()}, _checkpoint(repo))
    model = {"_target_": "models.diffusion.unet.ConditionalUNet"}
    model.update({k: list(v) if isinstance(v, tuple) else v for k, v in _fields(SMALL_UNET)})
    (run / ".hydra").mkdir()
    config = {"model": model, "diffusion": {"T": 1000}}
    (run / ".hydra" / "config.yaml").write_text(yaml.safe_dump(config))
    (repo / "models" / "autoencoder").mkdir(parents=True)
    decoder = repo / "models" / "autoencoder" / "first_stage_decoder_state_dict.pt"
    torch.save(VQDecoder(SMALL_VQ).state_dict(), decoder)
    return repo


def _fields(config: UNetConfig):
    return dataclasses.asdict(config).items()


def _checkpoint(repo: Path) -> Path:
    return repo / "trained_models" / "2023-01-01_run" / "checkpoints" / "ema_averaged_model.ckpt"


def _options(**extra) -> dict:
    first_stage = {"ch": 32, "ch_mult": [1, 2], "num_res_blocks": 1}
    return {"first_stage": first_stage, "latent_size": 8, "precision": "fp32", **extra}


def test_the_decoder_is_found_in_the_repository_layout(repository: Path) -> None:
    checkpoint = _checkpoint(repository)
    assert decoder_candidates(checkpoint) == [
        checkpoint.parent / "first_stage_decoder_state_dict.pt",
        repository / "models" / "autoencoder" / "first_stage_decoder_state_dict.pt",
    ]
    model = load_idiff_face(checkpoint, _options(), CPU)
    assert model.describe()["decoder"] == str(decoder_candidates(checkpoint)[1])
    assert model.image_size == (16, 16) and model.latent_shape == (3, 8, 8)


def test_a_checkpoint_elsewhere_names_the_places_looked_in(repository: Path, tmp_path) -> None:
    lone = tmp_path / "ema_averaged_model.ckpt"
    lone.write_bytes(_checkpoint(repository).read_bytes())
    with pytest.raises(FsbenchError, match=rf"not found for checkpoint .*looked in {tmp_path}\)"):
        load_idiff_face(lone, _options(), CPU)


def test_unknown_options_are_refused_listing_the_known_ones(repository: Path) -> None:
    with pytest.raises(
        FsbenchError, match=r"options \['latentsize'\]: unknown; expected \[.*'decoder'"
    ):
        load_idiff_face(_checkpoint(repository), _options(latentsize=8), CPU)


def test_capabilities_declare_aligned_crops() -> None:
    capabilities = IDiffFaceGenerator.capabilities
    assert capabilities.aligned_output and not capabilities.synthetic_contexts
    assert capabilities.default_batch_size == 16


def test_the_repository_checkpoint_samples_without_a_preset_file(
    repository: Path, tmp_path: Path
) -> None:
    """A built-in preset, the checkpoint, and --set for the small models' sizes."""
    out = tmp_path / "synth"
    small = "{ ch = 32, ch_mult = [1, 2], num_res_blocks = 1 }"
    args = [
        "generate", "--generator", "idiff-face-ddim200", "--checkpoint",
        str(_checkpoint(repository)), "--identities", "2", "--images-per-identity", "1",
        "--device", "cpu", "--out", str(out), "--set", "sampler.steps=3",
        "--set", "output.size=16", "--set", f"backend.options.first_stage={small}",
        "--set", "backend.options.latent_size=8", "--set", "backend.options.precision=fp32",
    ]  # fmt: skip
    assert main(args) == 0
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.png")) == [
        "000000/0.png",
        "000001/0.png",
    ]
    info = json.loads((out / "dataset.json").read_text())
    assert info["backend"]["decoder"].endswith(
        "models/autoencoder/first_stage_decoder_state_dict.pt"
    )
    assert info["run"]["batch_size"] == 16 and info["run"]["overrides"]["sampler.steps"] == 3
