"""Training the latent-dcgan denoiser: loss, EMA, RNG ownership, exact resume, CLI."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from facesynth_bench.backends.latent_dcgan.architectures import create_denoiser, load_denoiser
from facesynth_bench.backends.latent_dcgan.denoiser import LatentDenoiserConfig
from facesynth_bench.backends.latent_dcgan.training import (
    CHECKPOINT_NAME,
    Trainer,
    TrainingSettings,
    diffusion_loss,
    train_denoiser,
)
from facesynth_bench.backends.latent_dcgan.training_data import build_training_set
from facesynth_bench.cli import main
from facesynth_bench.diffusion.schedules import NoiseSchedule
from facesynth_bench.errors import FsbenchError

TINY = LatentDenoiserConfig(width=32, depth=2, cond_dim=32, time_embedding_dim=16)
CPU = torch.device("cpu")


def _pairs(n: int = 64, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Contexts on the unit sphere around a common offset (like dlib); z a fixed map of them."""
    rng = torch.Generator().manual_seed(seed)
    contexts = torch.nn.functional.normalize(torch.randn(n, 128, generator=rng) + 3.0, dim=1)
    standardised = (contexts - contexts.mean(0)) / contexts.std(0)
    return standardised[:, :100].clone(), contexts


def _settings(**changes) -> TrainingSettings:
    base = {"steps": 12, "batch_size": 16, "checkpoint_every": 4, "seed": 5, "ema_decay": 0.9}
    return TrainingSettings(**{**base, **changes})


class KilledError(Exception):
    pass


def test_diffusion_loss_noises_z0_with_the_closed_form_of_q():
    schedule = NoiseSchedule.named("linear", 1000)
    betas = np.linspace(1e-4, 0.02, 1000)
    alpha_bar = np.cumprod(1 - betas)
    z0, noise = torch.randn(4, 100), torch.randn(4, 100)
    t = torch.tensor([0, 10, 500, 999])
    seen = {}

    def model(z_t, t_in, contexts):
        seen["z_t"] = z_t
        return torch.zeros_like(z_t)

    loss = diffusion_loss(model, z0, torch.zeros(4, 128), t, noise, schedule)
    a = torch.from_numpy(alpha_bar[t.numpy()]).float()[:, None]
    torch.testing.assert_close(seen["z_t"], a.sqrt() * z0 + (1 - a).sqrt() * noise)
    torch.testing.assert_close(loss, (noise**2).mean())


def test_v_loss_regresses_the_velocity():
    schedule = NoiseSchedule.named("linear", 1000)
    z0, noise = torch.randn(4, 100), torch.randn(4, 100)
    t = torch.tensor([0, 10, 500, 999])
    a = schedule.alpha_bars.float()[t][:, None]
    v = a.sqrt() * noise - (1 - a).sqrt() * z0
    loss = diffusion_loss(lambda z_t, t_in, c: v, z0, torch.zeros(4, 128), t, noise, schedule, "v")
    assert float(loss) < 1e-10
    zero = diffusion_loss(lambda z_t, t_in, c: 0 * z_t, z0, None, t, noise, schedule, "v")
    torch.testing.assert_close(zero, (v**2).mean())


def test_ema_follows_the_live_weights_with_the_decay():
    z, contexts = _pairs()
    trainer = Trainer(z, contexts, TINY, _settings(ema_decay=0.75), CPU)
    before = {k: v.clone() for k, v in trainer.ema.named_parameters()}
    trainer.train_step()
    for name, live in trainer.model.named_parameters():
        expected = 0.75 * before[name] + 0.25 * live.detach()
        torch.testing.assert_close(dict(trainer.ema.named_parameters())[name], expected)
    torch.testing.assert_close(trainer.ema.context_mean, contexts.mean(0))


def test_training_leaves_the_global_rng_alone_and_is_seeded():
    z, contexts = _pairs()
    torch.manual_seed(123)
    state = torch.get_rng_state()
    first = Trainer(z, contexts, TINY, _settings(), CPU)
    losses = [first.train_step() for _ in range(3)]
    assert torch.equal(torch.get_rng_state(), state)
    again = Trainer(z, contexts, TINY, _settings(), CPU)
    assert [again.train_step() for _ in range(3)] == losses
    other = Trainer(z, contexts, TINY, _settings(seed=6), CPU)
    assert [other.train_step() for _ in range(3)] != losses


