"""The report's charts: inline SVG drawn here (no script, font or file from elsewhere).

A :class:`Scale` maps days and values to one chart's coordinates; layers draw lines with
their interval bands, rolled-up months as steps, bars, and shaded spans for hidden or
rolled-up periods; :func:`svg_chart` wraps them as an accessible ``<svg>``.

Every chart has the same width, :data:`CHART_WIDTH` user units, and the page never draws
it much narrower or wider than that (``report.css``): its text (13.5 units, set in the
style sheet) then reads at 12 to 15 CSS px on a 390 px phone and a 1400 px screen alike.
"""

from __future__ import annotations

import datetime as dt
import html
import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from teamlens.dashboard.report_rows import _month_end, format_figure

#: The width of every chart's viewBox; the style sheet keeps its drawn width near this.
CHART_WIDTH = 400
#: viewBox sizes of the defect-rate chart and the smaller ones beside it.
RATE_SIZE = (CHART_WIDTH, 240)
SMALL_SIZE = (CHART_WIDTH, 200)
#: At most this many x-axis labels fit one chart at the style sheet's text size.
MAX_X_TICKS = 5


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
    left: int = 50
    right: int = 12
    upper: int = 24
    lower: int = 26

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


def _x_ticks(first: dt.date, last: dt.date, most: int = MAX_X_TICKS) -> list[tuple[dt.date, str]]:
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


#: Text size of chart labels in user units (``report.css``: ``svg text``), and the space
#: kept between two x-axis labels.
TEXT_SIZE = 13.5
_LABEL_GAP = 6.0


def _label_width(label: str) -> float:
    """About how wide a label is drawn (digits and dashes are ~0.6 em in sans-serif)."""
    return len(label) * TEXT_SIZE * 0.6


def _axes(
    scale: Scale, x_ticks: Sequence[tuple[dt.date, str]], y_column: str, y_label: str
) -> list[str]:
    out: list[str] = []
    grid = []
    for value in (0.0, scale.top / 2, scale.top):
        y = scale.y(value)
        grid.append(_path([(scale.left, y), (scale.width - scale.right, y)]))
        out.append(
            f'<text class="tick" x="{scale.left - 5}" y="{_f(y + 4.5)}" text-anchor="end">'
            f"{_e(format_figure(y_column, value))}</text>"
        )
    out.insert(0, f'<path class="grid" d="{" ".join(grid)}"/>')
    right_edge = scale.width - scale.right
    previous_end = -math.inf
    for day, label in x_ticks:
        x = scale.x(day.toordinal())
        half = _label_width(label) / 2
        # keep the last label inside the chart, and skip a label that would touch the one
        # before it
        anchor, start = ("end", x - 2 * half) if x + half > right_edge else ("middle", x - half)
        if start < previous_end + _LABEL_GAP:
            continue
        previous_end = start + 2 * half
        out.append(f'<path class="grid" d="{_path([(x, scale.bottom), (x, scale.bottom + 4)])}"/>')
        out.append(
            f'<text class="tick" x="{_f(x)}" y="{_f(scale.bottom + 19)}" '
            f'text-anchor="{anchor}">{_e(label)}</text>'
        )
    out.append(f'<text class="unit" x="{scale.left}" y="{scale.upper - 8}">{_e(y_label)}</text>')
    return out


def svg_chart(scale: Scale, layers: Sequence[str], title: str, description: str) -> str:
    """An accessible inline SVG chart (class ``chart``): role img, title and aria-label."""
    return (
        f'<svg class="chart" viewBox="0 0 {scale.width} {scale.height}" role="img"'
        f' aria-label="{_e(description)}" preserveAspectRatio="xMinYMin meet">'
        f"<title>{_e(title)}</title>{''.join(layers)}</svg>"
    )
