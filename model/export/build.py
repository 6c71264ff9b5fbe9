"""`teamlens export`: the labelled feature table for researchers, k-anonymous on what git shows.

Written to a folder: ``changes.csv`` and ``datasheet.md`` (after Gebru et al.,
"Datasheets for Datasets", CACM 2021). The table holds no pseudonym and no commit id
(a commit id leads straight back to its author in the repository), and no team names:
row-level team labels would let anyone compute figures for teams smaller than k. People
who opted out are not in the store, so they are not in the export.

Every feature column can be recomputed from the repository by anyone who can run git, so
every column but ``label`` is a *quasi-identifier*: exact values let an attacker find the
commit behind a row, and so the author behind a label (on flask, day-level dates and exact
sizes matched 93 % of the rows to exactly one commit with nothing but ``git log
--numstat``). The export therefore

1. codes every quasi-identifier coarsely (:func:`codes`): dates to the month, counts to
   logarithmic buckets (0, 1, 2-3, 4-7, ...), entropy and shares rounded down;
2. makes the table k-anonymous *with people* (k = ``privacy.k``): Mondrian partitioning
   (:func:`partition`) groups the rows of a repository into classes of at least k rows
   written by at least k distinct people, and every row of a class is written with the
   class's ranges (``4..15``, ``2024-01..2024-03``), so all columns but ``label`` are
   identical within a class;
3. measures linkability as the attacker would: from the stored git facts (``commits``,
   ``file_changes``: ``git log --numstat -M``) it computes every non-merge commit's own
   values of the columns numstat shows (:data:`ATTACKER_COLUMNS`) and counts, for each
   class, the commits consistent with its ranges and their distinct authors. Classes
   with fewer than k of either are suppressed (dropped). The same count on exact values
   and day-level dates (what exports wrote before) shows what generalisation bought;
   the datasheet and :class:`ExportReport` carry both.

Rows are written sorted by their exported values, never in commit order (the order
itself would reveal the sequence of commits).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from teamlens.config import Config
from teamlens.model.dataset import (
    FEATURE_DEFINITIONS,
    JIT_COMPATIBLE_COLUMNS,
    KAMEI_FEATURES,
    TEAMLENS_FEATURES,
    load_store,
)
from teamlens.store import Store

EXPORT_COLUMNS: tuple[str, ...] = (
    "repo",
    "period",
    *KAMEI_FEATURES,
    *TEAMLENS_FEATURES,
    *JIT_COMPATIBLE_COLUMNS,
    "language",
    "label",
)
#: Every exported column an attacker can recompute from the repository: all but the label.
QUASI_IDENTIFIERS: tuple[str, ...] = tuple(c for c in EXPORT_COLUMNS if c != "label")
#: What ``git log --numstat -M`` alone gives for a commit (the measured attacker's view).
ATTACKER_COLUMNS: tuple[str, ...] = (
    "repo",
    "period",
    "fix",
    "ns",
    "nd",
    "nf",
    "entropy",
    "la",
    "ld",
    "language",
)
_ENTROPY_COLUMNS = ("entropy", "jit_entropy")
_SHARE_COLUMNS = ("owner_share",)
_FLAG_COLUMNS = ("fix", "tests_touched")
_CATEGORY_COLUMNS = ("repo", "language")
#: Counts (and ``age`` in whole days) in logarithmic buckets: 0, 1, 2-3, 4-7, 8-15, ...
BUCKETED_COLUMNS: tuple[str, ...] = tuple(
    c
    for c in QUASI_IDENTIFIERS
    if c not in ("period", *_CATEGORY_COLUMNS, *_ENTROPY_COLUMNS, *_SHARE_COLUMNS, *_FLAG_COLUMNS)
)
#: Entropy (bits) and owner_share are rounded down to a multiple of these steps first.
ENTROPY_STEP = 0.5
SHARE_STEP = 0.25
_UNKNOWN = -1.0  # the code of a missing value (an unknown share, no language)
#: Mondrian splits these first (weights on the relative number of distinct values): a
#: fine period keeps time-ordered evaluation possible, and la/ld are the effort measure.
SPLIT_WEIGHTS: dict[str, float] = {"period": 50.0, "la": 2.0, "ld": 2.0, "nf": 1.5}


@dataclass(frozen=True)
class Linkability:
    """How many rows the attacker's candidate count singles out."""

    rows: int
    unique: int  # rows consistent with exactly one commit
    under_k: int  # rows consistent with fewer than k commits
    under_k_people: int  # rows whose candidate commits have fewer than k distinct authors

    def share(self, count: int) -> float:
        return count / self.rows if self.rows else 0.0


