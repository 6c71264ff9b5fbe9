"""Windows chosen per team (--period auto) do not open a differencing attack.

Calendar windows nest and never overlap partly, so two published windows subtract to
nothing or to whole finer windows. Mixing kinds per team still adds sums: the total's
three months of a quarter minus the teams' quarters is what the other teams did in that
quarter. The attacker here does exactly that with the published rows, and must not get
a set of changes with fewer than k people behind it.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Hashable
from typing import Any

import pandas as pd

from teamlens.aggregates import ALL_TEAMS
from teamlens.dashboard.team_period import build_rows, cell_changes, prepare
from teamlens.dashboard.windows import (
    Window,
    choose_windows,
    window_span,
    window_start,
)
from teamlens.disclosure import Statistic, find_disclosures, people_behind

K = 5
START = dt.date(2024, 1, 1)


def _frame() -> pd.DataFrame:
    """core and tests: two people a month, six a quarter (shown quarterly); examples one
    a month, six a year (yearly); no team: two a quarter, eight a year (yearly); every
    team on its own week of the month, so the total is shown monthly."""
    rows: list[dict[str, Any]] = []

    def add(team: str, person: str, day: dt.date) -> None:
        stamp = dt.datetime(day.year, day.month, day.day, 9, tzinfo=dt.UTC).timestamp()
        rows.append(
            {"id": f"c{len(rows)}", "time": int(stamp), "team": [team], "label": 0,
             "churn": 1, "risk": 0.1, "people": person, "reviewed": None,
             "hours_to_first_review": None}
        )  # fmt: skip

    for month in range(12):
        first = dt.date(2024, month + 1, 1)
        monday = first + dt.timedelta(days=(7 - first.weekday()) % 7)
        quarter = month // 3
        for week, team in enumerate(("core", "tests")):
            for p in range(2):
                day = monday + dt.timedelta(days=7 * week + p)
                add(team, f"{team}-{quarter}-{month % 3 * 2 + p}", day)
        add("examples", f"examples-{month // 2}", monday + dt.timedelta(days=14))
        add("(no team)", f"none-{quarter}-{month % 2}", monday + dt.timedelta(days=15))
    return pd.DataFrame(rows)


def _published(frame: pd.DataFrame) -> list[dict[str, Any]]:
    empty = pd.DataFrame(columns=["id", "path"])
    return [r for r in build_rows(frame, empty, "auto", K, 0.6) if not r["suppressed"]]


def test_the_total_months_minus_the_teams_quarters_reveal_no_small_group() -> None:
    frame = _frame()
    shown = _published(frame)
    kinds = {r["team"]: r["period"] for r in shown}
    assert kinds == {
        ALL_TEAMS: "month",
        "core": "quarter",
        "tests": "quarter",
        "examples": "year",
        "(no team)": "year",
    }
    prepared = prepare(frame)
    cells = {(r["team"], r["period"], r["period_start"]): r for r in shown}
    attacks = 0
    for q in range(4):
        quarter = dt.date(2024, 3 * q + 1, 1)
        months = [dt.date(2024, 3 * q + m + 1, 1) for m in range(3)]
        total = [cells.get((ALL_TEAMS, "month", m)) for m in months]
        teams = [cells.get((t, "quarter", quarter)) for t in ("core", "tests")]
        if any(c is None for c in total) or any(c is None for c in teams):
            continue  # the attacker cannot add this quarter up
        attacks += 1
        rest = sum(c["changes"] for c in total if c) - sum(c["changes"] for c in teams if c)
        inside = prepared[prepared["quarter_start"] == quarter]
        behind = inside[[not ({"core", "tests"} & set(t)) for t in inside["team"]]]
        assert rest == len(behind)
        assert len(set(behind["people"])) >= K, f"{quarter}: {set(behind['people'])}"
    # before the windowed check, all four quarters were open and each gave 4 people
    assert attacks == 0


def test_no_published_set_differences_to_fewer_than_k_people() -> None:
    frame = _frame()
    prepared = prepare(frame)
    person_of = dict(zip(prepared["member"], prepared["people"], strict=True))
    stats = []
    for row in _published(frame):
        members = frozenset(
            cell_changes(prepared, row["team"], row["period"], row["period_start"])["member"]
        )
        key: Hashable = (row["team"], row["period"], row["period_start"])
        span = window_span(row["period"], row["period_start"])
        stats.append(Statistic(key, members, True, row["team"], span=span))
    assert find_disclosures(stats, person_of, K) == []
    # and every two published windows of a team nest or are apart: no partial overlap
    for a, b in itertools.combinations(stats, 2):
        if a.family == b.family and a.span and b.span:
            (s1, e1), (s2, e2) = a.span, b.span
            assert e1 <= s2 or e2 <= s1 or (s1 <= s2 and e2 <= e1) or (s2 <= s1 and e1 <= e2)
    # the attacker's sets add up per quarter, so the check sees them
    assert all(len(people_behind(s.members, person_of)) >= K for s in stats)


def test_windows_nest() -> None:
    day = START
    while day < dt.date(2026, 1, 1):
        week = window_start("week", day)
        month = window_start("month", day)
        assert window_start("month", week) == month  # a week lies in one month
        for finer, coarser in itertools.pairwise(w.value for w in Window):
            inner = window_span(finer, window_start(finer, day))
            outer = window_span(coarser, window_start(coarser, day))
            assert outer[0] <= inner[0] < inner[1] <= outer[1], (finer, coarser, day)
            assert inner[0] <= day.toordinal() < inner[1]
        day += dt.timedelta(days=1)


def test_auto_takes_the_finest_window_that_shows_most() -> None:
    d = dt.date(2024, 1, 1)
    cells = {
        "a": [("week", d, False), ("week", d, True), ("month", d, True), ("month", d, True)],
        "b": [("week", d, True), ("week", d, True), ("week", d, False)],
        "c": [("quarter", d, False), ("year", d, False)],
    }
    assert choose_windows(cells, d) == {"a": "month", "b": "week", "c": "year"}
