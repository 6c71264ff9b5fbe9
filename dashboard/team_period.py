"""Build ``team_period``: team quality per calendar window, disclosure-controlled.

For every team (from code ownership: a change counts for each team owning a file it
touches; ``(no team)`` for the rest) and period, from the changes, their labels, the
current model's risk and the review facts:

``changes``, ``churn``
    non-merge changes and their lines added + deleted;
``defect_rate`` (with a 95 % Wilson interval)
    defect-inducing changes over changes with a mature label; ``provisional`` when some
    changes of the period are still too young to be labelled;
``mean_risk``, ``high_risk_share``
    the current model's predicted risk, and the share at or above ``review.high``;
``review_coverage``, ``median_hours_to_first_review``
    over changes merged through a pull request (GitHub data);
``hotspots``
    up to three of the team's own files with the most fix commits in the period.

Windows nest (dashboard.windows): a week runs Monday to Sunday, a month is the weeks
whose Monday falls in it, and a quarter, half-year or year the months it spans, so
finer windows add up to coarser ones exactly and no month minus its weeks leaves a day
or two of someone's work. ``period`` is one kind for every team, or ``auto``: per team
the finest kind that shows most of its windows.

Privacy (applied here, once, so every reader is safe; teamlens.disclosure does the sums):

1. **Figure groups.** A row publishes four groups of figures, each a sum over its own
   set of changes: volume (changes, churn, hotspots), labels (over the changes with a
   mature label), risk (over the scored changes) and review (over the changes merged
   through a pull request).
2. **Primary.** A group needs at least k distinct people behind its changes and no one
   person making more than ``privacy.dominance`` of them; a risk group also needs 0 or
   at least k people behind its high-risk changes. A row whose volume fails is
   suppressed (no figures at all); with weekly windows it is rolled up into its month
   when the month passes. Other failing groups are left empty, with the reason.
3. **Republication.** Every published group is recorded in a ledger in the private zone
   (``<data_dir>/ledger/publications.parquet``: keyed change tokens, never shas). A
   group published before moves only when the changes behind the move (added, removed
   or with a changed label or risk) come from at least k people and no dominant one;
   otherwise the earlier figures are published again ("late data waits"), or the group
   is hidden when changes behind them are gone (an opt-out).
4. **Secondary.** No set of changes derivable from the shown groups and everything
   published before (other teams, overlapping teams, the all-teams row, weeks against
   months, earlier reports) may fail the primary rule; the largest group that makes one
   derivable is held back (teamlens.disclosure.protect).
"""

from __future__ import annotations

import datetime as dt
import enum
import math
import os
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from teamlens.aggregates import ALL_TEAMS, SCHEMA, TEAM_PERIOD_FILE, UNOWNED, TeamPeriodRow
from teamlens.config import Config
from teamlens.dashboard.headlines import wilson
from teamlens.dashboard.ledger import CellKey, Ledger, change_tokens
from teamlens.dashboard.windows import (
    AUTO,
    PERIOD_CHOICES,
    ROLLED_INTO_MONTH,
    WINDOWS,
    choose_windows,
    window_span,
    window_starts,
)
from teamlens.disclosure import (
    DEFAULT_DOMINANCE,
    Statistic,
    dominated,
    protect,
    too_few,
    unsafe,
)
from teamlens.errors import TeamlensError
from teamlens.features.changes import read_codeowners
from teamlens.features.kamei import TeamMap
from teamlens.mining.repository import GitRepository
from teamlens.model.dataset import DatasetError, load_store
from teamlens.model.registry import ModelError, Registry
from teamlens.model.training import score_saved
from teamlens.privacy import load_key
from teamlens.store import Store

HOTSPOTS = 3


class TeamPeriodError(TeamlensError):
    """The store has nothing to aggregate (no features yet), or no table was built yet."""


@dataclass(frozen=True)
class BuildReport:
    path: Path
    rows: int
    suppressed: int
    rolled_up: int
    seconds: float


#: What ``period`` may be: a kind of window (dashboard.windows) or ``auto``.
PERIODS = PERIOD_CHOICES


class Group(enum.Enum):
    """A group of figures that sum over one set of changes."""

    VOLUME = "volume"
    LABELS = "labels"
    RISK = "risk"
    REVIEW = "review"


GROUP_FIGURES: dict[Group, tuple[str, ...]] = {
    Group.VOLUME: ("changes", "churn", "provisional", "hotspots"),
    Group.LABELS: (
        "labelled_changes",
        "defect_inducing",
        "defect_rate",
        "defect_rate_low",
        "defect_rate_high",
    ),
    Group.RISK: ("mean_risk", "high_risk_share"),
    Group.REVIEW: ("review_coverage", "median_hours_to_first_review"),
}