@dataclass(frozen=True)
class RepoPrivacy:
    """What generalisation and suppression did to one repository's rows."""

    repo: str
    changes: int  # rows before suppression
    classes: int  # equivalence classes written
    suppressed_small: int  # the repository has fewer than k rows or people
    suppressed_linked: int  # a class the history matches with fewer than k commits or people
    exact: Linkability  # the measurement on day-level dates and exact values, all rows
    published: Linkability  # the measurement on what was written

    @property
    def suppressed(self) -> int:
        return self.suppressed_small + self.suppressed_linked


@dataclass(frozen=True)
class ExportReport:
    folder: Path
    rows: int
    labelled: int
    defect_inducing: int
    suppressed: int
    exact: Linkability
    published: Linkability
    repos: tuple[RepoPrivacy, ...]


def export(config: Config, out: Path, repos: Sequence[str] = ()) -> ExportReport:
    names = list(repos) or [r.name for r in config.repositories]
    store = Store(config.data_dir)
    frame = load_store(store, names).frame
    k = config.privacy.k
    history = git_history(store, names)
    parts: list[pd.DataFrame] = []
    results: list[RepoPrivacy] = []
    for name in names:
        rows = frame[frame["repo"] == name].reset_index(drop=True)
        if rows.empty:
            continue
        table, result = _protect(rows, history[history["repo"] == name].reset_index(drop=True), k)
        parts.append(table)
        results.append(result)
    table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=EXPORT_COLUMNS)
    table = table.loc[:, list(EXPORT_COLUMNS)]
    table["label"] = table["label"].astype("Int64")  # 0, 1 or empty (unknown)
    # Sorted by value: the commit order would tell the attacker the sequence of commits.
    table = table.sort_values(list(EXPORT_COLUMNS), kind="stable", na_position="first")
    out.mkdir(parents=True, exist_ok=True)
    _write(out / "changes.csv", table.to_csv(index=False, lineterminator="\n"))
    labelled = int(table["label"].notna().sum())
    inducing = int((table["label"] == 1).sum())
    report = ExportReport(
        out,
        len(table),
        labelled,
        inducing,
        sum(r.suppressed for r in results),
        _total([r.exact for r in results]),
        _total([r.published for r in results]),
        tuple(results),
    )
    _write(out / "datasheet.md", _datasheet(config, names, report))
    return report


def _total(parts: Sequence[Linkability]) -> Linkability:
    return Linkability(
        sum(p.rows for p in parts),
        sum(p.unique for p in parts),
        sum(p.under_k for p in parts),
        sum(p.under_k_people for p in parts),
    )


# --- generalisation: every quasi-identifier as an ordered code -----------------------


def bucket(value: float) -> float:
    """The lower bound of `value`'s bucket: 0, or the largest power of two <= value.

    Negative values mirror positive ones (-5 -> -4); NaN stays NaN.
    """
    if math.isnan(value):
        return value
    whole = math.floor(abs(value))
    if whole == 0:
        return 0.0
    bound = 1 << (whole.bit_length() - 1)
    return float(bound if value > 0 else -bound)


def _round_down(value: float, step: float) -> float:
    if math.isnan(value):
        return _UNKNOWN
    # Rounded first: the same entropy summed in another order must land in the same bucket.
    return math.floor(round(value, 9) / step) * step


def _month(times: pd.Series) -> npt.NDArray[np.float64]:
    stamps = pd.to_datetime(times.astype(np.int64), unit="s", utc=True)
    months = stamps.dt.year * 12 + stamps.dt.month - 1
    return np.asarray(months, dtype=np.float64)


