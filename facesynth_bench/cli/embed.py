"""`fsbench embed`: embed a dataset folder with a named FR model into an `.npz` file."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from facesynth_bench.atomic_files import write_json_atomic
from facesynth_bench.cli.console import console, err_console, progress_callback
from facesynth_bench.data.image_io import DEFAULT_MIN_SIZE
from facesynth_bench.data.layouts import LAYOUTS, grid_spec
from facesynth_bench.embedding_set import EmbeddingSet
from facesynth_bench.errors import FsbenchError

if TYPE_CHECKING:
    from facesynth_bench.embed.pipeline import EmbeddingResult

DATASET_HELP = "Dataset folder (identity folders, flat <id>_<i> files, grids or train.rec)."


def embedder_options(
    flip: bool | None, dlib_box: str | None, onnx_normalisation: str | None
) -> dict[str, Any]:
    """Embedder-specific options given on the command line (only those set)."""
    options: dict[str, Any] = {}
    if flip is not None:
        options["flip"] = flip
    if dlib_box is not None:
        options["box"] = dlib_box
    if onnx_normalisation is not None:
        options["normalisation"] = onnx_normalisation
    return options


def run_embedding(
    dataset: Path, embedder: str, *, use_cache: bool, cache_dir: Path | None, **kwargs: Any
) -> EmbeddingResult:
    """Embed with a progress bar, print a one-line summary, return the EmbeddingResult."""
    from facesynth_bench.embed.cache import default_cache_dir
    from facesynth_bench.embed.pipeline import embed_dataset

    kwargs["cache_dir"] = (cache_dir or default_cache_dir()) if use_cache else None
    with progress_callback(f"embedding with {embedder}") as progress:
        result = embed_dataset(dataset, embedder, progress=progress, **kwargs)
    counts = result.metadata["counts"]
    err_console.print(
        f"{counts['images']} images of {counts['identities']} identities "
        f"({counts['cache_hits']} from cache, {counts['skipped']} skipped)"
    )
    for item in result.skipped[:10]:
        err_console.print(f"[yellow]skipped[/] {item['path']}: {item['reason']}", highlight=False)
    return result


def embed_command(
    dataset: Path = typer.Option(..., "--dataset", help=DATASET_HELP),
    embedder: str = typer.Option(..., "--embedder", help="Embedder name (fsbench list embedders)."),
    out: Path = typer.Option(..., "--out", help="Output .npz (a .json report is written beside)."),
    checkpoint: Path | None = typer.Option(None, "--checkpoint", help="Weights (.pth/.onnx)."),
    layout: str = typer.Option("auto", "--layout", help=f"Layout: {', '.join(LAYOUTS)}."),
    grid_tile: int | None = typer.Option(None, "--grid-tile", help="Grid layout: tile px."),
    grid_columns: int | None = typer.Option(None, "--grid-columns", help="Grid: columns."),
    grid_padding: int = typer.Option(0, "--grid-padding", help="Grid: padding px."),
    grid_images: int | None = typer.Option(
        None, "--grid-images", help="Grid: read only the first N tiles (skip filler)."
    ),
    max_identities: int | None = typer.Option(None, "--max-identities", help="First K ids."),
    max_images: int | None = typer.Option(None, "--max-images", help="First M images per id."),
    order: str = typer.Option(
        "lexicographic", "--order", help="Sample order: lexicographic (as sorted()) or natural."
    ),
    subset_seed: int | None = typer.Option(
        None, "--subset-seed", help="Draw the subset at random with this seed instead."
    ),
    skip_bad: bool = typer.Option(
        False, "--skip-bad", help="Skip unusable files and list them in the report."
    ),
    min_size: int = typer.Option(DEFAULT_MIN_SIZE, "--min-size", help="Smallest image side."),
    batch_size: int = typer.Option(64, "--batch-size", help="Images per forward pass."),
    workers: int | None = typer.Option(None, "--workers", help="Decode workers (0: in-process)."),
    device: str = typer.Option("auto", "--device", help="auto, cpu or cuda."),
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
    from facesynth_bench.embed.pipeline import save_embeddings

    if out.suffix != ".npz":
        raise FsbenchError(f"--out {out}: must end in .npz")
    result = run_embedding(
        dataset,
        embedder,
        checkpoint=checkpoint,
        layout=layout,
        grid=grid_spec(grid_tile, grid_columns, grid_padding, grid_images),
        order=order,
        min_size=min_size,
        max_identities=max_identities,
        max_images=max_images,
        subset_seed=subset_seed,
        skip_bad=skip_bad,
        batch_size=batch_size,
        num_workers=workers,
        device=device,
        precision=precision,
        cache_dir=cache_dir,
        use_cache=cache,
        embedder_options=embedder_options(flip, dlib_box, onnx_normalisation),
    )
    save_embeddings(out, result)
    report = out.with_suffix(".json")
    write_json_atomic(report, {"output": str(out), **result.metadata})
    console.print(
        f"wrote {out} ({result.embeddings.shape[0]} x {result.embeddings.shape[1]}) and {report}"
    )


def embedding_set_from_dataset(
    dataset: Path,
    embedder: str | None,
    *,
    checkpoint: Path | None,
    batch_size: int,
    max_identities: int | None,
    max_images: int | None,
    skip_bad: bool,
    device: str,
    order: str = "lexicographic",
    flip: bool | None = None,
) -> EmbeddingSet:
    """Embed a dataset for an evaluation command: an EmbeddingSet whose meta says how."""
    if embedder is None:
        raise FsbenchError("--dataset needs --embedder NAME (see `fsbench list embedders`)")
    result = run_embedding(
        dataset,
        embedder,
        checkpoint=checkpoint,
        batch_size=batch_size,
        max_identities=max_identities,
        max_images=max_images,
        order=order,
        skip_bad=skip_bad,
        device=device,
        use_cache=True,
        cache_dir=None,
        embedder_options=embedder_options(flip, None, None),
    )
    return EmbeddingSet(result.embeddings, result.labels, result.paths, result.metadata)