def test_killed_run_resumes_to_byte_identical_weights(tmp_path):
    z, contexts = _pairs()
    whole = Trainer(z, contexts, TINY, _settings(), CPU)
    whole.run(tmp_path / "whole.pt")
    whole.save_ema_weights(tmp_path / "whole.safetensors", {"seed": 5})

    killed = Trainer(z, contexts, TINY, _settings(), CPU)

    def kill_after_step_7(step, total, loss):
        if step == 7:
            raise KilledError

    with pytest.raises(KilledError):
        killed.run(tmp_path / "run.pt", kill_after_step_7)
    resumed = Trainer(z, contexts, TINY, _settings(), CPU)
    resumed.load_checkpoint(tmp_path / "run.pt")
    assert resumed.step == 4
    resumed.run(tmp_path / "run.pt")
    resumed.save_ema_weights(tmp_path / "resumed.safetensors", {"seed": 5})
    assert resumed.losses == whole.losses
    whole_bytes = (tmp_path / "whole.safetensors").read_bytes()
    assert (tmp_path / "resumed.safetensors").read_bytes() == whole_bytes
    fresh = create_denoiser(TINY, seed=5)
    assert not torch.equal(resumed.ema.output.weight, fresh.output.weight)


def test_resume_refuses_other_settings_data_or_a_foreign_file(tmp_path):
    z, contexts = _pairs()
    trainer = Trainer(z, contexts, TINY, _settings(steps=4), CPU)
    trainer.run(tmp_path / "run.pt")
    other_lr = Trainer(z, contexts, TINY, _settings(learning_rate=1e-3), CPU)
    with pytest.raises(FsbenchError, match=r"run\.pt: made with different settings"):
        other_lr.load_checkpoint(tmp_path / "run.pt")
    other_data = Trainer(z * 2, contexts, TINY, _settings(), CPU)
    with pytest.raises(FsbenchError, match="different data_sha256"):
        other_data.load_checkpoint(tmp_path / "run.pt")
    longer = Trainer(z, contexts, TINY, _settings(steps=8), CPU)
    longer.load_checkpoint(tmp_path / "run.pt")
    assert longer.step == 4
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(FsbenchError, match=r"junk\.pt: not a torch file"):
        trainer.load_checkpoint(tmp_path / "junk.pt")


def test_trained_model_uses_its_identity_context():
    # Toy task (as in test_latent_denoiser): the context IS the clean latent, so with the
    # right context eps is determined by x_t; with another one the error stays high.
    toy = LatentDenoiserConfig(
        latent_dim=4, context_dim=4, width=32, depth=2, cond_dim=32, time_embedding_dim=16
    )
    z = torch.randn(512, 4, generator=torch.Generator().manual_seed(1))
    settings = _settings(steps=150, batch_size=128, learning_rate=3e-3, ema_decay=0.0)
    trainer = Trainer(z, z, toy, settings, CPU)
    trainer.run()
    rng = torch.Generator().manual_seed(2)
    x0, noise = torch.randn(1024, 4, generator=rng), torch.randn(1024, 4, generator=rng)
    t = torch.randint(0, 500, (1024,), generator=rng)
    x_t = trainer.schedule.add_noise(x0, t, noise)
    with torch.no_grad():
        right = float(((trainer.ema(x_t, t, x0) - noise) ** 2).mean())
        other = float(((trainer.ema(x_t, t, x0.roll(1, dims=0)) - noise) ** 2).mean())
    assert trainer.final_loss() < 0.3 < trainer.losses[0]
    assert right < 0.3 * other


def test_fp16_weights_load_into_a_float32_model_close_to_the_ema(tmp_path):
    z, contexts = _pairs()
    trainer = Trainer(z, contexts, TINY, _settings(steps=4), CPU)
    trainer.run()
    trainer.save_ema_weights(tmp_path / "w.safetensors", {"seed": 5}, torch.float16)
    model, header = load_denoiser(tmp_path / "w.safetensors")
    assert header["schedule"] == {"name": "linear", "num_timesteps": 1000}
    assert model.output.weight.dtype == torch.float32
    torch.testing.assert_close(model.context_std, trainer.ema.context_std, rtol=0, atol=0)
    x, t = torch.randn(8, 100), torch.randint(0, 1000, (8,))
    with torch.no_grad():
        torch.testing.assert_close(
            model(x, t, contexts[:8]), trainer.ema(x, t, contexts[:8]), atol=2e-2, rtol=0
        )