def codes(
    frame: pd.DataFrame, columns: Sequence[str], categories: dict[str, dict[str, int]]
) -> npt.NDArray[np.float64]:
    """One row per change, one ordered code per column: what the export generalises.

    `frame` has ``time`` (unix seconds) for ``period``. `categories` maps the values of
    ``repo`` and ``language`` to codes; values it lacks are added.
    """
    out = np.empty((len(frame), len(columns)), dtype=np.float64)
    for j, column in enumerate(columns):
        if column == "period":
            out[:, j] = _month(frame["time"])
            continue
        values = frame[column]
        if column in _CATEGORY_COLUMNS:
            known = categories.setdefault(column, {})
            out[:, j] = [
                _UNKNOWN if v is None or v != v else known.setdefault(str(v), len(known))
                for v in values
            ]
        elif column in BUCKETED_COLUMNS:
            out[:, j] = [bucket(v) for v in values.astype(np.float64)]
        elif column in _ENTROPY_COLUMNS:
            out[:, j] = [_round_down(v, ENTROPY_STEP) for v in values.astype(np.float64)]
        elif column in _SHARE_COLUMNS:
            out[:, j] = [_round_down(v, SHARE_STEP) for v in values.astype(np.float64)]
        else:  # flags
            out[:, j] = (values.astype(np.float64) > 0).astype(np.float64)
    return out


def _label(month: int) -> str:
    return f"{month // 12}-{month % 12 + 1:02d}"


def _span(lo: str, hi: str) -> str:
    return lo if lo == hi else f"{lo}..{hi}"


def written(
    column: str, lo: float, hi: float, present: Sequence[float], categories: dict[str, int]
) -> str:
    """How a class's codes of `column` (from `lo` to `hi`; the distinct `present`) are written.

    Counts: inclusive ranges of values (``4..15``); entropy and shares: ``a..b`` means
    a <= value < b (a share of 1 included); periods: ``2024-01..2024-03``; categories:
    the values present, ``|``-separated. A missing share or language is ``unknown``.
    """
    if column == "period":
        return _span(_label(int(lo)), _label(int(hi)))
    if column in _CATEGORY_COLUMNS:
        names = {code: name for name, code in categories.items()}
        return "|".join(sorted(names.get(int(c), "unknown") for c in present))
    if column in BUCKETED_COLUMNS:
        top = hi * 2 - 1 if hi >= 1 else hi
        return _span(f"{lo:g}", f"{top:g}")
    if column in _FLAG_COLUMNS:
        return _span(f"{lo:g}", f"{hi:g}")
    step = ENTROPY_STEP if column in _ENTROPY_COLUMNS else SHARE_STEP
    parts = ["unknown"] if lo == _UNKNOWN else []
    real = [c for c in present if c != _UNKNOWN]
    if real:
        top = max(real) + step
        if column in _SHARE_COLUMNS:
            top = min(top, 1.0)
        parts.append(f"{min(real):g}..{top:g}")
    return "|".join(parts)


# --- reading written cells back: what a row of changes.csv says about its change -------

_UNKNOWN_TEXT = "unknown"
_DAY_SECONDS = 86_400


@dataclass(frozen=True)
class Range:
    """What one cell of changes.csv says about a change's value.

    Ordered columns: ``low <= value <= high`` (``value < high`` when `open_high`), or a
    missing value when `missing`; entropy and shares are compared rounded to 9 digits, as
    :func:`codes` rounds them. Periods are in unix seconds (commit time, UTC). Categories:
    the value is one of `names`, or missing when `missing`. ``Range()`` says nothing.
    """

    low: float = -math.inf
    high: float = math.inf
    open_high: bool = False
    missing: bool = False
    names: frozenset[str] | None = None

    def holds(self, values: Sequence[object] | pd.Series) -> npt.NDArray[np.bool_]:
        """Which of `values` (raw values as git shows them: seconds, counts, names, None
        or NaN for missing) the cell is consistent with."""
        if self.names is not None:
            seen = pd.Series(list(values), dtype=object)
            missing = seen.isna().to_numpy()
            named = seen.map(str).isin(self.names).to_numpy()
            return np.asarray(np.where(missing, self.missing, named), dtype=np.bool_)
        x = np.round(np.asarray(values, dtype=np.float64), 9)
        with np.errstate(invalid="ignore"):
            inside = (x >= self.low) & ((x < self.high) if self.open_high else (x <= self.high))
        return np.asarray(np.where(np.isnan(x), self.missing, inside), dtype=np.bool_)


def _month_start(label: str) -> tuple[float, float]:
    """[start, end) in unix seconds of a month ``2024-01`` or a day ``2024-01-15``."""
    parts = [int(p) for p in label.split("-")]
    if len(parts) == 3:
        start = pd.Timestamp(year=parts[0], month=parts[1], day=parts[2], tz="UTC")
        return start.timestamp(), start.timestamp() + _DAY_SECONDS
    if len(parts) != 2 or not 1 <= parts[1] <= 12:
        raise ValueError(label)
    start = pd.Timestamp(year=parts[0], month=parts[1], day=1, tz="UTC")
    return start.timestamp(), (start + pd.offsets.MonthBegin(1)).timestamp()


