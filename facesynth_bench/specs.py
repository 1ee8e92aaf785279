"""Generator presets: TOML files found in the built-in and user folders, validated.

Built-ins live in `generators/` of a checkout and, in an installed wheel, in
`facesynth_bench/_bundled/generators`. User folders come from `--presets DIR` options
or the `FSBENCH_GENERATORS_PATH` environment variable (os.pathsep-separated) and
override built-ins of the same name, with a warning (spec_folders.py). A preset may
`extends` another and override single keys, and a caller may override dotted keys
(`load_preset(name, overrides={"sampler.steps": 20})`, `fsbench generate --set`), which
are validated as the file's own keys and recorded with the preset. Schema: docs/plugins.md.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from facesynth_bench.diffusion.guidance_schedules import GuidanceSchedule
from facesynth_bench.diffusion.negatives import NEGATIVE_STRATEGIES
from facesynth_bench.diffusion.samplers import Sampler
from facesynth_bench.errors import FsbenchError
from facesynth_bench.spec_folders import SpecFolders, schema_checker

FOLDERS = SpecFolders("generator preset", "generators", "FSBENCH_GENERATORS_PATH")
CONTEXT_SOURCES = ("uniform", "backend")
_SCHEMA: dict[str, set[str] | None] = {
    "name": None,
    "version": None,
    "description": None,
    "extends": None,
    "backend": {"name", "checkpoint", "options"},
    "sampler": {"name", "steps", "eta"},
    "guidance": {"schedule", "w_max", "points"},
    "negatives": {"strategy"},
    "contexts": {"source", "normalize"},
    "output": {"size"},
}
_check_keys = schema_checker("preset", _SCHEMA)


@dataclass(frozen=True)
class GeneratorPreset:
    """A resolved preset: backend + checkpoint + sampler + guidance + negatives + output."""

    name: str
    version: int
    description: str
    backend: str
    checkpoint: str | None
    backend_options: dict[str, Any]
    sampler: Sampler
    guidance: GuidanceSchedule
    negatives: str
    context_source: str
    normalize_contexts: bool
    image_size: int | None
    source: str = field(compare=False)
    overrides: dict[str, Any] = field(default_factory=dict)
    """Dotted keys set over the preset's files, e.g. {"sampler.steps": 20}."""

    def to_dict(self) -> dict[str, Any]:
        """The resolved preset as JSON-able data (recorded in every dataset.json)."""
        return {
            "name": self.name,
            "version": self.version,
            "backend": {
                "name": self.backend,
                "checkpoint": self.checkpoint,
                "options": self.backend_options,
            },
            "sampler": {
                "name": self.sampler.name,
                "steps": self.sampler.steps,
                "eta": self.sampler.eta,
            },
            "guidance": self.guidance.describe(),
            "negatives": {"strategy": self.negatives},
            "contexts": {"source": self.context_source, "normalize": self.normalize_contexts},
            "output": {"size": self.image_size},
        }

    def summary(self) -> str:
        """One line: sampler, guidance, negatives, size, backend."""
        sampler = f"{self.sampler.name}-{self.sampler.steps}"
        if self.sampler.rule.uses_eta:
            sampler += f" eta={self.sampler.eta:g}"
        guidance = self.guidance.name
        if self.guidance.name not in ("none", "piecewise"):
            guidance += f"(w_max={self.guidance.w_max:g})"
        size = f"{self.image_size}px" if self.image_size else "native size"
        negatives = self.negatives if not self.guidance.is_unguided else "-"
        return (
            f"{sampler}, guidance {guidance}, negatives {negatives}, {size}, "
            f"backend {self.backend}. {self.description}"
        )


def _build(data: dict[str, Any], path: Path) -> GeneratorPreset:
    def table(key: str) -> dict[str, Any]:
        return data.get(key, {})

    try:
        backend = table("backend")
        if "name" not in backend:
            raise FsbenchError("[backend] needs a 'name'")
        sampler = table("sampler")
        steps = sampler.get("steps", 1000)
        if not isinstance(steps, int) or isinstance(steps, bool):
            raise FsbenchError(f"[sampler] steps must be an integer, got {steps!r}")
        guidance = table("guidance")
        points = tuple((float(a), float(b)) for a, b in guidance.get("points", ()))
        negatives = table("negatives").get("strategy", "far")
        if negatives not in NEGATIVE_STRATEGIES:
            raise FsbenchError(
                f"[negatives] strategy {negatives!r}: expected one of "
                f"{', '.join(NEGATIVE_STRATEGIES)}"
            )
        contexts = table("contexts")
        source = contexts.get("source", "uniform")
        if source not in CONTEXT_SOURCES:
            raise FsbenchError(
                f"[contexts] source {source!r}: expected one of {', '.join(CONTEXT_SOURCES)}"
            )
        size = table("output").get("size")
        if size is not None and (not isinstance(size, int) or size < 8):
            raise FsbenchError(f"[output] size must be an integer >= 8, got {size!r}")
        return GeneratorPreset(
            name=data["name"],
            version=int(data.get("version", 1)),
            description=str(data.get("description", "")),
            backend=str(backend["name"]),
            checkpoint=backend.get("checkpoint"),
            backend_options=dict(backend.get("options", {})),
            sampler=Sampler(
                str(sampler.get("name", "ddpm")),
                steps,
                float(sampler.get("eta", 0.0)),
            ),
            guidance=GuidanceSchedule(
                str(guidance.get("schedule", "none")), float(guidance.get("w_max", 0.0)), points
            ),
            negatives=negatives,
            context_source=source,
            normalize_contexts=bool(contexts.get("normalize", False)),
            image_size=size,
            source=str(path),
        )
    except FsbenchError as exc:
        raise FsbenchError(f"preset {path}: {exc}") from exc
    except (TypeError, ValueError) as exc:
        raise FsbenchError(f"preset {path}: bad value ({exc})") from exc


def load_preset(
    name: str, extra: Sequence[Path] = (), overrides: Mapping[str, Any] | None = None
) -> GeneratorPreset:
    """Find, merge (`extends`), override (dotted keys) and validate the preset called `name`."""
    preset = FOLDERS.load(name, _check_keys, _build, extra, overrides)
    return dataclasses.replace(preset, overrides=dict(overrides or {}))


def all_presets(extra: Sequence[Path] = ()) -> list[GeneratorPreset]:
    """Every discoverable preset, validated, sorted by name."""
    return FOLDERS.load_all(_check_keys, _build, extra)
