"""Headlines per team on a real repository: a planted worsening is reported, a flat
series is not, a team below k gets no figures, and nothing names a person."""

from __future__ import annotations

import csv
import html
import io
import math
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from teamlens.aggregates import ALL_TEAMS
from teamlens.config import Config, load_config
from teamlens.dashboard.headlines import (
    Verdict,
    difference_interval,
    headline,
)
from teamlens.dashboard.report import csv_texts, render_html
from teamlens.dashboard.report_rows import Row, latest_rows, read_rows
from teamlens.dashboard.summary import summary_lines
from teamlens.dashboard.team_period import build_team_period, read_team_period
from teamlens.features.changes import features_for
from teamlens.mining.szz import label_repository
from teamlens.mining.tasks import mine_all
from tests.gitrepo import Person, RepoBuilder

DAY = 86_400
START = 1_704_067_200  # Monday 2024-01-01 00:00 UTC
WEEKS = 65  # to the end of March 2025: the last quarter is 2025-Q1
CORE = tuple(Person(f"Corva Plank{i}", f"corva.plank{i}@headline.test") for i in range(6))
LIB = tuple(Person(f"Libby Stanhope{i}", f"libby.stanhope{i}@headline.test") for i in range(6))
SOLO = tuple(Person(f"Solenne Marrow{i}", f"solenne.marrow{i}@headline.test") for i in range(2))
EVERYONE = (*CORE, *LIB, *SOLO)


def _module(name: str, version: int) -> str:
    return "".join(
        f"def {name}_{i}(x):\n    if x > {i + version}:\n        return x - {i}\n    return x\n\n"
        for i in range(4)
    )


