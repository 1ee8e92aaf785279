"""`fsbench evaluate ...`: separability of embeddings or datasets, metrics of score files.

Imports of the library (torch, matplotlib) happen inside the commands, so `--help` is fast.
"""

from __future__ import annotations

from pathlib import Path

import typer

from facesynth_bench.cli.console import (
    console,
    progress_callback,
    report_embedding,
    reported_warnings,
)
from facesynth_bench.devices import DEVICE_HELP

evaluate_app = typer.Typer(
    help="Evaluate embedding sets, dataset folders or score files.", no_args_is_help=True
)


@evaluate_app.command("separability")
def separability_command(
    embeddings: Path | None = typer.Option(
        None, "--embeddings", help="NPZ with `embeddings` (N x D) and `labels` (N,)."
    ),
    dataset: Path | None = typer.Option(
        None, "--dataset", help="Or a dataset folder, embedded first with --embedder."
    ),
    embedder: str | None = typer.Option(None, "--embedder", help="Embedder for --dataset."),
    checkpoint: Path | None = typer.Option(None, "--checkpoint", help="Embedder weights."),
    batch_size: int = typer.Option(64, "--batch-size", min=1, help="Embedding batch size."),
    out: Path = typer.Option(..., "--out", help="Output folder for JSON and figure."),
    protocol: str | None = typer.Option(
        None, "--protocol", help="A named protocol (fsbench list protocols) as the defaults."
    ),
    max_identities: int | None = typer.Option(None, "--max-identities", min=1, help="First K ids."),
    max_images: int | None = typer.Option(
        None, "--max-images", min=1, help="First M images per id."
    ),
    order: str | None = typer.Option(
        None, "--order", help="Sample order: lexicographic (default) or natural."
    ),
    flip: bool | None = typer.Option(
        None, "--flip/--no-flip", help="Embedder flip TTA (default: the embedder's)."
    ),
    skip_bad: bool = typer.Option(False, "--skip-bad", help="Skip and report unusable files."),
    pairs: str | None = typer.Option(
        None, "--pairs", help="Pair mode (fsbench list pair-modes; default exhaustive)."
    ),
    fraction: float | None = typer.Option(
        None, "--fraction", help="F of `sampled-fraction`: share of later identities (0.05)."
    ),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of the sampled pair modes."),
    convention: str | None = typer.Option(
        None, "--convention", help="strict (default), bob, pyeer or insightface."
    ),
    engine: str = typer.Option(
        "auto", "--engine", help="auto, exact (keep all scores) or histogram (streaming)."
    ),
    bins: int | None = typer.Option(
        None, "--bins", help="Histogram bins, a power of two (default 2^20)."
    ),
    normalize: bool = typer.Option(
        True, "--normalize/--no-normalize", help="L2-normalise embeddings first."
    ),
    device: str = typer.Option("auto", "--device", help=DEVICE_HELP),
) -> None:
    """Identity separability (EER, FMR100, FMR1000, FDR, ...) of an embedding set.

    Options given on the command line override the --protocol's choices.
    """
    from facesynth_bench.atomic_files import sha256_file
    from facesynth_bench.devices import resolve_device
    from facesynth_bench.embed.cache import default_cache_dir
    from facesynth_bench.errors import FsbenchError
    from facesynth_bench.metrics.all_pairs import PairPlan
    from facesynth_bench.metrics.score_sinks import DEFAULT_BINS
    from facesynth_bench.metrics.separability import evaluate_separability
    from facesynth_bench.output_paths import prepare_output_folder
    from facesynth_bench.protocols.separability import load_protocol
    from facesynth_bench.protocols.separability_run import (
        DatasetEmbedding,
        SeparabilityChoices,
        embed_for_evaluation,
        load_for_evaluation,
        resolve_choices,
        separability_body,
    )
    from facesynth_bench.records import RunClock, write_record
    from facesynth_bench.report.score_plots import plot_score_histograms
    from facesynth_bench.report.separability_table import separability_table

    clock = RunClock()
    if (embeddings is None) == (dataset is None):
        raise FsbenchError("give exactly one of --embeddings FILE.npz or --dataset DIR")
    if dataset is not None and embedder is None:
        raise FsbenchError("--dataset needs --embedder NAME (see `fsbench list embedders`)")
    torch_device = resolve_device(device)
    prepare_output_folder(out)
    choices = SeparabilityChoices(
        max_identities, max_images, order, flip, pairs, fraction, convention
    )
    with reported_warnings() as warning_texts:
        spec = load_protocol(protocol) if protocol is not None else None
        resolved = resolve_choices(choices, spec)
        plan = PairPlan(resolved.pairs, resolved.fraction or 0.05, seed)
        if dataset is not None:
            source = DatasetEmbedding(
                dataset, embedder, checkpoint, batch_size, skip_bad, device, default_cache_dir()
            )
            with progress_callback(f"embedding with {embedder}") as progress:
                data = embed_for_evaluation(source, resolved, progress)
            report_embedding(data.meta)
            inputs = {"path": str(dataset), **data.meta}
        else:
            data = load_for_evaluation(embeddings, resolved)
            inputs = {"path": str(embeddings), "sha256": sha256_file(embeddings), **data.meta}
        origin = embeddings if embeddings is not None else dataset
        with progress_callback("scoring pairs") as progress:
            result = evaluate_separability(
                data.embeddings,
                data.labels,
                plan=plan,
                convention=resolved.convention,
                engine=engine,
                normalize=normalize,
                device=torch_device,
                bins=DEFAULT_BINS if bins is None else bins,
                source=str(origin),
                progress=progress,
            )
    body = separability_body(result.metrics, resolved, spec, inputs, warning_texts)
    write_record(out / "separability.json", "separability", body, clock, str(torch_device))
    plot_score_histograms(result.curve, result.metrics, out / "histogram.png", origin.name)
    console.print(separability_table({origin.name: result.metrics}, title="separability"))
    console.print(f"wrote {out / 'separability.json'} and {out / 'histogram.png'}")