def _bound(text: str, top: bool) -> float:
    """A count as :func:`written` writes it: ``%g`` loses digits from a million on, so an
    exponent form snaps back to the bucket bound it was (2^n low, 2^n - 1 top)."""
    value = float(text)
    if "e" in text.lower() and abs(value) >= 1:
        shift = 1.0 if top and value > 0 else 0.0
        power = 2.0 ** round(math.log2(abs(value) + shift))
        value = math.copysign(power - shift, value)
    return value


def _bucket_low(value: float) -> float:
    """The smallest value of the bucket a written low bound names (negatives mirror: the
    bucket -4 holds -7..-4); a value that is no bucket bound stands for itself."""
    if value < 0 and bucket(value) == value:
        return 2 * value + 1
    return value


def read_range(column: str, text: str) -> Range:
    """The inverse of :func:`written`: what the cell `text` of `column` says about a change.

    Every text :func:`written` produces is read as the set of values whose code lies in
    the class's range (periods: the months, counts: the buckets, entropy and shares: the
    steps, categories: the names). Exact values, as exports wrote them before ranges (a
    day ``2024-01-15``, a count ``37``, an entropy ``1.25``), are read as themselves. An
    empty cell says nothing.

    Raises
    ------
    ValueError
        `text` is no value or range of `column`.
    """
    text = text.strip()
    if not text:
        return Range()
    if column in _CATEGORY_COLUMNS:
        names = set(text.split("|"))
        missing = _UNKNOWN_TEXT in names
        return Range(missing=missing, names=frozenset(names - {_UNKNOWN_TEXT}))
    low_text, dots, high_text = text.partition("..")
    if column == "period":
        start, end = _month_start(low_text)
        if dots:
            end = _month_start(high_text)[1]
        return Range(start, end, open_high=True)
    if column in BUCKETED_COLUMNS or column in _FLAG_COLUMNS:
        low = _bucket_low(_bound(low_text, top=False))
        high = _bound(high_text, top=True) if dots else _bound(low_text, top=False)
        if not low <= high:  # NaN too
            raise ValueError(text)
        return Range(low, high)
    if column not in (*_ENTROPY_COLUMNS, *_SHARE_COLUMNS):
        raise ValueError(f"{column}: not an exported column")
    parts = text.split("|")
    missing = _UNKNOWN_TEXT in parts
    real = [p for p in parts if p != _UNKNOWN_TEXT]
    if len(real) > 1:
        raise ValueError(text)
    if not real:
        return Range(math.inf, -math.inf, missing=True)  # only a missing value
    low_text, dots, high_text = real[0].partition("..")
    low = float(low_text)
    if math.isnan(low):
        raise ValueError(text)
    if not dots:  # an exact value, to the digits it was written with
        decimals = len(low_text.partition(".")[2]) if "e" not in low_text.lower() else 9
        slack = 0.5 * 10.0**-decimals
        return Range(low - slack, low + slack, missing=missing)
    high = float(high_text)
    if not low <= high:  # NaN too
        raise ValueError(text)
    # Shares: "a..1" includes a share of 1 (written caps the top at 1).
    open_high = not (column in _SHARE_COLUMNS and high == 1.0)
    return Range(low, high, open_high=open_high, missing=missing)


def read_ranges(
    row: Mapping[str, str], columns: Sequence[str] = ATTACKER_COLUMNS
) -> dict[str, Range]:
    """:func:`read_range` of each of `columns` in a row of changes.csv (read as text)."""
    return {column: read_range(column, row.get(column, "")) for column in columns}


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


# --- k-anonymity with people: Mondrian partitioning ---------------------------------


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


# --- the attacker's view -------------------------------------------------------------

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


# --- putting it together -------------------------------------------------------------


