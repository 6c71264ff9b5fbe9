"""A team's section of the report: three charts (defect-inducing rate with its 95 %
interval, changes, mean predicted risk) and its figures per period as a table; and the
table cells the page's other tables share.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from teamlens.dashboard.charts import (
    RATE_SIZE,
    SMALL_SIZE,
    Point,
    Scale,
    Span,
    _axes,
    _bar_layer,
    _e,
    _line_layer,
    _span_layer,
    _step_layer,
    nice_ceiling,
    svg_chart,
)
from teamlens.dashboard.headlines import Verdict, headline, window_kind
from teamlens.dashboard.report_rows import Row
from teamlens.dashboard.windows import AUTO, window_name

# --- table cells (the page's tables use them too) ----------------------------------------


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
        kind = window_name(row.period)
        label += f" ({kind}, rolled up)" if row.rolled_up else f" ({kind})"
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


# --- a team's section --------------------------------------------------------------------


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


def _headline(team: str, rows: Sequence[Row], k: int) -> str:
    """The team's headline (dashboard.headlines) as a paragraph."""
    found = headline(team, rows, k)
    css = {Verdict.WORSE: "worse", Verdict.BETTER: "better"}.get(found.verdict, "unclear")
    return f'<p class="headline {css}">{_e(found.text)}</p>'


def _team_section(team: str, slug: str, rows: Sequence[Row], ctx: _Context) -> str:
    if ctx.period == AUTO:  # each team in its own kind of window
        ctx = replace(ctx, period=window_name(window_kind(rows)))
    hidden = sum(1 for r in rows if r.suppressed)
    shown = sum(1 for r in rows if not r.suppressed)
    rate = _chart(
        rows,
        ctx,
        "defect_rate",
        "rate",
        RATE_SIZE,
        f"Defect-inducing rate per {ctx.period}: {team}",
        _describe(team, rows, "defect_rate", "Defect-inducing rate with 95 % interval", ctx),
    )
    changes = _chart(
        rows,
        ctx,
        "changes",
        "bars",
        SMALL_SIZE,
        f"Changes per {ctx.period}: {team}",
        _describe(team, rows, "changes", "Changes", ctx),
    )
    risk = _chart(
        rows,
        ctx,
        "mean_risk",
        "line",
        SMALL_SIZE,
        f"Mean predicted risk per {ctx.period}: {team}",
        _describe(team, rows, "mean_risk", "Mean predicted risk", ctx),
    )
    return (
        f'<section class="team" id="{_e(slug)}"><h3>{_e(team)}</h3>'
        f"{_headline(team, rows, ctx.k)}"
        f'<p class="muted">{shown} windows shown, {hidden} hidden.</p>'
        f"<figure>{rate}<figcaption>Defect-inducing rate per {ctx.period} with its 95 % "
        "interval</figcaption></figure>"
        f'<div class="pair"><figure>{changes}<figcaption>Changes per {ctx.period}'
        f"</figcaption></figure><figure>{risk}<figcaption>Mean predicted risk per "
        f"{ctx.period}</figcaption></figure></div>{_team_table(rows, ctx)}</section>"
    )
