"""Build a verification pair set in the LFW layout from an identity-labelled dataset.

LFW's View 2 (pairs.txt; Huang et al., "Labeled Faces in the Wild", UMass TR 07-49, 2007)
holds 10 sets of 300 matched then 300 mismatched pairs, no person in two sets; the
10-fold protocol (insightface verification.py) takes folds as contiguous blocks. Built
here the same way, seeded (numpy Generator of `seed`, one draw sequence):

1. the pool: every identity of the dataset (or those named by `identities`), images in the
   layout's sorted order;
2. identities are dealt to folds in a random order, like cards, those with >= 2 images
   first, so no identity appears in two folds and the folds get equal numbers of them;
3. genuine pairs of a fold: its `pairs / folds / 2` pairs spread as evenly as possible over
   its identities with >= 2 images, each identity's pairs drawn without replacement from
   its distinct image pairs (i < j in sorted order);
4. impostor pairs of a fold, as many: an ordered pair of different identities drawn
   uniformly, then an image of each; a repeated image pair is drawn again. When the fold
   has fewer than IMPOSTOR_ENUMERATION_FACTOR times as many distinct impostor pairs as it
   needs, they are drawn instead without replacement from all of them;
5. each fold's genuine and impostor pairs are shuffled within their block; fold f is pairs
   [f * P/F, (f + 1) * P/F), its first half genuine.

No pair repeats. A fold that cannot get enough distinct pairs is refused with the numbers.
Images are stored as their source bytes when those are a JPEG or PNG that decodes to
exactly the sample (a file, a RecordIO record); otherwise (a grid tile, another format) the
sample is encoded as PNG. Every image must be `size` x `size` pixels (align the dataset
first). With skip_bad an unreadable image chosen for a pair leaves the pool and the pairs
are drawn again from the start, so the result depends only on the seed and the bad files.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from torch.utils.data import DataLoader, Dataset

from facesynth_bench.data.image_io import BadImageError, decode_image, encode_image
from facesynth_bench.data.layouts import (
    DatasetLayout,
    GridSpec,
    SampleRef,
    Skipped,
    describe_skipped,
    open_layout,
)
from facesynth_bench.data.pair_sets import PairSet
from facesynth_bench.data.subsets import group_by_identity
from facesynth_bench.data.workers import check_workers
from facesynth_bench.errors import FsbenchError

IMPOSTOR_ENUMERATION_FACTOR = 4
_KEPT_FORMATS = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n")  # JPEG and PNG signatures
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class MadePairs:
    """A made pair set and what to record: seed, counts, dataset, which samples were used."""

    pair_set: PairSet
    seed: int
    pairs: int
    folds: int
    size: int
    dataset: str
    layout: dict
    identities_used: tuple[str, ...]
    sample_paths: tuple[str, ...]
    sample_identities: tuple[str, ...]
    skipped: tuple[Skipped, ...] = ()

    def to_dict(self) -> dict:
        """Everything but the images, for a result record (paths relative to the dataset)."""
        return {
            "dataset": self.dataset,
            "layout": self.layout,
            "seed": self.seed,
            "pairs": self.pairs,
            "folds": self.folds,
            "size": self.size,
            "genuine": int(self.pair_set.issame.sum()),
            "identities_used": list(self.identities_used),
            "sample_paths": list(self.sample_paths),
            "skipped": [{"path": s.path, "reason": s.reason} for s in self.skipped],
        }


@dataclass(frozen=True)
class _Pool:
    """Identities (names, first image index, image count); images contiguous per identity."""

    names: tuple[str, ...]
    starts: np.ndarray
    counts: np.ndarray


def _check_counts(pairs: int, folds: int, seed: int) -> None:
    if folds < 1:
        raise FsbenchError(f"folds {folds}: must be at least 1", parameter="folds")
    if pairs < 2 * folds or pairs % (2 * folds):
        raise FsbenchError(
            f"{pairs} pairs in {folds} folds: each fold holds as many genuine as impostor "
            f"pairs, so the pairs must be a positive multiple of 2 x folds ({2 * folds})",
            parameter="pairs",
        )
    if seed < 0:
        raise FsbenchError(f"seed {seed}: must be an integer >= 0", parameter="seed")


def deal_folds(counts: np.ndarray, folds: int, rng: np.random.Generator) -> np.ndarray:
    """The fold of each identity: dealt round-robin in a random order, >= 2 images first."""
    counts = np.asarray(counts)
    order = np.concatenate(
        [rng.permutation(np.flatnonzero(counts >= 2)), rng.permutation(np.flatnonzero(counts < 2))]
    )
    fold_of = np.empty(len(counts), dtype=np.int64)
    fold_of[order] = np.arange(len(order)) % folds
    return fold_of


def triangle_pairs(count: int, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(i, j), i < j < count, of row-major positions `index` in the pairs of `count` items."""
    rows = np.arange(count - 1)
    offsets = rows * count - rows * (rows + 1) // 2  # position of (i, i + 1)
    first = np.searchsorted(offsets, index, side="right") - 1
    return first, first + 1 + (index - offsets[first])


