"""`fsbench demo`: the main job end to end on the embedded default (facesynth_bench/demo.py)."""

from __future__ import annotations

from pathlib import Path

import typer

from facesynth_bench.cli.console import console, progress_callback
from facesynth_bench.devices import DEVICE_HELP


def demo_command(
    out: Path = typer.Option(
        Path("demo-output"),
        "--out",
        help="Folder for the demo's files; a rerun continues it, one made with other "
        "weights, sizes or seed is refused.",
    ),
    identities: int = typer.Option(50, "--identities", min=2, help="Identities per preset."),
    images: int = typer.Option(10, "--images-per-identity", min=2, help="Images per identity."),
    seed: int = typer.Option(1, "--seed", min=0, help="Seed of contexts, noise and pair sampling."),
    device: str = typer.Option("auto", "--device", help=DEVICE_HELP),
    builtin_embeddings: bool = typer.Option(
        False,
        "--builtin-embeddings",
        help="Score a built-in synthetic 512-d embedding set instead (seconds).",
    ),
) -> None:
    """Generate with each tiny preset, embed with dlib, and compare their separability."""
    from facesynth_bench.demo import builtin_embedding_runs, generated_runs
    from facesynth_bench.devices import resolve_device
    from facesynth_bench.output_paths import prepare_output_folder
    from facesynth_bench.records import RunClock, write_record
    from facesynth_bench.report.separability_table import separability_table

    clock = RunClock()
    torch_device = str(resolve_device(device))
    prepare_output_folder(out)
    if builtin_embeddings:
        runs = builtin_embedding_runs(out, identities, images, seed, progress_callback)
        title = "built-in 512-d set"
    else:
        runs = generated_runs(out, identities, images, seed, device, progress_callback)
        title = "embedded default"
    body = {
        "mode": "builtin-embeddings" if builtin_embeddings else "embedded-default",
        "identities": identities,
        "images_per_identity": images,
        "seed": seed,
        "runs": runs,
    }
    write_record(out / "demo.json", "demo", body, clock, torch_device)
    console.print(
        separability_table(runs, title=f"{title}: {identities} identities x {images} images")
    )
    console.print(f"wrote {out}/demo.json and histogram-*.png")
