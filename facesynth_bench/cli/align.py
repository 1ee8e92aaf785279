"""`fsbench align SRC DST`: write a 5-point-aligned 112x112 copy of a dataset."""

from __future__ import annotations

from pathlib import Path

import typer

from facesynth_bench.cli.console import console, progress_callback
from facesynth_bench.cli.option_help import LAYOUT_HELP


def align_command(
    src: Path = typer.Argument(..., help="Dataset to align (any layout fsbench reads)."),
    dst: Path = typer.Argument(..., help="Output folder (one folder per identity)."),
    landmarks: Path | None = typer.Option(
        None, "--landmarks", help="IJB-style 5-point file (name x1 y1 ... x5 y5 [score])."
    ),
    on_miss: str = typer.Option(
        "resize", "--on-miss", help="No face found by dlib: resize, skip or error."
    ),
    skip_bad: bool = typer.Option(
        False, "--skip-bad", help="Skip unreadable files / missing landmark rows, and report."
    ),
    layout: str = typer.Option("auto", "--layout", help=LAYOUT_HELP),
    grid_tile: int | None = typer.Option(None, "--grid-tile", help="Grid layout: tile px."),
    grid_columns: int | None = typer.Option(None, "--grid-columns", help="Grid: columns."),
    grid_padding: int = typer.Option(0, "--grid-padding", help="Grid: padding px."),
    grid_images: int | None = typer.Option(
        None, "--grid-images", help="Grid: read only the first N tiles (skip filler)."
    ),
    workers: int = typer.Option(0, "--workers", min=0, help="Processes that detect and warp."),
) -> None:
    """Align faces to the ArcFace 112x112 template (landmarks file, else dlib detection)."""
    from facesynth_bench.data.align import align_dataset
    from facesynth_bench.data.layouts import grid_spec
    from facesynth_bench.output_paths import prepare_output_folder

    prepare_output_folder(dst, "destination folder")
    with progress_callback("aligning") as progress:
        report = align_dataset(
            src,
            dst,
            landmarks=landmarks,
            on_miss=on_miss,
            skip_bad=skip_bad,
            layout=layout,
            grid=grid_spec(grid_tile, grid_columns, grid_padding, grid_images),
            num_workers=workers,
            progress=progress,
        )
    counts = report.counts
    console.print(
        f"aligned {counts['aligned']}, resized {counts['resized']} (no face found), "
        f"failed {counts['failed']}; report: {dst / 'align_report.json'}"
    )
