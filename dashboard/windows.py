"""The time windows of the team trends: calendar windows that nest, and the choice of one
per team (``--period auto``).

A week runs Monday to Sunday; a month is the weeks whose Monday falls in it; a quarter,
a half-year and a year are the months they hold. Every window is therefore an exact
union of windows of each finer kind, and two windows of the same kind never overlap:
subtracting one published window from another leaves either nothing or whole windows of
a finer kind, which the disclosure control checks like any other cell. Rolling windows
(13 weeks stepped weekly) would not: two consecutive ones subtract to a single week at
each end, so teamlens does not offer them.

``auto`` chooses per team the finest kind of window that shows most (more than
:data:`AUTO_SHOWN`) of the team's windows of the last three years (shown: at least k
people, no dominant one); when no kind does, the finest that shows most of its whole
history; when none does either, the kind that shows the largest share of it (the
coarser on a tie). Only windows with changes count.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Mapping

import pandas as pd


class Window(enum.Enum):
    """A kind of calendar window, finest first."""

    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"
    HALF = "half"
    YEAR = "year"

    @property
    def months(self) -> int:
        """Months per window (0 for a week)."""
        return {"week": 0, "month": 1, "quarter": 3, "half": 6, "year": 12}[self.value]


#: The kinds of window, finest first (``team_period.period`` holds one of them).
WINDOWS: tuple[str, ...] = tuple(w.value for w in Window)
#: The ``--period`` choices: a kind of window, or ``auto`` (chosen per team).
AUTO = "auto"
PERIOD_CHOICES: tuple[str, ...] = (AUTO, *WINDOWS)
#: ``auto`` takes the finest window that shows more than this share of a team's windows.
AUTO_SHOWN = 0.5
#: The reason of a week below k shown in its month (``--period week``).
ROLLED_INTO_MONTH = "shown in its month"
#: ``auto`` judges a team on the windows of this many days before its newest change.
AUTO_HORIZON_DAYS = 3 * 365


def window_of(period: str) -> Window:
    """The :class:`Window` named ``period`` (ValueError for anything else)."""
    try:
        return Window(period)
    except ValueError:
        raise ValueError(f"period must be one of {', '.join(WINDOWS)}, got {period!r}") from None


def _month_start(day: dt.date, months: int) -> dt.date:
    """The first day of the ``months``-long block of the year that holds ``day``."""
    month = (day.month - 1) // months * months + 1
    return dt.date(day.year, month, 1)


def window_start(period: str, day: dt.date) -> dt.date:
    """The start of the window of kind ``period`` that holds ``day``: the Monday of its
    week, or the first day of the month (quarter, half, year) that Monday falls in."""
    kind = window_of(period)
    monday = day - dt.timedelta(days=day.weekday())
    if kind is Window.WEEK:
        return monday
    return _month_start(monday, kind.months)


def window_starts(times: pd.Series, period: str) -> pd.Series:
    """:func:`window_start` of each unix time (seconds, UTC) of ``times``."""
    days = pd.to_datetime(times, unit="s", utc=True).dt.tz_localize(None).dt.normalize()
    monday = days - pd.to_timedelta(days.dt.day_of_week, unit="D")
    kind = window_of(period)
    if kind is Window.WEEK:
        return monday.dt.date
    if kind is Window.MONTH:
        return monday.dt.to_period("M").dt.start_time.dt.date
    block = (monday.dt.month - 1) // kind.months * kind.months + 1
    return pd.Series(
        [dt.date(y, m, 1) for y, m in zip(monday.dt.year, block, strict=True)],
        index=times.index,
        dtype=object,
    )


def window_end(period: str, start: dt.date) -> dt.date:
    """The day after the window that starts on ``start``."""
    kind = window_of(period)
    if kind is Window.WEEK:
        return start + dt.timedelta(days=7)
    month = start.month - 1 + kind.months
    return dt.date(start.year + month // 12, month % 12 + 1, 1)


def _monday_from(day: dt.date) -> dt.date:
    return day + dt.timedelta(days=(7 - day.weekday()) % 7)


def window_span(period: str, start: dt.date) -> tuple[int, int]:
    """The days a window's changes can fall on, as [first, after) day numbers
    (teamlens.disclosure.Statistic): its weeks, from the first Monday on or after its
    start to the first Monday on or after its end (January 2024 runs to 4 February)."""
    return _monday_from(start).toordinal(), _monday_from(window_end(period, start)).toordinal()


def window_label(period: str, start: dt.date) -> str:
    """``2024-W05``, ``2024-02``, ``2024-Q1``, ``2024-H1`` or ``2024``."""
    kind = window_of(period)
    if kind is Window.WEEK:
        year, week, _ = start.isocalendar()
        return f"{year}-W{week:02d}"
    if kind is Window.MONTH:
        return f"{start.year}-{start.month:02d}"
    if kind is Window.QUARTER:
        return f"{start.year}-Q{(start.month - 1) // 3 + 1}"
    if kind is Window.HALF:
        return f"{start.year}-H{(start.month - 1) // 6 + 1}"
    return str(start.year)


def window_name(period: str) -> str:
    """The window kind in words: ``week``, ``month``, ``quarter``, ``half-year``, ``year``."""
    return "half-year" if period == Window.HALF.value else period


def choose_windows(
    cells: Mapping[str, Iterable[tuple[str, dt.date, bool]]],
    newest: dt.date,
    share: float = AUTO_SHOWN,
    horizon_days: int = AUTO_HORIZON_DAYS,
) -> dict[str, str]:
    """The kind of window for each team: the finest that shows more than ``share`` of its
    windows.

    ``cells`` gives, per team, every candidate window as (kind, start, shown). The
    windows that end in the last ``horizon_days`` before ``newest`` are judged first;
    when no kind shows most of them, the team's whole history is; when no kind does
    there either, the kind that shows the largest share of it (the coarser on a tie).
    """
    since = newest - dt.timedelta(days=horizon_days)
    out: dict[str, str] = {}
    for team, windows in cells.items():
        listed = list(windows)
        recent = _shares(w for w in listed if window_end(w[0], w[1]) > since)
        overall = _shares(listed)
        for shares in (recent, overall):
            enough = [kind for kind in WINDOWS if shares.get(kind, 0.0) > share]
            if enough:
                out[team] = enough[0]
                break
        else:
            out[team] = max(reversed(WINDOWS), key=lambda kind: overall.get(kind, 0.0))
    return out


def _shares(windows: Iterable[tuple[str, dt.date, bool]]) -> dict[str, float]:
    """The shown share of each kind of window."""
    shown: dict[str, int] = dict.fromkeys(WINDOWS, 0)
    total: dict[str, int] = dict.fromkeys(WINDOWS, 0)
    for kind, _, is_shown in windows:
        total[kind] += 1
        shown[kind] += int(is_shown)
    return {kind: shown[kind] / total[kind] for kind in WINDOWS if total[kind]}
