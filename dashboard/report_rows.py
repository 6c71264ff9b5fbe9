"""The rows of the team trends report, read from ``team_period``, and how each figure is printed.

One formatting function, :func:`format_figure`, prints every figure for both the HTML
page and the CSV files, so the CSV files carry exactly the numbers the page shows:
rates, shares and risks with 3 decimals, hours with 1, counts as integers, flags as
``yes``/``no``. A suppressed row has no figures.

Teams are shown in this order: ``(all teams)`` first, then the teams by name, then
``(no team)``.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import pyarrow as pa

from teamlens.aggregates import ALL_TEAMS, FIGURES, SCHEMA, UNOWNED
from teamlens.dashboard.windows import (
    AUTO,
    ROLLED_INTO_MONTH,
    WINDOWS,
    window_end,
    window_label,
)

DEFAULT_TITLE = "teamlens: team quality trends"
TEAM_PERIOD_CSV = "team_period.csv"
LATEST_CSV = "latest.csv"
#: The kinds of window a row may have, finest first (dashboard.windows).
PERIODS = WINDOWS

#: Decimal places of each numeric figure, for the page and the CSV files alike.
DECIMALS: Mapping[str, int] = MappingProxyType(
    {
        "changes": 0,
        "churn": 0,
        "labelled_changes": 0,
        "defect_inducing": 0,
        "defect_rate": 3,
        "defect_rate_low": 3,
        "defect_rate_high": 3,
        "mean_risk": 3,
        "high_risk_share": 3,
        "review_coverage": 3,
        "median_hours_to_first_review": 1,
    }
)
#: Separator of the hotspot paths in one CSV cell.
HOTSPOT_SEPARATOR = "; "

_KEYS = ("team", "period", "period_start", "label", "suppressed", "reason", "rolled_up")
#: Columns of ``team_period.csv``: every row of the table.
TEAM_PERIOD_COLUMNS: tuple[str, ...] = (*_KEYS, *FIGURES)
#: Figures of the latest-period table (page and ``latest.csv``), in page order.
LATEST_FIGURES: tuple[str, ...] = (
    "changes",
    "churn",
    "defect_rate",
    "defect_rate_low",
    "defect_rate_high",
    "provisional",
    "mean_risk",
    "high_risk_share",
    "review_coverage",
    "median_hours_to_first_review",
)
#: Columns of ``latest.csv``.
LATEST_COLUMNS: tuple[str, ...] = (*_KEYS, *LATEST_FIGURES)

Value = int | float | bool | str | Sequence[str] | None


def format_figure(column: str, value: Value) -> str:
    """One figure as the report prints it; ``""`` for a missing value.

    Used for the HTML page and the CSV files alike. Counts are integers, rates, shares
    and risks have 3 decimals and hours 1 (:data:`DECIMALS`), flags are ``yes``/``no``,
    hotspots are joined with ``"; "``.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        number = float(value)
        if math.isnan(number) or math.isinf(number):
            return ""
        decimals = DECIMALS.get(column, 3)
        if decimals == 0:
            return str(round(number))
        text = f"{number:.{decimals}f}"
        return text[1:] if text.startswith("-") and float(text) == 0 else text
    return HOTSPOT_SEPARATOR.join(str(item) for item in value)


# --- rows --------------------------------------------------------------------------------


def _month_end(day: dt.date) -> dt.date:
    return dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)


def period_end(period: str, start: dt.date) -> dt.date:
    """The day after the window (week, month, quarter, half-year, year) from ``start``."""
    return window_end(period, start)


def period_label(period: str, start: dt.date) -> str:
    """``2024-W05`` for an ISO week, ``2024-02`` for a month, ``2024-Q1``, ``2024-H1``,
    ``2024``."""
    return window_label(period, start)


@dataclass(frozen=True)
class Row:
    """One row of ``team_period``; a suppressed row keeps no figures whatever it held."""

    team: str
    period: str
    start: dt.date
    suppressed: bool
    reason: str | None
    rolled_up: bool
    figures: Mapping[str, Value]

    @property
    def end(self) -> dt.date:
        """The day after the period."""
        return period_end(self.period, self.start)

    @property
    def label(self) -> str:
        return period_label(self.period, self.start)

    def number(self, column: str) -> float | None:
        """A numeric figure, or None when it is missing (or the row is suppressed)."""
        value = self.figures.get(column)
        if value is None or isinstance(value, bool) or not isinstance(value, int | float):
            return None
        number = float(value)
        return None if math.isnan(number) else number

    def text(self, column: str) -> str:
        """A figure as printed (:func:`format_figure`)."""
        return format_figure(column, self.figures.get(column))

    @property
    def provisional(self) -> bool:
        return self.figures.get("provisional") is True

    @property
    def hotspots(self) -> tuple[str, ...]:
        value = self.figures.get("hotspots")
        if value is None or isinstance(value, str | bool | int | float):
            return ()
        return tuple(str(path) for path in value)


