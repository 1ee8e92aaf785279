"""The shared rich console and progress bars of the CLI."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

console = Console()
err_console = Console(stderr=True)


def make_progress(transient: bool = False) -> Progress:
    """A progress bar showing description, bar, done/total, elapsed and remaining time."""
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=transient,
    )


@contextlib.contextmanager
def reported_warnings() -> Iterator[list[str]]:
    """Collect Python warnings raised inside the block, print each on stderr, yield the texts."""
    messages: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield messages
        finally:
            for item in caught:
                text = str(item.message)
                messages.append(text)
                err_console.print(
                    f"[bold yellow]warning:[/] {escape(text)}", highlight=False, soft_wrap=True
                )


@contextlib.contextmanager
def progress_callback(description: str) -> Iterator[Callable[[int, int], None]]:
    """A (done, total) callback driving a rich progress bar for the duration of the block."""
    with make_progress(transient=True) as progress:
        task = progress.add_task(description, total=None)

        def update(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        yield update


def report_embedding(metadata: Mapping[str, Any]) -> None:
    """One line of counts for an embedded dataset, then the first files it skipped."""
    counts = metadata["counts"]
    err_console.print(
        f"{counts['images']} images of {counts['identities']} identities "
        f"({counts['cache_hits']} from cache, {counts['skipped']} skipped)"
    )
    for item in metadata.get("skipped", [])[:10]:
        err_console.print(f"[yellow]skipped[/] {item['path']}: {item['reason']}", highlight=False)
