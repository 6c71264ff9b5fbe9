"""Labelled changes as a model sees them: from the store, or from a public Kamei-format CSV.

A :class:`JitData` is one table, one row per change, oldest first, with

* ``id`` (commit sha), ``time`` (unix seconds), ``label`` (1 defect-inducing, 0 clean,
  missing when not yet known), ``effort`` (``la + ld``, the lines to review);
* the feature columns named in ``features``;
* optional grouping columns ``team`` (a list: a change may touch several teams' files)
  and ``language`` (the language with most changed lines), used by the model card;
* ``people``: the author's pseudonym, only so group figures can be held back when
  fewer than k people stand behind them. It is never a feature and never written out.

Features that describe a person (``exp``, ``rexp``, ``sexp``: the author's experience)
are dropped from every dataset that has them; ``JitData.dropped`` records it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from teamlens.errors import TeamlensError
from teamlens.feature_registry import FEATURES, Group, names
from teamlens.features.pipeline import FEATURES_VERSION
from teamlens.store import Store

#: Kamei et al.'s change metrics that describe the change, not the person.
KAMEI_FEATURES: tuple[str, ...] = names(Group.KAMEI)
#: Features about the individual author: never used, dropped wherever they appear.
INDIVIDUAL_FEATURES: tuple[str, ...] = ("exp", "rexp", "sexp")
#: Features teamlens computes beyond Kamei's (docs/features.md).
TEAMLENS_FEATURES: tuple[str, ...] = names(Group.TEAMLENS)
#: Code tokens of the added and removed lines (features.code_tokens; docs/features.md).
TOKEN_FEATURES: tuple[str, ...] = names(Group.TOKENS)
#: The public JIT benchmark's definitions of ns, nd, nf, entropy, la and lt, as computed
#: by teamlens (docs/evaluation.md): the columns a model trained on that benchmark reads.
JIT_COMPATIBLE_COLUMNS: tuple[str, ...] = names(Group.JIT)
#: One line per feature (the registry's definitions); docs/features.md has the sources.
FEATURE_DEFINITIONS: dict[str, str] = {f.name: f.definition for f in FEATURES if f.model}
_KAMEI_CSV_COLUMNS = ("_id", "date", "bug", "ns", "nd", "nf", "entrophy", "la", "ld", "lt")


class DatasetError(TeamlensError):
    """A dataset is missing, unreadable or lacks what a model needs."""


@dataclass(frozen=True)
class JitData:
    """Changes with features and labels, oldest first. See the module docstring."""

    frame: pd.DataFrame
    features: tuple[str, ...]
    source: str
    dropped: tuple[str, ...] = ()
    #: The opt-out fingerprint the store's data was purged under (None for a public
    #: dataset); a model trained on the data records it (model.registry).
    opt_out: str | None = None

    def __len__(self) -> int:
        return len(self.frame)

    @property
    def labelled(self) -> JitData:
        """Only the changes whose label is known (mature)."""
        known = self.frame[self.frame["label"].notna()].reset_index(drop=True)
        known["label"] = known["label"].astype(np.int64)
        return replace(self, frame=known)

    def rows(self, index: npt.NDArray[np.int64] | slice) -> JitData:
        part = self.frame.iloc[index].reset_index(drop=True)
        return replace(self, frame=part)

    def x(self) -> pd.DataFrame:
        return self.frame.loc[:, list(self.features)].astype(np.float64)

    def y(self) -> npt.NDArray[np.int64]:
        return self.frame["label"].to_numpy(dtype=np.int64)

    def effort(self) -> npt.NDArray[np.float64]:
        return self.frame["effort"].to_numpy(dtype=np.float64)

    def times(self) -> npt.NDArray[np.int64]:
        return self.frame["time"].to_numpy(dtype=np.int64)

    def has(self, column: str) -> bool:
        return column in self.frame.columns and bool(self.frame[column].notna().any())


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    # Stable: rows with the same time keep their order in the source.
    return frame.sort_values("time", kind="stable").reset_index(drop=True)


def load_kamei_csv(path: Path) -> JitData:
    """A public Kamei-format dataset (the ISSTA 2021 JIT-DP replication files).

    Columns: ``_id`` (sha), ``date`` (unix seconds, or an ISO date or time), ``bug``
    (label), ``__`` (a copy of ``bug``, ignored), ``ns nd nf entrophy la ld lt fix ndev
    age nuc`` and possibly ``exp rexp sexp``, which are dropped.

    Raises
    ------
    DatasetError
        The file is missing, not a CSV, lacks a required column, has no rows, or has an
        empty or unreadable date, label or feature (the message names column and line).
    """
    if not path.is_file():
        raise DatasetError(f"{path}: no such file")
    try:
        raw = pd.read_csv(path)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise DatasetError(f"{path}: not a readable CSV file ({exc})") from exc
    missing = [c for c in _KAMEI_CSV_COLUMNS if c not in raw.columns]
    if missing:
        raise DatasetError(
            f"{path}: missing column(s) {', '.join(missing)}; expected the Kamei format "
            "(_id, date, bug, ns, nd, nf, entrophy, la, ld, lt, fix, ndev, age, nuc)"
        )
    if raw.empty:
        raise DatasetError(f"{path}: no rows")
    raw = raw.rename(columns={"entrophy": "entropy"})
    features = tuple(f for f in KAMEI_FEATURES if f in raw.columns)
    dropped = tuple(f for f in INDIVIDUAL_FEATURES if f in raw.columns)
    labels = pd.to_numeric(raw["bug"], errors="coerce")
    if labels.isna().any() or not labels.isin([0, 1]).all():
        raise DatasetError(f"{path}: column bug must hold 0 or 1 in every row")
    numbers = {name: _numbers(path, raw, name) for name in features}
    frame = pd.DataFrame(
        {
            "id": raw["_id"].astype(str),
            "time": _dates(path, raw["date"]),
            "label": labels.astype(np.int64),
            "effort": (numbers["la"] + numbers["ld"]).astype(np.float64),
        }
    )
    for name in features:
        frame[name] = numbers[name]
    return JitData(_sorted(frame), features, f"dataset:{path.name}", dropped)


def _line(position: int) -> int:
    """The file line of a data row (the header is line 1)."""
    return position + 2


def _numbers(path: Path, raw: pd.DataFrame, name: str) -> pd.Series:
    """A feature column as floats; an empty or non-numeric cell is a one-line error."""
    values = pd.to_numeric(raw[name], errors="coerce")
    bad = values.isna() | ~np.isfinite(values.to_numpy(dtype=np.float64, na_value=np.nan))
    if bad.any():
        first = int(np.flatnonzero(bad.to_numpy())[0])
        cell = raw[name].iloc[first]
        shown = "empty" if pd.isna(cell) else f"{str(cell)[:40]!r}, not a number"
        raise DatasetError(
            f"{path}: column {name} on line {_line(first)} is {shown} "
            f"({int(bad.sum())} such row(s))"
        )
    return values.astype(np.float64)


def _dates(path: Path, column: pd.Series) -> pd.Series:
    """Commit dates as unix seconds: numbers are seconds, text is an ISO date or time (UTC
    unless it says otherwise); an empty or unreadable cell is a one-line error."""
    seconds = pd.to_numeric(column, errors="coerce")
    text = column[seconds.isna() & column.notna()]
    if len(text):
        parsed = pd.to_datetime(text.astype(str), errors="coerce", utc=True, format="ISO8601")
        seconds = seconds.astype("float64")
        seconds[parsed.index] = parsed.map(
            lambda t: float(t.timestamp()) if not pd.isna(t) else np.nan
        )
    bad = seconds.isna()
    if bad.any():
        first = int(np.flatnonzero(bad.to_numpy())[0])
        cell = column.iloc[first]
        shown = "empty" if pd.isna(cell) else f"{str(cell)[:40]!r}, not a date"
        raise DatasetError(
            f"{path}: column date on line {_line(first)} is {shown} (expected unix seconds "
            f"or an ISO date such as 2020-01-31; {int(bad.sum())} such row(s))"
        )
    return seconds.astype(np.int64)


_STORE_SQL = """
SELECT c.repo, c.sha AS id, epoch(c.commit_time)::BIGINT AS time,
       CASE WHEN c.is_inducing IS NULL THEN NULL
            WHEN c.is_inducing THEN 1 ELSE 0 END AS label,
       (c.la + c.ld)::DOUBLE AS effort,
       {features},
       {jit},
       c.owning_teams AS team, lang.language, m.author_id AS people
