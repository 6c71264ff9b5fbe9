"""The privacy audit, inventory and purge on real stores built by the real pipeline.

Each violation is planted by hand in an otherwise clean store (or caused by changing
repos.yaml after mining) and must be found, with the right rule, and without the audit
printing the identity it found.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from dashboard.schema import ALL_TEAMS, FIGURES, SCHEMA, TEAM_PERIOD_FILE
from features.changes import features_for
from mining.github import mine_github
from mining.tasks import mine_all
from teamlens.audit import (
    DIFFERENCING,
    KEY_EXPOSED,
    OPT_OUT,
    PLAIN_HASH,
    PSEUDONYM_OUTSIDE,
    RAW_IDENTITY,
    RETENTION,
    SMALL_GROUP,
    SUPPRESSED_FIGURE,
    AuditError,
    AuditReport,
    audit,
    inventory,
    pseudonym_columns,
    purge,
)
from teamlens.config import Config, load_config
from teamlens.store import SCHEMAS, Store
from tests.conftest import TEST_KEY, ConfigFactory
from tests.github_server import FakeGitHub, FileChange
from tests.gitrepo import ALICE, BOB, CAROL, CAROL_OLD, DAVE, Person, RepoBuilder


def _rules(report: AuditReport) -> set[str]:
    return {v.rule for v in report.violations}


def _assert_silent(report: AuditReport, *secrets: str) -> None:
    """The report names places and kinds, never what it found."""
    text = report.render().lower()
    for secret in secrets:
        assert secret.lower() not in text


@pytest.fixture
def mined(tricky_repo: Path, make_config: ConfigFactory, key_env: str) -> Config:
    config = load_config(make_config({"tricky": tricky_repo}))
    mine_all(config)
    features_for(config)
    return config


# --- rule 1 and 2 ---------------------------------------------------------------------------


def test_a_clean_mined_store_passes(mined: Config) -> None:
    report = audit(mined)
    assert report.ok, report.render()
    assert report.violations == ()
    assert report.files_scanned >= 5  # manifest and parts: the scan saw the store
    assert "No violation found" in report.render()


def test_a_raw_email_in_an_extra_store_part_is_found(mined: Config) -> None:
    commits = Store(mined.data_dir).read("commits").slice(0, 1).to_pylist()
    commits[0]["message_subject"] = f"Thanks to {ALICE.email.upper()}"
    part = mined.data_dir / "store" / "tricky" / "commits" / "planted.parquet"
    pq.write_table(pa.Table.from_pylist(commits, schema=SCHEMAS["commits"]), part)

    report = audit(mined)
    assert not report.ok
    [found] = [v for v in report.violations if "column message_subject" in v.where]
    assert found.rule == RAW_IDENTITY
    assert found.where.startswith("store/tricky/commits/planted.parquet")
    assert "a contributor's e-mail address" in found.detail
    _assert_silent(report, ALICE.email, TEST_KEY)


def test_any_email_address_is_found_not_only_known_ones(mined: Config) -> None:
    rows = [{"team": "core", "note": "mail stranger@elsewhere.example"}]
    folder = mined.data_dir / "aggregates"
    folder.mkdir()
    pq.write_table(pa.Table.from_pylist(rows), folder / "extra.parquet")
    report = audit(mined)
    assert [(v.rule, v.where) for v in report.violations] == [
        (RAW_IDENTITY, "aggregates/extra.parquet column note")
    ]
    assert "an e-mail address" in report.violations[0].detail


def test_a_name_appended_to_an_aggregate_file_is_found(mined: Config) -> None:
    folder = mined.data_dir / "aggregates"
    folder.mkdir()
    path = folder / "summary.parquet"
    pq.write_table(pa.Table.from_pylist([{"team": "core", "lead": "a rota"}]), path)
    table = pq.read_table(path)
    more = pa.Table.from_pylist([{"team": "core", "lead": f"led by {BOB.name.lower()}"}])
    pq.write_table(pa.concat_tables([table, more.cast(table.schema)]), path)

    report = audit(mined)
    assert {(v.rule, v.where) for v in report.violations} == {
        (RAW_IDENTITY, "aggregates/summary.parquet column lead")
    }
    assert "a contributor's name" in report.violations[0].detail
    _assert_silent(report, BOB.name)


@pytest.mark.parametrize(
    ("algorithm", "length"), [("sha1", 40), ("md5", 32), ("sha256", 64), ("sha256", 32)]
)
def test_a_plain_hash_of_an_email_is_found(mined: Config, algorithm: str, length: int) -> None:
    digest = hashlib.new(algorithm, ALICE.email.encode()).hexdigest()[:length]
    reports = mined.data_dir / "reports"
    reports.mkdir()
    csv = reports / "by-week.csv"
    csv.write_text(f"week,person,changes\n2020-09-14,{digest},3\n", encoding="utf-8")

    report = audit(mined, outputs=[csv, reports])  # inside data_dir too: scanned once
    assert [(v.rule, v.where) for v in report.violations] == [
        (PLAIN_HASH, "reports/by-week.csv, line 2")
    ]
    assert "of a contributor's e-mail" in report.violations[0].detail
    _assert_silent(report, digest)


def test_a_plain_hash_of_a_name_in_an_output_outside_data_dir_is_found(
    mined: Config, tmp_path: Path
) -> None:
    out = tmp_path / "export"
    out.mkdir()
    digest = hashlib.sha256(CAROL.name.encode()).hexdigest()
    (out / "changes.csv").write_text(f"repo,owner\ntricky,{digest}\n", encoding="utf-8")
    assert audit(mined).ok
    report = audit(mined, outputs=[out])
    assert [(v.rule, v.where) for v in report.violations] == [
        (PLAIN_HASH, f"{out / 'changes.csv'}, line 2")
    ]


def test_a_pseudonym_leaving_the_store_breaks_rule_2(mined: Config, tmp_path: Path) -> None:
    rows = (
        Store(mined.data_dir)
        .query("SELECT author_id, count(*) FROM commits GROUP BY author_id")
        .rows
    )
    report_csv = tmp_path / "per-person.csv"
    report_csv.write_text("".join(f"{a},{n}\n" for a, n in rows), encoding="utf-8")
    report = audit(mined, outputs=[report_csv])
    assert _rules(report) == {PSEUDONYM_OUTSIDE}
    assert report.violations[0].detail.endswith(f"({len(rows)} lines)")


def test_a_person_column_holding_a_login_is_not_a_pseudonym(mined: Config) -> None:
    commits = Store(mined.data_dir).read("commits").slice(0, 1).to_pylist()
    commits[0]["author_id"] = "mona-lisa"  # a GitHub login, say
    store = Store(mined.data_dir)
    with store.writer("tricky") as writer:
        writer.commit(
            {"commits": pa.Table.from_pylist(commits, schema=SCHEMAS["commits"])},
            writer.manifest.state,
        )
    report = audit(mined)
    assert [(v.rule, v.where) for v in report.violations] == [
        ("not-a-pseudonym", "store/tricky, table commits, column author_id")
    ]


def test_the_key_itself_under_data_dir_is_found_and_never_printed(mined: Config) -> None:
    (mined.data_dir / "debug.log").write_text(f"key={TEST_KEY}\n", encoding="utf-8")
    report = audit(mined)
    assert [(v.rule, v.where) for v in report.violations] == [(KEY_EXPOSED, "debug.log, line 1")]
    _assert_silent(report, TEST_KEY)


def test_words_that_look_like_people_can_be_allowed(mined: Config, tmp_path: Path) -> None:
    note = tmp_path / "notes.md"
    note.write_text("Carol singers on Danvers street; see icon@2x.png\n", encoding="utf-8")
    report = audit(mined, outputs=[note])
    # "carol" is the local part of carol@marvel.test; "Danvers" alone is no one's name,
    # and icon@2x.png is a file name, not an address.
    assert [(v.rule, v.detail) for v in report.violations] == [
        (RAW_IDENTITY, "a contributor's e-mail local part (1 line)")
    ]
    assert audit(mined, outputs=[note], allow=["Carol"]).ok


def test_role_accounts_are_not_people_but_their_users_are(
    repo_builder: RepoBuilder, make_config: ConfigFactory, key_env: str, tmp_path: Path
) -> None:
    jane = Person("Jane Doe", "dev@jane.test")  # a person behind a role-like address
    web = Person("GitHub", "noreply@github.com")  # GitHub's web-flow committer
    repo_builder.write(".github/workflows/ci.yml", "on: push\n")
    repo_builder.write("dev/setup.sh", "echo dev\n")
    repo_builder.commit("Add CI for dev builds", jane)
    repo_builder.write("docs/github.md", "# GitHub\n")
    repo_builder.commit("Merge pull request #1 from branch", web)
    config = load_config(make_config({"roles": repo_builder.path}))
    mine_all(config)
    features_for(config)
    assert audit(config).ok  # ".github", "dev", "GitHub" in paths are not identities

    note = tmp_path / "review.md"
    note.write_text("Reviewed by jane doe for the dev team on GitHub\n", encoding="utf-8")
    report = audit(config, outputs=[note])
    assert [(v.rule, v.detail) for v in report.violations] == [
        (RAW_IDENTITY, "a contributor's name (1 line)")
    ]


def test_a_missing_output_is_an_error(mined: Config, tmp_path: Path) -> None:
    with pytest.raises(AuditError, match="no such file or folder"):
        audit(mined, outputs=[tmp_path / "nowhere.csv"])


# --- rule 3 -----------------------------------------------------------------------------------

PEOPLE = tuple(Person(f"Member {c}{c}{c} Person", f"member.{c}@teams.test") for c in "abcdefgh")
A, B, C, D, E, F, G, H = PEOPLE
WEEK1 = dt.date(2020, 9, 14)  # a Monday
WEEK2 = dt.date(2020, 9, 21)
MONTH = dt.date(2020, 9, 1)
TEAMS = {"core": "core/**", "ops": "ops/**", "docs": "docs/**", "web": "web/**"}


def _commit(repo: RepoBuilder, person: Person, path: str) -> None:
    repo.write(path, f"{path} by one of the team, at {repo.clock}\n")
    repo.commit(f"Work on {path}", person)


@pytest.fixture
def teams(repo_builder: RepoBuilder, make_config: ConfigFactory, key_env: str) -> Config:
    """Week 1: core A-E, ops A-D+F, docs F-H, web G-H. Week 2: core A-E, docs F-G."""
    r = repo_builder
    r.clock = int(dt.datetime(2020, 9, 15, tzinfo=dt.UTC).timestamp())  # a Tuesday
    r.write("assets/icon@2x.png", b"\x89PNG\r\n\x1a\n")
    for i, person in enumerate((A, B, C, D, E)):
        _commit(r, person, f"core/c{i}.py")
    for i, person in enumerate((A, B, C, D, F)):
        _commit(r, person, f"ops/o{i}.sh")
    for i, person in enumerate((F, G, H)):
        _commit(r, person, f"docs/d{i}.md")
    for i, person in enumerate((G, H)):
        _commit(r, person, f"web/w{i}.css")
    r.clock = int(dt.datetime(2020, 9, 22, tzinfo=dt.UTC).timestamp())
    for i, person in enumerate((A, B, C, D, E)):
        _commit(r, person, f"core/c{i}.py")
    for i, person in enumerate((F, G)):
        _commit(r, person, f"docs/d{i}.md")
    config = load_config(make_config({"teams": r.path}, teams=TEAMS))
    mine_all(config)
    features_for(config)
    return config


def _row(team: str, period: str, start: dt.date, shown: bool, **figures: Any) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(SCHEMA.names)
    row.update(team=team, period=period, period_start=start, suppressed=not shown)
    row["rolled_up"] = False
    if shown:
        row.update(changes=5, churn=50, labelled_changes=0, provisional=True, hotspots=[])
    else:
        row["reason"] = "fewer than k contributors"
    row.update(figures)
    return row


def _write_team_period(config: Config, rows: list[dict[str, Any]]) -> None:
    path = config.data_dir / TEAM_PERIOD_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=SCHEMA), path)


def _clean_rows() -> list[dict[str, Any]]:
    """Honest cells: hidden teams together have at least k people behind them."""
    rows = []
    for period, start in (("week", WEEK1), ("month", MONTH)):
        rows += [
            _row(ALL_TEAMS, period, start, True),
            _row("core", period, start, True),
            _row("ops", period, start, False),
            _row("docs", period, start, False),
            _row("web", period, start, False),
        ]
    return rows


def test_an_honest_team_period_passes(teams: Config) -> None:
    _write_team_period(teams, _clean_rows())
    report = audit(teams)
    assert report.ok, report.render()


def test_a_shown_cell_under_k_is_found(teams: Config) -> None:
    rows = [r for r in _clean_rows() if r["team"] != "docs" or r["period"] != "week"]
    rows.append(_row("docs", "week", WEEK1 + dt.timedelta(days=2), True))  # any day of it
    _write_team_period(teams, rows)
    report = audit(teams)
    assert [(v.rule, v.where) for v in report.violations] == [
        (SMALL_GROUP, f"aggregates/team_period.parquet, team 'docs', week of {WEEK1}")
    ]
    assert "3 distinct contributors" in report.violations[0].detail


def test_a_suppressed_row_with_a_figure_is_found(teams: Config) -> None:
    rows = _clean_rows()
    for row in rows:
        if row["team"] == "web" and row["period"] == "month":
            row["changes"] = 2
            row["hotspots"] = []
    _write_team_period(teams, rows)
    report = audit(teams)
    assert [(v.rule, v.detail) for v in report.violations] == [
        (SUPPRESSED_FIGURE, "suppressed, yet carries changes, hotspots")
    ]
    assert "team 'web', month of 2020-09-01" in report.violations[0].where


def test_a_suppressed_row_shown_as_zero_is_found(teams: Config) -> None:
    rows = _clean_rows()
    rows[2].update(changes=0, defect_rate=0.0)  # ops, week 1: "zero" is a figure too
    _write_team_period(teams, rows)
    assert _rules(audit(teams)) == {SUPPRESSED_FIGURE}


def test_one_suppressed_team_beside_a_shown_total_is_differencing(teams: Config) -> None:
    rows = [
        *_clean_rows(),
        _row(ALL_TEAMS, "week", WEEK2, True),
        _row("core", "week", WEEK2, True),
        _row("docs", "week", WEEK2, False),
    ]
    _write_team_period(teams, rows)
    report = audit(teams)
    assert [(v.rule, v.where) for v in report.violations] == [
        (DIFFERENCING, f"aggregates/team_period.parquet, week of {WEEK2}")
    ]
    assert "'docs'" in report.violations[0].detail


def test_hidden_teams_that_together_are_under_k_are_differencing(teams: Config) -> None:
    rows = [r for r in _clean_rows() if r["period"] == "month"]
    rows += [
        _row(ALL_TEAMS, "week", WEEK1, True),
        _row("core", "week", WEEK1, True),
        _row("ops", "week", WEEK1, True),  # 5 people: may be shown
        _row("docs", "week", WEEK1, False),
        _row("web", "week", WEEK1, False),  # docs and web: F, G, H only
    ]
    _write_team_period(teams, rows)
    report = audit(teams)
    assert [(v.rule, v.where) for v in report.violations] == [
        (DIFFERENCING, f"aggregates/team_period.parquet, week of {WEEK1}")
    ]
    assert "3 contributors" in report.violations[0].detail


def test_weeks_added_up_to_a_month_can_reveal_hidden_teams(teams: Config) -> None:
    # Each week is safe (ops, docs and web are hidden together: 7 people), but ops is
    # shown for the month (rolled up), so the month's total minus core and ops leaves
    # docs and web: 3 people.
    rolled = _row("ops", "month", MONTH, True, rolled_up=True)
    rows = [
        _row(ALL_TEAMS, "week", WEEK1, True),
        _row("core", "week", WEEK1, True),
        _row("ops", "week", WEEK1, False, reason="shown in its month"),
        _row("docs", "week", WEEK1, False),
        _row("web", "week", WEEK1, False),
        rolled,
    ]
    _write_team_period(teams, rows)
    report = audit(teams)
    assert [(v.rule, v.where) for v in report.violations] == [
        (DIFFERENCING, f"aggregates/team_period.parquet, month of {MONTH} (its weeks added up)")
    ]
    assert "'docs', 'web'" in report.violations[0].detail


def test_a_team_left_out_of_a_period_counts_as_hidden(teams: Config) -> None:
    rows = [r for r in _clean_rows() if r["period"] == "month"]
    rows += [_row(ALL_TEAMS, "week", WEEK2, True), _row("core", "week", WEEK2, True)]
    _write_team_period(teams, rows)  # docs (F, G) has no week-2 row at all
    assert _rules(audit(teams)) == {DIFFERENCING}


def test_an_opt_out_after_aggregation_leaves_a_cell_under_k(
    teams: Config, make_config: ConfigFactory, tmp_path: Path
) -> None:
    _write_team_period(teams, _clean_rows())
    opt_out = tmp_path / "optout.txt"
    opt_out.write_text(f"{A.email}\n", encoding="utf-8")
    repo = teams.repositories[0].path
    assert repo is not None
    config = load_config(
        make_config({"teams": repo}, teams=TEAMS, privacy={"opt_out": str(opt_out)})
    )
    assert _rules(audit(config)) == {OPT_OUT}
    done = purge(config)
    # A's three commits, their four files, and their features and labels: the miner's
    # purge removes every row about a removed commit.
    assert done.repos[0].git_rows_removed > 7
    assert done.repos[0].derived_rows_removed == 0
    report = audit(config)
    assert _rules(report) == {SMALL_GROUP}  # core now has 4 people behind it: rebuild
    assert {v.where.split(", ")[1] for v in report.violations} == {"team 'core'"}


# --- rule 4 and retention ----------------------------------------------------------------------


@pytest.mark.parametrize(("entry", "person"), [(DAVE.email, DAVE), (CAROL_OLD.email, CAROL)])
def test_opted_out_people_still_stored_are_found_and_purged(
    mined: Config,
    tricky_repo: Path,
    make_config: ConfigFactory,
    tmp_path: Path,
    entry: str,
    person: Person,
) -> None:
    opt_out = tmp_path / "optout.txt"
    opt_out.write_text(f"{entry.upper()}\n", encoding="utf-8")
    config = load_config(make_config({"tricky": tricky_repo}, privacy={"opt_out": str(opt_out)}))
    report = audit(config)
    assert _rules(report) == {OPT_OUT}
    assert "store/tricky, table commits, column author_id" in {v.where for v in report.violations}
    _assert_silent(report, entry, person.email, person.name)

    done = purge(config)
    [repo] = done.repos
    # Commits and file changes (4 or 7), and their features and labels (4 or 6).
    assert repo.git_rows_removed == (4 + 4 if person is DAVE else 7 + 6)
    assert repo.derived_rows_removed == 0
    assert done.rows_changed == repo.git_rows_removed
    # The output says the opt-out was applied, never how much of one person it removed.
    assert "opt-out applied" in done.render()
    assert str(repo.git_rows_removed) not in done.render()
    assert audit(config).ok
    assert purge(config).rows_changed == 0


def test_features_of_commits_purged_by_mine_go_with_them(
    mined: Config, tricky_repo: Path, make_config: ConfigFactory, tmp_path: Path
) -> None:
    opt_out = tmp_path / "optout.txt"
    opt_out.write_text(f"{DAVE.email}\n", encoding="utf-8")
    config = load_config(make_config({"tricky": tricky_repo}, privacy={"opt_out": str(opt_out)}))
    # Two commits, their two files, and their features and labels (rule 4: total).
    assert mine_all(config)[0].rows_purged == 4 + 4
    assert audit(config).ok
    assert purge(config).repos[0].derived_rows_removed == 0


def test_szz_rows_naming_a_commit_that_is_not_stored_are_found_and_purged(
    mined: Config, tricky_repo: Path, make_config: ConfigFactory, tmp_path: Path
) -> None:
    """A link to an opted-out person's commit (git blame sees it; the store must not)."""
    store = Store(mined.data_dir)
    fixes = store.query("SELECT sha FROM commits WHERE NOT is_merge LIMIT 2").rows
    (fix,), (other,) = fixes
    unknown = "f" * 40  # a commit that is not stored
    links = pa.Table.from_pylist(
        [
            {
                "repo": "tricky",
                "fix_sha": fix,
                "inducing_sha": unknown,
                "path": "a.py",
                "variant": "r-szz",
                "lines": 1,
            },
            {
                "repo": "tricky",
                "fix_sha": fix,
                "inducing_sha": other,
                "path": "a.py",
                "variant": "r-szz",
                "lines": 1,
            },
        ],
        schema=SCHEMAS["szz_links"],
    )
    with store.writer("tricky") as writer:
        writer.commit({"szz_links": links}, writer.manifest.state)
    report = audit(mined)
    assert {(v.rule, v.where) for v in report.violations} == {
        (OPT_OUT, "store/tricky, table szz_links")
    }
    assert purge(mined).repos[0].derived_rows_removed == 1
    kept = store.read("szz_links", "tricky")
    assert kept["inducing_sha"].to_pylist() == [other]
    assert audit(mined).ok


