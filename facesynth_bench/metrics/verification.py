"""Verification metrics of genuine/impostor score distributions, in a named convention.

Shared by every evaluation that ends in two score distributions: embedding separability,
score files made by other tools, and (later) benchmark protocols. `VerificationMetrics`
is the typed result; its field names are the JSON keys and its field metadata the table
columns (`metrics/table_columns.py`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, TypeVar

from facesynth_bench.errors import FsbenchError
from facesynth_bench.metrics.conventions import CONVENTIONS
from facesynth_bench.metrics.distribution import (
    ScoreMoments,
    decidability,
    fisher_discriminant_ratio,
)
from facesynth_bench.metrics.error_curve import ErrorCurve
from facesynth_bench.metrics.roc import roc_auc, roc_table
from facesynth_bench.metrics.table_columns import column

FMR_TARGETS = {"fmr100": 1e-2, "fmr1000": 1e-3}
EXTRA_FMR_TARGETS = (1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6)

M = TypeVar("M", bound="VerificationMetrics")


def resolvable(target: float, n_impostor: int) -> bool:
    """Whether `n_impostor` impostor scores can resolve an FMR of `target` (one false match)."""
    return target * n_impostor >= 1


@dataclass(frozen=True, kw_only=True)
class VerificationMetrics:
    """EER, FNMR at FMR 1e-2 / 1e-3, distribution statistics, AUC and a ROC table.

    Rates are fractions in [0, 1]; thresholds and means are in score units. `fmr100` and
    `fmr1000` (and their thresholds) are None when listed in `unresolved`: fewer impostor
    scores than one false match at that FMR needs. Values JSON holds as null (non-finite
    thresholds, FDR and d' of zero-spread scores) read back by `from_dict` are None.
    """

    eer: float = field(metadata=column("EER"))
    eer_threshold: float | None
    fmr100: float | None = field(metadata=column("FMR100 (FNMR@FMR<=1e-2)"))
    fmr1000: float | None = field(metadata=column("FMR1000 (FNMR@FMR<=1e-3)"))
    fmr100_threshold: float | None
    fmr1000_threshold: float | None
    genuine_mean: float = field(metadata=column("genuine mean"))
    genuine_std: float = field(metadata=column("genuine std"))
    impostor_mean: float = field(metadata=column("impostor mean"))
    impostor_std: float = field(metadata=column("impostor std"))
    fdr: float | None = field(metadata=column("FDR", decimals=3))
    dprime: float | None = field(metadata=column("d'", decimals=3))
    auc: float = field(metadata=column("AUC", decimals=5))
    fnmr_at_fmr: dict[str, float]
    n_genuine: int = field(metadata=column("genuine pairs", count=True))
    n_impostor: int = field(metadata=column("impostor pairs", count=True))
    convention: str
    histogram_bin_width: float | None
    rate_error_bound: float
    unresolved: tuple[str, ...] = ()
    roc: dict[str, list]

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: field names as keys, non-finite floats as None, tuples as lists."""
        data = {}
        for f in fields(self):
            value = getattr(self, f.name)
            data[f.name] = list(value) if isinstance(value, tuple) else value
        return finite_or_none(data)

    @classmethod
    def from_dict(cls: type[M], data: Mapping[str, Any]) -> M:
        """Read the JSON form back (keys other than the fields are ignored)."""
        known = {f.name: f for f in fields(cls)}
        missing = [
            name
            for name, f in known.items()
            if name not in data and f.default is dataclasses.MISSING
        ]
        if missing:
            raise FsbenchError(f"{cls.__name__}: the record has no {', '.join(missing)}")
        values = {name: data[name] for name in known if name in data}
        if "unresolved" in values:
            values["unresolved"] = tuple(values["unresolved"])
        return cls(**values)

    def with_scores_negated(self: M) -> M:
        """The same metrics in the units of negated scores (distances from similarities)."""

        def negate(value: float | None) -> float | None:
            return None if value is None else -value

        roc = {**self.roc, "threshold": [negate(t) for t in self.roc["threshold"]]}
        return dataclasses.replace(
            self,
            eer_threshold=negate(self.eer_threshold),
            fmr100_threshold=negate(self.fmr100_threshold),
            fmr1000_threshold=negate(self.fmr1000_threshold),
            genuine_mean=-self.genuine_mean,
            impostor_mean=-self.impostor_mean,
            roc=roc,
        )

    @classmethod
    def extending(cls: type[M], base: VerificationMetrics, **extra: Any) -> M:
        """A subclass's metrics: the fields of `base` plus the subclass's own `extra`."""
        return cls(**{f.name: getattr(base, f.name) for f in fields(base)}, **extra)


def verification_metrics(
    curve: ErrorCurve, genuine: ScoreMoments, impostor: ScoreMoments, convention: str
) -> VerificationMetrics:
    """EER, FMR100, FMR1000 with thresholds, distribution statistics, AUC and a ROC table.

    FMR100 / FMR1000 and the FNMR at further FMR targets are given only where the impostor
    count can resolve them; FMR100 / FMR1000 are otherwise None and named in `unresolved`.
    """
    rules = CONVENTIONS.get(convention)
    eer = rules.eer(curve)
    points = {
        name: rules.fnmr_at_fmr(curve, target)
        for name, target in FMR_TARGETS.items()
        if resolvable(target, curve.n_impostor)
    }
    unresolved = tuple(name for name in FMR_TARGETS if name not in points)
    return VerificationMetrics(
        eer=eer.eer,
        eer_threshold=eer.point.threshold,
        **{name: points[name].fnmr if name in points else None for name in FMR_TARGETS},
        **{
            f"{name}_threshold": points[name].threshold if name in points else None
            for name in FMR_TARGETS
        },
        genuine_mean=genuine.mean,
        genuine_std=genuine.std,
        impostor_mean=impostor.mean,
        impostor_std=impostor.std,
        fdr=fisher_discriminant_ratio(genuine, impostor),
        dprime=decidability(genuine, impostor),
        auc=roc_auc(curve),
        fnmr_at_fmr={
            f"{target:g}": rules.fnmr_at_fmr(curve, target).fnmr
            for target in EXTRA_FMR_TARGETS
            if resolvable(target, curve.n_impostor)
        },
        n_genuine=genuine.count,
        n_impostor=impostor.count,
        convention=convention,
        histogram_bin_width=curve.resolution or None,
        rate_error_bound=max([eer.point.bound] + [p.bound for p in points.values()]),
        unresolved=unresolved,
        roc=roc_table(curve),
    )


def finite_or_none(obj: Any) -> Any:
    """Replace non-finite floats (also nested in dicts and lists) by None: strict JSON."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {key: finite_or_none(value) for key, value in obj.items()}
    if isinstance(obj, list):
        return [finite_or_none(value) for value in obj]
    return obj
