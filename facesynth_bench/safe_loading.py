"""Reading untrusted files without running code they hold; every error names the file.

- pickles (the insightface `.bin` verification sets, Python 2 ones included): a restricted
  unpickler that builds only plain values and numpy arrays and refuses every other type
  before anything is called;
- torch files: `torch.load(weights_only=True)` with an explicit allow-list of extra types;
- `.safetensors`: safetensors (holds no code);
- `.npy` / `.npz`: numpy with `allow_pickle=False`; object arrays are refused by name.

Torch is imported inside the functions that need it, so light modules may import this one.
"""

from __future__ import annotations

import pickle
import re
import zipfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np

from facesynth_bench.errors import FsbenchError

if TYPE_CHECKING:
    import torch

_reconstruct = np.zeros(0).__reduce__()[0]  # numpy.core.multiarray._reconstruct in any numpy
_scalar = np.float32(0).__reduce__()[0]  # numpy.core.multiarray.scalar
_frombuffer = np.zeros(1).__reduce_ex__(5)[0]  # numpy.core.numeric._frombuffer (protocol 5)
_MULTIARRAY = ("numpy.core.multiarray", "numpy._core.multiarray")  # numpy 1 and 2 names
_NUMERIC = ("numpy.core.numeric", "numpy._core.numeric")
_PICKLE_PROTO = pickle.PROTO  # first byte of every pickle of protocol 2 or later
_ZIP_MAGIC = b"PK\x03\x04"  # first bytes of a zip archive (torch's format since 1.6)

# Extra globals torch's weights-only unpickler needs for `torch.save`d numpy arrays.
NUMPY_ARRAY_GLOBALS: list[Any] = [
    *((_reconstruct, f"{module}._reconstruct") for module in _MULTIARRAY),
    np.ndarray,
    np.dtype,
    *{type(np.dtype(t)) for t in (np.float16, np.float32, np.float64)},
]

# Sentences of torch's error texts that advise turning the safety off or allow-listing.
_UNSAFE_ADVICE = re.compile(
    r"weights.only|re-running|trust|safe_globals|allowlist|can still be loaded|alternatively"
    r"|documentation|file an issue",
    re.IGNORECASE,
)
_NOISE = re.compile(r"\x1b\[[0-9;]*m|WeightsUnpickler error:| or types allowlisted via `\w+`")


def describe_error(exc: BaseException) -> str:
    """A library's error text without any advice to load unsafely (torch's in particular)."""
    text = _NOISE.sub("", str(exc))
    sentences = re.split(r"(?<=[.:])\s+|\n+", text)
    kept = " ".join(s.strip() for s in sentences if s.strip() and not _UNSAFE_ADVICE.search(s))
    return f"{type(exc).__name__}: {kept}" if kept else type(exc).__name__


def _check_file(path: Path, what: str) -> Path:
    path = Path(path)
    if path.is_dir():
        raise FsbenchError(f"{what} {path}: is a folder, not a file")
    if not path.is_file():
        raise FsbenchError(f"{what} {path}: no such file")
    return path


class RefusedPickle(pickle.UnpicklingError):
    """A pickle asked for a type or function outside the allow-list; nothing was called."""


def _refuse(module: str, name: str) -> Any:
    raise RefusedPickle(f"it asks for {module}.{name}, which is not plain data")


def _array(subtype: Any, shape: Any, dtype: Any) -> np.ndarray:
    if subtype is not np.ndarray:
        raise RefusedPickle(f"it builds an array of type {subtype!r}, not numpy.ndarray")
    return _reconstruct(subtype, shape, dtype)


def _plain_dtype(*args: Any) -> np.dtype:
    dtype = np.dtype(*args)
    if dtype.hasobject:
        raise RefusedPickle("it holds an array of Python objects")
    return dtype


def _numpy_scalar(dtype: np.dtype, *args: Any) -> Any:
    if dtype.hasobject:
        raise RefusedPickle("it holds a Python object as a numpy scalar")
    return _scalar(dtype, *args)


