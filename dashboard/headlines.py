"""A headline per team: did quality get worse or better, with the evidence, or can the
data not tell yet.

Everything here is computed from the published ``team_period`` rows and nothing else,
so every figure in a headline is a published, disclosure-checked figure or a sum of
them (a sum of shown cells reveals no set of changes the cells do not reveal already):

* the **recent** block is the team's latest quarter with mature labels (its last window
  when its windows are quarters or longer); the **earlier** block is the year before it.
  Only shown windows count, and in them only the changes with a mature label
  (``labelled_changes``, ``defect_inducing``);
* the **difference** of the two defect-inducing rates gets a 95 % interval (Newcombe's
  hybrid score interval, from the two Wilson intervals). The headline says *worse* or
  *better* only when the interval excludes 0 and both blocks have at least
  :data:`MIN_LABELLED` labelled changes; otherwise it says that the data cannot tell yet,
  and why;
* **what moved with it**, from the same shown windows: larger or smaller changes (churn
  per change), review coverage and mean predicted risk (averaged over the windows,
  weighted by their changes), and the team's own hotspot files in the recent block.
  They changed alongside the rate; they are not proven causes.
"""

from __future__ import annotations

import datetime as dt
import enum
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from teamlens.aggregates import ALL_TEAMS, UNOWNED
from teamlens.dashboard.report_rows import Row

Z95 = 1.959963984540054
#: Fewest labelled changes in each block for a verdict.
MIN_LABELLED = 20
#: The recent block and the block before it, in months.
RECENT_MONTHS = 3
EARLIER_MONTHS = 12
#: What counts as a move worth naming beside the rate.
SIZE_RATIO = 1.25
COVERAGE_POINTS = 0.10
RISK_POINTS = 0.05