FROM changes c
JOIN commits m USING (repo, sha)
LEFT JOIN (
    SELECT repo, sha, arg_max(language, added + deleted) AS language
    FROM file_changes WHERE language IS NOT NULL GROUP BY repo, sha
) lang USING (repo, sha)
WHERE c.repo IN ({repos})
ORDER BY c.commit_time, c.repo, c.sha
"""


def load_store(store: Store, repos: Sequence[str]) -> JitData:
    """The changes of `repos` from the store's ``changes`` view, labels included.

    Raises
    ------
    DatasetError
        None of the repositories has features yet, or one's were computed by another
        teamlens version (run ``teamlens features``).
    """
    stale = [
        r
        for r in repos
        if store.manifest(r).parts.get("change_features")
        and store.manifest(r).state.features_version != FEATURES_VERSION
    ]
    if stale:
        raise DatasetError(
            f"the features of {', '.join(stale)} were computed by another teamlens version; "
            "run `teamlens features` to recompute them"
        )
    features = KAMEI_FEATURES + TEAMLENS_FEATURES + TOKEN_FEATURES
    columns = ", ".join(f"c.{name}::DOUBLE AS {name}" for name in features)
    placeholders = ", ".join("?" for _ in repos)
    jit = ", ".join(f"c.{name}::DOUBLE AS {name}" for name in JIT_COMPATIBLE_COLUMNS)
    sql = _STORE_SQL.format(features=columns, jit=jit, repos=placeholders)
    result = store.query(sql, list(repos))
    frame = pd.DataFrame(result.rows, columns=result.columns)
    if frame.empty:
        raise DatasetError(
            f"no changes with features for {', '.join(repos)}; run `teamlens features` first"
        )
    frame["time"] = frame["time"].astype(np.int64)
    frame["team"] = [list(t) if t is not None else [] for t in frame["team"]]
    source = "store:" + ",".join(repos)
    return JitData(_sorted(frame), features, source, opt_out=applied_opt_out(store, repos))


#: The opt-out fingerprint of repositories that were purged under different lists.
MIXED = "mixed"


def applied_opt_out(store: Store, repos: Sequence[str]) -> str | None:
    """The opt-out fingerprint the store's repositories were last purged under.

    One value when all of `repos` agree, :data:`MIXED` when they differ, None when none
    records one (mined before teamlens recorded it).
    """
    found = {store.manifest(r).state.opt_out for r in repos}
    if len(found) == 1:
        return found.pop()
    return MIXED