def _array_from_buffer(buffer: Any, dtype: np.dtype, shape: Any, order: str) -> np.ndarray:
    if dtype.hasobject:
        raise RefusedPickle("it holds an array of Python objects")
    return _frombuffer(buffer, dtype, shape, order)


def _latin1_bytes(text: str, encoding: str) -> bytes:
    """How Python 3 writes `bytes` in pickle protocols 0-2: codecs.encode(text, "latin1")."""
    if encoding != "latin1":
        raise RefusedPickle(f"it encodes bytes as {encoding!r}, not latin1")
    return text.encode("latin1")


_PICKLE_GLOBALS: dict[tuple[str, str], Any] = {
    **{(module, "_reconstruct"): _array for module in _MULTIARRAY},
    **{(module, "scalar"): _numpy_scalar for module in _MULTIARRAY},
    **{(module, "_frombuffer"): _array_from_buffer for module in _NUMERIC},
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): _plain_dtype,
    ("_codecs", "encode"): _latin1_bytes,
}
_PLAIN_GLOBALS = {("_codecs", "encode"): _latin1_bytes}  # no numpy: plain Python values only


class RestrictedUnpickler(pickle.Unpickler):
    """Builds bytes, str, numbers, bools, None, lists, tuples, dicts and numpy arrays only.

    Every other global (a class or function a pickle asks for) is refused before it is
    called, so a pickle's `__reduce__` payload never runs.
    """

    allowed_globals: dict[tuple[str, str], Any] = _PICKLE_GLOBALS

    def find_class(self, module: str, name: str) -> Any:
        """The allowed callable for `module.name`; anything else raises RefusedPickle."""
        allowed = self.allowed_globals.get((module, name))
        return allowed if allowed is not None else _refuse(module, name)

    def persistent_load(self, pid: Any) -> Any:
        """Refuse persistent ids (how torch files point at storages): not plain data."""
        raise RefusedPickle("it refers to external objects (persistent ids)")


class PlainUnpickler(RestrictedUnpickler):
    """RestrictedUnpickler without numpy: bytes, str, numbers, bools, None, lists, tuples, dicts."""

    allowed_globals = _PLAIN_GLOBALS


def read_pickle_stream(stream: IO[bytes], *, numpy_arrays: bool = True) -> Any:
    """Unpickle a stream with RestrictedUnpickler (PlainUnpickler when not `numpy_arrays`).

    Python 2 strings come back as bytes.
    """
    unpickler = RestrictedUnpickler if numpy_arrays else PlainUnpickler
    return unpickler(stream, encoding="bytes").load()


def load_pickle(path: Path, what: str = "file", *, numpy_arrays: bool = True) -> Any:
    """Read a pickle file holding only plain values (and numpy arrays when `numpy_arrays`)."""
    path = _check_file(path, what)
    try:
        with path.open("rb") as stream:
            return read_pickle_stream(stream, numpy_arrays=numpy_arrays)
    except RefusedPickle as exc:
        raise FsbenchError(f"{what} {path}: refused, {exc}; no code in it was run") from None
    except Exception as exc:  # a damaged pickle raises almost any type
        raise FsbenchError(
            f"{what} {path}: not a readable pickle ({describe_error(exc)})"
        ) from None


def load_torch(
    path: Path,
    what: str = "file",
    *,
    map_location: str | torch.device = "cpu",
    allowed_globals: Iterable[Any] = (),
) -> Any:
    """`torch.load(weights_only=True)`: tensors and plain containers, plus `allowed_globals`."""
    import torch

    path = _check_file(path, what)
    with path.open("rb") as stream:
        start = stream.read(len(_ZIP_MAGIC))
    if not start.startswith((_PICKLE_PROTO, _ZIP_MAGIC)):
        raise FsbenchError(f"{what} {path}: not a torch file (neither a zip archive nor a pickle)")
    try:
        with torch.serialization.safe_globals(list(allowed_globals)):
            return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        raise FsbenchError(
            f"{what} {path}: refused, it is not plain tensor data ({describe_error(exc)}); "
            "no code in it was run"
        ) from None
    except Exception as exc:  # torch raises KeyError, EOFError, RuntimeError... for bad files
        raise FsbenchError(
            f"{what} {path}: not a readable torch file ({describe_error(exc)})"
        ) from None


