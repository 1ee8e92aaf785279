"""Separability protocols: which images, which pairs, which convention, as one named spec.

A protocol pins down everything that changes a separability number: the identity/image
subset, test-time flip of the embedder, the pair mode and the operating-point convention.
Built-ins live in `protocols/` (`FSBENCH_PROTOCOLS_PATH` adds folders); schema in
docs/protocols.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from facesynth_bench.errors import FsbenchError
from facesynth_bench.metrics.all_pairs import PAIR_MODES
from facesynth_bench.metrics.conventions import CONVENTIONS
from facesynth_bench.spec_folders import SpecFolders, schema_checker

FOLDERS = SpecFolders("protocol", "protocols", "FSBENCH_PROTOCOLS_PATH")
_SCHEMA: dict[str, set[str] | None] = {
    "name": None,
    "version": None,
    "description": None,
    "reference": None,
    "extends": None,
    "subset": {"max_identities", "max_images", "order"},
    "embedding": {"flip"},
    "pairs": {"mode", "fraction"},
    "metrics": {"convention"},
}
_check_keys = schema_checker("protocol", _SCHEMA)


@dataclass(frozen=True)
class SeparabilityProtocol:
    """A resolved separability protocol; None fields leave the choice to the command line."""

    name: str
    version: int
    description: str
    reference: str
    max_identities: int | None
    max_images: int | None
    order: str | None
    flip: bool | None
    pairs: str
    fraction: float
    convention: str
    source: str

    def to_dict(self) -> dict[str, Any]:
        """What the result JSON records about the protocol."""
        return {"name": self.name, "version": self.version, "source": self.source}

    def summary(self) -> str:
        """One line for `fsbench list protocols`."""
        subset = (
            f"first {self.max_identities or 'all'} ids x {self.max_images or 'all'} images"
            if self.max_identities or self.max_images
            else "all images"
        )
        pairs = (
            f"{self.pairs} {self.fraction:g}" if self.pairs == "sampled-fraction" else self.pairs
        )
        flip = "" if self.flip is None else f", flip {'on' if self.flip else 'off'}"
        return f"{subset}, {pairs} pairs, {self.convention}{flip}. {self.description}"


def _build(data: dict[str, Any], path: Path) -> SeparabilityProtocol:
    subset, pairs = data.get("subset", {}), data.get("pairs", {})
    protocol = SeparabilityProtocol(
        name=str(data["name"]),
        version=int(data.get("version", 1)),
        description=str(data.get("description", "")),
        reference=str(data.get("reference", "")),
        max_identities=subset.get("max_identities"),
        max_images=subset.get("max_images"),
        order=subset.get("order"),
        flip=data.get("embedding", {}).get("flip"),
        pairs=str(pairs.get("mode", "exhaustive")),
        fraction=float(pairs.get("fraction", 0.05)),
        convention=str(data.get("metrics", {}).get("convention", "strict")),
        source=str(path),
    )
    if protocol.pairs not in PAIR_MODES:
        raise FsbenchError(
            f"protocol {path}: [pairs] mode {protocol.pairs!r} is not one of "
            f"{', '.join(PAIR_MODES)}"
        )
    if protocol.convention not in CONVENTIONS:
        raise FsbenchError(
            f"protocol {path}: [metrics] convention {protocol.convention!r} is "
            f"not one of {', '.join(CONVENTIONS.names())}"
        )
    if protocol.order not in (None, "lexicographic", "natural"):
        raise FsbenchError(f"protocol {path}: [subset] order must be lexicographic or natural")
    return protocol


def load_protocol(name: str, extra: Sequence[Path] = ()) -> SeparabilityProtocol:
    """Find, merge (`extends`) and validate the separability protocol called `name`."""
    return FOLDERS.load(name, _check_keys, _build, extra)


def all_protocols(extra: Sequence[Path] = ()) -> list[SeparabilityProtocol]:
    """Every discoverable separability protocol, validated, sorted by name."""
    return FOLDERS.load_all(_check_keys, _build, extra)
