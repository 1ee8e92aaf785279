"""The typed result of an identity-separability evaluation (no torch: tables import it)."""

from __future__ import annotations

from dataclasses import dataclass, field

from facesynth_bench.metrics.table_columns import column
from facesynth_bench.metrics.verification import VerificationMetrics


@dataclass(frozen=True, kw_only=True)
class SeparabilityMetrics(VerificationMetrics):
    """Verification metrics of an embedding set's pairs, and how the pairs were chosen."""

    n_identities: int = field(metadata=column("identities", count=True))
    n_images: int
    n_singleton_identities: int
    embedding_dim: int
    normalized: bool
    pairs: str
    pairs_fraction: float | None
    seed: int
    engine: str
    histogram_bins: int | None