def change_frame(config: Config) -> pd.DataFrame:
    """One row per change: time, team list, label, churn, risk, author, review facts."""
    names = [r.name for r in config.repositories]
    store = Store(config.data_dir)
    data = load_store(store, names)
    frame = data.frame
    try:
        model = Registry.for_data_dir(config.data_dir).current()
        frame = frame.assign(risk=score_saved(model, data))
    except ModelError:
        frame = frame.assign(risk=np.nan)
    reviews = store.query(
        "SELECT repo, sha AS id, reviewed, hours_to_first_review FROM change_reviews"
    )
    review_frame = pd.DataFrame(reviews.rows, columns=list(reviews.columns))
    frame = frame.merge(review_frame, on=["repo", "id"], how="left")
    frame["label"] = _mature_labels(frame, config.labels.maturity_days)
    frame["churn"] = frame["effort"].astype(np.int64)
    frame["team"] = [list(t) if len(t) else [UNOWNED] for t in frame["team"]]
    return frame


def _mature_labels(frame: pd.DataFrame, maturity_days: float) -> pd.Series:
    """Labels of changes older than the label-maturity window (before the repository's
    newest change); younger ones are unlabelled, whatever a fix already found.

    A young change that a fix already traced is labelled inducing while its clean
    neighbours are not labelled yet: counting it would bias a recent rate upwards.
    """
    newest = frame.groupby("repo")["time"].transform("max")
    young = frame["time"] > newest - maturity_days * 86_400
    return frame["label"].where(~young)


def team_owners(config: Config) -> Owners:
    """The teams owning each (repository, path): repos.yaml globs, CODEOWNERS when asked
    (read from the repository's HEAD; globs only when it cannot be opened)."""
    maps: dict[str, TeamMap] = {}
    for repo_config in config.repositories:
        source = repo_config.teams or config.teams
        globs: dict[str, Sequence[str]] = dict(source.globs)
        if source.codeowners:
            try:
                repo = GitRepository.open(repo_config, config.clones_dir, sync=False)
                globs.update(read_codeowners(repo))
            except TeamlensError:
                pass
        maps[repo_config.name] = TeamMap(globs)
    empty = TeamMap({})

    def owners(repo: str, path: str) -> tuple[str, ...]:
        return maps.get(repo, empty).owners(path)

    return owners


def _fix_files(config: Config) -> pd.DataFrame:
    store = Store(config.data_dir)
    result = store.query(
        "SELECT f.repo, f.sha AS id, f.path FROM file_changes f JOIN commits c"
        " USING (repo, sha) WHERE c.is_fix AND NOT c.is_merge"
    )
    return pd.DataFrame(result.rows, columns=list(result.columns))


@dataclass(frozen=True)
class Policy:
    """The disclosure rules a table is built under."""

    k: int
    dominance: float = DEFAULT_DOMINANCE
    high: float = 0.6


def group_members(part: pd.DataFrame, group: Group, high: float) -> pd.DataFrame:
    """The rows of ``part`` behind a group's figures."""
    if group is Group.VOLUME:
        return part
    if group is Group.LABELS:
        return part[part["label"].notna()]
    if group is Group.RISK:
        return part[part["risk"].notna()]
    merged = [r is not None and r == r for r in part["reviewed"]]
    return part[np.array(merged, dtype=bool)]


def _values(members: pd.DataFrame, group: Group) -> list[float]:
    """Each change's contribution to the group's figures (a changed one moves them)."""
    if group is Group.VOLUME:
        return [float(v) for v in members["churn"]]
    if group is Group.LABELS:
        return [float(v) for v in members["label"]]
    if group is Group.RISK:
        return [round(float(v), 6) for v in members["risk"]]
    out = []
    for reviewed, hours in zip(members["reviewed"], members["hours_to_first_review"], strict=True):
        out.append(-1.0 if not reviewed else (-2.0 if hours != hours else float(hours)))
    return out