def test_train_denoiser_resumes_from_the_run_folder(tmp_path):
    z, contexts = _pairs()
    data = (z, contexts, {"seed": 0})
    out = tmp_path / "eps.safetensors"
    first = train_denoiser(data, tmp_path, out, TINY, _settings(steps=4), CPU)
    assert (tmp_path / CHECKPOINT_NAME).is_file() and first["resumed_from_step"] == 0
    second = train_denoiser(data, tmp_path, out, TINY, _settings(steps=8), CPU)
    assert second["resumed_from_step"] == 4 and second["steps"] == 8
    assert load_denoiser(out)[1]["steps"] == 8


def test_cli_builds_the_set_trains_and_records_the_command(tmp_path, capsys):
    run = tmp_path / "run"

    def args(steps: int, *extra: str) -> list[str]:
        return [
            "train-generator", "latent-dcgan", "--run-dir", str(run), "--size", "6",
            "--chunk-size", "3", "--width", "32", "--depth", "1", "--steps", str(steps),
            "--batch-size", "4", "--checkpoint-every", "3", "--device", "cpu", *extra,
        ]  # fmt: skip

    assert main(args(6)) == 0
    record = json.loads((run / "latent_dcgan_denoiser.json").read_text())
    assert (record["format"], record["schema_version"]) == ("facesynth-bench/generator-training", 1)
    assert record["provenance"]["device"] == "cpu" and record["provenance"]["git_commit"]
    assert record["steps"] == 6 and record["data"]["size"] == 6
    assert "--size 6" in record["reproduce"] and "--seed 0" in record["reproduce"]
    assert record["training_set"]["spec"]["embedder"]["embedder"] == "dlib"
    model, header = load_denoiser(run / "latent_dcgan_denoiser.safetensors")
    assert header["final_loss"] == record["final_loss"] and model.config.depth == 1
    assert main(args(9)) == 0
    assert json.loads((run / "latent_dcgan_denoiser.json").read_text())["resumed_from_step"] == 6
    assert main(args(9, "--lr", "0.1")) == 1
    assert "made with different settings" in capsys.readouterr().err
    assert main(args(9, "--threads", "0")) == 1
    assert "--threads must be >= 1" in capsys.readouterr().err


@pytest.mark.slow
def test_cli_run_killed_by_sigkill_resumes_to_the_same_bytes(tmp_path):
    data = tmp_path / "data"
    build_training_set(data, size=6, seed=0, chunk_size=3)

    def command(run: Path) -> list[str]:
        return [
            sys.executable, "-c", "import sys; from facesynth_bench.cli import main; "
            "sys.exit(main(sys.argv[1:]))", "train-generator", "latent-dcgan",
            "--run-dir", str(run), "--data", str(data), "--size", "6", "--chunk-size", "3",
            "--width", "128", "--depth", "2", "--steps", "150", "--batch-size", "128",
            "--checkpoint-every", "10", "--device", "cpu", "--threads", "1",
        ]  # fmt: skip

    subprocess.run(command(tmp_path / "whole"), check=True, capture_output=True)
    killed = subprocess.Popen(command(tmp_path / "killed"), stderr=subprocess.DEVNULL)
    checkpoint = tmp_path / "killed" / CHECKPOINT_NAME
    while not checkpoint.exists() and killed.poll() is None:
        time.sleep(0.01)
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    assert killed.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    assert not (tmp_path / "killed" / "latent_dcgan_denoiser.safetensors").exists()
    subprocess.run(command(tmp_path / "killed"), check=True, capture_output=True)
    record = json.loads((tmp_path / "killed" / "latent_dcgan_denoiser.json").read_text())
    assert 0 < record["resumed_from_step"] < 150
    name = "latent_dcgan_denoiser.safetensors"
    assert (tmp_path / "killed" / name).read_bytes() == (tmp_path / "whole" / name).read_bytes()