def spread_evenly(total: int, capacity: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Split `total` over slots as evenly as their capacities allow; the rest at random."""
    if total > int(capacity.sum()):
        raise FsbenchError(f"cannot spread {total} items into slots holding {int(capacity.sum())}")
    quota = np.zeros(len(capacity), dtype=np.int64)
    remaining = total
    while remaining:
        open_slots = np.flatnonzero(quota < capacity)
        share = remaining // len(open_slots)
        if share == 0:
            quota[rng.choice(open_slots, size=remaining, replace=False)] += 1
            break
        added = np.minimum(share, capacity[open_slots] - quota[open_slots])
        quota[open_slots] += added
        remaining -= int(added.sum())
    return quota


def _genuine(pool: _Pool, members: np.ndarray, needed: int, rng) -> np.ndarray:
    """`needed` distinct genuine pairs (image indices, (needed, 2)) of a fold's identities."""
    eligible = members[pool.counts[members] >= 2]
    counts = pool.counts[eligible]
    quota = spread_evenly(needed, counts * (counts - 1) // 2, rng)
    chosen = []
    for identity, count, take in zip(eligible, counts, quota, strict=True):
        if take:
            picked = rng.choice(count * (count - 1) // 2, size=take, replace=False)
            first, second = triangle_pairs(int(count), picked)
            chosen.append(pool.starts[identity] + np.stack([first, second], axis=1))
    pairs = np.concatenate(chosen)
    return pairs[rng.permutation(len(pairs))]


def _impostor(pool: _Pool, members: np.ndarray, needed: int, rng) -> np.ndarray:
    """`needed` distinct impostor pairs (image indices, (needed, 2)) of a fold's identities."""
    counts = pool.counts[members]
    capacity = (int(counts.sum()) ** 2 - int((counts**2).sum())) // 2
    if capacity < IMPOSTOR_ENUMERATION_FACTOR * needed:
        candidates = impostor_candidates(counts)
        chosen = candidates[rng.choice(len(candidates), size=needed, replace=False)]
        images = np.concatenate([pool.starts[m] + np.arange(pool.counts[m]) for m in members])
        return images[chosen]
    seen: set[tuple[int, int]] = set()
    found: list[tuple[int, int]] = []
    while len(found) < needed:
        draws = 2 * (needed - len(found))
        a = rng.integers(len(members), size=draws)
        b = rng.integers(len(members) - 1, size=draws)
        b += b >= a
        image_a = pool.starts[members[a]] + rng.integers(counts[a])
        image_b = pool.starts[members[b]] + rng.integers(counts[b])
        for left, right in zip(image_a.tolist(), image_b.tolist(), strict=True):
            key = (min(left, right), max(left, right))
            if key not in seen and len(found) < needed:
                seen.add(key)
                found.append((left, right))
    return np.array(found, dtype=np.int64)


def impostor_candidates(counts: np.ndarray) -> np.ndarray:
    """All (i, j), i < j, of images of different identities; identity k holds counts[k] images.

    Images are numbered identity after identity, so the partners of image i are all images
    after the end of its identity's block.
    """
    counts = np.asarray(counts, dtype=np.int64)
    total = int(counts.sum())
    block_end = np.repeat(np.cumsum(counts), counts)
    partners = total - block_end
    first = np.repeat(np.arange(total), partners)
    offset = np.arange(len(first)) - np.repeat(np.cumsum(partners) - partners, partners)
    return np.stack([first, np.repeat(block_end, partners) + offset], axis=1)


def _fold_shortfall(pool: _Pool, members: np.ndarray, needed: int) -> str | None:
    """Why a fold's identities cannot give `needed` genuine and impostor pairs, or None."""
    counts = pool.counts[members]
    genuine = int((counts * (counts - 1) // 2).sum())
    impostor = (int(counts.sum()) ** 2 - int((counts**2).sum())) // 2
    if genuine >= needed and impostor >= needed:
        return None
    return (
        f"{len(members)} identities ({int((counts >= 2).sum())} with >= 2 images, "
        f"{int(counts.sum())} images) give {genuine} distinct genuine and {impostor} "
        f"impostor pairs"
    )


def _draw_pairs(
    pool: _Pool, pairs: int, folds: int, seed: int, where: str
) -> tuple[np.ndarray, np.ndarray]:
    """Image index pairs (P, 2) and labels (P,) in the LFW fold layout (see module docstring)."""
    eligible = int((pool.counts >= 2).sum())
    if eligible < folds or len(pool.names) < 2 * folds:
        raise FsbenchError(
            f"{where}: {eligible} of its {len(pool.names)} identities have >= 2 images; "
            f"{folds} folds with no identity in two folds need at least {folds} such "
            f"identities (genuine pairs) and {2 * folds} identities in all (impostor pairs)"
        )
    rng = np.random.default_rng(seed)
    needed = pairs // folds // 2
    fold_of = deal_folds(pool.counts, folds, rng)
    blocks = []
    for fold in range(folds):
        members = np.flatnonzero(fold_of == fold)
        shortfall = _fold_shortfall(pool, members, needed)
        if shortfall is not None:
            raise FsbenchError(
                f"{where}: {pairs} pairs in {folds} folds need {needed} genuine and {needed} "
                f"impostor pairs per fold, no identity in two folds; fold {fold} gets "
                f"{shortfall}; use fewer pairs or folds, or more identities"
            )
        blocks += [_genuine(pool, members, needed, rng), _impostor(pool, members, needed, rng)]
    labels = np.tile(np.repeat([True, False], needed), folds)
    return np.concatenate(blocks), labels


def _make_pool(groups: dict[str, list[SampleRef]]) -> tuple[_Pool, list[SampleRef]]:
    names = tuple(groups)
    counts = np.array([len(groups[name]) for name in names], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    refs = [ref for name in names for ref in groups[name]]
    return _Pool(names, starts, counts), refs


def stored_bytes(layout: DatasetLayout, ref: SampleRef, size: int) -> bytes:
    """The encoded image to store for a sample: its source JPEG/PNG bytes, else a PNG."""
    data = layout.read_source(ref)
    sample = layout.decode(ref, data)
    if sample.shape != (size, size, 3):
        height, width = sample.shape[:2]
        raise FsbenchError(
            f"{layout.root / ref.path}: {width}x{height}, pair sets hold {size}x{size} "
            "images; align the dataset first (data.align)"
        )
    if data.startswith(_KEPT_FORMATS) and np.array_equal(decode_image(data, ref.path), sample):
        return data
    return encode_image(sample, ".png")


class _StoredImages(Dataset):
    """Stored bytes of each listed sample, or the reason it is unusable (DataLoader items)."""

    def __init__(self, layout: DatasetLayout, refs: Sequence[SampleRef], size: int) -> None:
        self.layout, self.refs, self.size = layout, list(refs), size

    def __len__(self) -> int:
        return len(self.refs)

    def __getitem__(self, position: int) -> tuple[int, bytes | None, str, bool]:
        """(position, bytes, "", _) or (position, None, why, whether skip_bad may skip it)."""
        try:
            return position, stored_bytes(self.layout, self.refs[position], self.size), "", True
        except BadImageError as exc:
            return position, None, exc.reason, True
        except FsbenchError as exc:  # a wrong size: never skipped
            return position, None, str(exc), False


def _restrict(
    groups: dict[str, list[SampleRef]], identities: Sequence[str] | None, where: str
) -> dict[str, list[SampleRef]]:
    if identities is None:
        return groups
    wanted = set(identities)
    unknown = sorted(wanted - set(groups))
    if unknown:
        shown = ", ".join(unknown[:5]) + (
            f" (and {len(unknown) - 5} more)" if len(unknown) > 5 else ""
        )
        raise FsbenchError(
            f"{where}: {len(unknown)} of the {len(wanted)} identities asked for have no "
            f"images there: {shown}",
            parameter="identities",
        )
    return {name: refs for name, refs in groups.items() if name in wanted}


def make_pairs(
    dataset: Path,
    pairs: int = 6000,
    folds: int = 10,
    seed: int = 0,
    identities: Sequence[str] | None = None,
    skip_bad: bool = False,
    *,
    layout: str = "auto",
    grid: GridSpec | None = None,
    size: int = 112,
    num_workers: int = 0,
    progress: Progress | None = None,
) -> MadePairs:
    """A seeded pair set in the LFW layout from any dataset `open_layout` reads (see above)."""
    _check_counts(pairs, folds, seed)
    check_workers(num_workers)
    root = Path(dataset)
    where = f"dataset {root}"
    data = open_layout(root, layout, grid=grid)
    refs, skipped = data.scan()
    if skipped and not skip_bad:
        raise FsbenchError(f"{where}: {describe_skipped(skipped)}", parameter="skip_bad")
    groups = _restrict(group_by_identity(refs), identities, where)
    bad: dict[SampleRef, str] = {}
    stored: dict[SampleRef, bytes] = {}
    while True:
        kept = {
            name: [ref for ref in members if ref not in bad] for name, members in groups.items()
        }
        pool, pool_refs = _make_pool({name: m for name, m in kept.items() if m})
        index_pairs, labels = _draw_pairs(pool, pairs, folds, seed, where)
        todo = [pool_refs[i] for i in np.unique(index_pairs) if pool_refs[i] not in stored]
        loader = DataLoader(
            _StoredImages(data, todo, size), batch_size=None, num_workers=num_workers
        )
        failed = False
        for done, (position, image, reason, skippable) in enumerate(loader, start=1):
            ref = todo[position]
            if image is None and not skippable:
                raise FsbenchError(reason)
            if image is None:
                if not skip_bad:
                    raise FsbenchError(
                        f"{root / ref.path}: {reason} (skip_bad skips unusable images)",
                        parameter="skip_bad",
                    )
                bad[ref], failed = reason, True
            else:
                stored[ref] = image
            if progress:
                progress(done, len(todo))
        if not failed:
            break
    chosen = [pool_refs[i] for i in index_pairs.reshape(-1)]
    return MadePairs(
        pair_set=PairSet(tuple(stored[ref] for ref in chosen), labels, str(root)),
        seed=seed,
        pairs=pairs,
        folds=folds,
        size=size,
        dataset=str(root),
        layout=data.describe(),
        identities_used=tuple(sorted({ref.identity for ref in chosen})),
        sample_paths=tuple(ref.path for ref in chosen),
        sample_identities=tuple(ref.identity for ref in chosen),
        skipped=(*skipped, *(Skipped(ref.path, reason) for ref, reason in bad.items())),
    )
