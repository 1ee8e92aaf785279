"""The backend registry: built-ins are lazy, plugins arrive through entry points."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import EntryPoint

import pytest

import facesynth_bench.backends as backends
from facesynth_bench.errors import FsbenchError
from facesynth_bench.registry import Registry


def test_built_in_backends_are_registered_lazily() -> None:
    assert {"idiff_face", "latent_dcgan"} <= set(backends.BACKENDS.names())
    probe = (
        "import sys, facesynth_bench.backends as b; b.BACKENDS.names(); "
        "assert 'facesynth_bench.backends.idiff_face.loader' not in sys.modules"
    )
    assert subprocess.run([sys.executable, "-c", probe], check=False).returncode == 0
    loader = backends.BACKENDS.get("idiff_face")
    assert loader.__name__ == "load_idiff_face"


def test_unknown_backend_lists_the_choices() -> None:
    with pytest.raises(FsbenchError, match=r"unknown backend 'idiff-face'.*'idiff_face'"):
        backends.BACKENDS.get("idiff-face")


def test_entry_point_group_adds_a_backend(monkeypatch) -> None:
    point = EntryPoint("dummy", "dummy_module:load", "facesynth_bench.backends")
    monkeypatch.setattr(
        "facesynth_bench.registry.entry_points",
        lambda group: [point] if group == "facesynth_bench.backends" else [],
    )
    registry: Registry = Registry("backend", group="facesynth_bench.backends")
    registry.register("idiff_face", "facesynth_bench.backends.idiff_face.loader:load_idiff_face")
    assert registry.names() == ["dummy", "idiff_face"]
    with pytest.raises(FsbenchError, match="cannot load 'dummy_module:load'"):
        registry.get("dummy")
