from facesynth_bench.data.layouts import SampleRef
from facesynth_bench.data.subsets import select_subset

REFS = [SampleRef(f"{i}", f"{i}/{j}.png") for i in range(5) for j in range(6)]


def test_first_k_identities_and_images_in_order():
    out = select_subset(REFS, max_identities=2, max_images=3)
    assert [r.path for r in out] == [
        "0/0.png",
        "0/1.png",
        "0/2.png",
        "1/0.png",
        "1/1.png",
        "1/2.png",
    ]


def test_seeded_subsets_repeat_and_differ_by_seed():
    a = select_subset(REFS, 3, 2, seed=7)
    assert a == select_subset(REFS, 3, 2, seed=7)
    assert len(a) == 6 and len({r.identity for r in a}) == 3
    assert any(select_subset(REFS, 3, 2, seed=s) != a for s in range(1, 6))


def test_no_limits_keeps_everything():
    assert select_subset(REFS) == REFS