def _history(repo: RepoBuilder) -> None:
    """Every person of core and lib changes their own module every other week (three a
    week, six a month). A fix rewrites the lines a change just wrote, a day later: in
    core one change in 13 until 2024, every other change in 2025-Q1 (the planted
    worsening); in lib one change in 8 throughout (flat). solo: two people."""
    version = 0
    recent = START + 52 * 7 * DAY + 7 * DAY  # 2025-01-06
    for week in range(WEEKS):
        for slot in range(3):
            for team, people, folder in (("core", CORE, "src"), ("lib", LIB, "lib")):
                index = (week % 2) * 3 + slot
                person = people[index]
                version += 1
                repo.clock = START + week * 7 * DAY + slot * DAY + (0 if team == "core" else 7200)
                path = f"{folder}/{team}{index}.py"
                repo.write(path, _module(f"{team}{index}", version))
                repo.commit(f"Tune {team} module {index}", person)
                when = repo.clock
                serial = week * 3 + slot
                if team == "core":
                    fixed = serial % 2 == 0 if when >= recent else serial % 13 == 0
                else:
                    fixed = serial % 8 == 0
                if fixed:
                    version += 1
                    repo.clock = when + DAY // 2
                    repo.write(path, _module(f"{team}{index}", version + 1000))
                    repo.commit(f"Fix threshold bug in {team} module {index}", person)
        if week % 6 == 0:
            person = SOLO[week % 2]
            repo.clock = START + week * 7 * DAY + 5 * DAY
            repo.write("solo/tool.py", _module("tool", week))
            repo.commit("Extend the tool", person)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Config]:
    root = tmp_path_factory.mktemp("headlines")
    mp = pytest.MonkeyPatch()
    mp.setenv("TEAMLENS_KEY", "headline-test-key-0123456789-abcdef-0123456789")
    repo = RepoBuilder(root / "repo")
    _history(repo)
    work = root / "work"
    work.mkdir()
    doc: dict[str, Any] = {
        "repositories": [{"name": "teams", "path": str(repo.path)}],
        "teams": {"core": ["src/**"], "lib": ["lib/**"], "solo": ["solo/**"]},
        "labels": {"maturity_days": 0},
    }
    (work / "repos.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    config = load_config(work / "repos.yaml")
    mine_all(config)
    label_repository(config, config.repositories[0])
    features_for(config)
    build_team_period(config, "auto")
    yield config
    mp.undo()


def _team_rows(config: Config) -> dict[str, list[Row]]:
    out: dict[str, list[Row]] = {}
    for row in read_rows(read_team_period(config.data_dir)):
        out.setdefault(row.team, []).append(row)
    return out


def test_a_planted_worsening_is_reported(built: Config) -> None:
    found = headline("core", _team_rows(built)["core"], 5)
    assert found.verdict is Verdict.WORSE, found.text
    assert found.recent is not None and found.earlier is not None
    assert found.recent.first.startswith("2025") and found.earlier.last.startswith("2024")
    assert found.recent.rate > 0.25 and found.earlier.rate < 0.12
    assert found.low is not None and found.low > 0
    assert found.text.startswith("Quality got worse: defect-inducing rate ")
    assert "95 % interval" in found.text


def test_a_flat_series_is_not_reported(built: Config) -> None:
    found = headline("lib", _team_rows(built)["lib"], 5)
    assert found.verdict is Verdict.CANNOT_TELL, found.text
    assert found.text.startswith("The data cannot tell yet")
    assert found.low is not None and found.high is not None and found.low <= 0 <= found.high


def test_a_team_below_k_gets_no_headline_figures(built: Config) -> None:
    rows = _team_rows(built)["solo"]
    assert all(r.suppressed for r in rows)
    found = headline("solo", rows, 5)
    assert found.verdict is Verdict.CANNOT_TELL
    assert found.recent is None and found.earlier is None and found.difference is None
    assert "%" not in found.text


def test_headline_figures_are_sums_of_shown_cells(built: Config) -> None:
    rows = _team_rows(built)["core"]
    found = headline("core", rows, 5)
    assert found.recent is not None
    shown = [r for r in rows if not r.suppressed and r.label >= found.recent.first]
    assert found.recent.labelled == sum(int(r.number("labelled_changes") or 0) for r in shown)
    assert found.recent.inducing == sum(int(r.number("defect_inducing") or 0) for r in shown)


def test_no_name_or_email_in_the_report_csv_or_printed_lines(built: Config) -> None:
    table = read_team_period(built.data_dir)
    published = [
        render_html(table, period="auto", k=5, generated="now"),
        *csv_texts(table, "auto").values(),
        *summary_lines(built.data_dir, 5),
    ]
    text = "\n".join(published).lower()
    for person in EVERYONE:
        assert person.name.lower() not in text and person.email.lower() not in text
        assert person.email.split("@")[0] not in text
    assert "core" in text and "quality got worse" in text


def test_difference_interval() -> None:
    # Newcombe (1998), table II, example (a): 56/70 vs 48/80 -> 0.0524 to 0.3339
    d, low, high = difference_interval(56, 70, 48, 80)
    assert (round(d, 4), round(low, 4), round(high, 4)) == (0.2, 0.0524, 0.3339)
    assert difference_interval(17, 100, 8, 100)[1] < 0  # 17 % vs 8 % of 100: includes 0
    assert math.isclose(difference_interval(5, 50, 5, 50)[0], 0.0)


def test_headlines_csv_carries_the_page_figures(built: Config) -> None:
    table = read_team_period(built.data_dir)
    texts = csv_texts(table, "auto", 5)
    records = {r["team"]: r for r in csv.DictReader(io.StringIO(texts["headlines.csv"]))}
    assert set(records) == {ALL_TEAMS, "core", "lib", "solo"}
    core = records["core"]
    found = headline("core", _team_rows(built)["core"], 5)
    assert core["verdict"] == "worse" and core["headline"] == found.text
    assert found.recent is not None and core["recent_labelled"] == str(found.recent.labelled)
    assert core["recent_rate"] == f"{found.recent.rate:.3f}"
    assert records["solo"]["verdict"] == "cannot tell" and records["solo"]["recent_rate"] == ""
    page = render_html(table, period="auto", k=5, generated="now")
    assert html.escape(found.text, quote=False) in page


def test_latest_windows_of_an_auto_table_are_each_teams_latest_shown(built: Config) -> None:
    rows = read_rows(read_team_period(built.data_dir))
    latest = latest_rows(rows, "auto")
    by_team = {r.team: r for r in latest.rows}
    for team, row in by_team.items():
        team_rows = [r for r in rows if r.team == team]
        shown = [r for r in team_rows if not r.suppressed]
        expected = max(shown or team_rows, key=lambda r: r.start)
        assert row == expected, team
    assert by_team["solo"].suppressed and not by_team["core"].suppressed
