"""Attacks on the team trends, replayed on a real company repository (issue attacks 4-6, 8).

The attacker reads what teamlens publishes (team_period through `teamlens query`, the
report's CSV) and has `git log`. Each test plays one attack and shows it now fails.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
import subprocess
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import requests

from teamlens.aggregates import ALL_TEAMS
from teamlens.dashboard.serve import create_app
from teamlens.dashboard.team_period import build_rows
from tests.dashboard.test_serve import TOKEN, auth, running_server
from tests.gitrepo import RepoBuilder
from tests.privacy.company import (
    DAY,
    LONER,
    PEOPLE,
    START,
    TEAMS,
    copy_company,
    featured,
    run_teamlens,
    teamlens_ok,
)

#: core is src/; core-and-examples adds the loner's examples/: their difference is one person.
OVERLAPPING = {**TEAMS, "core-and-examples": ["src/**", "examples/**"]}


def _run(config: Path, *args: str) -> str:
    return teamlens_ok(config, *args)


def _published(config: Path) -> list[dict[str, Any]]:
    """What anyone may read: team_period through the published query."""
    out = _run(config, "query", "SELECT * FROM team_period", "--format", "json")
    rows: list[dict[str, Any]] = json.loads(out)
    return rows


@pytest.fixture(scope="module")
def company_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The company mined, labelled and featurised with overlapping teams; its repos.yaml."""
    return featured(tmp_path_factory.mktemp("company"), OVERLAPPING)


@pytest.fixture
def company(company_store: Path, tmp_path: Path) -> Path:
    """A private copy of the company work folder (repository and store); its repos.yaml."""
    return copy_company(company_store, tmp_path / "company")