def _figures(
    part: pd.DataFrame, group: Group, fix_paths: Mapping[str, list[FixPath]], high: float,
    team: str,
) -> dict[str, Any]:  # fmt: skip
    if group is Group.VOLUME:
        hot: Counter[str] = Counter()
        for change in part["member"]:
            hot.update(path for path, owners in fix_paths.get(change, ()) if _own(team, owners))
        ranked = sorted(hot.items(), key=lambda item: (-item[1], item[0]))
        return {
            "changes": len(part),
            "churn": int(part["churn"].sum()),
            "provisional": bool(part["label"].isna().any()),
            "hotspots": [path for path, _ in ranked[:HOTSPOTS]],
        }
    if group is Group.LABELS:
        labels = part["label"].to_numpy(dtype=np.float64)
        bad = int((labels == 1).sum())
        low, top = wilson(bad, len(labels))
        return {
            "labelled_changes": len(labels),
            "defect_inducing": bad,
            "defect_rate": bad / len(labels) if len(labels) else None,
            "defect_rate_low": None if math.isnan(low) else low,
            "defect_rate_high": None if math.isnan(top) else top,
        }
    if group is Group.RISK:
        risk = part["risk"].to_numpy(dtype=np.float64)
        return {
            "mean_risk": float(risk.mean()) if len(risk) else None,
            "high_risk_share": float((risk >= high).mean()) if len(risk) else None,
        }
    reviewed = [bool(r) for r in part["reviewed"]]
    hours = part["hours_to_first_review"].to_numpy(dtype=np.float64)[np.array(reviewed, bool)]
    hours = hours[~np.isnan(hours)]
    return {
        "review_coverage": sum(reviewed) / len(reviewed) if reviewed else None,
        "median_hours_to_first_review": float(np.median(hours)) if len(hours) else None,
    }


#: A file a fix touched, and the teams that own it (None: ownership unknown).
FixPath = tuple[str, tuple[str, ...] | None]
#: The teams that own a path of a repository: (repo, path) -> team names.
Owners = Callable[[str, str], tuple[str, ...]]


def _own(team: str, owners: tuple[str, ...] | None) -> bool:
    """Whether a hotspot file belongs in ``team``'s list: its own files only."""
    if owners is None or team == ALL_TEAMS:
        return True
    return team in owners if team != UNOWNED else not owners


def _primary(members: pd.DataFrame, group: Group, policy: Policy) -> str | None:
    """Why a group's figures cannot be shown, or None."""
    people = dict(zip(members["member"], members["people"], strict=True))
    ids = list(people)
    if not ids:
        return None if group is not Group.VOLUME else f"fewer than {policy.k} contributors"
    if too_few(ids, people, policy.k):
        return f"fewer than {policy.k} contributors"
    if dominated(ids, people, policy.dominance):
        return f"one person made more than {policy.dominance:.0%} of the changes"
    if group is Group.RISK:
        high = members[members["risk"] >= policy.high]
        if too_few(high["member"], people, policy.k):
            return f"fewer than {policy.k} contributors behind the high-risk changes"
    return None


def _cells(frame: pd.DataFrame, period: str) -> Iterable[tuple[str, str, dt.date, pd.DataFrame]]:
    """(team, kind, start, changes) of every cell of one kind of window."""
    exploded = frame.explode("team")
    for key, part in exploded.groupby(["team", f"{period}_start"], sort=True):
        team, start = key
        yield str(team), period, _as_date(start), part
    for start, part in frame.groupby(f"{period}_start", sort=True):
        yield ALL_TEAMS, period, _as_date(start), part


def _as_date(value: object) -> dt.date:
    if not isinstance(value, dt.date):
        raise TypeError(f"expected a date, got {value!r}")
    return value


@dataclass
class _Cell:
    """A row under construction, with the changes behind each of its groups."""

    row: TeamPeriodRow
    part: pd.DataFrame
    groups: dict[Group, pd.DataFrame]
    notes: list[str]


_HELD = "hidden so that other figures do not reveal fewer than k people"
_WAITING = "as published before: the change since then has fewer than k people behind it"


def build_rows(
    frame: pd.DataFrame,
    fixes: pd.DataFrame,
    period: str,
    k: int,
    high: float,
    dominance: float = DEFAULT_DOMINANCE,
    ledger: Ledger | None = None,
    owners: Owners | None = None,
) -> list[dict[str, Any]]:
    """The table's rows from the change frame (see the module docstring).

    ``ledger`` holds what was published before; the groups published now are appended
    to it (the caller saves it). ``owners`` names the teams owning a file, so that a
    team's hotspots are its own files (without it, every file a fix touched counts).
    """
    if period not in PERIODS:
        raise ValueError(f"period must be one of {', '.join(PERIODS)}, got {period!r}")
    policy = Policy(k, dominance, high)
    ledger = ledger if ledger is not None else Ledger.empty()
    frame = prepare(frame)
    person_of = dict(zip(frame["member"], frame["people"], strict=True))
    cells = _primary_cells(frame, period, policy)
    known_members = set(person_of)
    fix_paths: dict[str, list[FixPath]] = {}
    repos = fixes["repo"] if "repo" in fixes.columns else [""] * len(fixes)
    for repo, change, path in zip(repos, fixes["id"], fixes["path"], strict=True):
        member = f"{repo}\0{change}"
        if member in known_members:
            owned = None if owners is None else owners(str(repo), str(path))
            fix_paths.setdefault(member, []).append((str(path), owned))
    ledger.forget_except(set(person_of))
    for group in Group:
        _publish_group(cells, group, policy, ledger, person_of, fix_paths)
    rows = []
    for cell in cells:
        if not cell.row.suppressed and cell.notes:
            cell.row = replace(cell.row, reason="; ".join(cell.notes))
        rows.append(cell.row.as_dict())
    return rows


