import pytest

from facesynth_bench.data.workers import check_workers
from facesynth_bench.errors import FsbenchError


def test_zero_and_positive_counts_pass():
    assert check_workers(0) == 0 and check_workers(4) == 4


@pytest.mark.parametrize("count", [-1, 1.5, True, "2"])
def test_other_counts_are_refused_naming_the_value(count):
    with pytest.raises(FsbenchError, match=rf"whole number >= 0 .*, got {count!r}"):
        check_workers(count)
