"""The report's notes: what is hidden and why, which figures are still provisional.

One line for the whole table (how many team windows are hidden, overall and in the last
three years, and how many changes have no mature label yet), then one collapsed
``<details>`` per team: its summary line says how many of its windows are shown and
why the others are hidden; the details list the hidden windows as ranges, the figures
left out of shown windows, the provisional windows and the weeks rolled up into their
month. Every count here is read from the published table (a hidden window's figures
are not known, so they are never counted).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

from teamlens.aggregates import ALL_TEAMS
from teamlens.dashboard.charts import _e
from teamlens.dashboard.report_rows import (
    PERIODS,
    Row,
    coverage,
    period_end,
    period_label,
    rolled_into_month,
)
from teamlens.dashboard.windows import window_name


def ranges(periods: Iterable[tuple[str, dt.date]]) -> list[str]:
    """Consecutive windows as ``first to last`` ranges, finest kind first."""
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


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _reason(row: Row, k: int) -> str:
    reason = row.reason or "no reason given"
    if reason.startswith("fewer than"):
        return f"fewer than {k} contributors"
    return reason.removeprefix("hidden ")


def unlabelled(rows: Sequence[Row]) -> tuple[int, int, int]:
    """(changes without a mature label, changes, shown windows whose labels are hidden)
    over the shown windows: from their published ``changes`` and ``labelled_changes``."""
    missing = total = unknown = 0
    for row in rows:
        if row.suppressed:
            continue
        changes = row.number("changes")
        labelled = row.number("labelled_changes")
        if changes is None:
            continue
        if labelled is None:
            unknown += 1
            continue
        total += int(changes)
        missing += int(changes) - int(labelled)
    return missing, total, unknown


def _labels_line(rows: Sequence[Row]) -> str:
    """Over the ``(all teams)`` windows shown (every change once), else over every team's
    (a change of two teams counts twice)."""
    everyone = [r for r in rows if r.team == ALL_TEAMS and not r.suppressed]
    missing, total, unknown = unlabelled(everyone or rows)
    hidden = (
        f" The labels of {_plural(unknown, 'shown window')} are hidden, so their changes "
        "are not counted here."
        if unknown
        else ""
    )
    if total == 0:
        return f"No shown window has labelled changes yet.{hidden}"
    if missing == 0 and not unknown:
        return (
            f"Every one of the {total:,} changes in shown windows has a mature label "
            "(changes in hidden windows are not counted here)."
        )
    if missing == 0:
        return f"The {total:,} changes counted have mature labels.{hidden}"
    return (
        f"{missing:,} of the {total:,} changes in shown windows have no mature label yet "
        "(younger than the label-maturity window, or not labelled yet): their windows are "
        f"provisional and their defect-inducing rates may still rise.{hidden}"
    )


def _team_details(team: str, rows: Sequence[Row], k: int) -> str:
    kinds = Counter(r.period for r in rows if not r.rolled_up)
    kind = kinds.most_common(1)[0][0] if kinds else "window"
    cover = coverage(rows)
    hidden_by: dict[str, list[tuple[str, dt.date]]] = {}
    rolled: list[tuple[str, dt.date]] = []
    for row in rows:
        if not row.suppressed:
            continue
        if rolled_into_month(row):
            rolled.append((row.period, row.start))
        else:
            hidden_by.setdefault(_reason(row, k), []).append((row.period, row.start))
    held: Counter[str] = Counter()
    for row in rows:
        if not row.suppressed and row.reason:
            held.update(row.reason.split("; "))
    provisional = [(r.period, r.start) for r in rows if not r.suppressed and r.provisional]
    missing, total, _ = unlabelled(rows)
    summary = (
        f"{_e(team)}: {window_name(kind)}s; {cover.shown} of {cover.total} shown"
        + (
            "; hidden: "
            + ", ".join(f"{len(v)} \u00d7 {_e(r)}" for r, v in sorted(hidden_by.items()))
            if hidden_by
            else ""
        )
        + (f"; {missing:,} of {total:,} changes without a mature label yet" if missing else "")
    )
    items: list[str] = []
    for reason, periods in sorted(hidden_by.items()):
        items.append(f"<li>Hidden ({_e(reason)}): {_e(', '.join(ranges(periods)))}.</li>")
    if rolled:
        items.append(
            f"<li>Weeks rolled up into their month (fewer than {k} contributors in the "
            f"week, at least {k} in the month): {_e(', '.join(ranges(rolled)))}.</li>"
        )
    for note, n in sorted(held.items()):
        items.append(f"<li>{_plural(n, 'shown window')}: {_e(note)}.</li>")
    if provisional:
        items.append(
            "<li>Provisional (some changes too young for a mature label): "
            f"{_e(', '.join(ranges(provisional)))}.</li>"
        )
    body = f"<ul>{''.join(items)}</ul>" if items else '<p class="muted">Nothing to add.</p>'
    return f"<li><details><summary>{summary}</summary>{body}</details></li>"


def notes_section(rows: Sequence[Row], by_team: Mapping[str, Sequence[Row]], k: int) -> str:
    """The notes: one line for the table, one collapsed entry per team."""
    everything, recent = coverage(rows), coverage(rows, recent=True)
    lines = [
        f"<li>{everything.describe()}; in the last three years "
        f"{recent.hidden} of {recent.total} ({recent.hidden_share:.0%}). A window is shown "
        f"when at least {k} people are behind its changes and no one person made most of "
        "them.</li>",
        f"<li>{_e(_labels_line(rows))}</li>",
    ]
    never = [team for team, team_rows in by_team.items() if all(r.suppressed for r in team_rows)]
    if never:
        lines.append(
            f"<li>Teams hidden in every window (fewer than {k} contributors, or one person made "
            f"most of the changes): {', '.join(_e(t) for t in never)}.</li>"
        )
    teams = "".join(_team_details(team, team_rows, k) for team, team_rows in by_team.items())
    return (
        f'<section id="notes"><h2>Notes</h2><ul>{"".join(lines)}</ul>'
        f'<ul class="team-notes">{teams}</ul></section>'
    )