def prepare(frame: pd.DataFrame) -> pd.DataFrame:
    """The change frame with ``member`` (a change id unique across repositories) and the
    start of each change's window of every kind (``week_start`` … ``year_start``)."""
    if "repo" not in frame.columns:
        frame = frame.assign(repo="")
    starts = {f"{kind}_start": window_starts(frame["time"], kind) for kind in WINDOWS}
    return frame.assign(
        member=[f"{r}\0{i}" for r, i in zip(frame["repo"], frame["id"], strict=True)],
        **starts,
    )


def cell_changes(frame: pd.DataFrame, team: str, period: str, start: dt.date) -> pd.DataFrame:
    """The changes of one cell of a :func:`prepare`-d frame."""
    in_period = frame[frame[f"{period}_start"] == start]
    if team == ALL_TEAMS:
        return in_period
    return in_period[[team in teams for teams in in_period["team"]]]


def _primary_cells(frame: pd.DataFrame, period: str, policy: Policy) -> list[_Cell]:
    """Rows with primary suppression applied: with ``week``, weeks below k rolled into
    their month; with ``auto``, each team in the kind of window chosen for it."""
    cells = _auto_cells(frame, policy) if period == AUTO else list(_cells(frame, period))
    failing = {
        (team, kind, start): _primary(part, Group.VOLUME, policy)
        for team, kind, start, part in cells
    }
    # A week that fails is rolled up into its month (when the month passes): then every
    # week of that team and month is replaced by the month.
    rolled: set[tuple[str, dt.date]] = set()
    months: dict[tuple[str, dt.date], pd.DataFrame] = {}
    if period == "week":
        months = {(team, start): part for team, _, start, part in _cells(frame, "month")}
        for team, kind, start, _ in cells:
            month_part = months.get((team, _month_of(start)))
            if (
                failing[(team, kind, start)]
                and month_part is not None
                and _primary(month_part, Group.VOLUME, policy) is None
            ):
                rolled.add((team, _month_of(start)))
    out: list[_Cell] = []
    for team, kind, start, part in cells:
        why = failing[(team, kind, start)]
        if kind == "week" and (team, _month_of(start)) in rolled:
            row = TeamPeriodRow(team, kind, start, suppressed=True, reason=ROLLED_INTO_MONTH)
            out.append(_Cell(row, part.iloc[0:0], {}, []))
        elif why:
            row = TeamPeriodRow(team, kind, start, suppressed=True, reason=why)
            out.append(_Cell(row, part.iloc[0:0], {}, []))
        else:
            out.append(_Cell(TeamPeriodRow(team, kind, start), part, {}, []))
    for team, month in sorted(rolled):
        part = months[(team, month)]
        out.append(_Cell(TeamPeriodRow(team, "month", month, rolled_up=True), part, {}, []))
    for cell in out:
        if cell.row.suppressed:
            continue
        for group in Group:
            members = group_members(cell.part, group, policy.high)
            why = _primary(members, group, policy) if group is not Group.VOLUME else None
            if why is None:
                cell.groups[group] = members
            elif len(members):
                cell.notes.append(f"{group.value} figures hidden: {why}")
    return out


def _auto_cells(
    frame: pd.DataFrame, policy: Policy
) -> list[tuple[str, str, dt.date, pd.DataFrame]]:
    """Each team's cells in the kind of window chosen for it (dashboard.windows)."""
    by_kind = {kind: list(_cells(frame, kind)) for kind in WINDOWS}
    candidates: dict[str, list[tuple[str, dt.date, bool]]] = {}
    for kind, cells in by_kind.items():
        for team, _, start, part in cells:
            shown = _primary(part, Group.VOLUME, policy) is None
            candidates.setdefault(team, []).append((kind, start, shown))
    newest = max(frame["week_start"]) if len(frame) else dt.date.today()
    chosen = choose_windows(candidates, _as_date(newest))
    return [cell for kind, cells in by_kind.items() for cell in cells if chosen[cell[0]] == kind]


