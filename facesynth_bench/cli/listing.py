"""`fsbench list`: show what this installation offers (conventions, pair modes, plugins)."""

from __future__ import annotations

from collections.abc import Callable

import typer
from rich.table import Table

from facesynth_bench.cli.console import console
from facesynth_bench.errors import FsbenchError

Rows = list[tuple[str, str]]


def _conventions() -> Rows:
    from facesynth_bench.metrics.conventions import CONVENTIONS

    return [(name, CONVENTIONS.get(name).description) for name in CONVENTIONS.names()]


def _pair_modes() -> Rows:
    from facesynth_bench.metrics.all_pairs import PAIR_MODES

    notes = {
        "exhaustive": "every unordered pair (default)",
        "sampled-equal": "all genuine pairs + as many random impostor pairs (IDiff-Face)",
        "sampled-fraction": "all genuine; per identity a fraction F of later ones (NegFaceDiff)",
    }
    return [(mode, notes[mode]) for mode in PAIR_MODES]


def _embedders() -> Rows:
    from facesynth_bench.embed.registry import DESCRIPTIONS, EMBEDDERS

    return [(name, DESCRIPTIONS.get(name, "(plugin)")) for name in EMBEDDERS.names()]


def _generators() -> Rows:
    from facesynth_bench.specs import all_presets

    return [(preset.name, preset.summary()) for preset in all_presets()]


def _protocols() -> Rows:
    from facesynth_bench.protocols.separability import all_protocols

    return [(protocol.name, protocol.summary()) for protocol in all_protocols()]


CATALOGS: dict[str, Callable[[], Rows]] = {
    "conventions": _conventions,
    "generators": _generators,
    "embedders": _embedders,
    "pair-modes": _pair_modes,
    "protocols": _protocols,
}


def list_command(
    what: str = typer.Argument("all", help="What to list: all or a catalog name."),
) -> None:
    """List conventions, pair modes and installed plugins (generators, embedders, ...)."""
    names = sorted(CATALOGS) if what == "all" else [what]
    for name in names:
        if name not in CATALOGS:
            raise FsbenchError(
                f"nothing called {name!r} to list; choose from: all, {', '.join(sorted(CATALOGS))}"
            )
        table = Table(title=name, title_justify="left", show_header=False, box=None)
        table.add_column("name", style="bold cyan", no_wrap=True)
        table.add_column("description")
        for row in CATALOGS[name]():
            table.add_row(*row)
        console.print(table)
        console.print()
