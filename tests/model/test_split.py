"""Time-ordered splits never let a test change precede a training change."""

from __future__ import annotations

import numpy as np
import pytest

from teamlens.model.split import DAY, SplitError, holdout, rolling_origin


def _times(n: int = 100, step: int = DAY // 2) -> np.ndarray:
    return np.arange(n, dtype=np.int64) * step


def test_holdout_is_by_position_without_a_gap() -> None:
    split = holdout(_times(), 0.2, 0)
    assert split.train.tolist() == list(range(80))
    assert split.test.tolist() == list(range(80, 100))


@pytest.mark.parametrize("gap_days", [0, 1, 3.5, 10])
def test_no_test_change_precedes_a_training_change(gap_days: float) -> None:
    rng = np.random.default_rng(3)
    times = np.sort(rng.integers(0, 200 * DAY, 500)).astype(np.int64)
    for split in [holdout(times, 0.2, gap_days), *rolling_origin(times, 4, 0.4, gap_days)]:
        assert times[split.train].max() <= times[split.test].min() - gap_days * DAY
        assert set(split.train.tolist()).isdisjoint(split.test.tolist())


def test_gap_drops_the_changes_just_before_the_cut() -> None:
    times = _times()  # two changes a day
    split = holdout(times, 0.2, 5)
    # Test starts at change 80 (day 40); training keeps changes up to day 35: 0..70.
    assert split.train.tolist() == list(range(71))


def test_rolling_origins_move_forward_and_training_grows() -> None:
    splits = rolling_origin(_times(), 3, 0.3, 0)
    assert [s.test[0] for s in splits] == [70, 80, 90]
    assert [len(s.train) for s in splits] == [70, 80, 90]
    assert splits[-1].test[-1] == 99


def test_unsorted_or_too_short_data_is_refused() -> None:
    with pytest.raises(SplitError, match="sorted"):
        holdout(np.array([3, 1, 2], dtype=np.int64))
    with pytest.raises(SplitError, match="too few"):
        holdout(np.array([1], dtype=np.int64))
    with pytest.raises(SplitError, match="older than"):
        holdout(_times(10), 0.2, 365)
    with pytest.raises(SplitError, match="between 0 and 1"):
        rolling_origin(_times(), 3, 1.5)
