"""The plugin registry: lazy targets, entry points, helpful errors."""

import pytest

from facesynth_bench.errors import FsbenchError
from facesynth_bench.registry import Registry


def test_register_get_and_decorator():
    registry: Registry[object] = Registry("widget")
    registry.register("a", 1)

    @registry.register("b")
    def b() -> int:
        return 2

    assert registry.get("a") == 1 and registry.get("b") is b
    assert registry.names() == ["a", "b"] and "a" in registry and list(registry) == ["a", "b"]


def test_lazy_target_is_imported_on_first_use():
    registry: Registry[object] = Registry("widget")
    registry.register("join", "os.path:join")
    import os.path

    assert registry.get("join") is os.path.join


def test_errors_name_the_problem():
    registry: Registry[object] = Registry("widget")
    registry.register("alpha", 1)
    registry.register("broken", "no_such_module_xyz:thing")
    with pytest.raises(FsbenchError, match="registered twice"):
        registry.register("alpha", 2)
    with pytest.raises(FsbenchError, match=r"unknown widget 'alpah'\. Did you mean 'alpha'"):
        registry.get("alpah")
    with pytest.raises(FsbenchError, match="cannot load 'no_such_module_xyz:thing'"):
        registry.get("broken")


def test_entry_points_of_an_installed_distribution_are_found(tmp_path, monkeypatch):
    dist = tmp_path / "fsbench_widget_plugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: fsbench-widget-plugin\nVersion: 0.1\n"
    )
    (dist / "entry_points.txt").write_text("[facesynth_bench.widgets]\nplugged = os:getcwd\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    registry: Registry[object] = Registry("widget", group="facesynth_bench.widgets")
    import os

    assert "plugged" in registry.names()
    assert registry.get("plugged") is os.getcwd
