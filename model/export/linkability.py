"""The attacker's view: every commit as ``git log --numstat -M`` shows it, and how many
commits (and distinct authors) are consistent with each exported row or class."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd

from teamlens.model.export.generalise import _CATEGORY_COLUMNS, _ENTROPY_COLUMNS, ATTACKER_COLUMNS
from teamlens.model.export.report import Linkability
from teamlens.store import Store

_HISTORY_SQL = """
SELECT c.repo, c.sha, epoch(c.commit_time)::BIGINT AS time, c.author_id AS person,
       CASE WHEN c.is_fix THEN 1 ELSE 0 END AS fix,
       coalesce(sum(f.added), 0)::BIGINT AS la, coalesce(sum(f.deleted), 0)::BIGINT AS ld,
       count(f.path) AS nf, list(f.path) AS paths, list(f.added + f.deleted) AS modified,
       arg_max(f.language, f.added + f.deleted)
           FILTER (WHERE f.language IS NOT NULL) AS language
FROM commits c
LEFT JOIN file_changes f USING (repo, sha)
WHERE NOT c.is_merge AND c.repo IN ({repos})
GROUP BY c.repo, c.sha, c.commit_time, c.author_id, c.is_fix
"""


def git_history(store: Store, repos: Sequence[str]) -> pd.DataFrame:
    """Every non-merge commit's values as ``git log --numstat -M`` shows them (private zone)."""
    from teamlens.features.kamei import entropy, subsystem_and_directory

    sql = _HISTORY_SQL.format(repos=", ".join("?" for _ in repos))
    result = store.query(sql, list(repos))
    frame = pd.DataFrame(result.rows, columns=result.columns)
    paths = [[p for p in ps if p is not None] if ps is not None else [] for ps in frame["paths"]]
    places = [[subsystem_and_directory(p) for p in ps] for ps in paths]
    frame["ns"] = [len({s for s, _ in pl}) for pl in places]
    frame["nd"] = [len({d for _, d in pl}) for pl in places]
    frame["entropy"] = [
        entropy([int(m) for m in ms if m is not None]) if ms is not None else 0.0
        for ms in frame["modified"]
    ]
    for column in ("fix", "ns", "nd", "nf", "la", "ld", "time"):
        frame[column] = frame[column].astype(np.int64)
    return frame.drop(columns=["paths", "modified"])


def _measure(
    candidates: npt.NDArray[np.int64], people: npt.NDArray[np.int64], k: int
) -> Linkability:
    return Linkability(
        len(candidates),
        int((candidates == 1).sum()),
        int((candidates < k).sum()),
        int((people < k).sum()),
    )


def link_exact(rows: pd.DataFrame, history: pd.DataFrame, k: int) -> Linkability:
    """The attacker against exact values and day-level dates (exports before this boundary)."""
    theirs = pd.DataFrame(
        {"key": _keys(exact(history, ATTACKER_COLUMNS)), "person": history["person"]}
    ).groupby("key", sort=False)["person"]
    commits, people = theirs.size().to_dict(), theirs.nunique().to_dict()
    keys = _keys(exact(rows, ATTACKER_COLUMNS))
    return _measure(
        np.array([commits.get(key, 0) for key in keys], dtype=np.int64),
        np.array([people.get(key, 0) for key in keys], dtype=np.int64),
        k,
    )


def link_classes(
    x: npt.NDArray[np.float64],
    classes: Sequence[npt.NDArray[np.int64]],
    history: npt.NDArray[np.float64],
    authors: npt.NDArray[np.int64],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Per class: the commits of `history` consistent with it, and their distinct authors.

    `x` and `history` hold the codes of :data:`ATTACKER_COLUMNS`. A commit is consistent
    with a class when each code lies within the class's range (categories: among its values).
    """
    categorical = [j for j, c in enumerate(ATTACKER_COLUMNS) if c in _CATEGORY_COLUMNS]
    ordered = [j for j in range(len(ATTACKER_COLUMNS)) if j not in categorical]
    commits = np.zeros(len(classes), dtype=np.int64)
    people = np.zeros(len(classes), dtype=np.int64)
    for i, rows in enumerate(classes):
        part = x[rows]
        lo, hi = part[:, ordered].min(axis=0), part[:, ordered].max(axis=0)
        inside = ((history[:, ordered] >= lo) & (history[:, ordered] <= hi)).all(axis=1)
        for j in categorical:
            inside &= np.isin(history[:, j], np.unique(part[:, j]))
        commits[i] = int(inside.sum())
        people[i] = len(np.unique(authors[inside]))
    return commits, people


def exact(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """`columns` as exports wrote them before this boundary: day-level dates, exact values."""
    out = pd.DataFrame(index=frame.index)
    for column in columns:
        if column == "period":
            out[column] = pd.to_datetime(frame["time"], unit="s", utc=True).dt.strftime("%Y-%m-%d")
        elif column in _ENTROPY_COLUMNS:
            out[column] = frame[column].astype(np.float64).round(9)
        else:
            out[column] = frame[column]
    return out


def _keys(table: pd.DataFrame) -> pd.Series:
    """One hashable key per row; missing values compare equal to each other."""
    return pd.Series(
        [
            tuple("\x00" if v is None or v != v else v for v in row)  # v != v: NaN
            for row in table.astype(object).itertuples(index=False)
        ],
        index=table.index,
        dtype=object,
    )
