"""Build ``team_period``: team quality per week or month, with the minimum group size k.

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
    up to three touched files with the most fix commits in the period.

Privacy (applied here, once, so every reader is safe):

1. A cell needs at least k distinct contributors (pseudonyms, counted, never stored).
   With weekly periods a week below k is rolled up into its month when the month
   reaches k; otherwise it is suppressed. A suppressed row has no figures at all.
2. Differencing: the all-teams total minus the visible teams leaves the hidden teams
   together; when exactly one team is hidden, or fewer than k people stand behind all of
   them, the all-teams row of that period is suppressed (the teams stay visible).
   Weekly tables get the same check per month, since shown weeks can be summed into
   months.
"""

from __future__ import annotations

import datetime as dt
import math
import os
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from dashboard.schema import ALL_TEAMS, FIGURES, SCHEMA, TEAM_PERIOD_FILE, UNOWNED
from model.dataset import load_store
from model.registry import ModelError, Registry
from model.training import score_saved
from teamlens.config import Config
from teamlens.store import Store

Z95 = 1.959963984540054
HOTSPOTS = 3


class TeamPeriodError(ValueError):
    """The store has nothing to aggregate."""


@dataclass(frozen=True)
class BuildReport:
    path: Path
    rows: int
    suppressed: int
    rolled_up: int
    seconds: float