def wilson(successes: int, trials: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a proportion (Wilson 1927)."""
    if trials == 0:
        return math.nan, math.nan
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def difference_interval(x1: int, n1: int, x2: int, n2: int) -> tuple[float, float, float]:
    """p1 - p2 and its 95 % interval (Newcombe 1998, method 10: hybrid Wilson score)."""
    p1, p2 = x1 / n1, x2 / n2
    l1, u1 = wilson(x1, n1)
    l2, u2 = wilson(x2, n2)
    d = p1 - p2
    return (
        d,
        d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2),
        d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2),
    )


class Verdict(enum.Enum):
    WORSE = "worse"
    BETTER = "better"
    CANNOT_TELL = "cannot tell"


@dataclass(frozen=True)
class Block:
    """The shown windows of a stretch of time, summed."""

    first: str  # label of its first window
    last: str  # label of its last window
    windows: int
    changes: int
    churn: int
    labelled: int
    inducing: int
    coverage: float | None  # changes-weighted mean of the windows' review coverage
    risk: float | None  # changes-weighted mean of the windows' mean risk
    hotspots: tuple[str, ...]

    @property
    def rate(self) -> float:
        return self.inducing / self.labelled if self.labelled else math.nan

    @property
    def span(self) -> str:
        return self.first if self.first == self.last else f"{self.first} to {self.last}"


@dataclass(frozen=True)
class Headline:
    team: str
    verdict: Verdict
    text: str
    recent: Block | None = None
    earlier: Block | None = None
    difference: float | None = None
    low: float | None = None
    high: float | None = None
    drivers: tuple[str, ...] = ()


def _months_before(day: dt.date, months: int) -> dt.date:
    """``months`` calendar months before a window boundary: before the 1st of a month
    for months and longer windows, 13 weeks a quarter before a Monday for weeks."""
    if day.day != 1:
        return day - dt.timedelta(weeks=round(months * 13 / 3))
    index = day.year * 12 + day.month - 1 - months
    return dt.date(index // 12, index % 12 + 1, 1)


def _weighted(rows: Sequence[Row], column: str) -> float | None:
    pairs = [
        (r.number(column), r.number("changes"))
        for r in rows
        if r.number(column) is not None and r.number("changes")
    ]
    weight = sum(w for _, w in pairs if w is not None)
    if not weight:
        return None
    return sum(v * w for v, w in pairs if v is not None and w is not None) / weight


def _block(rows: Sequence[Row]) -> Block:
    hot: Counter[str] = Counter()
    for row in rows:
        hot.update(row.hotspots)
    ranked = sorted(hot.items(), key=lambda item: (-item[1], item[0]))
    return Block(
        first=rows[0].label,
        last=rows[-1].label,
        windows=len(rows),
        changes=sum(int(r.number("changes") or 0) for r in rows),
        churn=sum(int(r.number("churn") or 0) for r in rows),
        labelled=sum(int(r.number("labelled_changes") or 0) for r in rows),
        inducing=sum(int(r.number("defect_inducing") or 0) for r in rows),
        coverage=_weighted(rows, "review_coverage"),
        risk=_weighted(rows, "mean_risk"),
        hotspots=tuple(path for path, _ in ranked[:3]),
    )


def _pct(value: float) -> str:
    return f"{value * 100:.0f} %"


def _drivers(recent: Block, earlier: Block, worse: bool, own: bool) -> tuple[str, ...]:
    out = []
    if recent.changes and earlier.changes and earlier.churn:
        now, then = recent.churn / recent.changes, earlier.churn / earlier.changes
        if now >= then * SIZE_RATIO or now * SIZE_RATIO <= then:
            word = "larger" if now > then else "smaller"
            out.append(f"changes were {word} ({now:.0f} lines each vs {then:.0f})")
    if recent.coverage is not None and earlier.coverage is not None:
        moved = recent.coverage - earlier.coverage
        if abs(moved) >= COVERAGE_POINTS:
            word = "fell" if moved < 0 else "rose"
            out.append(
                f"review coverage {word} ({_pct(recent.coverage)} vs {_pct(earlier.coverage)})"
            )
    if recent.risk is not None and earlier.risk is not None:
        moved = recent.risk - earlier.risk
        if abs(moved) >= RISK_POINTS:
            word = "rose" if moved > 0 else "fell"
            out.append(f"mean predicted risk {word} ({recent.risk:.2f} vs {earlier.risk:.2f})")
    if worse and recent.hotspots:
        files = ", ".join(recent.hotspots)
        whose = "its own files" if own else "the files"
        out.append(f"{whose} most touched by fixes: {files}")
    return tuple(out)


def _labelled_rows(rows: Sequence[Row]) -> list[Row]:
    return [
        r
        for r in sorted(rows, key=lambda r: r.start)
        if not r.suppressed and (r.number("labelled_changes") or 0) > 0
    ]


def headline(team: str, rows: Sequence[Row], k: int) -> Headline:
    """The headline of one team from its rows of ``team_period`` (any kind of window)."""
    shown = _labelled_rows(rows)
    if not shown:
        why = (
            f"no window of {team} is shown (fewer than {k} people, or one person made most "
            "of the changes)"
            if all(r.suppressed for r in rows)
            else f"no shown window of {team} has changes with a mature label"
        )
        return Headline(team, Verdict.CANNOT_TELL, f"The data cannot tell yet: {why}.")
    last = shown[-1]
    recent_from = min(last.start, _months_before(last.end, RECENT_MONTHS))
    recent = [r for r in shown if r.start >= recent_from]
    earlier_from = _months_before(recent_from, EARLIER_MONTHS)
    earlier = [r for r in shown if earlier_from <= r.start and r.end <= recent_from]
    recent_block = _block(recent)
    if not earlier:
        return Headline(
            team,
            Verdict.CANNOT_TELL,
            f"The data cannot tell yet: no shown window with mature labels in the year "
            f"before {recent_block.span} to compare with.",
            recent_block,
        )
    earlier_block = _block(earlier)
    latest = max(r.end for r in rows)
    stale = "; later windows are hidden or not mature yet" if last.end < latest else ""
    evidence = (
        f"defect-inducing rate {_pct(recent_block.rate)} in {recent_block.span} "
        f"({recent_block.inducing} of {recent_block.labelled} changes with a mature "
        f"label{stale}) "
        f"vs {_pct(earlier_block.rate)} in {earlier_block.span} "
        f"({earlier_block.inducing} of {earlier_block.labelled})"
    )
    if min(recent_block.labelled, earlier_block.labelled) < MIN_LABELLED:
        return Headline(
            team,
            Verdict.CANNOT_TELL,
            f"The data cannot tell yet: too few labelled changes (at least {MIN_LABELLED} "
            f"in each stretch are needed); {evidence}.",
            recent_block,
            earlier_block,
        )
    d, low, high = difference_interval(
        recent_block.inducing, recent_block.labelled, earlier_block.inducing,
        earlier_block.labelled,
    )  # fmt: skip
    interval = (
        f"difference {d * 100:+.0f} points, 95 % interval {low * 100:+.0f} to {high * 100:+.0f}"
    )
    if low <= 0 <= high:
        return Headline(
            team,
            Verdict.CANNOT_TELL,
            f"The data cannot tell yet: {evidence}; {interval}, which includes 0.",
            recent_block,
            earlier_block,
            d,
            low,
            high,
        )
    verdict = Verdict.WORSE if d > 0 else Verdict.BETTER
    own = team not in (ALL_TEAMS, UNOWNED)
    drivers = _drivers(recent_block, earlier_block, verdict is Verdict.WORSE, own)
    moved = f" Alongside: {'; '.join(drivers)}." if drivers else ""
    text = f"Quality got {verdict.value}: {evidence}; {interval}.{moved}"
    return Headline(team, verdict, text, recent_block, earlier_block, d, low, high, drivers)


def window_kind(rows: Sequence[Row]) -> str:
    """The kind of window most of a team's rows have (``week`` with none)."""
    kinds = Counter(r.period for r in rows if not r.rolled_up)
    return kinds.most_common(1)[0][0] if kinds else "week"