def _protect(rows: pd.DataFrame, history: pd.DataFrame, k: int) -> tuple[pd.DataFrame, RepoPrivacy]:
    columns = [c for c in QUASI_IDENTIFIERS if c == "period" or c in rows.columns]
    categories: dict[str, dict[str, int]] = {}
    x = codes(rows, columns, categories)
    person_codes = {
        p: i for i, p in enumerate(pd.unique(pd.concat([rows["people"], history["person"]])))
    }
    people = np.array([person_codes[p] for p in rows["people"]], dtype=np.int64)
    weights = np.array([SPLIT_WEIGHTS.get(c, 1.0) for c in columns], dtype=np.float64)
    classes = partition(x, people, k, weights)
    small = 0 if classes else len(rows)
    attacker = [columns.index(c) for c in ATTACKER_COLUMNS]
    seen = codes(history, ATTACKER_COLUMNS, categories)
    authors = np.array([person_codes[p] for p in history["person"]], dtype=np.int64)
    commits, candidates_people = link_classes(x[:, attacker], classes, seen, authors)
    weak = (commits < k) | (candidates_people < k)
    kept = [c for c, w in zip(classes, weak, strict=True) if not w]
    linked = sum(len(c) for c, w in zip(classes, weak, strict=True) if w)
    sizes = np.array([len(c) for c in kept], dtype=np.int64)
    published = _measure(
        np.repeat(commits[~weak], sizes), np.repeat(candidates_people[~weak], sizes), k
    )
    out: dict[str, list[object]] = {c: [] for c in EXPORT_COLUMNS}
    for rows_of_class in kept:
        part = x[rows_of_class]
        for j, column in enumerate(columns):
            present = sorted(set(part[:, j].tolist()))
            text = written(column, present[0], present[-1], present, categories.get(column, {}))
            out[column] += [text] * len(rows_of_class)
        out["label"] += rows["label"].iloc[rows_of_class].tolist()
    table = pd.DataFrame({c: v for c, v in out.items() if v or c == "label"})
    result = RepoPrivacy(
        str(rows["repo"].iloc[0]),
        len(rows),
        len(kept),
        small,
        linked,
        link_exact(rows, history, k),
        published,
    )
    return table, result


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


# --- the datasheet -------------------------------------------------------------------

_JIT_DEFINITIONS = {
    "jit_ns": "ns as the public JIT benchmark counts it: only files that existed and changed",
    "jit_nd": "nd, benchmark definition (same file set)",
    "jit_nf": "distinct file names (not paths) among those files",
    "jit_entropy": "entropy over those files",
    "jit_la": "lines added to those files",
    "jit_lt": "lines before the change in those files",
}


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f} %" if whole else "0.0 %"


def _how(column: str) -> str:
    if column == "period":
        return "months `2024-01` or a range of months `2024-01..2024-06`"
    if column in _CATEGORY_COLUMNS:
        return "the values in the class, `|`-separated (`unknown`: none)"
    if column in BUCKETED_COLUMNS:
        extra = " (`age`: whole days)" if column == "age" else ""
        return f"inclusive range `lo..hi` of bucket bounds, or one value{extra}"
    if column in _ENTROPY_COLUMNS:
        return f"`a..b`: a <= value < b, in steps of {ENTROPY_STEP:g}"
    if column in _SHARE_COLUMNS:
        return f"`a..b`: a <= value < b (1 included), steps of {SHARE_STEP:g}; or `unknown`"
    return "`0`, `1` or `0..1`"


