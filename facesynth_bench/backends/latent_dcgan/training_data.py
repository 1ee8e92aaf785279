"""The denoiser's training set: N pairs (z, dlib(G(z))) of DCGAN latents and identity contexts.

Built in chunks, each written atomically as its own safetensors file under one folder,
so a killed build resumes where it stopped and a finished one is a cache that a larger
build of the same seed and chunk size grows (its full chunks are reused). Latents of
chunk k are drawn from a generator seeded by child_seed(seed, k) (seeding.py), so every
chunk is reproducible on its own, whatever the order, the number of workers or the
interruptions. Images take the same path as generated ones through the evaluator: decode,
round to uint8, upscale to 150x150 (`embed.base.resize_to`), dlib on the fixed box.
"""

from __future__ import annotations

import json
import multiprocessing
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from facesynth_bench.atomic_files import sha256_file, write_json_atomic
from facesynth_bench.backends.latent_dcgan.dcgan import (
    LATENT_DIM,
    DCGANGenerator,
    decode_latents,
    default_weights_path,
    load_dcgan_generator,
)
from facesynth_bench.backends.latent_dcgan.weight_files import load_weights, save_weights
from facesynth_bench.embed.base import Embedder, resize_to
from facesynth_bench.embed.dlib_resnet import CHIP_SIZE, DlibEmbedder
from facesynth_bench.errors import FsbenchError
from facesynth_bench.seeding import child_seed

SPEC_FILE = "training_set.json"
WHAT = "latent-dcgan training chunk"
ChunkCallback = Callable[[int, int, bool], None]
"""on_chunk(chunks_done, chunks_total, reused): called after each chunk is ready."""


