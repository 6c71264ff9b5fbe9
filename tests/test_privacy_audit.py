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

from teamlens.aggregates import ALL_TEAMS, FIGURES, SCHEMA, TEAM_PERIOD_FILE
from teamlens.audit import (
    KEY_EXPOSED,
    OPT_OUT,
    PLAIN_HASH,
    PSEUDONYM_OUTSIDE,
    RAW_IDENTITY,
    RETENTION,
    SUPPRESSED_FIGURE,
    AuditError,
    AuditReport,
    audit,
    inventory,
    pseudonym_columns,
    purge,
)
from teamlens.audit.scan import _Finder
from teamlens.config import Config, load_config
from teamlens.dashboard.published_check import (
    DIFFERENCING,
    DOMINANCE,
    SMALL_GROUP,
    STALE,
    UNRECORDED,
)
from teamlens.dashboard.team_period import build_team_period, read_team_period
from teamlens.features.changes import features_for
from teamlens.mining.github import mine_github
from teamlens.mining.tasks import mine_all
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


def test_ordinary_words_are_not_people_but_whole_identities_are(
    mined: Config, tmp_path: Path
) -> None:
    note = tmp_path / "notes.md"
    note.write_text("Carol singers on Danvers street; see icon@2x.png\n", encoding="utf-8")
    report = audit(mined, outputs=[note])
    # "carol" (the local part of carol@marvel.test) is an ordinary word, "Danvers" alone
    # is no one's name, and icon@2x.png is a file name, not an address.
    assert report.ok
    assert any("ordinary word" in note for note in report.unchecked)

    note.write_text("Thanks to Carol Danvers (carol@marvel.test)\n", encoding="utf-8")
    found = {(v.rule, v.detail) for v in audit(mined, outputs=[note]).violations}
    assert found == {
        (RAW_IDENTITY, '"c**** d******": a contributor\'s name (1 line)'),
        (RAW_IDENTITY, "a contributor's e-mail address (1 line)"),
    }


def test_a_word_found_is_shown_with_its_place_and_can_be_allowed(
    mined: Config, tmp_path: Path
) -> None:
    note = tmp_path / "notes.md"
    note.write_text("# Notes\n\nThe cdanvers table is slow.\n", encoding="utf-8")
    report = audit(mined, outputs=[note])
    # cdanvers is the local part of a .mailmap alias: shown, so the operator can judge it
    assert [(v.rule, v.where, v.detail) for v in report.violations] == [
        (
            RAW_IDENTITY,
            f"{note}, line 3",
            '"cdanvers": a contributor\'s e-mail local part (1 line)',
        )
    ]
    assert audit(mined, outputs=[note], allow=["cdanvers"]).ok


def test_words_glued_into_code_or_paths_are_not_people(mined: Config, tmp_path: Path) -> None:
    note = tmp_path / "hotspots.csv"
    note.write_text(
        "path,fixes\nsrc/cdanvers/app.py,3\ncdanvers_helper.py,2\nlib/cdanvers-width.js,1\n",
        encoding="utf-8",
    )
    assert audit(mined, outputs=[note]).ok
    note.write_text("path,owner\nsrc/app.py,cdanvers.\n", encoding="utf-8")
    assert [v.detail for v in audit(mined, outputs=[note]).violations] == [
        '"cdanvers": a contributor\'s e-mail local part (1 line)'
    ]


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
        (RAW_IDENTITY, '"j*** d**": a contributor\'s name (1 line)')
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


def _built(config: Config, period: str = "week") -> list[dict[str, Any]]:
    """Build team_period as `teamlens report` does; its rows."""
    build_team_period(config, period)
    rows: list[dict[str, Any]] = read_team_period(config.data_dir).to_pylist()
    return rows


def _write_team_period(config: Config, rows: list[dict[str, Any]]) -> None:
    """Plant a table by hand (the ledger still holds what the builder published)."""
    path = config.data_dir / TEAM_PERIOD_FILE
    pq.write_table(pa.Table.from_pylist(rows, schema=SCHEMA), path)


def _find(rows: list[dict[str, Any]], team: str, start: dt.date) -> dict[str, Any]:
    return next(r for r in rows if r["team"] == team and r["period_start"] == start)


def _show(row: dict[str, Any], **figures: Any) -> None:
    row.update(suppressed=False, reason=None, changes=5, churn=50, hotspots=[], **figures)


def test_an_honest_team_period_passes(teams: Config) -> None:
    for period in ("week", "month"):
        rows = _built(teams, period)
        assert any(not r["suppressed"] for r in rows)
        report = audit(teams)
        assert report.ok, report.render()


def test_a_shown_cell_under_k_is_found(teams: Config) -> None:
    rows = _built(teams)
    docs = _find(rows, "docs", WEEK1)
    assert docs["suppressed"]
    _show(docs)
    _write_team_period(teams, rows)
    report = audit(teams)
    where = f"aggregates/team_period.parquet, team 'docs', week of {WEEK1}"
    assert (SMALL_GROUP, f"{where}, volume") in {(v.rule, v.where) for v in report.violations}
    assert (UNRECORDED, f"{where}, volume figures") in {
        (v.rule, v.where) for v in report.violations
    }
    small = next(v for v in report.violations if v.rule == SMALL_GROUP)
    assert "3 people" in small.detail