def _datasheet(config: Config, repos: Sequence[str], report: ExportReport) -> str:
    labels = config.labels
    k = config.privacy.k
    lines = [
        "# Datasheet: teamlens change table",
        "",
        f"Exported {time.strftime('%Y-%m-%d', time.gmtime())} from repositories: "
        + ", ".join(repos)
        + ".",
        "",
        "## Composition",
        "",
        f"- {report.rows} changes (non-merge commits), one row each; {report.labelled} with "
        f"a label, {report.defect_inducing} of them defect-inducing. {report.suppressed} "
        "more changes were suppressed (see Privacy).",
        "- `label` is 1 (defect-inducing), 0 (clean) or empty (younger than the "
        f"label-maturity window of {labels.maturity_days} days before the newest change, "
        "or no fix labelled yet): empty is *unknown*, not clean.",
        "- Rows are sorted by their values, not by commit time; `period` is the only "
        "time order there is (time-ordered evaluation splits by period).",
        "",
        "## Columns",
        "",
        "| column | meaning | as written |",
        "|---|---|---|",
        f"| `repo` | repository name from repos.yaml | {_how('repo')} |",
        f"| `period` | commit date (UTC) | {_how('period')} |",
    ]
    for name in (*KAMEI_FEATURES, *TEAMLENS_FEATURES):
        lines.append(f"| `{name}` | {FEATURE_DEFINITIONS[name]} | {_how(name)} |")
    for name in JIT_COMPATIBLE_COLUMNS:
        lines.append(f"| `{name}` | {_JIT_DEFINITIONS[name]} | {_how(name)} |")
    lines += [
        f"| `language` | programming language with the most changed lines | {_how('language')} |",
        f"| `label` | defect-inducing by SZZ variant `{labels.default_variant}` | as is |",
        "",
        "Every column but `label` is the same for all rows of a class (see Privacy); a range "
        "such as `4..15` says the change's value lies in it. Full definitions and sources: "
        "docs/features.md of teamlens.",
        "",
        "## How labels were made",
        "",
        f"Fix commits are those whose message matches the configured patterns; the lines "
        f"they delete or change are blamed on the fix's parent (`git blame -w`), and the "
        f"blamed commits are defect-inducing. Variant `{labels.default_variant}`: "
        "source files only, blank and comment-only lines skipped (tree-sitter), "
        "cosmetic commits looked through, merge and bulk commits "
        f"(more than {labels.bulk_files} files) never inducing, and only the most recent "
        "candidate of each fix kept (R-SZZ).",
        "",
        "## Known biases",
        "",
        "- SZZ is noisy: published precision and recall of its variants are about 0.5-0.7 "
        "(Rosa et al., ICSE 2021). Fixes not described as such in their message are "
        "missed; changes that only add lines cannot be blamed.",
        "- Team ownership uses today's globs and CODEOWNERS for old changes too.",
        "- Tangled commits (several concerns in one) share one label.",
        "- Recent changes are unlabelled; time-ordered evaluation must respect the gap.",
        "- Suppressed changes are the unusual ones (rare sizes, lone periods): very large "
        "or very scattered changes are under-represented.",
        "",
        "## Privacy",
        "",
        "No names, e-mail addresses, logins, pseudonyms or commit ids; no team names. No "
        "column describes an individual (Kamei's exp, rexp and sexp are never computed). "
        "People on the opt-out list are absent.",
        "",
        "Every column but `label` can be recomputed from the repository with git, so every "
        f"one is generalised, and the table is k-anonymous with k = {k}: rows are grouped "
        f"into classes of at least {k} changes by at least {k} different people (Mondrian "
        "partitioning, LeFevre et al., ICDE 2006), and every column but `label` holds the "
        "class's range, the same for each of its rows. Before grouping, dates are coded to "
        f"the month, counts to buckets 0, 1, 2-3, 4-7, ..., entropy to {ENTROPY_STEP:g} bit "
        f"and shares to {SHARE_STEP:g}.",
        "",
        "**Linkability, measured at export time.** For every row, teamlens counted the "
        "commits of the repository's own history (`git log --numstat -M`, merges left out) "
        "whose values of " + ", ".join(f"`{c}`" for c in ATTACKER_COLUMNS) + " are "
        "consistent with it, as someone holding the export and a clone would. Rows "
        f"consistent with fewer than {k} commits, or with commits of fewer than {k} "
        "people, were suppressed too. *Exact* is the same measurement on day-level dates "
        "and exact values, as exports were written before this generalisation.",
        "",
        "| repository | changes | classes | suppressed (repository < k) | suppressed (history) "
        "| exact: one commit | exact: < k commits | written: one commit "
        "| written: < k commits | written: < k people |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in report.repos:
        lines.append(
            f"| {r.repo} | {r.changes} | {r.classes} "
            f"| {r.suppressed_small} | {r.suppressed_linked} "
            f"| {_pct(r.exact.unique, r.exact.rows)} | {_pct(r.exact.under_k, r.exact.rows)} "
            f"| {_pct(r.published.unique, r.published.rows)} "
            f"| {_pct(r.published.under_k, r.published.rows)} "
            f"| {_pct(r.published.under_k_people, r.published.rows)} |"
        )
    e, p = report.exact, report.published
    lines += [
        "",
        f"Overall: re-identified (one candidate commit) exact {_pct(e.unique, e.rows)} "
        f"({e.unique} of {e.rows}), written {_pct(p.unique, p.rows)} "
        f"({p.unique} of {p.rows}); fewer than {k} candidates exact "
        f"{_pct(e.under_k, e.rows)}, written {_pct(p.under_k, p.rows)}.",
        "",
        "What this does not cover: the label of a class whose rows are all defect-inducing "
        "applies to each of its changes, and the rows of one period still sum to that "
        "period's totals. Do not publish rows of this table; publish figures over groups.",
    ]
    return "\n".join(lines) + "\n"
