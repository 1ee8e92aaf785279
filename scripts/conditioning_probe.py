"""How much a latent-dcgan denoiser learns from its identity context, per noise level.

Trains a denoiser for a few steps on all but the last `--held-out` pairs of a training
set, then, on those held-out pairs, reports for each probe timestep t the x_0 error of
the implied x_0 estimate, x0 = (z_t - sqrt(1 - abar_t) eps) / sqrt(abar_t), with the
right context, and the gain 1 - err(right) / err(another pair's context). A gain near 0
means the model ignores who the identity is at that noise level; the first DDIM steps
(t near T) decide the coarse latent, so that is where identity must be used. First it
prints the held-out R^2 of a ridge regression from context to z, a linear yardstick of
how much of z a context pins.
docs/embedded-default.md ("eps or v") was made with, for each --prediction:

    .venv/bin/python scripts/conditioning_probe.py /work/cache/ld-trainset-16k \
        --prediction eps --steps 2000 --threads 1
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from facesynth_bench.backends.latent_dcgan.architectures import config_for
from facesynth_bench.backends.latent_dcgan.training import Trainer, TrainingSettings
from facesynth_bench.backends.latent_dcgan.training_data import load_training_set
from facesynth_bench.diffusion.parameterisation import PREDICTIONS, eps_from_output
from facesynth_bench.diffusion.samplers import predicted_x0

PROBE_TIMESTEPS = (300, 500, 700, 900, 990)


def x0_error(trainer: Trainer, z0, contexts, t: int, noise) -> float:
    """Mean squared error of the x_0 implied by the live model's output at timestep t."""
    steps = torch.full((len(z0),), t)
    alpha_bar = trainer.schedule.alpha_bars_at(steps, z0)
    z_t = trainer.schedule.add_noise(z0, steps, noise)
    with torch.no_grad():
        output = trainer.model(z_t, steps, contexts)
    eps = eps_from_output(trainer.settings.prediction, output, z_t, alpha_bar)
    x0 = predicted_x0(eps, t, z_t, trainer.schedule)
    return float(((x0 - z0) ** 2).mean())


def ridge_r2(z_train, c_train, z_test, c_test, penalty: float = 1.0) -> float:
    """Held-out R^2 of a ridge regression z ~ standardised context (the linear yardstick)."""
    mean, std = c_train.mean(0), c_train.std(0)

    def design(c):
        return torch.cat([(c - mean) / std, torch.ones(len(c), 1)], dim=1).double()

    x = design(c_train)
    weights = torch.linalg.solve(
        x.T @ x + penalty * torch.eye(x.shape[1], dtype=x.dtype), x.T @ z_train.double()
    )
    residual = design(c_test) @ weights - z_test.double()
    return float(1 - (residual**2).sum() / ((z_test - z_test.mean(0)) ** 2).sum())


def probe(trainer: Trainer, z0, contexts) -> dict[int, dict[str, float]]:
    """{t: {x0_mse, gain}} on held-out pairs, fixed noise (seed 0), model in eval mode."""
    trainer.model.eval()
    noise = torch.randn(z0.shape, generator=torch.Generator().manual_seed(0))
    result = {}
    for t in PROBE_TIMESTEPS:
        right = x0_error(trainer, z0, contexts, t, noise)
        other = x0_error(trainer, z0, contexts.roll(1, dims=0), t, noise)
        result[t] = {"x0_mse": round(right, 3), "gain": round(1 - right / other, 3)}
    trainer.model.train()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("training_set", help="folder built by fsbench train-generator")
    parser.add_argument("--prediction", default="v", choices=PREDICTIONS)
    parser.add_argument("--architecture", default="mlp")
    parser.add_argument("--settings", default='{"width": 320, "depth": 6}', help="config JSON")
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--lr", type=float, default=3e-4)
    parser.add_argument("--held-out", type=int, default=1000)
    parser.add_argument("--reports", type=int, default=4, help="probes during training")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    z, contexts, _ = load_training_set(args.training_set)
    train, held = slice(0, len(z) - args.held_out), slice(len(z) - args.held_out, None)
    settings = TrainingSettings(
        steps=args.steps,
        batch_size=args.batch_size,
        learning_rate=args.lr,
        prediction=args.prediction,
    )
    r2 = ridge_r2(z[train], contexts[train], z[held], contexts[held])
    print(json.dumps({"ridge_r2_held_out": round(r2, 4)}))
    config = config_for(args.architecture, json.loads(args.settings))
    trainer = Trainer(z[train], contexts[train], config, settings, torch.device("cpu"))
    started, every = time.perf_counter(), max(1, args.steps // args.reports)
    for step in range(1, args.steps + 1):
        trainer.train_step()
        if step % every == 0 or step == args.steps:
            report = probe(trainer, z[held], contexts[held])
            seconds = time.perf_counter() - started
            print(json.dumps({"step": step, "seconds": round(seconds), "probe": report}))


if __name__ == "__main__":
    main()