@dataclass(frozen=True)
class TrainingSetSpec:
    """What a training-set folder holds; a folder is only ever resumed with the same spec."""

    size: int
    seed: int
    chunk_size: int = 1000
    decoder_sha256: str = ""
    embedder: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.size < 1 or self.chunk_size < 1:
            raise FsbenchError(
                f"training set: size and chunk size must be >= 1, got {self.size}, "
                f"{self.chunk_size}"
            )

    @property
    def num_chunks(self) -> int:
        """Number of chunk files; the last one may hold fewer than chunk_size pairs."""
        return -(-self.size // self.chunk_size)

    def chunk_rows(self, chunk: int) -> int:
        """Number of pairs in chunk `chunk`."""
        return min(self.chunk_size, self.size - chunk * self.chunk_size)


def chunk_latents(seed: int, chunk: int, rows: int) -> Tensor:
    """Standard-normal latents (rows, 100) of chunk `chunk`, from SeedSequence([seed, chunk])."""
    generator = torch.Generator().manual_seed(child_seed(seed, chunk))
    return torch.randn(rows, LATENT_DIM, generator=generator)


def embed_latents(
    generator: DCGANGenerator, embedder: Embedder, z: Tensor, batch_size: int = 64
) -> Tensor:
    """dlib contexts (N, 128) of the DCGAN faces of latents z, via uint8 150x150 images."""
    contexts = []
    for start in range(0, len(z), batch_size):
        images = decode_latents(generator, z[start : start + batch_size]).cpu()
        pixels = (images * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
        upscaled = np.stack([resize_to(image, embedder.input_size) for image in pixels])
        contexts.append(torch.from_numpy(embedder.embed(upscaled)))
    return torch.cat(contexts)


def chunk_path(folder: Path, chunk: int) -> Path:
    """File of chunk `chunk` inside a training-set folder."""
    return Path(folder) / f"chunk_{chunk:05d}.safetensors"


class _ChunkBuilder:
    """Decoder + dlib embedder of one process; builds and writes whole chunks."""

    def __init__(self, decoder: Path, device: str) -> None:
        self.generator = load_dcgan_generator(decoder, device)
        self.embedder = DlibEmbedder(box="fixed-box", size=CHIP_SIZE)

    def build(self, folder: Path, spec: TrainingSetSpec, chunk: int) -> None:
        z = chunk_latents(spec.seed, chunk, spec.chunk_rows(chunk))
        contexts = embed_latents(self.generator, self.embedder, z)
        header = {"spec": asdict(spec), "chunk": chunk}
        save_weights(chunk_path(folder, chunk), {"z": z, "contexts": contexts}, header)


_WORKER: _ChunkBuilder | None = None


def _start_worker(decoder: Path, device: str) -> None:
    global _WORKER
    torch.set_num_threads(1)
    _WORKER = _ChunkBuilder(decoder, device)


def _build_in_worker(job: tuple[Path, TrainingSetSpec, int]) -> int:
    if _WORKER is None:
        raise RuntimeError("training-set worker used before its initializer ran")
    _WORKER.build(*job)
    return job[2]


def _built_chunks(
    folder: Path, spec: TrainingSetSpec, chunks: list[int], decoder: Path, device: str, workers: int
) -> Iterator[int]:
    """Build `chunks` in this process or in `workers` spawned processes; yield each when written."""
    if workers <= 1:
        builder = _ChunkBuilder(decoder, device)
        for chunk in chunks:
            builder.build(folder, spec, chunk)
            yield chunk
        return
    jobs = [(folder, spec, chunk) for chunk in chunks]
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        workers, mp_context=context, initializer=_start_worker, initargs=(decoder, device)
    ) as pool:
        yield from pool.map(_build_in_worker, jobs)


def _same_except_size(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return {**a, "size": 0} == {**b, "size": 0}


def _read_chunk(folder: Path, spec: TrainingSetSpec, chunk: int) -> dict[str, Tensor] | None:
    """Chunk `chunk` of `spec`; None when it is the shorter last chunk of a smaller build."""
    path = chunk_path(folder, chunk)
    tensors, header = load_weights(path, WHAT)
    # A chunk's content depends on everything in the spec but the total size.
    if header.get("chunk") != chunk or not _same_except_size(header.get("spec", {}), asdict(spec)):
        raise FsbenchError(f"{WHAT} {path}: built for {header}, not for chunk {chunk} of {spec}")
    rows = spec.chunk_rows(chunk)
    if len(tensors["z"]) < rows and header["spec"]["size"] < spec.size:
        return None
    if tensors["z"].shape != (rows, LATENT_DIM) or len(tensors["contexts"]) != rows:
        raise FsbenchError(f"{WHAT} {path}: expected {rows} rows")
    return tensors


def _read_spec_file(folder: Path) -> TrainingSetSpec | None:
    path = folder / SPEC_FILE
    if not path.is_file():
        return None
    try:
        return TrainingSetSpec(**json.loads(path.read_text(encoding="utf-8"))["spec"])
    except (OSError, json.JSONDecodeError, KeyError, TypeError) as exc:
        raise FsbenchError(f"training set {path}: unreadable ({exc})") from exc


def _claim_folder(folder: Path, spec: TrainingSetSpec) -> None:
    found = _read_spec_file(folder)
    if found is not None and not _same_except_size(asdict(found), asdict(spec)):
        raise FsbenchError(
            f"training set {folder / SPEC_FILE}: this folder holds {asdict(found)}, "
            f"not {asdict(spec)}; use another folder"
        )
    if found != spec:
        write_json_atomic(folder / SPEC_FILE, {"spec": asdict(spec)})


def build_training_set(
    folder: Path,
    size: int,
    seed: int,
    chunk_size: int = 1000,
    device: str = "cpu",
    workers: int = 1,
    decoder: Path | None = None,
    on_chunk: ChunkCallback | None = None,
) -> TrainingSetSpec:
    """Build (or finish) the training set in `folder`; existing valid chunks are reused."""
    folder = Path(folder)
    decoder = Path(decoder) if decoder is not None else default_weights_path()
    # The spec names dlib's weights too: a cache made with other weights is not reused.
    embedder = DlibEmbedder(box="fixed-box", size=CHIP_SIZE).describe()
    spec = TrainingSetSpec(size, seed, chunk_size, sha256_file(decoder), embedder)
    folder.mkdir(parents=True, exist_ok=True)
    _claim_folder(folder, spec)
    missing = [
        chunk
        for chunk in range(spec.num_chunks)
        if not chunk_path(folder, chunk).is_file() or _read_chunk(folder, spec, chunk) is None
    ]
    done = spec.num_chunks - len(missing)
    if on_chunk is not None:
        for chunk in range(done):
            on_chunk(chunk + 1, spec.num_chunks, True)
    for _ in _built_chunks(folder, spec, missing, decoder, device, workers):
        done += 1
        if on_chunk is not None:
            on_chunk(done, spec.num_chunks, False)
    return spec


def load_training_set(folder: Path) -> tuple[Tensor, Tensor, dict[str, Any]]:
    """(z (N, 100), contexts (N, 128), spec) of a finished training-set folder."""
    folder = Path(folder)
    spec = _read_spec_file(folder)
    if spec is None:
        raise FsbenchError(f"training set {folder}: no {SPEC_FILE}; build it first")
    missing = [c for c in range(spec.num_chunks) if not chunk_path(folder, c).is_file()]
    if missing:
        raise FsbenchError(
            f"training set {folder}: {len(missing)} of {spec.num_chunks} chunks missing "
            f"(first: {chunk_path(folder, missing[0]).name}); resume the build"
        )
    chunks = []
    for chunk in range(spec.num_chunks):
        tensors = _read_chunk(folder, spec, chunk)
        if tensors is None:
            raise FsbenchError(
                f"training set {chunk_path(folder, chunk)}: shorter than this build's "
                "chunk; resume the build"
            )
        chunks.append(tensors)
    z = torch.cat([c["z"] for c in chunks])
    contexts = torch.cat([c["contexts"] for c in chunks])
    return z, contexts, asdict(spec)
