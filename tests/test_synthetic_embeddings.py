"""The seeded synthetic identity set used by the demo and the benchmarks."""

import numpy as np

from facesynth_bench.synthetic_embeddings import identity_clusters


def test_seeded_unit_rows_grouped_by_identity():
    x, labels = identity_clusters(5, 3, dim=32, seed=4)
    y, _ = identity_clusters(5, 3, dim=32, seed=4)
    assert x.dtype == np.float32 and x.shape == (15, 32)
    np.testing.assert_array_equal(x, y)
    np.testing.assert_allclose(np.linalg.norm(x, axis=1), 1.0, rtol=1e-5)
    assert list(labels) == [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4]
    assert not np.array_equal(x, identity_clusters(5, 3, dim=32, seed=5)[0])


def test_samples_of_one_identity_are_closer_than_others():
    x, labels = identity_clusters(50, 4, seed=0)
    scores = x @ x.T
    same = labels[:, None] == labels[None, :]
    off_diagonal = ~np.eye(len(labels), dtype=bool)
    assert scores[same & off_diagonal].mean() > scores[~same].mean() + 0.1
    assert scores[~same].mean() > 0  # the shared direction: impostor scores are not centred