def test_a_dominated_cell_is_found(
    repo_builder: RepoBuilder, make_config: ConfigFactory, key_env: str
) -> None:
    r = repo_builder
    r.clock = int(dt.datetime(2020, 9, 15, tzinfo=dt.UTC).timestamp())
    for i, person in enumerate((A, B, C, D, E)):
        _commit(r, person, f"core/c{i}.py")
    for i in range(6):
        _commit(r, A, f"core/a{i}.py")  # A: 7 of 11 changes
    config = load_config(make_config({"teams": r.path}, teams={"core": "core/**"}))
    mine_all(config)
    features_for(config)
    rows = _built(config, "month")
    core = _find(rows, "core", MONTH)
    assert core["suppressed"] and "more than 50%" in core["reason"]
    _show(core)
    _write_team_period(config, rows)
    report = audit(config)
    assert DOMINANCE in _rules(report)
    assert "one person made 64% of its changes" in {v.detail for v in report.violations}


def test_a_suppressed_row_with_a_figure_is_found(teams: Config) -> None:
    rows = _built(teams, "month")
    web = _find(rows, "web", MONTH)
    assert web["suppressed"]
    web.update(changes=2, hotspots=[])
    _write_team_period(teams, rows)
    report = audit(teams)
    assert [(v.rule, v.detail) for v in report.violations] == [
        (SUPPRESSED_FIGURE, "suppressed, yet carries changes, hotspots")
    ]
    assert "team 'web', month of 2020-09-01" in report.violations[0].where


def test_a_suppressed_row_shown_as_zero_is_found(teams: Config) -> None:
    rows = _built(teams)
    _find(rows, "docs", WEEK1).update(changes=0, defect_rate=0.0)  # "zero" is a figure too
    _write_team_period(teams, rows)
    assert _rules(audit(teams)) == {SUPPRESSED_FIGURE}


def test_a_total_shown_beside_hidden_teams_is_differencing(teams: Config) -> None:
    # Week 1: total - core - ops = docs and web, F, G and H: three people.
    rows = _built(teams)
    total = _find(rows, ALL_TEAMS, WEEK1)
    assert total["suppressed"] and not _find(rows, "ops", WEEK1)["suppressed"]
    _show(total)
    _write_team_period(teams, rows)
    report = audit(teams)
    assert {UNRECORDED, DIFFERENCING} <= _rules(report)
    found = next(v for v in report.violations if v.rule == DIFFERENCING)
    assert "of 3 person(s)" in found.detail


def test_weeks_against_their_month_are_differencing(teams: Config) -> None:
    # Published as weeks, then as months: docs (F, G, H) is hidden in both; a month
    # total shown beside its weekly publications would give docs and web away.
    _built(teams, "week")
    rows = _built(teams, "month")
    total = _find(rows, ALL_TEAMS, MONTH)
    assert total["suppressed"]
    _show(total)
    _write_team_period(teams, rows)
    assert DIFFERENCING in _rules(audit(teams))


def test_a_republished_cell_that_moved_by_one_person_is_found(teams: Config) -> None:
    rows = _built(teams)
    before = _find(rows, "core", WEEK1)["changes"]
    repo = RepoBuilder(teams.repositories[0].path)  # type: ignore[arg-type]
    repo.clock = int(dt.datetime(2020, 9, 16, tzinfo=dt.UTC).timestamp())
    _commit(repo, A, "core/late.py")
    mine_all(teams)
    features_for(teams)
    rows = _built(teams)
    core = _find(rows, "core", WEEK1)
    assert core["changes"] == before  # the builder waits: one person is behind the move
    assert audit(teams).ok
    core["changes"] = before + 1  # what a naive rebuild would publish
    _write_team_period(teams, rows)
    report = audit(teams)
    assert DIFFERENCING in _rules(report)
    assert any("1 person(s)" in v.detail for v in report.violations)


def test_an_opt_out_after_aggregation_makes_the_table_stale(
    teams: Config, make_config: ConfigFactory, tmp_path: Path
) -> None:
    _built(teams)
    opt_out = tmp_path / "optout.txt"
    opt_out.write_text(f"{A.email}\n", encoding="utf-8")
    repo = teams.repositories[0].path
    assert repo is not None
    config = load_config(
        make_config({"teams": repo}, teams=TEAMS, privacy={"opt_out": str(opt_out)})
    )
    assert OPT_OUT in _rules(audit(config))
    purge(config)
    report = audit(config)
    assert _rules(report) == {STALE}  # core's figures still hold A's changes: rebuild
    # A worked on core and ops: both still count A's changes.
    assert {v.where.split(", ")[1] for v in report.violations} == {"team 'core'", "team 'ops'"}
    rows = _built(config)
    assert _find(rows, "core", WEEK1)["suppressed"]  # four people now
    assert audit(config).ok


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


def test_a_shorter_name_at_the_end_of_a_text_is_found() -> None:
    # "carol" starts a three-word and a two-word name: at the end of the text, the
    # three-word window holds only two words, and must match the two-word name.
    finder = _Finder(
        [("Carol Anne Danvers", "cad@marvel.test"), ("Carol Danvers", "cd@marvel.test")],
        common=frozenset(),
    )
    found = finder.find("Signed off by Carol Danvers", outside_store=True)
    assert found == {(RAW_IDENTITY, "a contributor's name", "c**** d******")}
