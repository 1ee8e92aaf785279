"""`fsbench generate` as a library call: a resumable, shardable, reproducible run.

Layout: DIR/<identity>/<k>.png, DIR/manifest.jsonl (one record per image), DIR/dataset.json
(the resolved preset, seed, counts, versions) and DIR/contexts.npz (the positive contexts
and the chosen negatives). Image (i, k) gets noise from a generator seeded by
(seed, i, k); images are batched in a fixed plan (chunks of `batch_size` in identity-major
order, generation/plan.py) and torchrun ranks take every world-th chunk, so a resumed or
sharded run computes every image in the same batch as a single uninterrupted run:
byte-identical files. The batch size defaults to the backend's (`BackendCapabilities`).
With `align`, images are written ArcFace-aligned at 112x112 (generation/alignment.py).
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import io
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import torch

from facesynth_bench.atomic_files import write_bytes_atomic
from facesynth_bench.backends import BACKENDS, BackendLoader, Contexts, GeneratorModel
from facesynth_bench.data.dataset_record import DATASET_JSON, read_dataset_record
from facesynth_bench.data.manifest import (
    MANIFEST_NAME,
    ManifestRecord,
    ManifestWriter,
    read_manifest,
)
from facesynth_bench.devices import resolve_device
from facesynth_bench.diffusion.guidance import NegativeGuidance
from facesynth_bench.diffusion.loop import run_sampler
from facesynth_bench.diffusion.negatives import Negatives, choose_negatives
from facesynth_bench.errors import FsbenchError
from facesynth_bench.generation.alignment import (
    BatchAligner,
    align_settings,
    check_alignable,
    check_on_miss,
    describe_alignment,
    finish_alignment,
    read_misses,
)
from facesynth_bench.generation.contexts import load_contexts, uniform_contexts
from facesynth_bench.generation.distributed import init_ranks, rank_device
from facesynth_bench.generation.images import png_bytes, to_uint8
from facesynth_bench.generation.plan import Image, ImagePlan, check_run_size
from facesynth_bench.generation.seeds import BatchNoise, image_seed
from facesynth_bench.records import RunClock, write_record
from facesynth_bench.specs import GeneratorPreset

CONTEXTS_NPZ = "contexts.npz"
PARTS_DIR = ".manifest-parts"
ProgressCallback = Callable[[int, int], None]
"""progress(done, total) in sampler steps of this rank."""


class OutputNotEmptyError(FsbenchError):
    """The output folder holds files, and resuming the run there was not asked for."""


@dataclass(frozen=True)
class GenerationRequest:
    """Everything `fsbench generate` needs; `checkpoint` overrides the preset's.

    `batch_size` None: the backend's default (`BackendCapabilities.default_batch_size`).
    """

    preset: GeneratorPreset
    identities: int
    images_per_identity: int
    out: Path
    seed: int = 0
    batch_size: int | None = None
    device: str = "auto"
    checkpoint: Path | None = None
    contexts: Path | None = None
    resume: bool = False
    align: bool = False
    on_miss: str = "resize"

    def __post_init__(self) -> None:
        for parameter, value in (
            ("identities", self.identities),
            ("images_per_identity", self.images_per_identity),
            ("batch_size", 1 if self.batch_size is None else self.batch_size),
        ):
            if value < 1:
                raise FsbenchError(f"{parameter} must be >= 1, got {value}", parameter=parameter)
        if self.seed < 0:
            raise FsbenchError(f"seed must be >= 0, got {self.seed}", parameter="seed")
        check_on_miss(self.on_miss)


@dataclass(frozen=True)
class GenerationResult:
    """What a run (this rank) did; `alignment`: alignment counts of the whole run.

    `skipped`: images on disk before this run; images dropped by on_miss skip are in
    neither `written` nor `skipped`.
    """

    out: Path
    written: int
    skipped: int
    total: int
    alignment: dict[str, int] | None = None


def image_path(identity: int, index: int) -> str:
    """Dataset-relative POSIX path of image k of identity i."""
    return f"{identity:06d}/{index}.png"


def load_backend(name: str) -> BackendLoader:
    """A registered backend, or a `package.module:function` reference (development)."""
    if ":" not in name:
        return BACKENDS.get(name)
    module, _, attr = name.partition(":")
    try:
        return getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        raise FsbenchError(f"backend {name!r}: cannot import it ({exc})") from exc


def _contexts(request: GenerationRequest, model: GeneratorModel) -> Contexts:
    preset, n = request.preset, request.identities
    if request.contexts is not None:
        contexts = load_contexts(request.contexts, model.context_dim, preset.normalize_contexts)
        if len(contexts) < n:
            raise FsbenchError(
                f"context file {request.contexts}: {len(contexts)} contexts, fewer than the "
                f"{n} identities asked for",
                parameter="contexts",
            )
        return contexts.head(n)
    if preset.context_source == "backend":
        if not model.capabilities.synthetic_contexts:
            raise FsbenchError(
                f"preset {preset.name}: backend {preset.backend} offers no synthetic contexts; "
                "give a context file",
                parameter="contexts",
            )
        return model.synthetic_contexts(n, request.seed)
    return uniform_contexts(n, model.context_dim, request.seed)


def _fingerprint(contexts: Contexts) -> str:
    return hashlib.sha256(contexts.vectors.numpy().tobytes()).hexdigest()


def _run_key(
    request: GenerationRequest, batch_size: int, contexts: Contexts, model: GeneratorModel
) -> dict:
    """The fields that must match for a resumed run to continue this one."""
    backend = model.describe()
    return {
        "preset": request.preset.to_dict(),
        "overrides": request.preset.overrides,
        "seed": request.seed,
        "identities": request.identities,
        "images_per_identity": request.images_per_identity,
        "batch_size": batch_size,
        "contexts_sha256": _fingerprint(contexts),
        "checkpoint_sha256": backend.get("checkpoint_sha256"),
        "align": align_settings(request.on_miss) if request.align else None,
    }


def _check_output(out: Path, key: dict, resume: bool) -> None:
    if not out.exists() or not any(out.iterdir()):
        return
    record = out / DATASET_JSON
    if not resume:
        raise OutputNotEmptyError(
            f"output folder {out} is not empty; resume the run recorded in {record}, "
            "or choose an empty folder"
        )
    if not record.is_file():
        raise FsbenchError(
            f"cannot resume in {out}: it has no {DATASET_JSON}, so no fsbench run",
            parameter="resume",
        )
    previous = read_dataset_record(out).get("run")
    if not isinstance(previous, dict):
        raise FsbenchError(
            f"cannot resume: {record} holds no 'run' object, so no fsbench run",
            parameter="resume",
        )
    different = sorted(k for k in key if previous.get(k) != key[k])
    if different:
        recorded = f", recorded with {describe_alignment(previous.get('align'))}"
        raise FsbenchError(
            f"cannot resume: {record} records a different run ({', '.join(different)} differ"
            f"{recorded if 'align' in different else ''}); "
            "use the same preset, overrides, seed, counts, batch size, contexts, checkpoint "
            "and alignment settings, or choose an empty folder",
            parameter="resume",
        )


def _write_run_files(
    out: Path,
    key: dict,
    model: GeneratorModel,
    contexts: Contexts,
    negatives: Negatives | None,
    status: str,
    clock: RunClock,
    device: torch.device,
    alignment: dict[str, int] | None = None,
) -> None:
    buffer = io.BytesIO()
    arrays: dict[str, Any] = {"contexts": contexts.vectors.numpy(), "ids": np.array(contexts.ids)}
    if negatives is not None:
        arrays["negative_indices"] = negatives.indices.numpy()
        arrays["negatives"] = negatives.contexts.numpy()
    np.savez(buffer, **arrays)
    write_bytes_atomic(out / CONTEXTS_NPZ, buffer.getvalue())
    write_record(
        out / DATASET_JSON,
        "dataset",
        {
            "status": status,
            "run": key,
            "contexts_source": contexts.source,
            "backend": model.describe(),
            "schedule": model.schedule.describe(),
            "layout": {
                "image": "<identity:06d>/<k>.png",
                "image_size": _written_size(key, model),
                "manifest": MANIFEST_NAME,
            },
            "alignment": None if key["align"] is None else {**key["align"], "counts": alignment},
            "noise_seed": "numpy SeedSequence([seed, identity, k]) -> torch CPU generator",
            "updated": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        },
        clock,
        str(device),
    )


def _written_size(key: dict, model: GeneratorModel) -> list[int]:
    """[height, width] of the images this run writes."""
    if key["align"] is not None:
        return [key["align"]["size"]] * 2
    size = key["preset"]["output"]["size"]
    return [size, size] if size is not None else list(model.image_size)


def _merge_manifest_parts(out: Path) -> None:
    parts = out / PARTS_DIR
    records = {r.path: r for r in read_manifest(out)} if (out / MANIFEST_NAME).exists() else {}
    for part in sorted(parts.iterdir()) if parts.is_dir() else []:
        records.update((r.path, r) for r in read_manifest(part))
    ordered = sorted(records.values(), key=lambda r: (r.identity, r.index))
    lines = "".join(json.dumps(dataclasses.asdict(r), ensure_ascii=False) + "\n" for r in ordered)
    write_bytes_atomic(out / MANIFEST_NAME, lines.encode("utf-8"))
    shutil.rmtree(parts, ignore_errors=True)


def _known_paths(out: Path, manifest_root: Path) -> set[str]:
    known: set[str] = set()
    for root in {out, manifest_root}:
        if (root / MANIFEST_NAME).exists():
            known.update(r.path for r in read_manifest(root))
    return known


def generate(
    request: GenerationRequest,
    progress: ProgressCallback | None = None,
) -> GenerationResult:
    """Run (or resume) a generation; `progress(done, total)` reports sampler steps."""
    clock = RunClock()
    preset, out = request.preset, Path(request.out)
    device = resolve_device(request.device)
    ranks = init_ranks(device)
    device = rank_device(device, ranks)
    checkpoint = request.checkpoint or (Path(preset.checkpoint) if preset.checkpoint else None)
    model = load_backend(preset.backend)(checkpoint, preset.backend_options, device)
    if request.align:
        check_alignable(preset, model.capabilities, model.image_size)
    guided = not preset.guidance.is_unguided
    check_run_size(request.identities, request.images_per_identity, model.context_dim, guided, out)
    batch_size = request.batch_size or model.capabilities.default_batch_size
    contexts = _contexts(request, model)
    negatives = (
        choose_negatives(contexts.vectors, preset.negatives, request.seed, device=device)
        if guided
        else None
    )
    key = _run_key(request, batch_size, contexts, model)
    _check_output(out, key, request.resume)
    ranks.barrier()
    if ranks.is_main:
        try:
            _write_run_files(out, key, model, contexts, negatives, "running", clock, device)
        except OSError as exc:
            raise FsbenchError(f"cannot write run files into {out}: {exc}") from exc
    ranks.barrier()

    manifest_root = out if ranks.world == 1 else out / PARTS_DIR / f"rank-{ranks.rank:05d}"
    known = _known_paths(out, manifest_root)
    plan = ImagePlan(
        request.identities, request.images_per_identity, batch_size, ranks.rank, ranks.world
    )
    dropped = {p for p, action in read_misses(out).items() if action == "failed"}
    aligner = BatchAligner(out, request.on_miss) if request.align else None
    pending = [n for n in plan.batch_numbers if _pending(out, plan.batch(n), dropped)]
    total_steps = len(pending) * len(preset.sampler.timesteps(model.schedule))
    written, done = 0, 0

    def step_done(_: int) -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, total_steps)

    with ManifestWriter(manifest_root) as manifest:
        # images a kill left on disk before their manifest lines were written
        to_generate = set(pending)
        for number in plan.batch_numbers:
            if number not in to_generate:
                _append_records(manifest, _records(request, contexts, plan.batch(number), known))
        for number in pending:
            written += _generate_batch(
                request,
                model,
                contexts,
                negatives,
                plan.batch(number),
                device,
                manifest,
                known,
                step_done,
                aligner,
            )
    ranks.barrier()
    alignment = None
    if ranks.is_main:
        if ranks.world > 1 or (out / PARTS_DIR).exists():  # also parts a killed torchrun left
            _merge_manifest_parts(out)
        if request.align:
            alignment = finish_alignment(out, request.on_miss, plan.total, clock)
        _write_run_files(out, key, model, contexts, negatives, "complete", clock, device, alignment)
    ranks.barrier()
    ranks.close()
    absent = sum(not (out / image_path(i, k)).exists() for i, k in plan.images())
    total = plan.image_count
    return GenerationResult(out, written, total - written - absent, total, alignment)


def _pending(out: Path, batch: list[Image], dropped: set[str]) -> bool:
    """Whether an image of the batch is neither on disk nor dropped by on_miss skip."""
    return any(
        not (out / path).exists() and path not in dropped
        for path in (image_path(i, k) for i, k in batch)
    )


def _generate_batch(
    request: GenerationRequest,
    model: GeneratorModel,
    contexts: Contexts,
    negatives: Negatives | None,
    batch: list[Image],
    device: torch.device,
    manifest: ManifestWriter,
    known: set[str],
    step_done: Callable[[int], None],
    aligner: BatchAligner | None,
) -> int:
    pixels = _sample(request, model, contexts, negatives, batch, device, step_done)
    paths = [image_path(i, k) for i, k in batch]
    images = aligner.align(pixels, paths) if aligner is not None else list(pixels)
    written = _write_images(Path(request.out), paths, images)
    _append_records(manifest, _records(request, contexts, batch, known))
    return written


def _sample(
    request: GenerationRequest,
    model: GeneratorModel,
    contexts: Contexts,
    negatives: Negatives | None,
    batch: list[Image],
    device: torch.device,
    step_done: Callable[[int], None],
) -> np.ndarray:
    """The batch's images as uint8 (B, H, W, 3) at the preset's size."""
    preset = request.preset
    identities = torch.tensor([i for i, _ in batch])
    positive = contexts.vectors[identities].to(device)
    negative = negatives.contexts[identities].to(device) if negatives is not None else None
    eps = NegativeGuidance(
        model.denoiser, positive, negative, preset.guidance, model.schedule.num_timesteps
    )
    seeds = [image_seed(request.seed, i, k) for i, k in batch]
    noise = BatchNoise(seeds, tuple(model.latent_shape), device)
    latents = run_sampler(eps, noise.draw(), preset.sampler, model.schedule, noise, step_done)
    return to_uint8(model.decode(latents), preset.image_size)


def _write_images(out: Path, paths: list[str], images: list[np.ndarray | None]) -> int:
    """Write the images not on disk yet (None: dropped by alignment); how many were written."""
    written = 0
    for path, image in zip(paths, images, strict=True):
        target = out / path
        if image is not None and not target.exists():
            try:
                write_bytes_atomic(target, png_bytes(image))
            except OSError as exc:
                raise FsbenchError(f"cannot write image {target}: {exc}") from exc
            written += 1
    return written


def _records(
    request: GenerationRequest, contexts: Contexts, batch: list[Image], known: set[str]
) -> list[ManifestRecord]:
    """Manifest records of the batch's images on disk that the manifest lacked at the start.

    Each batch is recorded once per run, so `known` stays the manifest read at the start.
    """
    records = []
    for i, k in batch:
        relative = image_path(i, k)
        if relative not in known and (Path(request.out) / relative).exists():
            seed = image_seed(request.seed, i, k)
            records.append(
                ManifestRecord(relative, f"{i:06d}", k, request.preset.name, seed, contexts.ids[i])
            )
    return records


def _append_records(manifest: ManifestWriter, records: list[ManifestRecord]) -> None:
    if not records:
        return
    try:
        manifest.append(records)
    except OSError as exc:
        raise FsbenchError(f"cannot append to manifest {manifest.path}: {exc}") from exc
