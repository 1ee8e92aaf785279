"""Moments of a score distribution and the separability statistics built on them."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ScoreMoments:
    """Count, sum and sum of squares (float64) of a set of scores."""

    count: int = 0
    total: float = 0.0
    total_sq: float = 0.0

    @classmethod
    def of(cls, scores: np.ndarray) -> ScoreMoments:
        """Moments of an array of scores, accumulated in float64."""
        x = np.asarray(scores, dtype=np.float64).ravel()
        if x.size == 0:
            return cls()
        return cls(x.size, float(x.sum()), float(np.dot(x, x)))

    def merge(self, other: ScoreMoments) -> ScoreMoments:
        """Moments of the union of two disjoint score sets."""
        return ScoreMoments(
            self.count + other.count,
            self.total + other.total,
            self.total_sq + other.total_sq,
        )

    def minus(self, part: ScoreMoments) -> ScoreMoments:
        """Moments of this set with a subset `part` removed."""
        return ScoreMoments(
            self.count - part.count, self.total - part.total, self.total_sq - part.total_sq
        )

    @property
    def mean(self) -> float:
        """Arithmetic mean."""
        return self.total / self.count

    @property
    def std(self) -> float:
        """Population standard deviation (numpy's default ddof=0, as pyeer)."""
        variance = self.total_sq / self.count - self.mean**2
        return math.sqrt(max(variance, 0.0))


def fisher_discriminant_ratio(genuine: ScoreMoments, impostor: ScoreMoments) -> float:
    """FDR = (mu_g - mu_i)^2 / (sd_g^2 + sd_i^2) (AdaptDiff Table 3; Poh & Bengio 2004)."""
    spread = genuine.std**2 + impostor.std**2
    return (genuine.mean - impostor.mean) ** 2 / spread if spread > 0 else math.inf


def decidability(genuine: ScoreMoments, impostor: ScoreMoments) -> float:
    """d' = |mu_g - mu_i| / sqrt((sd_g^2 + sd_i^2) / 2) (Daugman; pyeer), so FDR = d'^2 / 2."""
    spread = (genuine.std**2 + impostor.std**2) / 2.0
    return abs(genuine.mean - impostor.mean) / math.sqrt(spread) if spread > 0 else math.inf
