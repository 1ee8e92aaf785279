"""Identity contexts: files from the originals or ours, and seeded synthetic identities.

Formats read (never executing pickled code):
    *.npy / *.pt / *.pth  IDiff-Face / NegFaceDiff: a `torch.save`d dict {str(i): ndarray(C)}
                          (despite the .npy name), read with torch's weights-only unpickler
                          allowing only numpy arrays (safe_loading); or a plain (N, C) .npy
    *.npz                 `contexts` (N, C) (or the only array), optional `ids` (N,) strings;
                          or `fsbench embed` output: `embeddings` of images, one context per
                          image, ids from `paths` ("two-stage" synthetic identities)
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from facesynth_bench.backends import Contexts
from facesynth_bench.errors import FsbenchError
from facesynth_bench.safe_loading import NUMPY_ARRAY_GLOBALS, load_npy, load_torch, open_npz

WHAT = "context file"


_KINDS = {"U": "strings", "S": "bytes", "O": "Python objects", "b": "booleans"}


def _numbers(values: Any, path: Path, name: str) -> np.ndarray:
    """`values` as a real-valued array; strings, objects and the like are refused by name."""
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().double().numpy()
    try:
        array = np.asarray(values)
    except (ValueError, TypeError) as exc:
        raise FsbenchError(f"{WHAT} {path}: {name} is not an array of numbers ({exc})") from None
    if array.dtype.kind not in "iuf":
        held = _KINDS.get(array.dtype.kind, "values")
        raise FsbenchError(
            f"{WHAT} {path}: {name} holds {held} (dtype {array.dtype}), expected real numbers"
        )
    return array


def _torch_saved_dict(path: Path) -> tuple[np.ndarray, list[str] | None]:
    obj = load_torch(path, WHAT, allowed_globals=NUMPY_ARRAY_GLOBALS)
    if isinstance(obj, torch.Tensor | np.ndarray):
        return _numbers(obj, path, "the saved array"), None
    if not isinstance(obj, dict) or not obj:
        raise FsbenchError(f"{WHAT} {path}: expected a dict {{id: vector}}")
    ids = list(obj)
    if all(str(k).isdigit() for k in ids):  # the originals' {"0": ..., "1": ...}
        ids.sort(key=int)
    rows = [_numbers(obj[k], path, f"vector {k!r}").reshape(-1) for k in ids]
    if len({r.shape for r in rows}) != 1:
        raise FsbenchError(f"{WHAT} {path}: vectors have different lengths")
    return np.stack(rows), [str(k) for k in ids]


def _npz(path: Path) -> tuple[np.ndarray, list[str] | None]:
    with open_npz(path, WHAT) as data:
        key = next((k for k in ("contexts", "embeddings") if k in data), None)
        arrays = [n for n in data.names if n != "ids"]
        if key is None and len(arrays) == 1:
            key = arrays[0]
        if key is None:
            raise FsbenchError(
                f"{WHAT} {path}: expected an array 'contexts' or 'embeddings', has {data.names}"
            )
        vectors = _numbers(data[key], path, f"array {key!r}")
        id_key = next((k for k in ("ids", "paths") if k in data), None)
        if id_key is None:
            return vectors, None
        ids = data[id_key]
    if ids.ndim != 1:
        raise FsbenchError(f"{WHAT} {path}: array {id_key!r} must be 1-D, has shape {ids.shape}")
    return vectors, [str(i) for i in ids]


def load_contexts(path: Path, dim: int, normalize: bool = False) -> Contexts:
    """Read a context file, check shape (N, dim) and finiteness; optionally L2-normalise rows."""
    path = Path(path)
    ids: list[str] | None = None
    if path.suffix == ".npz":
        vectors, ids = _npz(path)
    elif path.is_file() and (zipfile.is_zipfile(path) or path.suffix in (".pt", ".pth")):
        vectors, ids = _torch_saved_dict(path)
    else:
        vectors = _numbers(load_npy(path, WHAT), path, "the array")
    if vectors.ndim != 2 or vectors.shape[1] != dim:
        raise FsbenchError(
            f"{WHAT} {path}: expected vectors of dimension {dim}, got shape {vectors.shape}"
        )
    ids = ids or [str(i) for i in range(len(vectors))]
    if len(ids) != len(vectors):
        raise FsbenchError(f"{WHAT} {path}: {len(ids)} ids for {len(vectors)} vectors")
    bad = np.flatnonzero(~np.isfinite(vectors).all(axis=1))
    if bad.size:
        raise FsbenchError(
            f"{WHAT} {path}: {bad.size} vectors contain NaN or inf (first: row {bad[0]})"
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
