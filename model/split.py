"""Time-ordered splits: train on the past, leave a gap, test on the future.

Just-in-time defect data must never be shuffled: a model that trains on changes made
after the ones it is tested on learns from the future (labels of later fixes, later
states of the code), and its scores say nothing about tomorrow. So there is no random
cross-validation here, only

* :func:`holdout`: the newest ``test_share`` of the changes is the test set; training
  takes the changes made at least ``gap_days`` before the first test change;
* :func:`rolling_origin`: several cut-offs, each testing on the window that follows.

The gap is the label-maturity window: a change made just before the cut-off may be
fixed (and so labelled defect-inducing) only after it, so as of the cut-off its label
is not yet known. With ``gap_days=0`` the split is by position, as in the published
benchmark setting (first 80 % train, last 20 % test).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import numpy.typing as npt

from teamlens.errors import TeamlensError

DAY = 86_400


class SplitError(TeamlensError):
    """The data cannot be split as asked (too few changes, bad shares, too long a gap)."""


@dataclass(frozen=True)
class TimeSplit:
    """Row positions of one time-ordered split of data sorted by time."""

    train: npt.NDArray[np.int64]
    test: npt.NDArray[np.int64]
    gap_days: float

    def window(self, times: npt.NDArray[np.int64]) -> dict[str, int]:
        """First and last change times of both sides (unix seconds)."""
        return {
            "train_start": int(times[self.train[0]]),
            "train_end": int(times[self.train[-1]]),
            "test_start": int(times[self.test[0]]),
            "test_end": int(times[self.test[-1]]),
        }


def _check_sorted(times: npt.NDArray[np.int64]) -> None:
    if len(times) > 1 and bool(np.any(np.diff(times) < 0)):
        raise SplitError("changes must be sorted by time, oldest first")


def _cut(times: npt.NDArray[np.int64], start: int, stop: int, gap_days: float) -> TimeSplit:
    """Test rows [start, stop); train rows before `start`, at least the gap older."""
    test = np.arange(start, stop, dtype=np.int64)
    if gap_days <= 0:
        train = np.arange(0, start, dtype=np.int64)
    else:
        limit = times[start] - gap_days * DAY
        train = np.flatnonzero(times[:start] <= limit).astype(np.int64)
    if len(train) == 0 or len(test) == 0:
        raise SplitError(
            f"no training changes older than the first test change by {gap_days:g} days; "
            "need a longer history or a smaller gap"
        )
    return TimeSplit(train, test, gap_days)


def holdout(
    times: npt.NDArray[np.int64], test_share: float = 0.2, gap_days: float = 0
) -> TimeSplit:
    """Train on the oldest changes, test on the newest `test_share` of them."""
    if not 0 < test_share < 1:
        raise SplitError(f"test share must be between 0 and 1, got {test_share}")
    _check_sorted(times)
    n = len(times)
    start = int(n * (1 - test_share))
    if start < 1 or start >= n:
        raise SplitError(f"{n} changes are too few to split")
    return _cut(times, start, n, gap_days)


def rolling_origin(
    times: npt.NDArray[np.int64], folds: int = 3, test_share: float = 0.3, gap_days: float = 0
) -> list[TimeSplit]:
    """`folds` consecutive test windows covering the newest `test_share` of the changes.

    Fold i trains on everything at least the gap older than its window: the training
    set grows from fold to fold, as it would for a model retrained over time.
    """
    if folds < 1:
        raise SplitError(f"folds must be at least 1, got {folds}")
    if not 0 < test_share < 1:
        raise SplitError(f"test share must be between 0 and 1, got {test_share}")
    _check_sorted(times)
    n = len(times)
    first = int(n * (1 - test_share))
    bounds = np.linspace(first, n, folds + 1).astype(np.int64)
    if first < 1 or bool(np.any(np.diff(bounds) < 1)):
        raise SplitError(f"{n} changes are too few for {folds} folds")
    return [_cut(times, int(a), int(b), gap_days) for a, b in pairwise(bounds)]
