"""Training of the latent-dcgan epsilon model on (z, dlib(G(z))) pairs: seeded and resumable.

The loss is DDPM's simple objective (Ho et al. 2020, eq. 14): t ~ U{0..T-1}, eps ~ N(0, I),
z_t = sqrt(abar_t) z_0 + sqrt(1 - abar_t) eps, loss = ||eps - eps_theta(z_t, t, c)||^2,
the context c going through the model's own path (standardisation, CPD in training mode).
AdamW at a constant learning rate; an EMA copy of the weights is what gets shipped.

Every random draw comes from state the trainer owns and checkpoints: batch indices,
timesteps and noise from one CPU generator, CPD masks from a device RNG state swapped in
around each forward pass. A checkpoint (every K steps, written atomically) holds model,
EMA, optimizer and both RNG states, so a killed run resumed from it ends with the same
bytes as one that was never interrupted (on CPU; CUDA kernels are not bitwise
deterministic).
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import io
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from facesynth_bench.atomic_files import write_bytes_atomic
from facesynth_bench.backends.latent_dcgan.architectures import (
    DenoiserConfig,
    architecture_of,
    create_denoiser,
    save_denoiser,
)
from facesynth_bench.devices import autocast_for
from facesynth_bench.diffusion.parameterisation import check_prediction, training_target
from facesynth_bench.diffusion.schedules import NoiseSchedule
from facesynth_bench.errors import FsbenchError
from facesynth_bench.safe_loading import load_torch
from facesynth_bench.seeding import seed_words

CHECKPOINT_FORMAT = "facesynth-bench/latent-dcgan-training"
CHECKPOINT_VERSION = 1
CHECKPOINT_NAME = "checkpoint.pt"
LOSS_WINDOW = 100
StepCallback = Callable[[int, int, float], None]
"""on_step(step, total_steps, loss): called after every optimisation step."""


@dataclass(frozen=True)
class TrainingSettings:
    """Optimisation settings; every field but `steps` and `checkpoint_every` must match on resume.

    Args:
        steps: total optimisation steps (a resumed run may extend it).
        batch_size: pairs per step, drawn uniformly with replacement.
        learning_rate: AdamW learning rate (constant).
        weight_decay: AdamW decoupled weight decay.
        ema_decay: EMA factor per step; the shipped weights are the EMA ones.
        seed: seeds the initial weights, the batch/timestep/noise draws and the CPD masks.
        checkpoint_every: steps between checkpoints (and at the last step).
        schedule: beta schedule name (`linear` or `cosine`).
        num_timesteps: T of the schedule.
        prediction: what the network learns to predict, `eps` or `v` (see
            `diffusion.parameterisation`); recorded in the weights for sampling.
        precision: autocast on CUDA (auto | fp32 | bf16 | fp16); CPU trains in fp32.
    """

    steps: int = 4000
    batch_size: int = 512
    learning_rate: float = 3e-4
    weight_decay: float = 0.01
    ema_decay: float = 0.999
    seed: int = 0
    checkpoint_every: int = 250
    schedule: str = "linear"
    num_timesteps: int = 1000
    precision: str = "auto"
    prediction: str = "eps"

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "checkpoint_every", "num_timesteps"):
            if getattr(self, name) < 1:
                raise FsbenchError(f"training {name}: must be >= 1, got {getattr(self, name)}")
        if not 0.0 <= self.ema_decay < 1.0:
            raise FsbenchError(f"training ema_decay: must be in [0, 1), got {self.ema_decay}")
        if self.learning_rate <= 0:
            raise FsbenchError(f"training learning_rate: must be > 0, got {self.learning_rate}")
        check_prediction(self.prediction)

    def resume_key(self) -> dict[str, Any]:
        """The fields a checkpoint must share with the settings it is resumed under."""
        return {k: v for k, v in asdict(self).items() if k not in ("steps", "checkpoint_every")}


def data_fingerprint(z: Tensor, contexts: Tensor) -> str:
    """SHA-256 over the float32 bytes of the latents and then the contexts."""
    digest = hashlib.sha256()
    for tensor in (z, contexts):
        digest.update(tensor.detach().cpu().to(torch.float32).contiguous().numpy().tobytes())
    return digest.hexdigest()


def derived_seed(seed: int, stream: int) -> int:
    """An independent 63-bit seed for random stream `stream` of run `seed`.

    The two words of (seed, stream) mixed as the shipped weights were trained with.
    """
    low, high = seed_words(seed, stream)
    return (low << 31) ^ high


def diffusion_loss(
    model: torch.nn.Module,
    z0: Tensor,
    contexts: Tensor,
    t: Tensor,
    noise: Tensor,
    schedule: NoiseSchedule,
    prediction: str = "eps",
) -> Tensor:
    """MSE of the network's eps or v at z_t ~ q(z_t | z_0) (Ho et al. 2020, eq. 14)."""
    z_t = schedule.add_noise(z0, t, noise)
    target = training_target(prediction, z0, noise, schedule.alpha_bars_at(t, z0))
    return F.mse_loss(model(z_t, t, contexts).float(), target.float())


