"""Moments of a score distribution and the separability statistics built on them."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


def power_of_two_above(value: float) -> float:
    """The smallest power of two >= |value| (1.0 for 0): dividing by it is exact."""
    magnitude = abs(value)
    if magnitude == 0 or not math.isfinite(magnitude):
        return 1.0
    mantissa, exponent = math.frexp(magnitude)
    return math.ldexp(1.0, exponent - 1 if mantissa == 0.5 else exponent)


@dataclass(frozen=True)
class ScoreMoments:
    """Count, mean and population standard deviation (float64) of a set of scores.

    Kept as mean and std rather than sums of powers, and merged in units of a common power
    of two, so no score is ever squared: scores up to float64's range (1e300) work.
    """

    count: int = 0
    mean: float = 0.0
    std: float = 0.0

    @classmethod
    def of(cls, scores: np.ndarray) -> ScoreMoments:
        """Moments of an array of scores (two passes, float64)."""
        x = np.asarray(scores, dtype=np.float64).ravel()
        if x.size == 0:
            return cls()
        scale = power_of_two_above(float(np.abs(x).max()))
        unit = x / scale
        mean = float(unit.mean())
        return cls(x.size, mean * scale, math.sqrt(float(np.mean((unit - mean) ** 2))) * scale)

    @classmethod
    def from_sums(cls, count: int, total: float, total_sq: float) -> ScoreMoments:
        """Moments from a count, sum and sum of squares (closed forms that yield sums)."""
        if count == 0:
            return cls()
        mean = total / count
        return cls(count, mean, math.sqrt(max(total_sq / count - mean * mean, 0.0)))

    def _scale(self, other: ScoreMoments) -> float:
        return power_of_two_above(max(abs(self.mean), self.std, abs(other.mean), other.std))

    def merge(self, other: ScoreMoments) -> ScoreMoments:
        """Moments of the union of two disjoint score sets (Chan et al.'s pairwise update)."""
        if other.count == 0:
            return self
        if self.count == 0:
            return other
        n = self.count + other.count
        s = self._scale(other)
        mean_a, mean_b = self.mean / s, other.mean / s
        delta = mean_b - mean_a
        m2 = (
            self.count * (self.std / s) ** 2
            + other.count * (other.std / s) ** 2
            + delta * delta * self.count * other.count / n
        )
        return ScoreMoments(n, (mean_a + delta * other.count / n) * s, math.sqrt(m2 / n) * s)

    def minus(self, part: ScoreMoments) -> ScoreMoments:
        """Moments of this set with a subset `part` removed (the merge undone)."""
        if part.count == 0:
            return self
        rest = self.count - part.count
        if rest <= 0:
            return ScoreMoments()
        s = self._scale(part)
        mean, mean_a = self.mean / s, part.mean / s
        mean_b = mean + (mean - mean_a) * part.count / rest
        delta = mean_b - mean_a
        m2 = (
            self.count * (self.std / s) ** 2
            - part.count * (part.std / s) ** 2
            - delta * delta * part.count * rest / self.count
        )
        return ScoreMoments(rest, mean_b * s, math.sqrt(max(m2, 0.0) / rest) * s)


def decidability(genuine: ScoreMoments, impostor: ScoreMoments) -> float:
    """d' = |mu_g - mu_i| / sqrt((sd_g^2 + sd_i^2) / 2) (Daugman; pyeer), so FDR = d'^2 / 2."""
    spread = math.hypot(genuine.std, impostor.std) / math.sqrt(2.0)
    if spread == 0:
        return math.inf
    s = power_of_two_above(max(abs(genuine.mean), abs(impostor.mean)))
    return abs(genuine.mean / s - impostor.mean / s) * s / spread


def fisher_discriminant_ratio(genuine: ScoreMoments, impostor: ScoreMoments) -> float:
    """FDR = (mu_g - mu_i)^2 / (sd_g^2 + sd_i^2) (AdaptDiff Table 3; Poh & Bengio 2004)."""
    dprime = decidability(genuine, impostor)
    return dprime * dprime / 2.0