def load_tensor_file(
    path: Path, what: str = "checkpoint", map_location: str | torch.device = "cpu"
) -> Any:
    """A `.safetensors` file as a dict of tensors, any other file through load_torch."""
    path = _check_file(path, what)
    if path.suffix != ".safetensors":
        return load_torch(path, what, map_location=map_location)
    from safetensors.torch import load_file

    try:
        return load_file(str(path), device=str(map_location))
    except Exception as exc:  # safetensors raises its own error type, OSError, ValueError
        raise FsbenchError(
            f"{what} {path}: not a readable safetensors file ({describe_error(exc)})"
        ) from None


def _object_array_error(what: str, path: Path, name: str) -> FsbenchError:
    return FsbenchError(
        f"{what} {path}: {name} holds Python objects (dtype object), which would need "
        "unpickling; store it as numbers or strings"
    )


def load_npy(path: Path, what: str = "file") -> np.ndarray:
    """A `.npy` array, read without unpickling (object arrays are refused)."""
    path = _check_file(path, what)
    try:
        array = np.load(path, allow_pickle=False)
    except ValueError as exc:
        if "Object arrays" in str(exc):
            raise _object_array_error(what, path, "the array") from None
        raise FsbenchError(f"{what} {path}: not a .npy array ({describe_error(exc)})") from None
    except (OSError, EOFError) as exc:
        raise FsbenchError(f"{what} {path}: not a .npy array ({describe_error(exc)})") from None
    if not isinstance(array, np.ndarray):
        array.close()
        raise FsbenchError(f"{what} {path}: an .npz archive, expected a single .npy array")
    return array


class NpzArchive:
    """The arrays of an open `.npz` file, each read on access without unpickling."""

    def __init__(self, arrays: np.lib.npyio.NpzFile, path: Path, what: str) -> None:
        self._arrays, self.path, self.what = arrays, path, what
        self.names: list[str] = list(arrays.files)

    def __contains__(self, name: str) -> bool:
        return name in self.names

    def __getitem__(self, name: str) -> np.ndarray:
        """The array `name`; an object array or a damaged member raises naming `name`."""
        if name not in self.names:
            raise FsbenchError(
                f"{self.what} {self.path}: no array {name!r}; has {', '.join(self.names) or 'none'}"
            )
        try:
            return self._arrays[name]
        except ValueError as exc:
            if "Object arrays" in str(exc):
                raise _object_array_error(self.what, self.path, f"array {name!r}") from None
            raise self._damaged(name, exc) from None
        except (OSError, EOFError, zipfile.BadZipFile) as exc:
            raise self._damaged(name, exc) from None

    def get(self, name: str) -> np.ndarray | None:
        """The array `name`, or None when the archive has no such array."""
        return self[name] if name in self.names else None

    def _damaged(self, name: str, exc: Exception) -> FsbenchError:
        return FsbenchError(
            f"{self.what} {self.path}: array {name!r} is unreadable ({describe_error(exc)})"
        )


@contextmanager
def open_npz(path: Path, what: str = "file") -> Iterator[NpzArchive]:
    """Open an `.npz` archive for reading arrays by name, never unpickling."""
    path = _check_file(path, what)
    if not zipfile.is_zipfile(path):
        raise FsbenchError(f"{what} {path}: not a readable .npz archive (not a zip file)")
    try:
        arrays = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise FsbenchError(
            f"{what} {path}: not a readable .npz archive ({describe_error(exc)})"
        ) from None
    with arrays:
        yield NpzArchive(arrays, path, what)