class _DeviceRng:
    """A private copy of the global RNG of one device, swapped in only inside `active()`."""

    def __init__(self, device: torch.device, seed: int) -> None:
        self.device = device
        self.devices = [device] if device.type == "cuda" else []
        with torch.random.fork_rng(devices=self.devices):
            torch.manual_seed(seed)
            self.state = self._get()

    def _get(self) -> Tensor:
        if self.device.type == "cuda":
            return torch.cuda.get_rng_state(self.device)
        return torch.get_rng_state()

    def _set(self, state: Tensor) -> None:
        if self.device.type == "cuda":
            torch.cuda.set_rng_state(state, self.device)
        else:
            torch.set_rng_state(state)

    @contextlib.contextmanager
    def active(self) -> Iterator[None]:
        with torch.random.fork_rng(devices=self.devices):
            self._set(self.state)
            yield
            self.state = self._get()


class Trainer:
    """Trains one denoiser on fixed (z, context) pairs; `run` continues from `self.step`."""

    def __init__(
        self,
        z: Tensor,
        contexts: Tensor,
        config: DenoiserConfig,
        settings: TrainingSettings,
        device: torch.device,
    ) -> None:
        if z.ndim != 2 or contexts.ndim != 2 or len(z) != len(contexts) or len(z) < 2:
            raise FsbenchError(
                f"training data: expected z (N, D) and contexts (N, C) with N >= 2, got "
                f"{tuple(z.shape)} and {tuple(contexts.shape)}"
            )
        self.settings = settings
        self.config = config
        self.device = device
        self.fingerprint = data_fingerprint(z, contexts)
        self.z = z.to(device, torch.float32)
        self.contexts = contexts.to(device, torch.float32)
        self.schedule = NoiseSchedule.named(settings.schedule, settings.num_timesteps)
        self.model = create_denoiser(config, settings.seed).to(device)
        self.model.set_context_statistics(self.contexts)
        self.model.train()
        self.ema = copy.deepcopy(self.model).eval().requires_grad_(False)
        self.optimizer = torch.optim.AdamW(
            self.model.parameters(), lr=settings.learning_rate, weight_decay=settings.weight_decay
        )
        self.draws = torch.Generator().manual_seed(derived_seed(settings.seed, 1))
        self.dropout_rng = _DeviceRng(device, derived_seed(settings.seed, 2))
        self.step = 0
        self.losses: list[float] = []

    def train_step(self) -> float:
        """One AdamW step on a fresh batch, then the EMA update; returns the batch loss."""
        n, batch = len(self.z), self.settings.batch_size
        index = torch.randint(n, (batch,), generator=self.draws).to(self.device)
        t = torch.randint(self.schedule.num_timesteps, (batch,), generator=self.draws)
        noise = torch.randn(batch, self.z.shape[1], generator=self.draws)
        with self.dropout_rng.active(), autocast_for(self.device, self.settings.precision):
            loss = diffusion_loss(
                self.model,
                self.z[index],
                self.contexts[index],
                t.to(self.device),
                noise.to(self.device),
                self.schedule,
                self.settings.prediction,
            )
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self._update_ema()
        self.step += 1
        value = float(loss.detach())
        self.losses.append(value)
        return value

    @torch.no_grad()
    def _update_ema(self) -> None:
        decay = self.settings.ema_decay
        for ema, live in zip(self.ema.parameters(), self.model.parameters(), strict=True):
            ema.lerp_(live, 1.0 - decay)
        for ema, live in zip(self.ema.buffers(), self.model.buffers(), strict=True):
            ema.copy_(live)

    def run(self, checkpoint: Path | None = None, on_step: StepCallback | None = None) -> None:
        """Train up to `settings.steps`, checkpointing every K steps and at the end."""
        every = self.settings.checkpoint_every
        while self.step < self.settings.steps:
            loss = self.train_step()
            if on_step is not None:
                on_step(self.step, self.settings.steps, loss)
            if checkpoint is not None and (
                self.step % every == 0 or self.step == self.settings.steps
            ):
                self.save_checkpoint(checkpoint)

    def final_loss(self) -> float | None:
        """Mean training loss over the last 100 steps (None before the first step)."""
        window = self.losses[-LOSS_WINDOW:]
        return sum(window) / len(window) if window else None

    def state(self) -> dict[str, Any]:
        """Everything needed to continue this run exactly: weights, optimizer, RNG states."""
        return {
            "format": CHECKPOINT_FORMAT,
            "version": CHECKPOINT_VERSION,
            "step": self.step,
            "settings": self.settings.resume_key(),
            "architecture": architecture_of(self.config),
            "config": asdict(self.config),
            "data_sha256": self.fingerprint,
            "model": {k: v.cpu() for k, v in self.model.state_dict().items()},
            "ema": {k: v.cpu() for k, v in self.ema.state_dict().items()},
            "optimizer": self.optimizer.state_dict(),
            "draws_rng": self.draws.get_state(),
            "dropout_rng": self.dropout_rng.state.cpu(),
            "losses": torch.tensor(self.losses, dtype=torch.float64),
        }

    def save_checkpoint(self, path: Path) -> None:
        """Write `state()` atomically (torch format; read back with weights_only=True)."""
        buffer = io.BytesIO()
        torch.save(self.state(), buffer)
        write_bytes_atomic(Path(path), buffer.getvalue())

    def load_checkpoint(self, path: Path) -> None:
        """Continue from a checkpoint of the same data, architecture and settings."""
        path = Path(path)
        state = load_torch(path, "training checkpoint")
        if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
            raise FsbenchError(f"training checkpoint {path}: not a latent-dcgan training file")
        expected = {
            "settings": self.settings.resume_key(),
            "architecture": architecture_of(self.config),
            "config": asdict(self.config),
            "data_sha256": self.fingerprint,
        }
        different = sorted(k for k, v in expected.items() if state.get(k) != v)
        if different:
            raise FsbenchError(
                f"training checkpoint {path}: made with different {', '.join(different)}; "
                "resume with the same data, architecture and settings, or use a new run folder"
            )
        if state["step"] > self.settings.steps:
            raise FsbenchError(
                f"training checkpoint {path}: already at step {state['step']}, beyond the "
                f"{self.settings.steps} steps asked for"
            )
        self.model.load_state_dict(state["model"])
        self.ema.load_state_dict(state["ema"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.draws.set_state(state["draws_rng"])
        self.dropout_rng.state = state["dropout_rng"]
        self.step = int(state["step"])
        self.losses = state["losses"].tolist()

    def save_ema_weights(
        self, path: Path, header: dict[str, Any], weights_dtype: torch.dtype = torch.float32
    ) -> None:
        """Write the EMA denoiser with its schedule and `header` via `save_denoiser`."""
        full_header = {
            **header,
            "schedule": {
                "name": self.settings.schedule,
                "num_timesteps": self.settings.num_timesteps,
            },
            "prediction": self.settings.prediction,
        }
        save_denoiser(self.ema, Path(path), full_header, weights_dtype)


def train_denoiser(
    data: tuple[Tensor, Tensor, dict[str, Any]],
    run_dir: Path,
    out: Path,
    config: DenoiserConfig,
    settings: TrainingSettings,
    device: torch.device,
    weights_dtype: torch.dtype = torch.float32,
    on_step: StepCallback | None = None,
) -> dict[str, Any]:
    """Train (resuming from run_dir/checkpoint.pt if there), write the EMA weights to `out`.

    `data` is (z, contexts, spec) as `training_data.load_training_set` returns it. Returns
    what was done: start step, final step, final loss, data size and fingerprint.
    """
    z, contexts, spec = data
    trainer = Trainer(z, contexts, config, settings, device)
    checkpoint = Path(run_dir) / CHECKPOINT_NAME
    if checkpoint.is_file():
        trainer.load_checkpoint(checkpoint)
    started_at = trainer.step
    trainer.run(checkpoint, on_step)
    summary = {
        "seed": settings.seed,
        "steps": trainer.step,
        "final_loss": trainer.final_loss(),
        "data": {"size": len(z), "seed": spec.get("seed"), "sha256": trainer.fingerprint},
        "training": settings.resume_key(),
    }
    trainer.save_ema_weights(out, summary, weights_dtype)
    curve = [
        float(np.mean(trainer.losses[i : i + LOSS_WINDOW]))
        for i in range(0, len(trainer.losses), LOSS_WINDOW)
    ]
    return {**summary, "resumed_from_step": started_at, "loss_per_100_steps": curve}