@evaluate_app.command("scores")
def scores_command(
    out: Path = typer.Option(..., "--out", help="Output folder for JSON and figure."),
    genuine: Path | None = typer.Option(
        None, "--genuine", help="Genuine scores: text, one per line (pyeer), or .npy."
    ),
    impostor: Path | None = typer.Option(None, "--impostor", help="Impostor scores, likewise."),
    scores: Path | None = typer.Option(
        None, "--scores", help="Or one labelled file: bob 2/4/5 columns or (N, 2) .npy."
    ),
    convention: str = typer.Option(
        "strict", "--convention", help="strict, bob, pyeer or insightface."
    ),
    distance: bool = typer.Option(
        False, "--distance", help="Scores are distances: lower means a match."
    ),
    nan_policy: str = typer.Option(
        "error", "--nan-policy", help="error, or fta: count NaN/Inf as failures to acquire."
    ),
) -> None:
    """Verification metrics of score files made by any tool (pyeer, bob, NumPy)."""
    from facesynth_bench.atomic_files import sha256_file
    from facesynth_bench.metrics.score_sets import evaluate_scores
    from facesynth_bench.output_paths import prepare_output_folder
    from facesynth_bench.records import RunClock, write_record
    from facesynth_bench.report.score_plots import plot_score_histograms
    from facesynth_bench.report.separability_table import separability_table
    from facesynth_bench.score_files import read_score_files

    clock = RunClock()
    prepare_output_folder(out)
    with reported_warnings() as warning_texts:
        data = read_score_files(genuine, impostor, scores)
        result = evaluate_scores(
            data.genuine,
            data.impostor,
            convention=convention,
            distance=distance,
            nan_policy=nan_policy,
            source=data.source,
        )
    files = [path for path in (genuine, impostor, scores) if path is not None]
    inputs = {
        "file_format": data.format,
        "files": [{"path": str(p), "sha256": sha256_file(p)} for p in files],
    }
    body = {**result.metrics, "input": inputs, "warnings": warning_texts}
    write_record(out / "scores.json", "scores", body, clock)
    plot_score_histograms(
        result.curve, result.metrics, out / "histogram.png", data.source, distance=distance
    )
    table = separability_table({Path(files[0]).name: result.metrics}, title="scores")
    console.print(table)
    console.print(f"decision rule: {result.metrics['decision']}")
    console.print(f"wrote {out / 'scores.json'} and {out / 'histogram.png'}")
