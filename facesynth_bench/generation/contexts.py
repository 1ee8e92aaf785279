"""Identity contexts: files from the originals or ours, and seeded synthetic identities.

Formats read (never executing pickled code):
    *.npy / *.pt / *.pth  IDiff-Face / NegFaceDiff: a `torch.save`d dict {str(i): ndarray(C)}
                          (despite the .npy name), read with torch's weights-only unpickler
                          allowing only numpy arrays; or a plain (N, C) .npy array
    *.npz                 `contexts` (N, C) (or the only array), optional `ids` (N,) strings;
                          or `fsbench embed` output: `embeddings` of images, one context per
                          image, ids from `paths` ("two-stage" synthetic identities)
"""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path

import numpy as np
import torch
from numpy.core import multiarray

from facesynth_bench.backends import Contexts
from facesynth_bench.errors import FsbenchError

# numpy 1 pickles name numpy.core.multiarray, numpy 2 numpy._core.multiarray: allow both
_NUMPY_GLOBALS = [
    (multiarray._reconstruct, "numpy.core.multiarray._reconstruct"),
    (multiarray._reconstruct, "numpy._core.multiarray._reconstruct"),
    np.ndarray,
    np.dtype,
    *{type(np.dtype(t)) for t in (np.float16, np.float32, np.float64)},
]


def _torch_saved_dict(path: Path) -> tuple[np.ndarray, list[str]]:
    try:
        with torch.serialization.safe_globals(_NUMPY_GLOBALS):
            obj = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, OSError, ValueError) as exc:
        raise FsbenchError(
            f"context file {path}: not a safe torch-saved dict of arrays ({exc})"
        ) from exc
    if isinstance(obj, torch.Tensor | np.ndarray):
        return np.asarray(obj), [str(i) for i in range(len(obj))]
    if not isinstance(obj, dict) or not obj:
        raise FsbenchError(f"context file {path}: expected a dict {{id: vector}}")
    ids = list(obj)
    if all(str(k).isdigit() for k in ids):  # the originals' {"0": ..., "1": ...}
        ids.sort(key=int)
    rows = [np.asarray(obj[k], dtype=np.float64).reshape(-1) for k in ids]
    if len({r.shape for r in rows}) != 1:
        raise FsbenchError(f"context file {path}: vectors have different lengths")
    return np.stack(rows), [str(k) for k in ids]


def _npz(path: Path) -> tuple[np.ndarray, list[str]]:
    with np.load(path, allow_pickle=False) as data:
        names = list(data.files)
        key = next((k for k in ("contexts", "embeddings") if k in names), None)
        arrays = [n for n in names if n != "ids"]
        if key is None and len(arrays) == 1:
            key = arrays[0]
        if key is None:
            raise FsbenchError(
                f"context file {path}: expected an array 'contexts' or 'embeddings', has {names}"
            )
        vectors = data[key]
        id_key = next((k for k in ("ids", "paths") if k in names), None)
        ids = [str(i) for i in data[id_key]] if id_key else None
    return vectors, ids or [str(i) for i in range(len(vectors))]


def load_contexts(path: Path, dim: int, normalize: bool = False) -> Contexts:
    """Read a context file, check shape (N, dim) and finiteness; optionally L2-normalise rows."""
    path = Path(path)
    if not path.is_file():
        raise FsbenchError(f"context file {path}: no such file")
    if path.suffix == ".npz":
        vectors, ids = _npz(path)
    elif zipfile.is_zipfile(path) or path.suffix in (".pt", ".pth"):
        vectors, ids = _torch_saved_dict(path)
    else:
        try:
            vectors = np.load(path, allow_pickle=False)
        except ValueError as exc:
            raise FsbenchError(f"context file {path}: not a plain .npy array ({exc})") from exc
        ids = [str(i) for i in range(len(vectors))]
    vectors = np.asarray(vectors)
    if vectors.ndim != 2 or vectors.shape[1] != dim:
        raise FsbenchError(
            f"context file {path}: expected vectors of dimension {dim}, got shape {vectors.shape}"
        )
    if len(ids) != len(vectors):
        raise FsbenchError(f"context file {path}: {len(ids)} ids for {len(vectors)} vectors")
    bad = np.flatnonzero(~np.isfinite(vectors).all(axis=1))
    if bad.size:
        raise FsbenchError(
            f"context file {path}: {bad.size} vectors contain NaN or inf (first: row {bad[0]})"
        )
    tensor = torch.from_numpy(vectors.astype(np.float32))
    if normalize:
        tensor = torch.nn.functional.normalize(tensor, dim=1)
    return Contexts(tensor, ids, str(path))


def uniform_contexts(n: int, dim: int, seed: int) -> Contexts:
    """IDiff-Face's "synthetic uniform" identities: normalised Gaussians, uniform on S^(dim-1)."""
    generator = torch.Generator().manual_seed(seed)
    vectors = torch.nn.functional.normalize(torch.randn(n, dim, generator=generator), dim=1)
    return Contexts(vectors, [f"uniform-{seed}-{i}" for i in range(n)], f"uniform(seed={seed})")
