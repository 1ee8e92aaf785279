"""A small typed registry of named plugins, with lazy `module:attr` targets and entry points."""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable, Iterator
from importlib.metadata import entry_points
from typing import Generic, TypeVar

from facesynth_bench.errors import FsbenchError

T = TypeVar("T")


class Registry(Generic[T]):
    """Name -> object map for one kind of plugin (embedders, backends, conventions, ...).

    Entries are either objects or lazy "package.module:attr" strings imported on first use,
    so heavy backends cost nothing until selected. Third-party packages add entries through
    the entry-point group `group` (loaded on first lookup).
    """

    def __init__(self, kind: str, group: str | None = None) -> None:
        self.kind = kind
        self.group = group
        self._entries: dict[str, T | str] = {}
        self._entry_points_loaded = group is None

    def register(self, name: str, target: T | str | None = None) -> Callable[[T], T] | None:
        """Register `target` under `name`; without a target, return a decorator."""
        if target is None:

            def decorator(obj: T) -> T:
                self._add(name, obj)
                return obj

            return decorator
        self._add(name, target)
        return None

    def _add(self, name: str, target: T | str) -> None:
        if name in self._entries:
            raise FsbenchError(f"{self.kind} {name!r} is registered twice")
        self._entries[name] = target

    def _load_entry_points(self) -> None:
        if self._entry_points_loaded:
            return
        self._entry_points_loaded = True
        for point in entry_points(group=self.group):
            if point.name not in self._entries:
                self._entries[point.name] = point.value

    def get(self, name: str) -> T:
        """Return the entry named `name`, importing it if lazy; unknown names list the choices."""
        self._load_entry_points()
        if name not in self._entries:
            close = difflib.get_close_matches(name, self._entries, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise FsbenchError(
                f"unknown {self.kind} {name!r}.{hint} Available: {', '.join(self.names())}"
            )
        target = self._entries[name]
        if isinstance(target, str):
            module_name, _, attr = target.partition(":")
            try:
                target = getattr(importlib.import_module(module_name), attr)
            except (ImportError, AttributeError) as exc:
                raise FsbenchError(f"{self.kind} {name!r}: cannot load {target!r}: {exc}") from exc
            self._entries[name] = target
        return target

    def names(self) -> list[str]:
        """Sorted names of every registered entry."""
        self._load_entry_points()
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        self._load_entry_points()
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())
