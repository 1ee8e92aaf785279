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
    align: bool = typer.Option(
        False,
        "--align",
        help="Write each image ArcFace-aligned at 112x112 (dlib 5-point landmarks of the face "
        "upscaled to 150x150); refused for backends of aligned crops (idiff_face).",
    ),
    on_miss: str | None = typer.Option(
        None,
        "--on-miss",
        help="With --align, a face without landmarks: resize (default; whole image to "
        "112x112), skip (not written) or error. Counted in align_report.json.",
    ),
    presets: list[Path] = typer.Option(
        [], "--presets", help="Extra preset folder (repeatable); also $FSBENCH_GENERATORS_PATH."
    ),
) -> None:
    """Generate N identities x M images; resumable, reproducible, torchrun-aware."""
    from facesynth_bench.errors import FsbenchError
    from facesynth_bench.generation.runner import GenerationRequest, generate
    from facesynth_bench.specs import load_preset

    if on_miss is not None and not align:
        raise FsbenchError("--on-miss applies to --align only; add --align or drop --on-miss")
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
        align=align,
        on_miss=on_miss or "resize",
    )
    with progress_callback(f"{generator}: sampling") as progress:
        result = generate(request, progress)
    err_console.print(
        f"{result.written} images written, {result.skipped} already present, in {result.out}",
        highlight=False,
    )
    if result.alignment is not None:
        _report_alignment(result.alignment, result.out)


def _report_alignment(counts: dict[str, int], out: Path) -> None:
    """One console line: how many images were aligned, resized or dropped."""
    err_console.print(
        f"--align: {counts['aligned']} aligned to 112x112, {counts['resized']} resized and "
        f"{counts['failed']} dropped without landmarks (listed in {out / 'align_report.json'})",
        highlight=False,
    )
