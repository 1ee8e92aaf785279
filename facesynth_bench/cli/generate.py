"""`fsbench generate`: sample a synthetic identity dataset with a generator preset."""

from __future__ import annotations

from pathlib import Path

import typer

from facesynth_bench.cli.console import err_console, progress_callback
from facesynth_bench.devices import DEVICE_CHOICES


def generate_command(
    generator: str = typer.Option(
        "tiny-adaptdiff", "--generator", help="Preset (fsbench list generators)."
    ),
    identities: int = typer.Option(..., "--identities", help="Number of identities N."),
    images_per_identity: int = typer.Option(
        ..., "--images-per-identity", help="Images M per identity."
    ),
    out: Path = typer.Option(..., "--out", help="Output folder: <identity>/<k>.png + manifest."),
    contexts: Path | None = typer.Option(
        None, "--contexts", help="Context file (.npy/.npz/.pt); default: the preset's source."
    ),
    seed: int = typer.Option(0, "--seed", help="Run seed: contexts, negatives, per-image noise."),
    batch_size: int = typer.Option(16, "--batch-size", help="Images per denoiser batch."),
    device: str = typer.Option("auto", "--device", help=f"One of {', '.join(DEVICE_CHOICES)}."),
    checkpoint: Path | None = typer.Option(
        None, "--checkpoint", help="Model weights, overriding the preset's."
    ),
    resume: bool = typer.Option(
        False,
        "--resume",
        help="Continue the run recorded in OUT (same settings), skip done images.",
    ),
    presets: list[Path] = typer.Option(
        [], "--presets", help="Extra preset folder (repeatable); also $FSBENCH_GENERATORS_PATH."
    ),
) -> None:
    """Generate N identities x M images; resumable, reproducible, torchrun-aware."""
    from facesynth_bench.generation.runner import GenerationRequest, generate
    from facesynth_bench.specs import load_preset

    request = GenerationRequest(
        preset=load_preset(generator, presets),
        identities=identities,
        images_per_identity=images_per_identity,
        out=out,
        seed=seed,
        batch_size=batch_size,
        device=device,
        checkpoint=checkpoint,
        contexts=contexts,
        resume=resume,
    )
    with progress_callback(f"{generator}: sampling") as progress:
        result = generate(request, progress)
    err_console.print(
        f"{result.written} images written, {result.skipped} already present, in {result.out}",
        highlight=False,
    )