TOKEN = "gh-test-token"
REPO = "acme/widgets"
PATCH = "@@ -1,2 +1,2 @@\n line one\n-line two\n+line 2"


@dataclass(frozen=True)
class GithubSetup:
    server: FakeGitHub
    write_config: Callable[..., Config]  # (retention_days, opt-out file text) -> Config


@pytest.fixture
def github_store(
    repo_builder: RepoBuilder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[GithubSetup]:
    repo_builder.write("src/parse.py", "line one\nline two\n")
    repo_builder.commit("Initial import", ALICE)
    monkeypatch.setenv("TEAMLENS_KEY", TEST_KEY)
    monkeypatch.setenv("GH_TOKEN_FOR_TESTS", TOKEN)
    work = tmp_path / "work"
    work.mkdir()
    with FakeGitHub(token=TOKEN) as server:
        for login in ("octo-alice", "octo-carol", "octo-dan"):
            server.add_user(login, name=f"{login} person", email=f"{login}@example.test")
        server.add_user("acme", type="Organization")
        server.add_repo(REPO)
        # Who reviews whom: alice <- dan, dan <- alice, alice <- carol.
        for number, author, other in (
            (1, "octo-alice", "octo-dan"),
            (2, "octo-dan", "octo-alice"),
            (3, "octo-alice", "octo-carol"),
        ):
            day = f"2025-10-0{number}"
            server.add_pull(
                REPO,
                author=author,
                title=f"Change {number}",
                created_at=f"{day}T00:00:00Z",
                files=[FileChange("src/parse.py", patch=PATCH)],
            )
            review = server.add_review(
                REPO,
                number,
                user=other,
                state="COMMENTED",
                submitted_at=f"{day}T02:00:00Z",
                body="Please rename this",
            )
            server.add_review_comment(
                REPO,
                number,
                user=other,
                body="Why line 2?",
                created_at=f"{day}T03:00:00Z",
                path="src/parse.py",
                line=2,
                review_id=review.id,
            )

        def write_config(retention_days: int, opt_out: str = "") -> Config:
            (work / "optout.txt").write_text(opt_out, encoding="utf-8")
            doc = {
                "repositories": [
                    {"name": "widgets", "path": str(repo_builder.path), "github": REPO}
                ],
                "github": {"url": server.url, "token_env": "GH_TOKEN_FOR_TESTS"},
                "privacy": {"opt_out": "optout.txt", "retention_days": retention_days},
            }
            path = work / "repos.yaml"
            path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
            return load_config(path)

        config = write_config(36500)
        mine_all(config)
        mine_github(config, config.repositories[0])
        yield GithubSetup(server, write_config)


def test_github_rows_pass_when_within_retention_and_nobody_opted_out(
    github_store: GithubSetup,
) -> None:
    config = github_store.write_config(36500)
    assert Store(config.data_dir).query("SELECT count(*) FROM reviews").rows == [(3,)]
    report = audit(config)
    assert report.ok, report.render()


def test_old_review_text_and_opted_out_logins_are_found_then_purged(
    github_store: GithubSetup,
) -> None:
    config = github_store.write_config(30, "octo-dan  # asked on 2026-11-01\n")
    report = audit(config)
    found = {(v.rule, v.where) for v in report.violations}
    assert found == {
        (OPT_OUT, "store/widgets, table pull_requests, column author_id"),  # #2
        (OPT_OUT, "store/widgets, table reviews, column reviewer_id"),  # on #1
        (OPT_OUT, "store/widgets, table review_comments, column author_id"),  # on #1
        (OPT_OUT, "store/widgets, table pull_request_files"),  # #2's files
        (OPT_OUT, "store/widgets, table reviews"),  # alice's review of #2
        (OPT_OUT, "store/widgets, table review_comments"),  # alice's comment on #2
        (RETENTION, "store/widgets, table reviews, column body"),
        (RETENTION, "store/widgets, table review_comments, column body"),
    }
    _assert_silent(report, "octo-dan")

    done = purge(config)
    [repo] = done.repos
    # dan's pull request, review and comment, and #2's file and alice's review and comment
    # on it (the miner's purge takes what hangs on an opted-out person's pull request).
    assert repo.github_rows_removed == 6
    assert repo.derived_rows_removed == 0
    assert repo.texts_cleared == 2  # carol's review and comment on #3: past retention
    assert repo.git_rows_removed == 0
    assert "2 review texts older than 30 days cleared" in done.render()
    assert audit(config).ok
    store = Store(config.data_dir)
    assert store.query("SELECT count(*) FROM reviews WHERE body IS NOT NULL").rows == [(0,)]
    assert store.query("SELECT number FROM pull_requests ORDER BY 1").rows == [(1,), (3,)]
    assert store.query("SELECT count(*) FROM reviews").rows == [(1,)]
    assert purge(config).rows_changed == 0


def test_an_opt_out_purged_by_mine_leaves_nothing_behind(github_store: GithubSetup) -> None:
    # The audit first found rows attached to an opted-out person's pull request left by
    # the miner's purge; the miner now removes them too.
    config = github_store.write_config(36500, "octo-dan\n")
    mine_github(config, config.repositories[0])
    assert audit(config).ok
    assert purge(config).repos[0].derived_rows_removed == 0


# --- inventory ----------------------------------------------------------------------------------


def test_inventory_lists_every_table_and_never_the_key(mined: Config) -> None:
    text = inventory(mined)
    for table, schema in SCHEMAS.items():
        assert f"### `{table}`" in text
        for column in schema.names:
            assert f"`{column}`" in text
    for column in FIGURES:
        assert f"`{column}`" in text
    assert "### `team_period`" in text
    assert "- Pseudonyms: `author_id`, `committer_id`" in text
    assert "- Text (scrubbed): `message_subject`" in text
    assert "`reviews.body`, `review_comments.body`): 365 days" in text
    assert str(mined.data_dir) in text and "TEAMLENS_KEY" in text
    assert TEST_KEY not in text
    assert "now 19 rows in 1 repository" in text


def test_inventory_names_the_key_file_but_not_its_content(
    tricky_repo: Path, make_config: ConfigFactory, tmp_path: Path
) -> None:
    key_file = tmp_path / "secret" / "key"
    config = load_config(make_config({"tricky": tricky_repo}, privacy={"key_file": str(key_file)}))
    mine_all(config)  # creates the key file
    key = key_file.read_text(encoding="utf-8").strip()
    text = inventory(config)
    assert str(key_file) in text and "mode 600" in text
    assert key not in text
    assert audit(config).ok


def test_pseudonym_columns_are_every_string_id_column_that_is_a_person() -> None:
    found = {(t, c) for t, s in SCHEMAS.items() for c in pseudonym_columns(s)}
    assert found == {
        ("commits", "author_id"),
        ("commits", "committer_id"),
        ("pull_requests", "author_id"),
        ("reviews", "reviewer_id"),
        ("review_comments", "author_id"),
    }
