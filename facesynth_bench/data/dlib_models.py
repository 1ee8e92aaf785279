"""Locate dlib and the model files of the face-recognition-models package.

The package's own `face_recognition_models` module imports pkg_resources (missing from
recent setuptools), so its folder is found through importlib without importing it.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from facesynth_bench.errors import FsbenchError


def dlib_model_path(filename: str) -> Path:
    """Path of a model file shipped in the face-recognition-models package."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise FsbenchError(
            "the dlib embedder needs the package face-recognition-models "
            "(pip install 'facesynth-bench[faces]')"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "models" / filename
    if not path.is_file():
        raise FsbenchError(f"{path}: dlib model file missing from face-recognition-models")
    return path


def import_dlib() -> ModuleType:
    """Import dlib, with an installation hint when it is missing."""
    try:
        import dlib
    except ImportError as exc:
        raise FsbenchError("the dlib embedder needs dlib (pip install dlib-bin)") from exc
    return dlib