def wilson(successes: int, trials: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a proportion (Wilson 1927)."""
    if trials == 0:
        return math.nan, math.nan
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def _period_start(times: pd.Series, period: str) -> pd.Series:
    days = pd.to_datetime(times, unit="s", utc=True).dt.tz_localize(None).dt.normalize()
    if period == "week":
        return (days - pd.to_timedelta(days.dt.day_of_week, unit="D")).dt.date
    return days.dt.to_period("M").dt.start_time.dt.date


def _changes(config: Config) -> pd.DataFrame:
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
    frame["churn"] = frame["effort"].astype(np.int64)
    frame["team"] = [list(t) if len(t) else [UNOWNED] for t in frame["team"]]
    return frame


def _fix_files(config: Config) -> pd.DataFrame:
    store = Store(config.data_dir)
    result = store.query(
        "SELECT f.repo, f.sha AS id, f.path FROM file_changes f JOIN commits c"
        " USING (repo, sha) WHERE c.is_fix AND NOT c.is_merge"
    )
    return pd.DataFrame(result.rows, columns=list(result.columns))


def _figures(part: pd.DataFrame, fix_paths: Mapping[str, list[str]], high: float) -> dict[str, Any]:
    labels = part["label"].to_numpy(dtype=np.float64)
    known = ~np.isnan(labels)
    n_labelled = int(known.sum())
    bad = int((labels[known] == 1).sum())
    low, top = wilson(bad, n_labelled)
    reviewed = part["reviewed"].to_numpy(dtype=object)
    merged = np.array([r is not None and r == r for r in reviewed], dtype=bool)
    yes = np.array([bool(r) if m else False for r, m in zip(reviewed, merged, strict=True)])
    hours = part["hours_to_first_review"].to_numpy(dtype=np.float64)[yes]
    hours = hours[~np.isnan(hours)]
    risk = part["risk"].to_numpy(dtype=np.float64)
    risk = risk[~np.isnan(risk)]
    hot: Counter[str] = Counter()
    for change in part["id"]:
        hot.update(fix_paths.get(change, ()))
    ranked = sorted(hot.items(), key=lambda item: (-item[1], item[0]))
    return {
        "changes": len(part),
        "churn": int(part["churn"].sum()),
        "labelled_changes": n_labelled,
        "defect_inducing": bad,
        "defect_rate": bad / n_labelled if n_labelled else None,
        "defect_rate_low": None if math.isnan(low) else low,
        "defect_rate_high": None if math.isnan(top) else top,
        "provisional": bool((~known).any()),
        "mean_risk": float(risk.mean()) if len(risk) else None,
        "high_risk_share": float((risk >= high).mean()) if len(risk) else None,
        "review_coverage": float(yes.sum() / merged.sum()) if merged.any() else None,
        "median_hours_to_first_review": float(np.median(hours)) if len(hours) else None,
        "hotspots": [path for path, _ in ranked[:HOTSPOTS]],
    }


def _row(team: str, period: str, start: dt.date, **values: Any) -> dict[str, Any]:
    row: dict[str, Any] = {name: None for name in SCHEMA.names}
    row.update(
        team=team, period=period, period_start=start, suppressed=False, reason=None,
        rolled_up=False,
    )  # fmt: skip
    row.update(values)
    return row


def _hidden(team: str, period: str, start: dt.date, reason: str) -> dict[str, Any]:
    return _row(team, period, start, suppressed=True, reason=reason)


def _cells(frame: pd.DataFrame, period: str) -> Iterable[tuple[str, dt.date, pd.DataFrame]]:
    exploded = frame.explode("team")
    for key, part in exploded.groupby(["team", f"{period}_start"], sort=True):
        team, start = key
        yield str(team), _as_date(start), part
    for start, part in frame.groupby(f"{period}_start", sort=True):
        yield ALL_TEAMS, _as_date(start), part


def _as_date(value: object) -> dt.date:
    if not isinstance(value, dt.date):
        raise TypeError(f"expected a date, got {value!r}")
    return value


def build_rows(
    frame: pd.DataFrame, fixes: pd.DataFrame, period: str, k: int, high: float
) -> list[dict[str, Any]]:
    """The table's rows from the change frame (see the module docstring)."""
    if period not in ("week", "month"):
        raise ValueError(f"period must be week or month, got {period!r}")
    frame = frame.assign(
        week_start=_period_start(frame["time"], "week"),
        month_start=_period_start(frame["time"], "month"),
    )
    below_k = f"fewer than {k} contributors"
    cells = list(_cells(frame, period))
    months = {(team, start): part for team, start, part in _cells(frame, "month")}
    # A week below k is rolled up into its month (when the month has k): then every week
    # of that team and month is replaced by the month, or the month minus the weeks still
    # shown would give the hidden week away.
    rolled: set[tuple[str, dt.date]] = set()
    if period == "week":
        for team, start, part in cells:
            month = dt.date(start.year, start.month, 1)
            month_part = months.get((team, month))
            if (
                part["people"].nunique() < k
                and month_part is not None
                and month_part["people"].nunique() >= k
            ):
                rolled.add((team, month))
    fix_paths: dict[str, list[str]] = {}
    for change, path in zip(fixes["id"], fixes["path"], strict=True):
        fix_paths.setdefault(str(change), []).append(str(path))
    rows: list[dict[str, Any]] = []
    for team, start, part in cells:
        month = dt.date(start.year, start.month, 1)
        if (team, month) in rolled:
            rows.append(_hidden(team, period, start, "shown in its month"))
        elif part["people"].nunique() >= k:
            rows.append(_row(team, period, start, **_figures(part, fix_paths, high)))
        else:
            rows.append(_hidden(team, period, start, below_k))
    for team, month in sorted(rolled):
        figures = _figures(months[(team, month)], fix_paths, high)
        rows.append(_row(team, "month", month, rolled_up=True, **figures))
    people = {(team, start): set(part["people"]) for team, start, part in cells}
    _protect_against_differencing(rows, people, k)
    if period == "week":
        month_people = {key: set(part["people"]) for key, part in months.items()}
        _protect_months(rows, month_people, k)
    return rows


def _hide(row: dict[str, Any], reason: str) -> None:
    row.update({name: None for name in FIGURES})
    row.update(suppressed=True, reason=reason)


_DIFFERENCING = "hidden so that the total does not reveal hidden teams"


def _protect_against_differencing(
    rows: list[dict[str, Any]], people: Mapping[tuple[str, dt.date], set[str]], k: int
) -> None:
    """Hide a period's all-teams row when it minus the shown teams is about < k people,
    or about exactly one hidden team.

    The total minus every shown team leaves the hidden teams together; if fewer than k
    people stand behind them all, the total would reveal them. One hidden team is given
    away whatever its size: a week rolled into its month has k people, but its figures
    taken from the month leave the week that was below k.
    """
    by_cell: dict[tuple[str, dt.date], list[dict[str, Any]]] = {}
    for row in rows:
        by_cell.setdefault((row["period"], row["period_start"]), []).append(row)
    for (_, start), cell in by_cell.items():
        total = next((r for r in cell if r["team"] == ALL_TEAMS), None)
        hidden = [r["team"] for r in cell if r["team"] != ALL_TEAMS and r["suppressed"]]
        if total is None or total["suppressed"] or not hidden:
            continue
        behind = set().union(*(people.get((team, start), set()) for team in hidden))
        if len(hidden) == 1 or 0 < len(behind) < k:
            _hide(total, _DIFFERENCING)


def _protect_months(
    rows: list[dict[str, Any]], people: Mapping[tuple[str, dt.date], set[str]], k: int
) -> None:
    """The same rule over a month, for weekly tables: shown weeks can be summed.

    A team is known for a month when all its weeks in it are shown, or its month row is;
    the total is known when all its weeks are. If the teams not known for the month
    have fewer than k people together, the total's weeks of that month are hidden.
    """
    by_month: dict[dt.date, dict[str, list[dict[str, Any]]]] = {}
    for row in rows:
        start = row["period_start"]
        month = dt.date(start.year, start.month, 1)
        by_month.setdefault(month, {}).setdefault(row["team"], []).append(row)
    for month, teams in by_month.items():

        def known(team_rows: list[dict[str, Any]]) -> bool:
            months = [r for r in team_rows if r["period"] == "month"]
            if months:
                return not months[0]["suppressed"]
            return all(not r["suppressed"] for r in team_rows)

        total = teams.get(ALL_TEAMS)
        if total is None or not known(total):
            continue
        unknown = [t for t, r in teams.items() if t != ALL_TEAMS and not known(r)]
        behind = set().union(*(people.get((team, month), set()) for team in unknown))
        if 0 < len(behind) < k:
            for row in total:
                _hide(row, _DIFFERENCING)


def build_team_period(config: Config, period: str = "week") -> BuildReport:
    """Build the table from the store and write it to ``<data_dir>/aggregates``."""
    import time

    started = time.perf_counter()
    try:
        frame = _changes(config)
    except Exception as exc:  # the store has no features yet
        from model.dataset import DatasetError

        if isinstance(exc, DatasetError):
            raise TeamPeriodError(str(exc)) from exc
        raise
    rows = build_rows(frame, _fix_files(config), period, config.privacy.k, config.review.high)
    table = pa.Table.from_pylist(rows, schema=SCHEMA)
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
