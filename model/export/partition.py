"""k-anonymity with people: Mondrian partitioning of a repository's rows into classes."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

#: Mondrian splits these first (weights on the relative number of distinct values): a
#: fine period keeps time-ordered evaluation possible, and la/ld are the effort measure.
SPLIT_WEIGHTS: dict[str, float] = {"period": 50.0, "la": 2.0, "ld": 2.0, "nf": 1.5}


def _enough(people: npt.NDArray[np.int64], k: int) -> bool:
    return len(people) >= k and len(np.unique(people)) >= k


def partition(
    x: npt.NDArray[np.float64],
    people: npt.NDArray[np.int64],
    k: int,
    weights: npt.NDArray[np.float64] | None = None,
) -> list[npt.NDArray[np.int64]]:
    """Classes of at least k rows by at least k people (Mondrian, LeFevre et al., ICDE 2006).

    A class is split at the median of the column with the most distinct values (relative
    to the whole table, times its weight) as long as both halves keep k rows and k people.
    Returns the classes as row indices; none when the whole table has fewer than k people.
    """
    everything = np.arange(len(x), dtype=np.int64)
    if not _enough(people, k):
        return []
    width = np.array([max(len(np.unique(x[:, j])), 1) for j in range(x.shape[1])], dtype=float)
    if weights is not None:
        width = width / weights
    stack = [everything]
    classes: list[npt.NDArray[np.int64]] = []
    while stack:
        rows = stack.pop()
        halves = _split(x[rows], people[rows], width, k)
        if halves is None:
            classes.append(rows)
        else:
            stack += [rows[halves], rows[~halves]]
    return classes


def _split(
    part: npt.NDArray[np.float64],
    people: npt.NDArray[np.int64],
    width: npt.NDArray[np.float64],
    k: int,
) -> npt.NDArray[np.bool_] | None:
    """The left half of the best allowed median split of a class, or None."""
    distinct = np.array([len(np.unique(part[:, j])) for j in range(part.shape[1])])
    for j in np.argsort(-(distinct / width), kind="stable"):
        if distinct[j] < 2:
            continue
        values = part[:, j]
        cut = np.sort(values)[len(values) // 2]
        left = values < cut
        if not left.any():
            left = values <= cut
        if _enough(people[left], k) and _enough(people[~left], k):
            return np.asarray(left, dtype=np.bool_)
    return None
