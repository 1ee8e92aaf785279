"""Identity/image subsets: the first K identities x first M images, or a seeded sample.

The deterministic form is the NegFaceDiff separability protocol (first 1,000 identity
folders x first 20 images, in sorted order).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from facesynth_bench.data.layouts import SampleRef
from facesynth_bench.errors import FsbenchError


def group_by_identity(refs: Sequence[SampleRef]) -> dict[str, list[SampleRef]]:
    """Group sample refs by identity, keeping their order (dicts keep insertion order)."""
    groups: dict[str, list[SampleRef]] = {}
    for ref in refs:
        groups.setdefault(ref.identity, []).append(ref)
    return groups


def select_subset(
    refs: Sequence[SampleRef],
    max_identities: int | None = None,
    max_images: int | None = None,
    seed: int | None = None,
) -> list[SampleRef]:
    """Keep at most `max_identities` identities and `max_images` images of each.

    Without a seed the first ones in the given (sorted) order are kept; with a seed a
    uniformly random subset is drawn with numpy's default_rng(seed), output kept sorted.
    """
    for what, value in (("identities", max_identities), ("images per identity", max_images)):
        if value is not None and value < 1:
            raise FsbenchError(f"at most {value} {what}: must be at least 1")
    rng = np.random.default_rng(seed) if seed is not None else None
    groups = group_by_identity(refs)
    names = list(groups)
    if max_identities is not None and max_identities < len(names):
        if rng is None:
            names = names[:max_identities]
        else:
            chosen = rng.choice(len(names), size=max_identities, replace=False)
            names = [names[i] for i in sorted(chosen)]
    selected: list[SampleRef] = []
    for name in names:
        members = groups[name]
        if max_images is not None and max_images < len(members):
            if rng is None:
                members = members[:max_images]
            else:
                chosen = rng.choice(len(members), size=max_images, replace=False)
                members = [members[i] for i in sorted(chosen)]
        selected.extend(members)
    return selected
