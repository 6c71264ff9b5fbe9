"""team_period on a real repository with three teams, one of only three contributors."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from teamlens.aggregates import ALL_TEAMS, FIGURES, SCHEMA, TeamPeriodRow
from teamlens.config import Config, load_config
from teamlens.dashboard.headlines import wilson
from teamlens.dashboard.team_period import build_rows, build_team_period, read_team_period
from teamlens.features.changes import features_for
from teamlens.mining.szz import label_repository
from teamlens.mining.tasks import mine_all
from tests.gitrepo import Person, RepoBuilder

DAY = 86_400
ALPHA = tuple(Person(f"Alpha Person{i}", f"alpha{i}@example.test") for i in range(6))
BETA = tuple(Person(f"Beta Person{i}", f"beta{i}@example.test") for i in range(6))
GAMMA = tuple(Person(f"Gamma Person{i}", f"gamma{i}@example.test") for i in range(3))
START = 1_704_067_200  # Monday 2024-01-01 00:00 UTC
START_DATE = dt.date(2024, 1, 1)


def _history(repo: RepoBuilder) -> None:
    """Four weeks of January 2024. alpha: six people every week. beta: six people over the
    month, three a week. gamma: three people, ever."""
    counter = 0
    for week in range(4):
        for slot, person in enumerate(ALPHA):
            repo.clock = START + week * 7 * DAY + slot * 3600
            repo.write(f"alpha/a{slot}.py", f"VALUE = {week}\n")
            counter += 1
            repo.commit(f"Alpha change {counter}", person)
        for slot in range(3):
            person = BETA[(week * 3 + slot) % 6]
            repo.clock = START + week * 7 * DAY + DAY + slot * 3600
            repo.write(f"beta/b{slot}.py", f"VALUE = {week}\n")
            counter += 1
            repo.commit(f"Beta change {counter}", person)
        for slot, person in enumerate(GAMMA):
            repo.clock = START + week * 7 * DAY + 2 * DAY + slot * 3600
            repo.write(f"gamma/g{slot}.py", f"VALUE = {week * 10 + slot}\n")
            counter += 1
            repo.commit(f"Fix gamma bug {counter}", person)


@pytest.fixture
def config(repo_builder: RepoBuilder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Config:
    monkeypatch.setenv("TEAMLENS_KEY", "team-period-test-key-0123456789-f3a9c1e7b5d2")
    _history(repo_builder)
    work = tmp_path / "work"
    work.mkdir()
    doc: dict[str, Any] = {
        "repositories": [{"name": "teams", "path": str(repo_builder.path)}],
        "teams": {"alpha": ["alpha/**"], "beta": ["beta/**"], "gamma": ["gamma/**"]},
        "labels": {"maturity_days": 0},
    }
    (work / "repos.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    loaded = load_config(work / "repos.yaml")
    mine_all(loaded)
    label_repository(loaded, loaded.repositories[0])
    features_for(loaded)
    return loaded


def _table(config: Config, period: str) -> pd.DataFrame:
    build_team_period(config, period)
    frame: pd.DataFrame = read_team_period(config.data_dir).to_pandas()
    return frame


def test_the_small_team_appears_nowhere_and_totals_do_not_reveal_it(config: Config) -> None:
    for period in ("week", "month"):
        table = _table(config, period)
        gamma = table[table["team"] == "gamma"]
        assert len(gamma) > 0 and gamma["suppressed"].all()
        assert gamma[list(FIGURES)].isna().all().all()  # no figure, not even zero
        # No period lets "all teams minus the shown teams" stand for gamma alone.
        for (_, start), cell in table.groupby(["period", "period_start"]):
            total = cell[cell["team"] == ALL_TEAMS]
            teams = cell[cell["team"] != ALL_TEAMS]
            if len(total) and not total["suppressed"].iloc[0]:
                assert teams["suppressed"].sum() != 1, (period, start)


def test_a_team_with_k_people_a_month_but_fewer_a_week_is_shown_monthly(config: Config) -> None:
    table = _table(config, "week")
    beta = table[table["team"] == "beta"]
    weeks = beta[beta["period"] == "week"]
    months = beta[beta["period"] == "month"]
    assert weeks["suppressed"].all()
    assert set(weeks["reason"]) == {"shown in its month"}
    assert len(months) == 1 and not months["suppressed"].iloc[0]
    assert bool(months["rolled_up"].iloc[0])
    assert months["period_start"].iloc[0] == dt.date(2024, 1, 1)
    assert months["changes"].iloc[0] == 12
    alpha = table[(table["team"] == "alpha") & ~table["suppressed"]]
    assert len(alpha) >= 1 and set(alpha["period"]) == {"week"}


def test_figures_of_a_shown_cell(config: Config) -> None:
    table = _table(config, "month")
    alpha = table[(table["team"] == "alpha") & (table["period"] == "month")].iloc[0]
    assert alpha["changes"] == 24
    assert alpha["churn"] == 24 + 18  # first write adds 1 line; later ones change 1 (1 + 1)
    total = table[table["team"] == ALL_TEAMS]
    assert total["suppressed"].all()  # gamma hidden, alpha and beta shown: the total goes


def test_wilson_interval() -> None:
    low, high = wilson(3, 10)
    assert (round(low, 4), round(high, 4)) == (0.1078, 0.6032)
    assert all(math.isnan(x) for x in wilson(0, 0))  # no interval without trials


def test_one_hidden_team_hides_the_total() -> None:
    rows = []
    frame_rows = []
    for team, people in (("big", 6), ("mid", 5), ("tiny", 2)):
        for i in range(people):
            frame_rows.append(
                {"id": f"{team}{i}", "time": START + i * 60, "team": [team], "label": 0,
                 "churn": 1, "risk": 0.1, "people": f"{team}-{i}", "reviewed": None,
                 "hours_to_first_review": None}
            )  # fmt: skip
    frame = pd.DataFrame(frame_rows)
    rows = build_rows(frame, pd.DataFrame(columns=["id", "path"]), "month", 5, 0.6)
    shown = {r["team"] for r in rows if not r["suppressed"]}
    assert "tiny" not in shown
    assert shown == {"big", "mid"}  # the total minus big and mid would be tiny


def test_hidden_teams_with_fewer_than_k_people_together_hide_the_total() -> None:
    frame_rows = []
    for team, people in (("core", 5), ("ops", 5), ("docs", 2), ("web", 1)):
        for i in range(people):
            frame_rows.append(
                {"id": f"{team}{i}", "time": START + i * 60, "team": [team], "label": 0,
                 "churn": 1, "risk": 0.1, "people": f"{team}-{i}", "reviewed": None,
                 "hours_to_first_review": None}
            )  # fmt: skip
    frame = pd.DataFrame(frame_rows)
    for period in ("week", "month"):
        rows = build_rows(frame, pd.DataFrame(columns=["id", "path"]), period, 5, 0.6)
        shown = {r["team"] for r in rows if not r["suppressed"]}
        assert shown == {"core", "ops"}, period  # total - core - ops = docs + web: 3 people


def test_a_team_rolled_into_its_month_hides_the_weekly_totals() -> None:
    # "rolled": 2 people in the first week, 5 others in the second: its weeks are shown
    # only as the month. Were a weekly total shown beside "big", total - big would give
    # that week of "rolled", and the month minus it the two-person week (found by the
    # leak scan, tests/reliability/test_leak_scan.py).
    frame_rows = []
    for team, week, people in (("big", 0, 6), ("big", 1, 6), ("rolled", 0, 2), ("rolled", 1, 5)):
        for i in range(people):
            frame_rows.append(
                {"id": f"{team}{week}{i}", "time": START + week * 7 * DAY + i * 60,
                 "team": [team], "label": 0, "churn": 1, "risk": 0.1,
                 "people": f"{team}-{week}-{i}", "reviewed": None,
                 "hours_to_first_review": None}
            )  # fmt: skip
    frame = pd.DataFrame(frame_rows)
    rows = build_rows(frame, pd.DataFrame(columns=["id", "path"]), "week", 5, 0.6)
    shown = {(r["team"], r["period"], r["period_start"].day) for r in rows if not r["suppressed"]}
    first, second = START_DATE.day, START_DATE.day + 7
    assert not any(team == "rolled" and period == "week" for team, period, _ in shown)
    # total - big in the first week is the two-person week of "rolled" ...
    assert not {(ALL_TEAMS, "week", first), ("big", "week", first)} <= shown
    # ... and so is its month minus (total - big) of the second week.
    assert (
        not {
            ("rolled", "month", 1),
            (ALL_TEAMS, "week", second),
            ("big", "week", second),
        }
        <= shown
    )
    assert ("big", "week", first) in shown and ("big", "week", second) in shown


def test_the_typed_row_has_the_columns_of_the_table() -> None:
    row = TeamPeriodRow("core", "week", dt.date(2024, 1, 1))
    assert list(row.as_dict()) == SCHEMA.names
    shown = row.with_figures({"changes": 12, "hotspots": ["src/a.py"]})
    assert shown.as_dict()["hotspots"] == ["src/a.py"] and shown.changes == 12
    hidden = shown.hidden("fewer than 5 contributors")
    assert hidden.suppressed and all(hidden.as_dict()[name] is None for name in FIGURES)
    with pytest.raises(ValueError, match="not figure columns"):
        row.with_figures({"team": "other"})


def test_hotspots_are_the_teams_own_files() -> None:
    # one fix of six people touches a docs page and a core module: docs lists its page only
    frame_rows = []
    for i in range(6):
        frame_rows.append(
            {"id": f"fix{i}", "time": START + i * 60, "team": ["core", "docs"], "label": 0,
             "churn": 1, "risk": 0.1, "people": f"p{i}", "reviewed": None,
             "hours_to_first_review": None}
        )  # fmt: skip
    fixes = pd.DataFrame(
        [{"id": f"fix{i}", "path": p} for i in range(6) for p in ("src/app.py", "docs/a.md")]
    )

    def owners(repo: str, path: str) -> tuple[str, ...]:
        return ("core",) if path.startswith("src/") else ("docs",)

    rows = build_rows(pd.DataFrame(frame_rows), fixes, "month", 5, 0.6, owners=owners)
    hot = {r["team"]: r["hotspots"] for r in rows if not r["suppressed"]}
    assert hot["docs"] == ["docs/a.md"] and hot["core"] == ["src/app.py"]
    assert sorted(hot[ALL_TEAMS]) == ["docs/a.md", "src/app.py"]
