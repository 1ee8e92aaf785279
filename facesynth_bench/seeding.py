"""Child seeds: every seeded stream of a run derives from (run seed, path) by numpy's SeedSequence.

The path names the stream, e.g. (identity, k) for an image's noise or (chunk,) for a chunk
of training latents. SeedSequence hashes its entropy words, so children of one run seed are
independent of each other and of the children of other run seeds, whatever the numbers.
"""

from __future__ import annotations

import numpy as np

from facesynth_bench.errors import FsbenchError


def _sequence(run_seed: int, path: tuple[int, ...]) -> np.random.SeedSequence:
    entropy = [run_seed, *path]
    if any(word < 0 for word in entropy):
        raise FsbenchError(f"seeds must be integers >= 0, got {entropy}")
    return np.random.SeedSequence(entropy)


def seed_words(run_seed: int, *path: int, count: int = 2) -> list[int]:
    """The first `count` 32-bit words drawn from SeedSequence([run_seed, *path])."""
    return [int(word) for word in _sequence(run_seed, path).generate_state(count, np.uint32)]


def child_seed(run_seed: int, *path: int, bits: int = 64) -> int:
    """A `bits`-bit seed: the top bits of the 64-bit word (first 32-bit word low) of the path."""
    if not 1 <= bits <= 64:
        raise FsbenchError(f"child seed bits must be in 1..64, got {bits}")
    low, high = seed_words(run_seed, *path)
    return ((high << 32) | low) >> (64 - bits)


def child_rng(run_seed: int, *path: int) -> np.random.Generator:
    """A numpy Generator of the path; with no path it equals `default_rng(run_seed)`."""
    return np.random.default_rng(_sequence(run_seed, path))
