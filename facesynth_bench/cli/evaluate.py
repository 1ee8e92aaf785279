"""`fsbench evaluate ...`: separability of embeddings, metrics of score files."""

from __future__ import annotations

import time
import warnings
from pathlib import Path
from typing import TypeVar

import typer

from facesynth_bench.atomic_files import sha256_file, write_json_atomic
from facesynth_bench.cli.console import console, progress_callback, reported_warnings
from facesynth_bench.cli.embed import embedding_set_from_dataset
from facesynth_bench.devices import resolve_device
from facesynth_bench.embedding_set import load_embedding_set
from facesynth_bench.errors import FsbenchError
from facesynth_bench.metrics.all_pairs import PAIR_MODES, PairPlan
from facesynth_bench.metrics.score_sets import evaluate_scores
from facesynth_bench.metrics.score_sinks import DEFAULT_BINS
from facesynth_bench.metrics.separability import evaluate_separability
from facesynth_bench.protocols.separability import load_protocol
from facesynth_bench.report.provenance import provenance
from facesynth_bench.report.score_plots import plot_score_histograms
from facesynth_bench.report.separability_table import separability_table
from facesynth_bench.score_files import read_score_files

T = TypeVar("T")

evaluate_app = typer.Typer(
    help="Evaluate embeddings, score files or FR models.", no_args_is_help=True
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
    batch_size: int = typer.Option(64, "--batch-size", help="Embedding batch size."),
    out: Path = typer.Option(..., "--out", help="Output folder for JSON and figure."),
    protocol: str | None = typer.Option(
        None, "--protocol", help="A named protocol (fsbench list protocols) as the defaults."
    ),
    max_identities: int | None = typer.Option(None, "--max-identities", help="First K ids."),
    max_images: int | None = typer.Option(None, "--max-images", help="First M images per id."),
    order: str | None = typer.Option(
        None, "--order", help="Sample order: lexicographic (default) or natural."
    ),
    flip: bool | None = typer.Option(
        None, "--flip/--no-flip", help="Embedder flip TTA (default: the embedder's)."
    ),
    skip_bad: bool = typer.Option(False, "--skip-bad", help="Skip and report unusable files."),
    pairs: str | None = typer.Option(
        None, "--pairs", help=f"Pair mode: {', '.join(PAIR_MODES)} (default exhaustive)."
    ),
    fraction: float | None = typer.Option(
        None, "--fraction", help="F of `sampled-fraction`: share of later identities (0.05)."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the sampled pair modes."),
    convention: str | None = typer.Option(
        None, "--convention", help="strict (default), bob, pyeer or insightface."
    ),
    engine: str = typer.Option(
        "auto", "--engine", help="auto, exact (keep all scores) or histogram (streaming)."
    ),
    bins: int = typer.Option(DEFAULT_BINS, "--bins", help="Histogram bins (a power of two)."),
    normalize: bool = typer.Option(
        True, "--normalize/--no-normalize", help="L2-normalise embeddings first."
    ),
    device: str = typer.Option("auto", "--device", help="auto, cpu or cuda."),
) -> None:
    """Identity separability (EER, FMR100, FMR1000, FDR, ...) of an embedding set.

    Options given on the command line override the --protocol's choices.
    """
    started = time.perf_counter()
    torch_device = resolve_device(device)
    with reported_warnings() as warning_texts:
        spec = load_protocol(protocol) if protocol is not None else None
        max_identities = _choose(max_identities, spec and spec.max_identities, None)
        max_images = _choose(max_images, spec and spec.max_images, None)
        plan = PairPlan(
            _choose(pairs, spec and spec.pairs, "exhaustive"),
            _choose(fraction, spec and spec.fraction, 0.05),
            seed,
        )
        convention = _choose(convention, spec and spec.convention, "strict")
        if (embeddings is None) == (dataset is None):
            raise FsbenchError("give exactly one of --embeddings FILE.npz or --dataset DIR")
        source = embeddings if embeddings is not None else dataset
        if dataset is not None:
            data = embedding_set_from_dataset(
                dataset,
                embedder,
                checkpoint=checkpoint,
                batch_size=batch_size,
                max_identities=max_identities,
                max_images=max_images,
                skip_bad=skip_bad,
                device=device,
                order=_choose(order, spec and spec.order, "lexicographic"),
                flip=_choose(flip, spec and spec.flip, None),
            )
        else:
            if max_identities or max_images or order or flip is not None:
                warnings.warn(
                    f"{embeddings}: an embeddings file is scored as it is; subset, order and "
                    "flip choices apply to --dataset (or to `fsbench embed`)",
                    stacklevel=1,
                )
            data = load_embedding_set(embeddings)
        with progress_callback("scoring pairs") as progress:
            result = evaluate_separability(
                data.embeddings,
                data.labels,
                plan=plan,
                convention=convention,
                engine=engine,
                normalize=normalize,
                device=torch_device,
                bins=bins,
                source=str(source),
                progress=progress,
            )
    if spec is not None:
        result.metrics["protocol"] = spec.to_dict()
    inputs = {
        "path": str(source),
        **({"sha256": sha256_file(embeddings)} if embeddings is not None else {}),
        **data.meta,
    }
    _write_result(
        out / "separability.json",
        {**result.metrics, "device": str(torch_device)},
        inputs,
        warning_texts,
        started,
    )
    plot_score_histograms(result.curve, result.metrics, out / "histogram.png", source.name)
    console.print(separability_table({source.name: result.metrics}, title="separability"))
    console.print(f"wrote {out / 'separability.json'} and {out / 'histogram.png'}")


def _choose(given: T | None, from_protocol: T | None, default: T) -> T:
    """The command line's value, else the protocol's, else the built-in default."""
    if given is not None:
        return given
    return from_protocol if from_protocol is not None else default


def _write_result(
    path: Path, metrics: dict, inputs: dict, warning_texts: list[str], started: float
) -> None:
    """Write a result JSON: metrics, what was read, warnings raised and provenance."""
    report = {
        **metrics,
        "input": inputs,
        "warnings": warning_texts,
        "provenance": provenance(time.perf_counter() - started),
    }
    write_json_atomic(path, report)


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
    started = time.perf_counter()
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
        "format": data.format,
        "files": [{"path": str(p), "sha256": sha256_file(p)} for p in files],
    }
    _write_result(out / "scores.json", result.metrics, inputs, warning_texts, started)
    plot_score_histograms(
        result.curve, result.metrics, out / "histogram.png", data.source, distance=distance
    )
    table = separability_table({Path(files[0]).name: result.metrics}, title="scores")
    console.print(table)
    console.print(f"decision rule: {result.metrics['decision']}")
    console.print(f"wrote {out / 'scores.json'} and {out / 'histogram.png'}")