def _team_key(team: str) -> tuple[int, str]:
    return (0 if team == ALL_TEAMS else 2 if team == UNOWNED else 1, team)


def _row_key(row: Row) -> tuple[tuple[int, str], dt.date, int]:
    return _team_key(row.team), row.start, PERIODS.index(row.period)


def read_rows(table: pa.Table) -> list[Row]:
    """The table's rows in report order: team (see module docstring), start, week first."""
    missing = [name for name in SCHEMA.names if name not in table.column_names]
    if missing:
        raise ValueError(f"not a team_period table: no column {', '.join(missing)}")
    data = table.select(SCHEMA.names).cast(SCHEMA).to_pylist()
    rows: list[Row] = []
    for item in data:
        if item["period"] not in PERIODS:
            raise ValueError(f"unknown period {item['period']!r} ({', '.join(PERIODS)})")
        suppressed = bool(item["suppressed"])
        figures: dict[str, Value] = {name: None if suppressed else item[name] for name in FIGURES}
        rows.append(
            Row(
                team=str(item["team"]),
                period=str(item["period"]),
                start=item["period_start"],
                suppressed=suppressed,
                reason=item["reason"],
                rolled_up=bool(item["rolled_up"]),
                figures=MappingProxyType(figures),
            )
        )
    rows.sort(key=_row_key)
    return rows


@dataclass(frozen=True)
class Latest:
    """The latest period of the report and each team's row for it."""

    period: str
    start: dt.date | None
    rows: tuple[Row, ...]

    @property
    def label(self) -> str:
        if self.start is None:
            return ""
        if self.period == AUTO:
            return "each team's latest window"
        return period_label(self.period, self.start)


def latest_rows(rows: Sequence[Row], period: str) -> Latest:
    """Each team's row for the latest ``period`` in the table.

    Where a team's week is suppressed because it was rolled up into its month, the
    month's row stands in for it. Teams without changes in that period have no row.
    With ``auto`` (each team in its own kind of window), each team's latest shown row
    (its latest row when none is shown); ``start`` is then the latest start among them.
    """
    if period == AUTO:
        own: dict[str, Row] = {}
        for row in rows:
            if row.rolled_up:
                continue
            best = own.get(row.team)
            if best is None or (not row.suppressed, row.start) > (not best.suppressed, best.start):
                own[row.team] = row
        chosen_rows = sorted(own.values(), key=_row_key)
        latest_start = max((r.start for r in chosen_rows), default=None)
        return Latest(AUTO, latest_start, tuple(chosen_rows))
    starts = [r.start for r in rows if r.period == period and not r.rolled_up]
    if not starts:
        return Latest(period, None, ())
    latest = max(starts)
    months = {(r.team, r.start): r for r in rows if r.rolled_up and not r.suppressed}
    chosen: list[Row] = []
    for row in rows:
        if row.period != period or row.rolled_up or row.start != latest:
            continue
        month = months.get((row.team, latest.replace(day=1)))
        chosen.append(month if row.suppressed and month is not None else row)
    if period == "week":  # a team whose weeks the table replaced by their month
        listed = {r.team for r in chosen}
        first = latest.replace(day=1)
        chosen += [r for (t, start), r in months.items() if t not in listed and start == first]
        chosen.sort(key=_row_key)
    return Latest(period, latest, tuple(chosen))


@dataclass(frozen=True)
class Coverage:
    """How many team windows a table shows: a week rolled up into its shown month
    counts as shown; the rolled-up month rows themselves are not counted again."""

    shown: int
    total: int

    @property
    def hidden(self) -> int:
        return self.total - self.shown

    @property
    def hidden_share(self) -> float:
        return self.hidden / self.total if self.total else 0.0

    def describe(self) -> str:
        """``12 of 40 team windows hidden (30 %)``."""
        return f"{self.hidden} of {self.total} team windows hidden ({self.hidden_share:.0%})"


#: Windows of the last this many days count as recent in :func:`coverage`.
RECENT_DAYS = 3 * 365


def coverage(rows: Sequence[Row], recent: bool = False, teams_only: bool = False) -> Coverage:
    """Shown and total team windows of the table (``recent``: those that end in the last
    three years before the table's last day; ``teams_only``: without ``(all teams)`` and
    ``(no team)``)."""
    counted = [r for r in rows if not r.rolled_up]
    if teams_only:
        counted = [r for r in counted if r.team not in (ALL_TEAMS, UNOWNED)]
    if recent and rows:
        since = max(r.end for r in rows) - dt.timedelta(days=RECENT_DAYS)
        counted = [r for r in counted if r.end > since]
    shown = sum(1 for r in counted if not r.suppressed or rolled_into_month(r))
    return Coverage(shown, len(counted))


def rolled_into_month(row: Row) -> bool:
    """A week hidden because its month stands in for it."""
    return row.suppressed and (row.reason or "").endswith(ROLLED_INTO_MONTH)
