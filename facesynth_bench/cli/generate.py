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
    identities: int = typer.Option(..., "--identities", min=1, help="Number of identities N."),
    images_per_identity: int = typer.Option(
        ..., "--images-per-identity", min=1, help="Images M per identity."
    ),
    out: Path = typer.Option(..., "--out", help="Output folder: <identity>/<k>.png + manifest."),
    contexts: Path | None = typer.Option(
        None, "--contexts", help="Context file (.npy/.npz/.pt); default: the preset's source."
    ),
    seed: int = typer.Option(
        0, "--seed", min=0, help="Run seed: contexts, negatives, per-image noise."
    ),
    batch_size: int | None = typer.Option(
        None,
        "--batch-size",
        min=1,
        help="Images per denoiser batch; default: the backend's (100 for the embedded "
        "default, 16 for idiff_face). Recorded; a resumed run must use the same.",
    ),
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
    overrides: list[str] = typer.Option(
        [],
        "--set",
        metavar="KEY=VALUE",
        help="Override a preset key (repeatable), e.g. --set guidance.w_max=2 --set "
        "sampler.steps=50 --set negatives.strategy=close; VALUE is a TOML value (a bare "
        "word is a string). Validated as the preset's own keys, recorded in dataset.json.",
    ),
) -> None:
    """Generate N identities x M images; resumable, reproducible, torchrun-aware."""
    from facesynth_bench.data.dataset_record import DATASET_JSON
    from facesynth_bench.errors import FsbenchError
    from facesynth_bench.generation.runner import (
        GenerationRequest,
        OutputNotEmptyError,
        generate,
    )
    from facesynth_bench.output_paths import prepare_output_folder
    from facesynth_bench.specs import load_preset

    if on_miss is not None and not align:
        raise FsbenchError("--on-miss applies to --align only; add --align or drop --on-miss")
    request = GenerationRequest(
        preset=load_preset(generator, presets, _overrides(overrides)),
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
    prepare_output_folder(out)
    with progress_callback(f"{generator}: sampling") as progress:
        try:
            result = generate(request, progress)
        except OutputNotEmptyError as exc:
            raise FsbenchError(
                f"--out {out} is not empty; pass --resume to continue the run recorded in "
                f"{out / DATASET_JSON}, or choose an empty folder"
            ) from exc
    err_console.print(
        f"{result.written} images written, {result.skipped} already present, in {result.out}",
        highlight=False,
    )
    if result.alignment is not None:
        _report_alignment(result.alignment, result.out)


def _overrides(settings: list[str]) -> dict[str, object]:
    """--set KEY=VALUE options as {dotted key: TOML value}; a key given twice is refused."""
    from facesynth_bench.errors import FsbenchError
    from facesynth_bench.spec_folders import parse_override

    overrides: dict[str, object] = {}
    for text in settings:
        key, value = parse_override(text)
        if key in overrides:
            raise FsbenchError(f"--set {key} is given twice; give each key once")
        overrides[key] = value
    return overrides


def _report_alignment(counts: dict[str, int], out: Path) -> None:
    """One console line: how many images were aligned, resized or dropped."""
    err_console.print(
        f"--align: {counts['aligned']} aligned to 112x112, {counts['resized']} resized and "
        f"{counts['failed']} dropped without landmarks (listed in {out / 'align_report.json'})",
        highlight=False,
    )
