"""`fsbench train-generator latent-dcgan`: build the (z, dlib(G(z))) pairs, train the denoiser."""

from __future__ import annotations

import shlex
from dataclasses import asdict
from pathlib import Path

import typer

from facesynth_bench.cli.console import err_console, make_progress
from facesynth_bench.devices import DEVICE_CHOICES
from facesynth_bench.errors import FsbenchError

train_generator_app = typer.Typer(
    help="Train a generator backend's model (the embedded default: latent-dcgan).",
    no_args_is_help=True,
)
WEIGHTS_DTYPES = ("fp32", "fp16")


def _command(options: dict[str, object]) -> str:
    """The fully explicit command line that reproduces this run."""
    words = ["fsbench", "train-generator", "latent-dcgan"]
    for option, value in options.items():
        if value is not None:
            words += [option, str(value)]
    return shlex.join(words)


@train_generator_app.command("latent-dcgan")
def latent_dcgan_command(
    run_dir: Path = typer.Option(
        ..., "--run-dir", help="Folder for checkpoint.pt; a run found there is resumed."
    ),
    out: Path | None = typer.Option(
        None, "--out", help="EMA weights file; default RUN_DIR/latent_dcgan_denoiser.safetensors."
    ),
    data: Path | None = typer.Option(
        None, "--data", help="Training-set folder (built if missing); default RUN_DIR/training-set."
    ),
    size: int = typer.Option(30000, "--size", help="Training pairs N (DCGAN samples)."),
    data_seed: int = typer.Option(0, "--data-seed", help="Seed of the training latents."),
    chunk_size: int = typer.Option(1000, "--chunk-size", help="Pairs per cached chunk file."),
    workers: int = typer.Option(1, "--workers", help="Processes embedding the training set."),
    architecture: str = typer.Option("mlp", "--architecture", help="mlp or transformer."),
    width: int | None = typer.Option(None, "--width", help="Hidden width (default: config's)."),
    depth: int | None = typer.Option(None, "--depth", help="Blocks (default: config's)."),
    steps: int = typer.Option(4000, "--steps", help="Optimisation steps in total."),
    batch_size: int = typer.Option(512, "--batch-size", help="Pairs per step."),
    learning_rate: float = typer.Option(3e-4, "--lr", help="AdamW learning rate (constant)."),
    weight_decay: float = typer.Option(0.01, "--weight-decay", help="AdamW weight decay."),
    ema_decay: float = typer.Option(0.999, "--ema-decay", help="EMA factor per step."),
    prediction: str = typer.Option(
        "v", "--prediction", help="Network target: v (default) or eps (see docs)."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of weights, batches, noise and CPD masks."),
    checkpoint_every: int = typer.Option(250, "--checkpoint-every", help="Steps per checkpoint."),
    weights_dtype: str = typer.Option("fp16", "--weights-dtype", help="fp16 or fp32 layers."),
    device: str = typer.Option("auto", "--device", help=f"One of {', '.join(DEVICE_CHOICES)}."),
    precision: str = typer.Option("auto", "--precision", help="CUDA: auto|fp32|bf16|fp16."),
    threads: int | None = typer.Option(None, "--threads", help="CPU torch threads (default all)."),
) -> None:
    """Build/reuse the cached training set, train with EMA (resumable), write the weights."""
    import torch

    from facesynth_bench.atomic_files import sha256_file
    from facesynth_bench.backends.latent_dcgan.architectures import config_for
    from facesynth_bench.backends.latent_dcgan.training import TrainingSettings, train_denoiser
    from facesynth_bench.backends.latent_dcgan.training_data import (
        build_training_set,
        load_training_set,
    )
    from facesynth_bench.devices import resolve_device
    from facesynth_bench.output_paths import prepare_output_file, prepare_output_folder
    from facesynth_bench.records import RunClock, write_record

    if weights_dtype not in WEIGHTS_DTYPES:
        raise FsbenchError(f"--weights-dtype {weights_dtype!r}: expected fp16 or fp32")
    if workers < 1:
        raise FsbenchError(f"--workers must be >= 1, got {workers}")
    if threads is not None:
        if threads < 1:
            raise FsbenchError(f"--threads must be >= 1, got {threads}")
        torch.set_num_threads(threads)
    clock = RunClock()
    torch_device = resolve_device(device)
    out = out or run_dir / "latent_dcgan_denoiser.safetensors"
    data = data or run_dir / "training-set"
    prepare_output_folder(run_dir, "run folder")
    prepare_output_file(out, "weights file")
    prepare_output_folder(data, "training-set folder")
    sizes = {k: v for k, v in (("width", width), ("depth", depth)) if v is not None}
    config = config_for(architecture, sizes)
    settings = TrainingSettings(
        steps=steps,
        batch_size=batch_size,
        learning_rate=learning_rate,
        weight_decay=weight_decay,
        ema_decay=ema_decay,
        seed=seed,
        checkpoint_every=checkpoint_every,
        precision=precision,
        prediction=prediction,
    )
    with make_progress() as progress:
        task = progress.add_task("training set (dlib embeddings)", total=None)
        build_training_set(
            data,
            size,
            data_seed,
            chunk_size,
            "cpu",
            workers,
            on_chunk=lambda done, total, _: progress.update(task, completed=done, total=total),
        )
        training_data = load_training_set(data)
        task = progress.add_task("training", total=steps)

        def on_step(step: int, total: int, loss: float) -> None:
            progress.update(task, completed=step, description=f"training, loss {loss:.4f}")

        summary = train_denoiser(
            training_data,
            run_dir,
            out,
            config,
            settings,
            torch_device,
            torch.float16 if weights_dtype == "fp16" else torch.float32,
            on_step,
        )
    command = _command(
        {
            "--run-dir": run_dir,
            "--out": out,
            "--data": data,
            "--size": size,
            "--data-seed": data_seed,
            "--chunk-size": chunk_size,
            "--workers": workers,
            "--architecture": architecture,
            "--width": width,
            "--depth": depth,
            "--steps": steps,
            "--batch-size": batch_size,
            "--lr": learning_rate,
            "--weight-decay": weight_decay,
            "--ema-decay": ema_decay,
            "--prediction": prediction,
            "--seed": seed,
            "--checkpoint-every": checkpoint_every,
            "--weights-dtype": weights_dtype,
            "--device": device,
            "--precision": precision,
            "--threads": threads,
        }
    )
    body = {
        "generator": "latent-dcgan",
        "reproduce": command,
        **summary,
        "architecture": architecture,
        "config": asdict(config),
        "training_set": {"folder": str(data), "spec": training_data[2]},
        "weights": {"path": str(out), "sha256": sha256_file(out), "dtype": weights_dtype},
    }
    write_record(out.with_suffix(".json"), "generator-training", body, clock, str(torch_device))
    loss = summary["final_loss"]
    err_console.print(
        f"step {summary['steps']} (from {summary['resumed_from_step']}), final loss "
        f"{loss:.4f}; wrote {out} and {out.with_suffix('.json')}",
        highlight=False,
    )
