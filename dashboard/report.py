"""The team trends report: one self-contained HTML file, and the same numbers as CSV.

Everything here reads the k-suppressed ``team_period`` table (:mod:`teamlens.aggregates`) and
nothing else, so it can only show what that table already allows: team and code
figures, never a person. The HTML file needs no network at all (no scripts, fonts,
images or style sheets from elsewhere; a Content-Security-Policy says so to the
browser): charts are inline SVG drawn here, styles are inline.

One formatting function, :func:`format_figure`, prints every figure for both the HTML
page and the CSV files, so the CSV files carry exactly the numbers the page shows:
rates, shares and risks with 3 decimals, hours with 1, counts as integers, flags as
``yes``/``no``. A suppressed row has no figures: the page prints "hidden (< k people)"
(or the reason it was hidden) and the CSV files leave the cells empty and give the
reason.

Teams are shown in this order: ``(all teams)`` first, then the teams by name, then
``(no team)``.
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import itertools
import math
import os
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import pyarrow as pa

from teamlens.aggregates import ALL_TEAMS, FIGURES, SCHEMA, UNOWNED

DEFAULT_TITLE = "teamlens: team quality trends"
TEAM_PERIOD_CSV = "team_period.csv"
LATEST_CSV = "latest.csv"
PERIODS = ("week", "month")

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
    """The day after the week or month that starts on ``start``."""
    return start + dt.timedelta(days=7) if period == "week" else _month_end(start)


def period_label(period: str, start: dt.date) -> str:
    """``2024-W05`` for an ISO week, ``2024-02`` for a month."""
    if period == "week":
        year, week, _ = start.isocalendar()
        return f"{year}-W{week:02d}"
    return f"{start.year}-{start.month:02d}"


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
            raise ValueError(f"unknown period {item['period']!r} (week or month)")
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
        return "" if self.start is None else period_label(self.period, self.start)


def latest_rows(rows: Sequence[Row], period: str) -> Latest:
    """Each team's row for the latest ``period`` in the table.

    Where a team's week is suppressed because it was rolled up into its month, the
    month's row stands in for it. Teams without changes in that period have no row.
    """
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


def _rolled_weeks(rows: Sequence[Row]) -> dict[tuple[str, dt.date], list[Row]]:
    """Suppressed weeks whose month is shown as a rolled-up row, by (team, month)."""
    months = {(r.team, r.start) for r in rows if r.rolled_up and not r.suppressed}
    weeks: dict[tuple[str, dt.date], list[Row]] = {}
    for row in rows:
        if row.period == "week" and row.suppressed:
            key = (row.team, row.start.replace(day=1))
            if key in months:
                weeks.setdefault(key, []).append(row)
    return weeks


# --- SVG charts --------------------------------------------------------------------------


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _f(number: float) -> str:
    return f"{number:.1f}"


def nice_ceiling(value: float, floor: float = 0.0) -> float:
    """The smallest of 1, 2, 2.5, 5 times a power of ten that is at least ``value``."""
    value = max(value, floor)
    if value <= 0 or math.isnan(value):
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    for step in (1.0, 2.0, 2.5, 5.0, 10.0):
        if step * power >= value * (1 - 1e-12):
            return step * power
    return 10.0 * power


@dataclass(frozen=True)
class Scale:
    """Maps days (proleptic ordinals) and values to the coordinates of one chart."""

    first: float
    last: float
    top: float
    width: int
    height: int
    left: int = 48
    right: int = 10
    upper: int = 16
    lower: int = 20

    def x(self, day: float) -> float:
        span = max(self.last - self.first, 1.0)
        return self.left + (day - self.first) / span * (self.width - self.left - self.right)

    def y(self, value: float) -> float:
        top = self.top if self.top > 0 else 1.0
        inner = self.height - self.upper - self.lower
        return self.upper + inner * (1 - min(max(value / top, 0.0), 1.0))

    @property
    def bottom(self) -> float:
        return float(self.height - self.lower)


@dataclass(frozen=True)
class Point:
    """One value over one period (days as ordinals), with an optional interval."""

    start: float
    end: float
    value: float
    note: str
    low: float | None = None
    high: float | None = None
    dashed: bool = False

    @property
    def mid(self) -> float:
        return (self.start + self.end) / 2


@dataclass(frozen=True)
class Span:
    """A period drawn as a shaded column: hidden, or rolled up into its month."""

    start: float
    end: float
    css: str
    note: str


def _segments(points: Sequence[Point]) -> list[list[Point]]:
    """Runs of points over adjacent periods; any gap (no row, hidden) breaks the line."""
    runs: list[list[Point]] = []
    for point in points:
        if runs and runs[-1][-1].end == point.start:
            runs[-1].append(point)
        else:
            runs.append([point])
    return runs


def _styled_runs(segment: Sequence[Point]) -> list[tuple[bool, list[Point]]]:
    """Split a segment where the style changes; a step is dashed if either end is."""
    if len(segment) == 1:
        return [(segment[0].dashed, list(segment))]
    runs: list[tuple[bool, list[Point]]] = []
    for a, b in itertools.pairwise(segment):
        dashed = a.dashed or b.dashed
        if runs and runs[-1][0] == dashed:
            runs[-1][1].append(b)
        else:
            runs.append((dashed, [a, b]))
    return runs


def _path(coords: Iterable[tuple[float, float]], close: bool = False) -> str:
    parts = [f"{_f(x)},{_f(y)}" for x, y in coords]
    return "M" + " L".join(parts) + (" Z" if close else "")


def _band(scale: Scale, points: Sequence[Point]) -> str | None:
    if any(p.low is None or p.high is None for p in points):
        return None
    upper = [(scale.x(p.mid), scale.y(p.high or 0.0)) for p in points]
    lower = [(scale.x(p.mid), scale.y(p.low or 0.0)) for p in reversed(points)]
    return _path(upper + lower, close=True)


def _line_layer(scale: Scale, points: Sequence[Point], band: bool) -> list[str]:
    """A line (with its interval band) through adjacent periods; dots where isolated."""
    out: list[str] = []
    for segment in _segments(points):
        for dashed, run in _styled_runs(segment):
            style = " provisional" if dashed else ""
            if len(run) == 1:
                p = run[0]
                x = scale.x(p.mid)
                if band and p.low is not None and p.high is not None:
                    d = _path([(x, scale.y(p.low)), (x, scale.y(p.high))])
                    out.append(f'<path class="whisker{style}" d="{d}"/>')
                continue
            shape = _band(scale, run) if band else None
            if shape is not None:
                out.append(f'<path class="band{style}" d="{shape}"/>')
            d = _path((scale.x(p.mid), scale.y(p.value)) for p in run)
            out.append(f'<path class="line{style}" d="{d}"/>')
    for p in points:
        style = " provisional" if p.dashed else ""
        out.append(
            f'<circle class="dot{style}" cx="{_f(scale.x(p.mid))}" cy="{_f(scale.y(p.value))}"'
            f' r="2"><title>{_e(p.note)}</title></circle>'
        )
    return out


def _step_layer(scale: Scale, points: Sequence[Point], band: bool) -> list[str]:
    """Rolled-up months: a level across the month (with its band), drawn apart."""
    out: list[str] = []
    for p in points:
        x0, x1 = scale.x(p.start), scale.x(p.end)
        style = " provisional" if p.dashed else ""
        if band and p.low is not None and p.high is not None:
            y0, y1 = scale.y(p.high), scale.y(p.low)
            shape = _path([(x0, y0), (x1, y0), (x1, y1), (x0, y1)], close=True)
            out.append(f'<path class="band month{style}" d="{shape}"/>')
        d = _path([(x0, scale.y(p.value)), (x1, scale.y(p.value))])
        out.append(f'<path class="step{style}" d="{d}"><title>{_e(p.note)}</title></path>')
    return out


def _bar_layer(scale: Scale, points: Sequence[Point]) -> list[str]:
    out: list[str] = []
    for p in points:
        x0, x1 = scale.x(p.start), scale.x(p.end)
        gap = min(0.6, (x1 - x0) / 4)
        y = scale.y(p.value)
        shape = _path(
            [(x0 + gap, scale.bottom), (x0 + gap, y), (x1 - gap, y), (x1 - gap, scale.bottom)],
            close=True,
        )
        out.append(f'<path class="bar" d="{shape}"><title>{_e(p.note)}</title></path>')
    return out


def _span_layer(scale: Scale, spans: Sequence[Span]) -> list[str]:
    out: list[str] = []
    for s in spans:
        x0, x1 = scale.x(s.start), scale.x(s.end)
        out.append(
            f'<rect class="{s.css}" x="{_f(x0)}" y="{scale.upper}" width="{_f(x1 - x0)}"'
            f' height="{_f(scale.bottom - scale.upper)}"><title>{_e(s.note)}</title></rect>'
        )
    return out


def _x_ticks(first: dt.date, last: dt.date, most: int = 9) -> list[tuple[dt.date, str]]:
    """First days of months (every 1, 3, 6 or 12 months: at most ``most`` ticks)."""
    months: list[dt.date] = []
    day = first.replace(day=1)
    if day < first:
        day = _month_end(day)
    while day <= last:
        months.append(day)
        day = _month_end(day)
    for step in (1, 3, 6):
        picked = [m for m in months if (m.month - 1) % step == 0]
        if len(picked) <= most:
            return [(m, f"{m.year}-{m.month:02d}") for m in picked]
    januaries = [m for m in months if m.month == 1]
    stride = max(1, math.ceil(len(januaries) / most))
    return [(m, str(m.year)) for m in januaries[::stride]]


def _axes(
    scale: Scale, x_ticks: Sequence[tuple[dt.date, str]], y_column: str, y_label: str
) -> list[str]:
    out: list[str] = []
    grid = []
    for value in (0.0, scale.top / 2, scale.top):
        y = scale.y(value)
        grid.append(_path([(scale.left, y), (scale.width - scale.right, y)]))
        out.append(
            f'<text class="tick" x="{scale.left - 4}" y="{_f(y + 3)}" text-anchor="end">'
            f"{_e(format_figure(y_column, value))}</text>"
        )
    out.insert(0, f'<path class="grid" d="{" ".join(grid)}"/>')
    for day, label in x_ticks:
        x = scale.x(day.toordinal())
        anchor = "end" if x > scale.width - 48 else "middle"  # keep the last label inside
        out.append(f'<path class="grid" d="{_path([(x, scale.bottom), (x, scale.bottom + 4)])}"/>')
        out.append(
            f'<text class="tick" x="{_f(x)}" y="{_f(scale.bottom + 14)}" text-anchor="{anchor}">'
            f"{_e(label)}</text>"
        )
    out.append(f'<text class="unit" x="{scale.left}" y="{scale.upper - 6}">{_e(y_label)}</text>')
    return out


def svg_chart(scale: Scale, layers: Sequence[str], title: str, description: str) -> str:
    """An accessible inline SVG chart (class ``chart``): role img, title and aria-label."""
    return (
        f'<svg class="chart" viewBox="0 0 {scale.width} {scale.height}" role="img"'
        f' aria-label="{_e(description)}" preserveAspectRatio="xMinYMin meet">'
        f"<title>{_e(title)}</title>{''.join(layers)}</svg>"
    )


# --- page --------------------------------------------------------------------------------

_CSS = """
:root { color-scheme: light; --ink: #1d2430; --muted: #5b6473; --line: #1f5fa8;
  --month: #b35c00; --hidden: #8a8f98; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink);
  margin: 0 auto; max-width: 64rem; padding: 1rem 1.5rem 3rem; line-height: 1.45; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; } h2 { margin-top: 2.2rem;
  border-bottom: 1px solid #d5d9e0; } h3 { margin-bottom: .3rem; }
.meta, .muted, figcaption { color: var(--muted); font-size: .9rem; }
table { border-collapse: collapse; font-size: .88rem; margin: .5rem 0; }
th, td { border-bottom: 1px solid #e3e6eb; padding: .25rem .5rem; text-align: right;
  vertical-align: top; }
th[scope=row], td.text, th.text { text-align: left; }
td.text, th[scope=row] { white-space: nowrap; }
thead th { background: #f3f5f8; }
td.hidden { color: var(--hidden); font-style: italic; text-align: center; }
.scroll { overflow-x: auto; }
figure { margin: .4rem 0; } svg.chart { width: 100%; height: auto; display: block; }
.pair { display: grid; grid-template-columns: 1fr 1fr; gap: 1rem; }
@media (max-width: 40rem) { .pair { grid-template-columns: 1fr; } }
svg .grid { stroke: #d9dde3; stroke-width: 1; fill: none; }
svg .tick, svg .unit { font-size: 10px; fill: var(--muted); }
svg .line { stroke: var(--line); stroke-width: 1.8; fill: none; }
svg .line.provisional { stroke-dasharray: 4 3; stroke-opacity: .75; }
svg .band { fill: var(--line); fill-opacity: .16; stroke: none; }
svg .band.provisional { fill-opacity: .07; }
svg .band.month { fill: var(--month); fill-opacity: .14; }
svg .whisker { stroke: var(--line); stroke-width: 1.2; }
svg .whisker.provisional { stroke-dasharray: 2 2; }
svg .dot { fill: var(--line); } svg .dot.provisional { fill: #fff; stroke: var(--line); }
svg .step { stroke: var(--month); stroke-width: 2.2; fill: none; }
svg .step.provisional { stroke-dasharray: 4 3; }
svg .bar { fill: #6d8fb8; } svg .hidden-period { fill: var(--hidden); fill-opacity: .22; }
svg .rolled-period { fill: var(--month); fill-opacity: .08; }
.legend { display: flex; flex-wrap: wrap; gap: .3rem 1.2rem; font-size: .85rem;
  color: var(--muted); padding: 0; list-style: none; }
.swatch { display: inline-block; width: 1.6rem; height: .8rem; vertical-align: middle;
  margin-right: .35rem; }
.s-line { border-bottom: 2px solid var(--line); height: .4rem; }
.s-prov { border-bottom: 2px dashed var(--line); height: .4rem; }
.s-band { background: rgba(31, 95, 168, .16); }
.s-month { border-bottom: 2px solid var(--month); height: .4rem; }
.s-hidden { background: rgba(138, 143, 152, .3); }
.s-rolled { background: rgba(179, 92, 0, .12); }
dt { font-weight: 600; margin-top: .6rem; } dd { margin-left: 1.2rem; }
code { font-size: .85em; word-break: break-all; }
nav ul { padding-left: 1.2rem; columns: 3 12rem; }
"""

_HOW_TO_READ = (
    (
        "About teams and code, never about a person",
        "Every figure counts the changes (non-merge commits) that touch code a team owns, "
        "according to the ownership rules (path globs or CODEOWNERS). A change touching "
        "several teams' code counts for each of them; changes to code nobody owns count "
        "for {unowned}. {all_teams} counts every change once. Nothing here measures, ranks "
        "or names an engineer, and the report must not be used to judge anyone.",
    ),
    (
        "k = {k}: hidden figures",
        "A team's figures for a period are shown only when at least {k} different people "
        "contributed to its changes; otherwise the whole row is hidden (\u201chidden (< {k} "
        "people)\u201d, a grey column in the charts) and never shown as zero. With weekly "
        "periods, a week below {k} is rolled up into its month when the month reaches "
        "{k} (an orange level across the month). A figure can also be hidden so that "
        "totals minus the shown teams cannot reveal a smaller team.",
    ),
    (
        "Changes, churn",
        "Non-merge changes in the period, and their lines added plus deleted.",
    ),
    (
        "Defect-inducing rate, 95 % interval",
        "The share of the period's changes that a later fix traced back to (SZZ), over the "
        "changes whose label is mature. The interval (Wilson score, the shaded band) shows "
        "how uncertain that share is: small periods have wide bands, and a difference "
        "between two periods whose bands overlap may be noise.",
    ),
    (
        "Provisional",
        "Some changes of the period are too young for a mature label: a fix may still come. "
        "The rate is over the mature ones only and will change; provisional periods are "
        "drawn dashed and lighter.",
    ),
    (
        "Mean risk, high-risk share",
        "The current model's predicted risk of the period's changes (0 to 1), and the share "
        "of changes at the high risk level. A risk is an estimate for a change, not a "
        "judgement of whoever wrote it.",
    ),
    (
        "Review coverage, median hours to first review",
        "Over changes merged through a pull request: the share that was reviewed, and the "
        "median time from opening the pull request to its first review.",
    ),
    (
        "Hotspots",
        "Up to three files the team's changes touched that had the most fix commits in the "
        "period: code that may deserve attention, tests or a refactoring.",
    ),
    (
        "Numbers",
        "Rates, shares and risks are rounded to 3 decimals, hours to 1. The CSV files next "
        "to this page carry exactly these numbers. n/a: no data for that figure (e.g. no "
        "pull requests, or no mature label yet).",
    ),
)


def _hidden_text(reason: str | None, k: int) -> str:
    """What a suppressed cell says."""
    if reason is None or reason.startswith("fewer than"):
        return f"hidden (< {k} people)"
    return reason if reason.startswith("hidden") else f"hidden ({reason})"


def _cell(row: Row, column: str) -> str:
    """One figure cell of a shown row (``n/a`` for a missing value)."""
    text = row.text(column)
    if column == "defect_rate" and text:
        low, high = row.text("defect_rate_low"), row.text("defect_rate_high")
        if low and high:
            text = f"{text} ({low}\u2013{high})"
    return f"<td>{_e(text) if text else 'n/a'}</td>"


def _period_cell(row: Row, period: str) -> str:
    label = row.label
    if row.period != period:
        label += f" ({row.period}, rolled up)" if row.rolled_up else f" ({row.period})"
    return f'<td class="text">{_e(label)}</td>'


_LATEST_HEADERS = (
    ("changes", "Changes"),
    ("churn", "Churn (lines)"),
    ("defect_rate", "Defect-inducing rate (95 % interval)"),
    ("provisional", "Provisional"),
    ("mean_risk", "Mean risk"),
    ("high_risk_share", "High-risk share"),
    ("review_coverage", "Review coverage"),
    ("median_hours_to_first_review", "Median hours to first review"),
)
_TEAM_HEADERS = (
    ("changes", "Changes"),
    ("churn", "Churn"),
    ("labelled_changes", "Labelled"),
    ("defect_inducing", "Defect-inducing"),
    *_LATEST_HEADERS[2:],
)


def _table_head(first: str, headers: Sequence[tuple[str, str]]) -> str:
    cells = "".join(f'<th scope="col">{_e(name)}</th>' for _, name in headers)
    return (
        f'<thead><tr><th scope="col" class="text">{_e(first)}</th>'
        f'<th scope="col" class="text">Period</th>{cells}</tr></thead>'
    )


def _latest_section(latest: Latest, k: int) -> str:
    if latest.start is None:
        return '<section id="latest"><h2>Latest period</h2><p>No data.</p></section>'
    body = []
    for row in latest.rows:
        head = f'<th scope="row">{_e(row.team)}</th>{_period_cell(row, latest.period)}'
        if row.suppressed:
            hidden = _e(_hidden_text(row.reason, k))
            cells = "".join(f'<td class="hidden">{hidden}</td>' for _ in _LATEST_HEADERS)
        else:
            cells = "".join(_cell(row, column) for column, _ in _LATEST_HEADERS)
        body.append(f"<tr>{head}{cells}</tr>")
    start = latest.start.isoformat()
    caption = (
        f"Latest {latest.period}: {_e(latest.label)} (from {start}). Teams without changes "
        "in it are not listed."
    )
    if any(r.rolled_up for r in latest.rows):
        caption += " A rolled-up month stands in for a team's week below k."
    return (
        '<section id="latest"><h2>Latest period</h2><div class="scroll">'
        f'<table class="latest"><caption class="muted">{caption}</caption>'
        f"{_table_head('Team', _LATEST_HEADERS)}<tbody>{''.join(body)}</tbody></table>"
        "</div></section>"
    )


@dataclass(frozen=True)
class _Context:
    """What every team section shares: period, k and the common time axis."""

    period: str
    k: int
    first: dt.date
    last: dt.date
    ticks: tuple[tuple[dt.date, str], ...]
    small_ticks: tuple[tuple[dt.date, str], ...]
    months_shown: frozenset[tuple[str, dt.date]]


def _rate_note(row: Row) -> str:
    text = f"{row.label}: {row.text('defect_rate')}"
    low, high = row.text("defect_rate_low"), row.text("defect_rate_high")
    if low and high:
        text += f" (95 % interval {low}\u2013{high})"
    if row.rolled_up:
        text += ", month (weeks rolled up)"
    return text + (", provisional" if row.provisional else "")


def _point(row: Row, column: str, note: str, band: bool, value: float | None = None) -> Point:
    number = row.number(column) if value is None else value
    return Point(
        start=float(row.start.toordinal()),
        end=float(row.end.toordinal()),
        value=number or 0.0,
        note=note,
        low=row.number(f"{column}_low") if band else None,
        high=row.number(f"{column}_high") if band else None,
        dashed=band and row.provisional,
    )


def _spans(rows: Sequence[Row], ctx: _Context) -> list[Span]:
    spans = []
    for row in rows:
        if not row.suppressed:
            continue
        rolled = row.period == "week" and (row.team, row.start.replace(day=1)) in ctx.months_shown
        if rolled:
            note = f"{row.label}: fewer than {ctx.k} contributors; shown in its month"
            css = "rolled-period"
        else:
            note = f"{row.label}: {_hidden_text(row.reason, ctx.k)}"
            css = "hidden-period"
        start, end = float(row.start.toordinal()), float(row.end.toordinal())
        spans.append(Span(start, end, css, note))
    return spans


def _level(row: Row, column: str, kind: str) -> float:
    """The height a row reaches in a chart: the interval's top for a rate.

    In a bar chart, a rolled-up month is drawn at its weekly average, so that its area
    (a month wide) stands for its total.
    """
    if kind == "rate":
        return row.number(f"{column}_high") or row.number(column) or 0.0
    value = row.number(column) or 0.0
    if kind == "bars" and row.rolled_up:
        return value * 7 / (row.end - row.start).days
    return value


def _note(row: Row, column: str, kind: str, period: str) -> str:
    """The tooltip of one drawn value."""
    if kind == "rate":
        return _rate_note(row)
    if kind == "bars":
        month = f" in the month (weeks rolled up; drawn per {period})" if row.rolled_up else ""
        return f"{row.label}: {row.text(column)} changes{month}"
    return f"{row.label}: {row.text(column)}" + (
        ", month (weeks rolled up)" if row.rolled_up else ""
    )


def _chart(
    rows: Sequence[Row],
    ctx: _Context,
    column: str,
    kind: str,
    size: tuple[int, int],
    title: str,
    description: str,
) -> str:
    """One chart of ``column`` for one team: ``rate`` (line + band), ``line`` or ``bars``."""
    shown = [r for r in rows if not r.suppressed and r.number(column) is not None]
    top = max((_level(r, column, kind) for r in shown), default=0.0)
    top = nice_ceiling(top, 1.0) if kind == "bars" else min(nice_ceiling(top, 0.05), 1.0)
    width, height = size
    first, last = float(ctx.first.toordinal()), float(ctx.last.toordinal())
    scale = Scale(first, last, top, width, height)
    ticks = ctx.ticks if width >= 600 else ctx.small_ticks
    layers = _axes(scale, ticks, column, title.split(" per ")[0].lower())
    layers += _span_layer(scale, _spans(rows, ctx))
    band = kind == "rate"

    def points(selected: Iterable[Row]) -> list[Point]:
        return [
            _point(r, column, _note(r, column, kind, ctx.period), band, _level(r, column, kind))
            if kind == "bars"
            else _point(r, column, _note(r, column, kind, ctx.period), band)
            for r in selected
        ]

    if kind == "bars":
        layers += _bar_layer(scale, points(shown))
    else:
        layers += _step_layer(scale, points(r for r in shown if r.rolled_up), band)
        layers += _line_layer(scale, points(r for r in shown if not r.rolled_up), band)
    if not shown:
        layers.append(
            f'<text class="unit" x="{scale.width // 2}" y="{height // 2}" '
            'text-anchor="middle">no data</text>'
        )
    return svg_chart(scale, layers, title, description)


def _describe(team: str, rows: Sequence[Row], column: str, what: str, ctx: _Context) -> str:
    shown = [r for r in rows if not r.suppressed and r.number(column) is not None]
    hidden = sum(1 for r in rows if r.suppressed)
    text = (
        f"{what} per {ctx.period} for {team}, {ctx.first.isoformat()} to "
        f"{(ctx.last - dt.timedelta(days=1)).isoformat()}: {len(shown)} periods with a "
        f"value, {hidden} hidden (fewer than {ctx.k} contributors or rolled into a month)"
    )
    if shown:
        last = shown[-1]
        value = (
            _rate_note(last) if column == "defect_rate" else f"{last.label}: {last.text(column)}"
        )
        text += f"; latest: {value}"
    return text + "."


def _team_table(rows: Sequence[Row], ctx: _Context) -> str:
    body = []
    for row in rows:
        head = f'<th scope="row">{_e(row.label)}</th>'
        kind = "month, rolled up" if row.rolled_up else row.period
        kind_cell = f'<td class="text">{_e(kind)}</td>'
        if row.suppressed:
            hidden = _e(_hidden_text(row.reason, ctx.k))
            span = len(_TEAM_HEADERS)
            body.append(
                f'<tr>{head}{kind_cell}<td class="hidden" colspan="{span}">{hidden}</td></tr>'
            )
        else:
            cells = "".join(_cell(row, column) for column, _ in _TEAM_HEADERS)
            body.append(f"<tr>{head}{kind_cell}{cells}</tr>")
    return (
        '<details><summary>Figures per period (table)</summary><div class="scroll">'
        f'<table class="periods">{_table_head("Period", _TEAM_HEADERS)}'
        f"<tbody>{''.join(body)}</tbody></table></div></details>"
    )


def _team_section(team: str, slug: str, rows: Sequence[Row], ctx: _Context) -> str:
    hidden = sum(1 for r in rows if r.suppressed)
    shown = sum(1 for r in rows if not r.suppressed)
    rate = _chart(
        rows,
        ctx,
        "defect_rate",
        "rate",
        (720, 200),
        f"Defect-inducing rate per {ctx.period}: {team}",
        _describe(team, rows, "defect_rate", "Defect-inducing rate with 95 % interval", ctx),
    )
    changes = _chart(
        rows,
        ctx,
        "changes",
        "bars",
        (360, 130),
        f"Changes per {ctx.period}: {team}",
        _describe(team, rows, "changes", "Changes", ctx),
    )
    risk = _chart(
        rows,
        ctx,
        "mean_risk",
        "line",
        (360, 130),
        f"Mean predicted risk per {ctx.period}: {team}",
        _describe(team, rows, "mean_risk", "Mean predicted risk", ctx),
    )
    return (
        f'<section class="team" id="{_e(slug)}"><h3>{_e(team)}</h3>'
        f'<p class="muted">{shown} periods shown, {hidden} hidden.</p>'
        f"<figure>{rate}<figcaption>Defect-inducing rate per {ctx.period} with its 95 % "
        "interval</figcaption></figure>"
        f'<div class="pair"><figure>{changes}<figcaption>Changes per {ctx.period}'
        f"</figcaption></figure><figure>{risk}<figcaption>Mean predicted risk per "
        f"{ctx.period}</figcaption></figure></div>{_team_table(rows, ctx)}</section>"
    )


def _legend(k: int) -> str:
    items = (
        ("s-line", "defect-inducing rate"),
        ("s-band", "95 % interval"),
        ("s-prov", "provisional (labels not mature yet)"),
        ("s-month", "a month of rolled-up weeks"),
        ("s-rolled", "week rolled up into its month"),
        ("s-hidden", f"hidden: fewer than {k} contributors"),
    )
    entries = "".join(
        f'<li><span class="swatch {css}" aria-hidden="true"></span>{_e(text)}</li>'
        for css, text in items
    )
    return f'<ul class="legend">{entries}</ul>'


def _slugs(teams: Sequence[str]) -> dict[str, str]:
    """A unique ``team-<slug>`` id per team."""
    used: set[str] = set()
    out: dict[str, str] = {}
    for team in teams:
        base = re.sub(r"[^a-z0-9]+", "-", team.lower()).strip("-") or "team"
        slug, n = base, 2
        while slug in used:
            slug, n = f"{base}-{n}", n + 1
        used.add(slug)
        out[team] = f"team-{slug}"
    return out


def _hotspots_section(by_team: Mapping[str, Sequence[Row]], period: str) -> str:
    body = []
    for team, rows in by_team.items():
        shown = [r for r in rows if not r.suppressed]
        if not shown:
            continue
        row = max(shown, key=lambda r: (r.end, -PERIODS.index(r.period)))
        files = row.hotspots
        listing = (
            "<ol>" + "".join(f"<li><code>{_e(path)}</code></li>" for path in files) + "</ol>"
            if files
            else '<span class="muted">no file touched by a fix</span>'
        )
        body.append(
            f'<tr><th scope="row">{_e(team)}</th>{_period_cell(row, period)}'
            f'<td class="text">{listing}</td></tr>'
        )
    return (
        '<section id="hotspots"><h2>Hotspots</h2><p class="muted">Per team, in its latest '
        "shown period: the touched files with the most fix commits.</p>"
        '<table class="hotspots"><thead><tr><th scope="col" class="text">Team</th>'
        '<th scope="col" class="text">Period</th><th scope="col" class="text">Files</th>'
        f"</tr></thead><tbody>{''.join(body)}</tbody></table></section>"
    )


def _ranges(periods: Iterable[tuple[str, dt.date]]) -> list[str]:
    """Consecutive periods as ``first to last`` ranges: weeks first, then months."""
    items = sorted(set(periods), key=lambda p: (PERIODS.index(p[0]), p[1]))
    runs: list[list[tuple[str, dt.date]]] = []
    for kind, start in items:
        previous = runs[-1][-1] if runs else None
        if previous is not None and previous[0] == kind and period_end(*previous) == start:
            runs[-1].append((kind, start))
        else:
            runs.append([(kind, start)])
    out = []
    for run in runs:
        first, last = period_label(*run[0]), period_label(*run[-1])
        out.append(first if first == last else f"{first} to {last}")
    return out


def _notes_section(rows: Sequence[Row], by_team: Mapping[str, Sequence[Row]], k: int) -> str:
    items: list[str] = []
    suppressed = [r for r in rows if r.suppressed]
    reasons: dict[str, int] = {}
    for row in suppressed:
        reasons[row.reason or "no reason given"] = (
            reasons.get(row.reason or "no reason given", 0) + 1
        )
    detail = "".join(f"<li>{n} \u00d7 {_e(reason)}</li>" for reason, n in sorted(reasons.items()))
    items.append(
        f"<li>{len(suppressed)} of {len(rows)} team-periods are hidden (each needs at least "
        f"{k} contributors){':' if detail else '.'}<ul>{detail}</ul></li>"
        if detail
        else f"<li>No team-period is hidden: each has at least {k} contributors.</li>"
    )
    # A shown row's reason lists the figure groups it leaves empty or repeats as published
    # before (dashboard.team_period): say how often, so that a blank or a figure that did
    # not move is explained.
    held: dict[str, int] = {}
    for row in rows:
        if not row.suppressed and row.reason:
            for note in row.reason.split("; "):
                held[note] = held.get(note, 0) + 1
    if held:
        lines = "".join(f"<li>{n} \u00d7 {_e(note)}</li>" for note, n in sorted(held.items()))
        items.append(
            "<li>Some shown team-periods leave figures out, or show them as published "
            f"before, until enough people are behind them:<ul>{lines}</ul></li>"
        )
    never = [team for team, team_rows in by_team.items() if all(r.suppressed for r in team_rows)]
    if never:
        names = ", ".join(_e(t) for t in never)
        items.append(f"<li>Hidden in every period (fewer than {k} contributors): {names}.</li>")
    provisional = [(r.period, r.start) for r in rows if not r.suppressed and r.provisional]
    if provisional:
        items.append(
            "<li>Provisional periods (labels not mature yet; their defect rates will still "
            f"change): {_e(', '.join(_ranges(provisional)))}.</li>"
        )
    else:
        items.append("<li>No period is provisional: every label is mature.</li>")
    rolled = _rolled_weeks(rows)
    if rolled:
        lines = "".join(
            f"<li>{_e(team)}: {_e(period_label('month', month))} "
            f"(weeks {_e(', '.join(w.label for w in weeks))})</li>"
            for (team, month), weeks in sorted(
                rolled.items(), key=lambda i: (_team_key(i[0][0]), i[0][1])
            )
        )
        items.append(
            f"<li>Weeks rolled up into their month (fewer than {k} contributors in the week, "
            f"at least {k} in the month):<ul>{lines}</ul></li>"
        )
    else:
        items.append("<li>No week was rolled up into its month.</li>")
    return f'<section id="notes"><h2>Notes</h2><ul>{"".join(items)}</ul></section>'


def _how_to_read(k: int) -> str:
    entries = "".join(
        f"<dt>{_e(term.format(k=k))}</dt><dd>"
        f"{_e(text.format(k=k, unowned=UNOWNED, all_teams=ALL_TEAMS))}</dd>"
        for term, text in _HOW_TO_READ
    )
    return f'<section id="how-to-read"><h2>How to read this</h2><dl>{entries}</dl></section>'


def render_html(
    table: pa.Table,
    *,
    period: str,
    k: int,
    generated: str,
    title: str = DEFAULT_TITLE,
) -> str:
    """The report as one self-contained HTML page (no network needed, no scripts).

    ``period`` is the report's period (``week`` or ``month``), ``k`` the minimum number
    of contributors behind a shown figure and ``generated`` the time of the report, as
    it should be printed. Every string from the table is escaped.
    """
    if period not in PERIODS:
        raise ValueError(f"period must be week or month, got {period!r}")
    rows = read_rows(table)
    by_team: dict[str, list[Row]] = {}
    for row in rows:
        by_team.setdefault(row.team, []).append(row)
    shown_teams = [
        t for t, team_rows in by_team.items() if any(not r.suppressed for r in team_rows)
    ]
    slugs = _slugs(shown_teams)
    sections: list[str] = []
    if rows:
        first = min(r.start for r in rows)
        last = max(r.end for r in rows)
        ctx = _Context(
            period=period,
            k=k,
            first=first,
            last=last,
            ticks=tuple(_x_ticks(first, last)),
            small_ticks=tuple(_x_ticks(first, last, 4)),
            months_shown=frozenset(
                (r.team, r.start) for r in rows if r.rolled_up and not r.suppressed
            ),
        )
        sections = [_team_section(t, slugs[t], by_team[t], ctx) for t in shown_teams]
    latest = latest_rows(rows, period)
    nav = "".join(f'<li><a href="#{_e(slugs[t])}">{_e(t)}</a></li>' for t in shown_teams)
    csp = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'none'"
    periods_word = "weeks" if period == "week" else "months"
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{csp}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="referrer" content="no-referrer">'
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>"
        f"<header><h1>{_e(title)}</h1>"
        f'<p class="meta">Generated {_e(generated)} \u00b7 periods: {periods_word} \u00b7 '
        f"k = {k} \u00b7 {len(shown_teams)} teams shown. Figures are about teams and code, "
        'never about a person (see <a href="#how-to-read">How to read this</a>).</p>'
        '<nav aria-label="Sections"><ul><li><a href="#latest">Latest period</a></li>'
        f'{nav}<li><a href="#hotspots">Hotspots</a></li><li><a href="#notes">Notes</a>'
        '</li><li><a href="#how-to-read">How to read this</a></li></ul></nav></header>'
        f"<main>{_latest_section(latest, k)}"
        f'<section id="trends"><h2>Trends per team</h2>{_legend(k)}{"".join(sections)}'
        f"{'' if sections else '<p>No team has a shown period.</p>'}</section>"
        f"{_hotspots_section(by_team, period)}{_notes_section(rows, by_team, k)}"
        f"{_how_to_read(k)}</main></body></html>\n"
    )


# --- CSV and files -----------------------------------------------------------------------


def _csv_record(row: Row, columns: Sequence[str]) -> list[str]:
    keys: dict[str, str] = {
        "team": row.team,
        "period": row.period,
        "period_start": row.start.isoformat(),
        "label": row.label,
        "suppressed": format_figure("suppressed", row.suppressed),
        "reason": row.reason or "",
        "rolled_up": format_figure("rolled_up", row.rolled_up),
    }
    return [keys[c] if c in keys else row.text(c) for c in columns]


def _csv_text(rows: Iterable[Row], columns: Sequence[str]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(_csv_record(row, columns) for row in rows)
    return buffer.getvalue()


def csv_texts(table: pa.Table, period: str | None = None) -> dict[str, str]:
    """The CSV files by name: ``team_period.csv`` (every row) and ``latest.csv``.

    ``period`` picks the latest period's kind; by default the table's own (``week`` if
    it has any week row, else ``month``).
    """
    rows = read_rows(table)
    if period is None:
        period = "week" if any(r.period == "week" for r in rows) else "month"
    latest = latest_rows(rows, period)
    return {
        TEAM_PERIOD_CSV: _csv_text(rows, TEAM_PERIOD_COLUMNS),
        LATEST_CSV: _csv_text(latest.rows, LATEST_COLUMNS),
    }


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file and os.replace (never half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.tmp")
    try:
        with open(tmp, "x", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_csv(table: pa.Table, folder: Path, period: str | None = None) -> list[Path]:
    """Write ``team_period.csv`` and ``latest.csv`` into ``folder``; their paths.

    The numbers are those of the HTML page (:func:`format_figure`); suppressed rows have
    empty figure cells and their reason.
    """
    paths = []
    for name, text in csv_texts(table, period).items():
        write_atomic(folder / name, text)
        paths.append(folder / name)
    return paths


def write_report(
    table: pa.Table,
    out: Path,
    csv_dir: Path | None,
    *,
    period: str,
    k: int,
    generated: str,
    title: str = DEFAULT_TITLE,
) -> None:
    """Render the page (and the CSV files into ``csv_dir``) and write them atomically.

    Everything is rendered before anything is written, and each file goes to a
    temporary file first: a failure leaves the previous files as they were.
    """
    page = render_html(table, period=period, k=k, generated=generated, title=title)
    texts = csv_texts(table, period) if csv_dir is not None else {}
    if csv_dir is not None:
        for name, text in texts.items():
            write_atomic(csv_dir / name, text)
    write_atomic(out, page)
