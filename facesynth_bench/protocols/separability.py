"""Separability protocols: which images, which pairs, which convention, as one named spec.

A protocol pins down everything that changes a separability number: the identity/image
subset, test-time flip of the embedder, the pair mode and the operating-point convention.
Built-ins live in `protocols/` (`FSBENCH_PROTOCOLS_PATH` adds folders); schema in
docs/protocols.md.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from facesynth_bench.errors import FsbenchError
from facesynth_bench.metrics.conventions import CONVENTIONS
from facesynth_bench.metrics.pair_plan import PAIR_MODES, PairPlan
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
    fraction: float | None
    convention: str
    source: str

    def to_dict(self) -> dict[str, Any]:
        """What the result JSON records about the protocol."""
        return {"name": self.name, "version": self.version, "source": self.source}

    def plan(self, seed: int = 0) -> PairPlan:
        """The pairs this protocol scores, drawn with `seed`."""
        return PairPlan(self.pairs, self.fraction, seed)

    def summary(self) -> str:
        """One line for `fsbench list protocols`."""
        subset = (
            f"first {self.max_identities or 'all'} ids x {self.max_images or 'all'} images"
            if self.max_identities or self.max_images
            else "all images"
        )
        pairs = self.plan().describe()
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
        fraction=float(pairs["fraction"]) if "fraction" in pairs else None,
        convention=str(data.get("metrics", {}).get("convention", "strict")),
        source=str(path),
    )
    if protocol.pairs not in PAIR_MODES:
        raise FsbenchError(
            f"protocol {path}: [pairs] mode {protocol.pairs!r} is not one of "
            f"{', '.join(PAIR_MODES)}"
        )
    if protocol.fraction is not None and protocol.pairs != "sampled-fraction":
        raise FsbenchError(
            f"protocol {path}: [pairs] fraction is only used by the sampled-fraction mode, "
            f"not {protocol.pairs!r}"
        )
    if protocol.fraction is not None and not 0.0 < protocol.fraction <= 1.0:
        raise FsbenchError(
            f"protocol {path}: [pairs] fraction {protocol.fraction}: expected 0 < F <= 1"
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


class ProtocolShortfallWarning(UserWarning):
    """A protocol was run on fewer identities or images than it names."""


def check_protocol_counts(
    protocol: SeparabilityProtocol, images_per_identity: Sequence[int]
) -> None:
    """Check the set a protocol actually scored: `images_per_identity` has one count per
    identity scored.

    Refuses a set with fewer identities than the protocol's pairs need; warns
    (ProtocolShortfallWarning) when it has fewer identities, or identities with fewer
    images, than the protocol's subset names: its numbers are then not the protocol's.
    """
    counts = list(images_per_identity)
    needed = protocol.plan().min_identities
    if len(counts) < needed:
        raise FsbenchError(
            f"protocol {protocol.name!r}: {len(counts)} identities scored; its "
            f"{protocol.plan().describe()} pairs need at least {needed} identities"
        )
    short = []
    if protocol.max_identities is not None and len(counts) < protocol.max_identities:
        short.append(f"{len(counts)} identities of the {protocol.max_identities} it names")
    if protocol.max_images is not None:
        few = [count for count in counts if count < protocol.max_images]
        if few:
            short.append(
                f"{len(few)} of {len(counts)} identities with fewer than the "
                f"{protocol.max_images} images it names (as few as {min(few)})"
            )
    if short:
        warnings.warn(
            f"protocol {protocol.name!r} ran on {' and '.join(short)}: the numbers are "
            "not comparable with full runs of the protocol",
            ProtocolShortfallWarning,
            stacklevel=2,
        )
