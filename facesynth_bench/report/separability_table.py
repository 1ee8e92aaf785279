"""Rich tables of separability metrics, one column per run (the paper's Table 3 layout)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.table import Table

from facesynth_bench.metrics.separability_metrics import SeparabilityMetrics
from facesynth_bench.metrics.table_columns import Column, columns_of
from facesynth_bench.metrics.verification import VerificationMetrics
from facesynth_bench.report.number_format import format_number

TABLE_COLUMNS = columns_of(SeparabilityMetrics)
UNRESOLVED = "n/r"  # too few impostor pairs for the FMR target


def format_cell(value: Any, column: Column) -> str:
    """A table cell: "-" for None, counts with thousands separators, numbers by format_number."""
    if value is None:
        return "-"
    if column.count:
        return f"{value:,}"
    return format_number(value, column.decimals)


def separability_table(
    runs: Mapping[str, VerificationMetrics | Mapping[str, Any]],
    title: str = "",
    columns: tuple[Column, ...] = TABLE_COLUMNS,
) -> Table:
    """A table with one row per metric some run has and one column per named run.

    Runs are typed metrics or their JSON form (`to_dict()`, or a result file read back).
    """
    records = {
        name: run.to_dict() if isinstance(run, VerificationMetrics) else run
        for name, run in runs.items()
    }
    table = Table(title=title or None, title_justify="left")
    table.add_column("metric", style="bold")
    for name in records:
        table.add_column(name, justify="right")
    for column in columns:
        if not any(column.key in record for record in records.values()):
            continue
        cells = [
            UNRESOLVED
            if column.key in record.get("unresolved", ())
            else format_cell(record.get(column.key), column)
            for record in records.values()
        ]
        table.add_row(column.label, *cells)
    return table
