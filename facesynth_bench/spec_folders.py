"""Folders of TOML specs (generator presets, protocols): discovery, overrides, `extends`.

Built-ins live in a top-level folder of a checkout (`generators/`, `protocols/`) and, in an
installed wheel, in `facesynth_bench/_bundled/<folder>`. User folders come from an
environment variable (os.pathsep-separated) and from options, and override built-ins of
the same name with a warning. A spec may `extends` another and override single keys, and
a caller may override dotted keys (`sampler.steps = 20`) of the merged spec before it is
validated (`apply_overrides`, `parse_override`).
"""

from __future__ import annotations

import copy
import datetime
import difflib
import os
import sys
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from facesynth_bench.errors import FsbenchError

T = TypeVar("T")

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


@dataclass(frozen=True)
class SpecFolders:
    """Where one kind of spec lives: `kind` names it in messages, `folder` on disk."""

    kind: str
    folder: str
    env_var: str

    def builtin_folder(self) -> Path:
        """The built-in specs: the wheel's bundled copy, else the checkout's folder."""
        package = Path(__file__).resolve().parent
        bundled = package / "_bundled" / self.folder
        return bundled if bundled.is_dir() else package.parent / self.folder

    def search_folders(self, extra: Sequence[Path] = ()) -> list[Path]:
        """Built-in folder first, then the environment variable's entries, then `extra`."""
        env = [Path(p) for p in os.environ.get(self.env_var, "").split(os.pathsep) if p]
        unique: dict[Path, Path] = {}
        for folder in [self.builtin_folder(), *env, *map(Path, extra)]:
            unique.setdefault(folder.resolve(), folder)
        return list(unique.values())

    def read(self, path: Path) -> dict[str, Any]:
        """One TOML file as a dict; unreadable files are a named error."""
        try:
            with path.open("rb") as handle:
                return tomllib.load(handle)
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise FsbenchError(f"{self.kind} {path}: cannot read TOML ({exc})") from exc

    def discover(self, extra: Sequence[Path] = ()) -> dict[str, Path]:
        """Spec name -> file; later folders override earlier ones with a warning."""
        found: dict[str, Path] = {}
        for folder in self.search_folders(extra):
            if not folder.is_dir():
                if folder != self.builtin_folder():
                    raise FsbenchError(f"{self.kind} folder {folder}: no such folder")
                continue
            for path in sorted(folder.glob("*.toml")):
                name = self.read(path).get("name", path.stem)
                if name in found and found[name].parent != folder:
                    warnings.warn(
                        f"{self.kind} {name!r}: {path} overrides {found[name]}", stacklevel=2
                    )
                elif name in found:
                    raise FsbenchError(
                        f"{self.kind} {name!r} is defined twice: {found[name]} and {path}"
                    )
                found[name] = path
        return found

    def load(
        self,
        name: str,
        check: Callable[[dict[str, Any], Path], None],
        build: Callable[[dict[str, Any], Path], T],
        extra: Sequence[Path] = (),
        overrides: Mapping[str, Any] | None = None,
    ) -> T:
        """Find, merge (`extends`), override, check and build the spec called `name`.

        `overrides` maps dotted keys (`sampler.steps`) to values, applied to the merged
        spec; unknown keys and bad values are errors that name them.
        """
        files = self.discover(extra)
        data = self.resolve(name, files, check)
        path = files.get(name, Path(name))
        if not overrides:
            return build(data, path)
        listed = ", ".join(f"{key}={value!r}" for key, value in overrides.items())
        try:
            check(nest_overrides(overrides), Path("overrides"))
            return build(apply_overrides(data, overrides), path)
        except FsbenchError as exc:
            raise FsbenchError(f"{exc} (with overrides {listed})", parameter="overrides") from exc

    def load_all(
        self,
        check: Callable[[dict[str, Any], Path], None],
        build: Callable[[dict[str, Any], Path], T],
        extra: Sequence[Path] = (),
    ) -> list[T]:
        """Every discoverable spec, checked and built, sorted by name."""
        files = self.discover(extra)
        return [build(self.resolve(name, files, check), files[name]) for name in sorted(files)]

    def resolve(
        self,
        name: str,
        files: dict[str, Path],
        check: Callable[[dict[str, Any], Path], None],
        chain: tuple[str, ...] = (),
    ) -> dict[str, Any]:
        """The spec `name` with its `extends` chain merged in; `check` validates each file."""
        if name not in files:
            close = difflib.get_close_matches(name, files, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise FsbenchError(
                f"unknown {self.kind} {name!r}.{hint} Available: {', '.join(sorted(files))}"
            )
        if name in chain:
            raise FsbenchError(f"{self.kind} {name!r}: circular 'extends' ({' -> '.join(chain)})")
        path = files[name]
        data = self.read(path)
        check(data, path)
        data.setdefault("name", name)
        base = data.pop("extends", None)
        if base is None:
            return data
        merged = merge_tables(self.resolve(base, files, check, (*chain, name)), data)
        merged["name"] = data["name"]
        merged["description"] = data.get("description", "")
        return merged


def schema_checker(
    kind: str, schema: dict[str, set[str] | None]
) -> Callable[[dict[str, Any], Path], None]:
    """A check for `resolve`: top-level keys from `schema`, tables with their allowed keys.

    `schema` maps each key to the keys its table may hold, or None for a plain value.
    """

    def check(data: dict[str, Any], path: Path) -> None:
        for key, value in data.items():
            if key not in schema:
                raise FsbenchError(f"{kind} {path}: unknown key {key!r}; expected {sorted(schema)}")
            allowed = schema[key]
            if allowed is None:
                continue
            if not isinstance(value, dict):
                raise FsbenchError(f"{kind} {path}: [{key}] must be a table")
            unknown = set(value) - allowed
            if unknown:
                raise FsbenchError(
                    f"{kind} {path}: unknown key(s) {sorted(unknown)} in [{key}]; "
                    f"expected {sorted(allowed)}"
                )

    return check


FIXED_KEYS = ("name", "extends")
"""Top-level keys no override may set: they say which spec this is."""


def nest_overrides(overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Dotted keys {"a.b": v} as nested tables {"a": {"b": v}}; bad keys are named."""
    nested: dict[str, Any] = {}
    for key, value in overrides.items():
        parts = key.split(".")
        if not all(part.strip() for part in parts):
            raise FsbenchError(f"override {key!r}: expected a dotted key such as sampler.steps")
        if parts[0] in FIXED_KEYS:
            raise FsbenchError(f"override {key!r}: {parts[0]!r} cannot be overridden")
        table = nested
        for depth, part in enumerate(parts[:-1]):
            node = table.setdefault(part, {})
            if not isinstance(node, dict):
                raise FsbenchError(
                    f"override {key!r}: {'.'.join(parts[: depth + 1])} is set as a value too"
                )
            table = node
        if parts[-1] in table:
            raise FsbenchError(f"override {key!r} is given twice")
        table[parts[-1]] = value
    return nested


def apply_overrides(data: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of `data` with each dotted key set to its value (tables merged, not replaced)."""
    nested = nest_overrides(overrides)
    for key, value in nested.items():
        if key in data and isinstance(value, dict) and not isinstance(data[key], dict):
            raise FsbenchError(f"override {key}.*: {key!r} is a value, not a table")
    return merge_tables(copy.deepcopy(data), nested)


def parse_override(text: str) -> tuple[str, Any]:
    """'KEY=VALUE' -> (KEY, VALUE as a TOML value); a bare word such as close is a string."""
    key, equals, raw = text.partition("=")
    key, raw = key.strip(), raw.strip()
    if not equals or not key:
        raise FsbenchError(
            f"override {text!r}: expected KEY=VALUE, e.g. sampler.steps=50", parameter="overrides"
        )
    try:
        value = tomllib.loads(f"value = {raw}")["value"]
    except tomllib.TOMLDecodeError as exc:
        if not raw or raw[0] in "[{\"'":
            raise FsbenchError(
                f"override {text!r}: {raw!r} is not a TOML value ({exc})", parameter="overrides"
            ) from exc
        value = raw
    if isinstance(value, datetime.date | datetime.time):
        raise FsbenchError(
            f"override {text!r}: dates and times are not preset values", parameter="overrides"
        )
    return key, value


def merge_tables(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """`base` with `override`'s keys replacing its own, tables merged recursively."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge_tables(merged[key], value)
        else:
            merged[key] = value
    return merged
