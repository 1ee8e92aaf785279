"""Table columns declared on the fields of metric result classes: one place for keys and labels.

A field declared with `field(metadata=column("EER"))` is shown in tables under that label;
its JSON key is the field name. `columns_of(cls)` lists a class's columns in field order.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

_KEY = "table_column"


@dataclass(frozen=True)
class Column:
    """A metric as a table shows it: JSON key, row label, decimals, or a count."""

    key: str
    label: str
    decimals: int = 4
    count: bool = False


def column(label: str, decimals: int = 4, count: bool = False) -> dict[str, Any]:
    """Field metadata that shows the field in tables under `label`."""
    return {_KEY: (label, decimals, count)}


def columns_of(cls: type) -> tuple[Column, ...]:
    """The table columns declared on the fields of a dataclass, in field order."""
    return tuple(Column(f.name, *f.metadata[_KEY]) for f in fields(cls) if _KEY in f.metadata)
