"""Rich tables of separability metrics, one column per run (the paper's Table 3 layout)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.table import Table

# (key, label, format); None marks a missing value.
ROWS = (
    ("eer", "EER", "{:.4f}"),
    ("fmr100", "FMR100 (FNMR@FMR<=1e-2)", "{:.4f}"),
    ("fmr1000", "FMR1000 (FNMR@FMR<=1e-3)", "{:.4f}"),
    ("genuine_mean", "genuine mean", "{:.4f}"),
    ("genuine_std", "genuine std", "{:.4f}"),
    ("impostor_mean", "impostor mean", "{:.4f}"),
    ("impostor_std", "impostor std", "{:.4f}"),
    ("fdr", "FDR", "{:.3f}"),
    ("dprime", "d'", "{:.3f}"),
    ("auc", "AUC", "{:.5f}"),
    ("n_identities", "identities", "{:,}"),
    ("n_genuine", "genuine pairs", "{:,}"),
    ("n_impostor", "impostor pairs", "{:,}"),
)


def separability_table(runs: Mapping[str, Mapping[str, Any]], title: str = "") -> Table:
    """A table with one row per metric present and one column per named run."""
    table = Table(title=title or None, title_justify="left")
    table.add_column("metric", style="bold")
    for name in runs:
        table.add_column(name, justify="right")
    for key, label, fmt in ROWS:
        if not any(key in run for run in runs.values()):
            continue
        cells = ["-" if run.get(key) is None else fmt.format(run[key]) for run in runs.values()]
        table.add_row(label, *cells)
    return table
