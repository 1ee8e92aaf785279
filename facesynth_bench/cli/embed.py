"""`fsbench embed`: embed a dataset folder with a named FR model into an `.npz` file."""

from __future__ import annotations

from pathlib import Path

import typer

from facesynth_bench.cli.console import (
    console,
    progress_callback,
    report_embedding,
    reported_warnings,
)
from facesynth_bench.cli.option_help import DATASET_HELP, LAYOUT_HELP
from facesynth_bench.devices import DEVICE_HELP


def embed_command(
    dataset: Path = typer.Option(..., "--dataset", help=DATASET_HELP),
    embedder: str = typer.Option(..., "--embedder", help="Embedder name (fsbench list embedders)."),
    out: Path = typer.Option(..., "--out", help="Output .npz (a .json report is written beside)."),
    checkpoint: Path | None = typer.Option(None, "--checkpoint", help="Weights (.pth/.onnx)."),
    layout: str = typer.Option("auto", "--layout", help=LAYOUT_HELP),
    grid_tile: int | None = typer.Option(None, "--grid-tile", min=1, help="Grid layout: tile px."),
    grid_columns: int | None = typer.Option(None, "--grid-columns", min=1, help="Grid: columns."),
    grid_padding: int = typer.Option(0, "--grid-padding", min=0, help="Grid: padding px."),
    grid_images: int | None = typer.Option(
        None, "--grid-images", min=1, help="Grid: read only the first N tiles (skip filler)."
    ),
    max_identities: int | None = typer.Option(None, "--max-identities", min=1, help="First K ids."),
    max_images: int | None = typer.Option(
        None, "--max-images", min=1, help="First M images per id."
    ),
    order: str = typer.Option(
        "lexicographic", "--order", help="Sample order: lexicographic (as sorted()) or natural."
    ),
    subset_seed: int | None = typer.Option(
        None, "--subset-seed", min=0, help="Draw the subset at random with this seed instead."
    ),
    skip_bad: bool = typer.Option(
        False, "--skip-bad", help="Skip unusable files and list them in the report."
    ),
    min_size: int | None = typer.Option(
        None, "--min-size", min=1, help="Smallest image side in px (default 16)."
    ),
    batch_size: int = typer.Option(64, "--batch-size", min=1, help="Images per forward pass."),
    workers: int | None = typer.Option(
        None, "--workers", min=0, help="Decode workers (0: in-process; default: by CPU count)."
    ),
    device: str = typer.Option("auto", "--device", help=DEVICE_HELP),
    precision: str = typer.Option("auto", "--precision", help="auto, fp32, bf16 or fp16."),
    cache_dir: Path | None = typer.Option(None, "--cache-dir", help="Embedding cache folder."),
    cache: bool = typer.Option(True, "--cache/--no-cache", help="Reuse cached embeddings."),
    flip: bool | None = typer.Option(None, "--flip/--no-flip", help="Flip TTA (iresnet, onnx)."),
    dlib_box: str | None = typer.Option(None, "--dlib-box", help="dlib: fixed-box or detect."),
    onnx_normalisation: str | None = typer.Option(
        None, "--onnx-normalisation", help="onnx: arcface ((x-127.5)/127.5) or raw."
    ),
) -> None:
    """Embed every image of a dataset (or the first K identities x M images)."""
    from facesynth_bench.data.layouts import grid_spec
    from facesynth_bench.devices import check_precision, resolve_device
    from facesynth_bench.embed.cache import default_cache_dir
    from facesynth_bench.embed.pipeline import embed_dataset, save_embeddings
    from facesynth_bench.errors import FsbenchError
    from facesynth_bench.output_paths import prepare_output_file
    from facesynth_bench.records import RunClock, write_record

    clock = RunClock()
    if out.suffix != ".npz":
        raise FsbenchError(f"--out {out}: must end in .npz")
    check_precision(precision)
    report = out.with_suffix(".json")
    prepare_output_file(out)
    prepare_output_file(report)
    options = {
        key: value
        for key, value in (("flip", flip), ("box", dlib_box), ("normalisation", onnx_normalisation))
        if value is not None
    }
    with (
        reported_warnings() as warning_texts,
        progress_callback(f"embedding with {embedder}") as progress,
    ):
        result = embed_dataset(
            dataset,
            embedder,
            checkpoint=checkpoint,
            layout=layout,
            grid=grid_spec(grid_tile, grid_columns, grid_padding, grid_images),
            order=order,
            **({} if min_size is None else {"min_size": min_size}),
            max_identities=max_identities,
            max_images=max_images,
            subset_seed=subset_seed,
            skip_bad=skip_bad,
            batch_size=batch_size,
            num_workers=workers,
            device=device,
            precision=precision,
            cache_dir=(cache_dir or default_cache_dir()) if cache else None,
            progress=progress,
            embedder_options=options,
        )
    report_embedding(result.metadata)
    save_embeddings(out, result)
    body = {"output": str(out), **result.metadata, "warnings": warning_texts}
    write_record(report, "embeddings-report", body, clock, str(resolve_device(device)))
    console.print(
        f"wrote {out} ({result.embeddings.shape[0]} x {result.embeddings.shape[1]}) and {report}"
    )
