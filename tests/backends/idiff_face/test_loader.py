"""Loading IDiff-Face checkpoints: layout checks, hydra config, pickle safety, a tiny run."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest
import torch
import yaml
from fixture_files import FIXTURES
from safetensors.torch import load_file

from facesynth_bench.backends.idiff_face.loader import load_idiff_face
from facesynth_bench.diffusion.schedules import linear_betas
from facesynth_bench.errors import FsbenchError
from facesynth_bench.generation.runner import GenerationRequest, generate
from facesynth_bench.specs import load_preset

SMALL_VQ = {"ch": 32, "ch_mult": [1, 2]}
CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory) -> Path:
    """A hydra run folder like the original's: checkpoints/ema_averaged_model.ckpt + .hydra."""
    root = tmp_path_factory.mktemp("idiff_run")
    tensors = load_file(str(FIXTURES / "idiff_unet_small.safetensors"))
    state = {"betas": linear_betas(1000).float()}
    state.update({f"eps_model.{k}": v for k, v in tensors.items() if not k.startswith("__")})
    (root / "checkpoints").mkdir()
    torch.save(state, root / "checkpoints" / "ema_averaged_model.ckpt")
    args = json.loads((FIXTURES / "idiff_unet_small.json").read_text())["constructor_args"]
    args = {"_target_": "models.diffusion.unet.ConditionalUNet", **args}
    args["input_channels"] = "${constants.input_channels}"
    config = {"constants": {"input_channels": 3}, "model": args, "diffusion": {"T": 1000}}
    (root / ".hydra").mkdir()
    (root / ".hydra" / "config.yaml").write_text(yaml.safe_dump(config))
    decoder = load_file(str(FIXTURES / "vq_decoder_small.safetensors"))
    weights = {k: v for k, v in decoder.items() if not k.startswith("__")}
    torch.save(weights, root / "checkpoints" / "first_stage_decoder_state_dict.pt")
    return root


def _options(**extra) -> dict:
    return {"first_stage": SMALL_VQ, "latent_size": 8, "precision": "fp32", **extra}


def test_released_layout_loads_and_reproduces_the_fixture(run_folder: Path) -> None:
    model = load_idiff_face(run_folder / "checkpoints" / "ema_averaged_model.ckpt", _options(), CPU)
    tensors = load_file(str(FIXTURES / "idiff_unet_small.safetensors"))
    x, t, c = tensors["__input_x"], tensors["__input_t"], tensors["__input_c"]
    torch.testing.assert_close(model.denoiser(x, t, c), tensors["__output"], atol=1e-5, rtol=0)
    torch.testing.assert_close(model.denoiser.bind(c)(x, t), tensors["__output"], atol=1e-5, rtol=0)
    assert model.latent_shape == (3, 8, 8) and model.image_size == (16, 16)
    assert model.describe()["hydra_config"].endswith("config.yaml")
    vq = load_file(str(FIXTURES / "vq_decoder_small.safetensors"))
    images = model.decode(vq["__input"])
    torch.testing.assert_close(images, ((vq["__output"] + 1) / 2).clamp(0, 1), atol=1e-5, rtol=0)


def test_encoder_option_encodes_images(run_folder: Path, tmp_path) -> None:
    tensors = load_file(str(FIXTURES / "vq_encoder_small.safetensors"))
    path = tmp_path / "first_stage_encoder_state_dict.pt"
    torch.save({k: v for k, v in tensors.items() if not k.startswith("__")}, path)
    checkpoint = run_folder / "checkpoints" / "ema_averaged_model.ckpt"
    model = load_idiff_face(checkpoint, _options(encoder=str(path)), CPU)
    latents = model.encode((tensors["__input"] + 1) / 2)
    torch.testing.assert_close(latents, tensors["__output"], atol=1e-5, rtol=0)
    assert model.describe()["encoder_sha256"]
    with pytest.raises(FsbenchError, match="option 'encoder'"):
        load_idiff_face(checkpoint, _options(), CPU).encode(tensors["__input"])


def test_wrong_keys_and_shapes_name_the_first_mismatches(run_folder: Path, tmp_path) -> None:
    state = torch.load(run_folder / "checkpoints" / "ema_averaged_model.ckpt", weights_only=True)
    state["eps_model.context_emb.weight"] = torch.zeros(7, 512)
    del state["eps_model.final.bias"]
    state["eps_model.extra.weight"] = torch.zeros(1)
    bad = tmp_path / "bad.ckpt"
    torch.save(state, bad)
    decoder = run_folder / "checkpoints" / "first_stage_decoder_state_dict.pt"
    with pytest.raises(FsbenchError) as info:
        load_idiff_face(bad, _options(decoder=str(decoder), unet=_small_unet()), CPU)
    message = str(info.value)
    assert str(bad) in message
    assert "missing final.bias" in message and "unexpected extra.weight" in message
    assert "context_emb.weight: shape (7, 512) in the file, (32, 512) expected" in message


def _small_unet() -> dict:
    return json.loads((FIXTURES / "idiff_unet_small.json").read_text())["constructor_args"]


def test_full_size_decoder_refuses_a_small_file(run_folder: Path) -> None:
    with pytest.raises(FsbenchError, match=r"first_stage_decoder_state_dict\.pt does not fit"):
        load_idiff_face(
            run_folder / "checkpoints" / "ema_averaged_model.ckpt",
            {"latent_size": 8, "precision": "fp32"},
            CPU,
        )


class _Payload:
    def __reduce__(self):
        return (print, ("pwned",))


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_pickled_code_is_never_run(run_folder: Path, tmp_path, capsys) -> None:
    evil = tmp_path / "evil.ckpt"
    with evil.open("wb") as handle:
        pickle.dump({"eps_model.x": _Payload()}, handle)
    with pytest.raises(FsbenchError, match=r"evil\.ckpt: refused"):
        decoder = run_folder / "checkpoints" / "first_stage_decoder_state_dict.pt"
        load_idiff_face(evil, _options(decoder=str(decoder)), CPU)
    assert "pwned" not in capsys.readouterr().out


def test_tiny_idiff_face_run_end_to_end(run_folder: Path, tmp_path) -> None:
    folder = tmp_path / "presets"
    folder.mkdir()
    (folder / "tiny-idiff.toml").write_text(
        'extends = "adaptdiff-ddim200"\n[sampler]\nsteps = 3\n[output]\nsize = 16\n'
        "[backend.options]\n"
        "first_stage = { ch = 32, ch_mult = [1, 2] }\nlatent_size = 8\nprecision = 'fp32'\n"
    )
    request = GenerationRequest(
        preset=load_preset("tiny-idiff", [folder]),
        identities=2,
        images_per_identity=2,
        out=tmp_path / "out",
        device="cpu",
        checkpoint=run_folder / "checkpoints" / "ema_averaged_model.ckpt",
        contexts=None,
    )
    result = generate(request)
    assert result.written == 4
    info = json.loads((tmp_path / "out" / "dataset.json").read_text())
    assert info["backend"]["checkpoint_sha256"] and info["run"]["preset"]["sampler"]["steps"] == 3


def test_auto_precision_is_bf16_only_where_the_cpu_runs_it() -> None:
    from facesynth_bench.backends.idiff_face.loader import resolve_precision

    native = torch.ops.mkldnn._is_mkldnn_bf16_supported()
    assert resolve_precision(CPU, "auto") == ("bf16" if native else "fp32")
    assert resolve_precision(CPU, "fp32") == "fp32"
    assert resolve_precision(torch.device("cuda"), "auto") == "auto"