def _loner_commits(repo: Path) -> dict[str, int]:
    """The attacker's side: the loner's commits per calendar month, from git log."""
    out = subprocess.run(
        ["git", "-C", str(repo), "log", f"--author={LONER.email}", "--format=%at"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    counts: dict[str, int] = defaultdict(int)
    for stamp in out.split():
        day = dt.datetime.fromtimestamp(int(stamp), dt.UTC).date()
        monday = day - dt.timedelta(days=day.weekday())
        counts[monday.replace(day=1).isoformat()] += 1
        counts[monday.isoformat()] += 1
    return counts


def _cells(rows: list[dict[str, Any]]) -> dict[tuple[str, str, str], dict[str, Any]]:
    return {
        (r["team"], r["period"], str(r["period_start"])[:10]): r
        for r in rows
        if not r["suppressed"]
    }


@pytest.mark.parametrize("period", ["week", "month"])
def test_overlapping_teams_do_not_difference_to_one_person(company: Path, period: str) -> None:
    _run(company, "report", "--period", period)
    shown = _cells(_published(company))
    loner = _loner_commits(company.parent / "repo")
    both = [
        (p, s) for (team, p, s) in shown if team == "core" and ("core-and-examples", p, s) in shown
    ]
    leaks = [
        (p, s)
        for p, s in both
        if shown[("core-and-examples", p, s)]["changes"] - shown[("core", p, s)]["changes"] > 0
    ]
    assert leaks == []  # where both are shown they hold the same changes: nothing to subtract
    # The attack would have worked: the loner changes examples/ in most periods.
    assert sum(1 for key, n in loner.items() if n and len(key) == 10) > 5
    assert any(team == "core" for team, _, _ in shown)


def test_a_months_weeks_add_up_and_leave_no_lone_weekend(company: Path) -> None:
    _run(company, "report", "--period", "week")
    weeks = _published(company)
    _run(company, "report", "--period", "month")
    months = _published(company)
    week_cells = _cells(weeks)
    for (team, period, start), month in _cells(months).items():
        if period != "month":
            continue
        inside = [
            row
            for (t, p, s), row in week_cells.items()
            if t == team and p == "week" and s[:7] == start[:7]
        ]
        if not inside:
            continue
        rest = month["changes"] - sum(r["changes"] for r in inside)
        # Weeks belong to the month of their Monday: a month minus its shown weeks is
        # either nothing or the hidden weeks, never a Saturday outside them.
        assert rest >= 0, (team, start)
        hidden = [
            r
            for r in weeks
            if r["team"] == team and r["period"] == "week" and r["suppressed"]
            and str(r["period_start"])[:7] == start[:7]
        ]  # fmt: skip
        assert rest == 0 or hidden, (team, start)


def _served(url: str) -> dict[tuple[str, str, str], dict[str, Any]]:
    """The served page's JSON, as someone polling it would keep it."""
    response = requests.get(f"{url}/api/team_period", headers=auth(), timeout=10)
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()["rows"]
    return _cells(rows)


def test_republishing_after_one_persons_commits_does_not_move_a_month(company: Path) -> None:
    _run(company, "report", "--period", "month")
    before = _cells(_published(company))
    server = running_server(create_app(company.parent / ".teamlens", k=5, token=TOKEN))
    url = server.__enter__()
    polled_before = _served(url)
    # One person adds two commits dated inside an already published month.
    repo = RepoBuilder(company.parent / "repo")  # reopens it (git init is idempotent)
    repo.clock = START + 20 * DAY + 7 * 3600
    for n in range(2):
        repo.write(f"src/late{n}.py", "def late():\n    return 1\n" * (n + 3))
        repo.commit("Tune mod", PEOPLE[0])
    for stage in ("mine", "label", "features"):
        _run(company, stage)
    _run(company, "report", "--period", "month")
    after = _cells(_published(company))
    january = [key for key in before if key[2] == "2024-01-01"]
    assert january
    for key in january:
        assert key in after
        for column in ("changes", "churn", "mean_risk", "defect_inducing", "labelled_changes"):
            assert after[key][column] == before[key][column], (key, column)
        if key[0] in ("core", "core-and-examples", ALL_TEAMS):  # the cells that moved
            assert "published before" in (after[key]["reason"] or ""), key
    polled_after = _served(url)
    server.__exit__(None, None, None)
    for key in january:  # the page's JSON, polled before and after, says the same
        assert polled_after[key]["changes"] == polled_before[key]["changes"]
        assert polled_after[key]["churn"] == polled_before[key]["churn"]
        assert polled_after[key]["mean_risk"] == polled_before[key]["mean_risk"]
    # The store does hold the new commits: they are waiting, not lost.
    out = _run(company, "query", "SELECT count(*) AS n FROM commits", "--format", "json")
    assert json.loads(out)[0]["n"] == int(repo.git("rev-list", "--count", "HEAD"))


def test_report_csv_matches_the_published_table(company: Path, tmp_path: Path) -> None:
    _run(company, "report", "--period", "month", "--csv", str(tmp_path / "csv"))
    with (tmp_path / "csv" / "team_period.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    shown = {(r["team"], r["period_start"][:10]) for r in rows if r["suppressed"] == "no"}
    published = {(t, s) for t, _, s in _cells(_published(company))}
    assert shown == published
    assert ("examples", "2024-01-01") not in shown  # the loner's team, one person


# Figure-level rules on a small frame: one team of six, and what its figures may show.
_BASE = 1_704_067_200


def _frame(changes: Sequence[tuple[str, float | None, float]]) -> pd.DataFrame:
    """(person, label, risk) per change, all of team "t" in one week."""
    return pd.DataFrame(
        [
            {
                "id": f"c{i}", "time": _BASE + i * 60, "team": ["t"], "label": label,
                "churn": 10, "risk": risk, "people": person, "reviewed": None,
                "hours_to_first_review": None,
            }
            for i, (person, label, risk) in enumerate(changes)
        ]
    )  # fmt: skip


def _team_row(frame: pd.DataFrame) -> dict[str, Any]:
    rows = build_rows(frame, pd.DataFrame(columns=["id", "path"]), "month", 5, 0.6)
    return next(r for r in rows if r["team"] == "t")


def test_one_dominant_person_hides_the_cell() -> None:
    dominant = [("p0", 0.0, 0.1)] * 7 + [(f"p{i}", 0.0, 0.1) for i in range(1, 6)]
    row = _team_row(_frame(dominant))
    assert row["suppressed"] and "more than 50%" in row["reason"]
    even = [(f"p{i % 6}", 0.0, 0.1) for i in range(12)]
    assert not _team_row(_frame(even))["suppressed"]


def test_a_rate_needs_k_people_behind_its_labelled_changes() -> None:
    # Six people, but only p0's three changes have a label: a rate of 1.0 would be p0's.
    changes = [("p0", 1.0, 0.1)] * 3 + [(f"p{i}", None, 0.1) for i in range(1, 6)] * 2
    row = _team_row(_frame(changes))
    assert not row["suppressed"] and row["changes"] == 13
    assert row["defect_rate"] is None and row["labelled_changes"] is None
    assert "labels figures hidden" in row["reason"]


def test_high_risk_changes_need_k_people() -> None:
    changes = [("p0", 0.0, 0.9)] + [(f"p{i % 6}", 0.0, 0.1) for i in range(1, 13)]
    row = _team_row(_frame(changes))
    assert row["mean_risk"] is None and row["high_risk_share"] is None
    spread = [(f"p{i % 6}", 0.0, 0.9 if i < 6 else 0.1) for i in range(12)]
    assert _team_row(_frame(spread))["high_risk_share"] == 0.5


def test_no_name_or_email_in_the_published_table(company: Path) -> None:
    _run(company, "report", "--period", "week")
    text = json.dumps(_published(company)).lower()
    for person in PEOPLE:
        assert person.name.lower() not in text and person.email not in text
        assert person.name.split()[0].lower() not in text


def test_the_audit_finds_an_overlapping_team_shown_by_hand(company: Path) -> None:
    _run(company, "report", "--period", "month")
    ok = run_teamlens(company, "privacy")
    assert "rule 3" not in ok.stdout, ok.stdout
    path = company.parent / ".teamlens" / "aggregates" / "team_period.parquet"
    table = pq.read_table(path)
    rows = table.to_pylist()
    core = {r["period_start"]: r for r in rows if r["team"] == "core" and not r["suppressed"]}
    planted = 0
    for row in rows:
        if row["team"] == "core-and-examples" and row["suppressed"] and row["period_start"] in core:
            twin = core[row["period_start"]]
            row.update({k: v for k, v in twin.items() if k not in ("team",)})
            row["changes"] = twin["changes"] + 3  # the loner's changes on top
            planted += 1
    assert planted
    pq.write_table(pa.Table.from_pylist(rows, schema=table.schema), path)
    found = run_teamlens(company, "privacy")
    assert found.returncode == 1
    assert "core-and-examples" in found.stdout and "derivable" in found.stdout


def test_report_prints_the_hidden_share_and_headlines_without_names(company: Path) -> None:
    out = _run(company, "report", "--csv", str(company.parent / "csv"))
    assert re.search(r"^\d+ of \d+ team windows hidden \(\d+%\); last three years: ", out, re.M)
    assert re.search(r"^core \((weeks|months|quarters|half-years|years)\): ", out, re.M)
    published = out + (company.parent / "csv" / "headlines.csv").read_text(encoding="utf-8")
    for person in PEOPLE:
        for needle in (person.name, person.email, person.email.split("@")[0]):
            assert needle.lower() not in published.lower()