def _month_of(start: dt.date) -> dt.date:
    """The month a week belongs to: the month of its Monday."""
    return dt.date(start.year, start.month, 1)


def _publish_group(
    cells: list[_Cell],
    group: Group,
    policy: Policy,
    ledger: Ledger,
    person_of: Mapping[str, str],
    fix_paths: Mapping[str, list[FixPath]],
) -> None:
    """Republication and secondary suppression of one group; fills the rows' figures."""
    known = ledger.statistics(group.value)
    candidates: dict[CellKey, tuple[_Cell, frozenset[str], dict[str, float]]] = {}
    decided: dict[CellKey, str] = {}  # key -> "same" | "wait" | "hide"
    for cell in cells:
        members = cell.groups.get(group)
        if members is None:
            continue
        key: CellKey = (cell.row.team, cell.row.period, cell.row.period_start)
        ids = frozenset(members["member"])
        values = dict(zip(members["member"], _values(members, group), strict=True))
        before = ledger.latest(group.value, key)
        if before is not None:
            moved = ids ^ before.members | {
                m for m in ids & before.members if abs(values[m] - before.values[m]) > 1e-9
            }
            if not moved:
                decided[key] = "same"
            elif unsafe(moved, person_of, policy.k, policy.dominance):
                decided[key] = "wait" if before.members <= set(person_of) else "hide"
        candidates[key] = (cell, ids, values)
    fresh = [
        Statistic(
            ("new", *key),
            ids,
            family=key[0],
            value=0.0 if key[0] == ALL_TEAMS else 1.0,
            span=window_span(key[1], key[2]),
        )
        for key, (_, ids, _) in candidates.items()
        if key not in decided
    ]
    held = protect([*known, *fresh], person_of, policy.k, policy.dominance)
    for key, (cell, ids, values) in candidates.items():
        before = ledger.latest(group.value, key)
        verdict = decided.get(key)
        if verdict is None and ("new", *key) in held:
            can_wait = before is not None and before.members <= set(person_of)
            verdict = "wait" if can_wait else "hide"
        if verdict == "hide" or (verdict == "wait" and before is None):
            if group is Group.VOLUME:
                cell.row = cell.row.hidden(_HELD)
                cell.groups.clear()
            else:
                cell.notes.append(f"{group.value} figures {_HELD}")
            continue
        if verdict == "wait" and before is not None:
            cell.row = cell.row.with_figures(before.figures)
            cell.notes.append(f"{group.value} figures {_WAITING}")
            continue
        members = cell.groups[group]
        figures = _figures(members, group, fix_paths, policy.high, cell.row.team)
        cell.row = cell.row.with_figures(figures)
        if verdict is None:
            ledger.record(group.value, key, ids, values, figures)


def build_team_period(config: Config, period: str = "week") -> BuildReport:
    """Build the table from the store and write it to ``<data_dir>/aggregates``.

    The ledger of earlier publications is read first and saved (with this build's new
    publications) before the table is replaced, so a crash in between leaves the ledger
    knowing at least what was published.
    """
    started = time.perf_counter()
    try:
        frame = change_frame(config)
    except DatasetError as exc:  # the store has no features yet
        raise TeamPeriodError(str(exc)) from exc
    ledger = Ledger.load(config.data_dir, change_tokens(load_key(config.privacy, config.data_dir)))
    rows = build_rows(
        frame,
        _fix_files(config),
        period,
        config.privacy.k,
        config.review.high,
        config.privacy.dominance,
        ledger,
        team_owners(config),
    )
    table = pa.Table.from_pylist(rows, schema=SCHEMA)
    ledger.save(config.data_dir)
    path = config.data_dir / TEAM_PERIOD_FILE
    write_atomically(table, path)
    suppressed = sum(1 for r in rows if r["suppressed"])
    rolled = sum(1 for r in rows if r["rolled_up"])
    return BuildReport(path, len(rows), suppressed, rolled, time.perf_counter() - started)


def write_atomically(table: pa.Table, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    pq.write_table(table, tmp)
    os.replace(tmp, path)


def read_team_period(data_dir: Path) -> pa.Table:
    path = data_dir / TEAM_PERIOD_FILE
    if not path.is_file():
        raise TeamPeriodError(f"{path} does not exist yet; run `teamlens report` first")
    return pq.read_table(path).cast(SCHEMA)
