"""GitHub mining against a real local GitHub-compatible server (tests/github_server/)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from teamlens.config import Config, load_config
from teamlens.features.changes import features_for
from teamlens.mining.backoff import WaitBudget
from teamlens.mining.github import mine_github
from teamlens.mining.tasks import mine_all
from teamlens.privacy import Pseudonymizer
from teamlens.store import Store
from tests.conftest import TEST_KEY, teamlens_command
from tests.github_server import FakeGitHub, FileChange, secondary_rate_limit, server_error
from tests.gitrepo import ALICE, BOB, RepoBuilder

TOKEN = "gh-test-token"
REPO = "acme/widgets"
PATCH = "@@ -1,3 +1,4 @@\n line one\n-line two\n+line 2\n+line three\n line four"
HUMANS = {
    "octo-alice": ("Alice Example", "alice@example.test"),
    "octo-bob": ("Bob Sample", "bob.sample@example.test"),
    "octo-carol": ("Carol Person", "carol.person@example.test"),
    "octo-dan": ("Dan Private", "dan.private@example.test"),
}
BOT = "dependabot[bot]"


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with FakeGitHub(token=TOKEN, max_per_page=3) as server:
        for login, (name, email) in HUMANS.items():
            server.add_user(login, name=name, email=email)
        server.add_user(BOT, type="Bot")
        server.add_user("acme", type="Organization")
        server.add_repo(REPO)
        yield server


def _day(n: int, hour: int = 0) -> str:
    return f"2026-10-{n:02d}T{hour:02d}:00:00Z"


def _populate(server: FakeGitHub, count: int = 7) -> None:
    """`count` pull requests, each with three reviews and a review-comment thread.

    The reviews: the reviewer's (holding the thread's first comment), the author's reply
    (GitHub makes a single comment a review of its own) and a bot's.
    """
    authors = ["octo-alice", "octo-bob", "octo-carol", BOT]
    for i in range(1, count + 1):
        author = authors[i % len(authors)]
        pull = server.add_pull(
            REPO,
            author=author,
            title=f"Improve parsing, part {i} (thanks @octo-dan)",
            created_at=_day(i),
            files=[FileChange("src/parse.py", patch=PATCH)],
            comments=i % 3,
        )
        reviewer = "octo-bob" if author != "octo-bob" else "octo-alice"
        review = server.add_review(
            REPO,
            pull.number,
            user=reviewer,
            state="CHANGES_REQUESTED",
            submitted_at=_day(i, 2),
            body=f"Please rename this, {reviewer}",
        )
        first = server.add_review_comment(
            REPO,
            pull.number,
            user=reviewer,
            body="Why line 2? cc @octo-carol",
            created_at=_day(i, 3),
            path="src/parse.py",
            line=2,
            review_id=review.id,
        )
        server.add_review_comment(
            REPO,
            pull.number,
            user=author,
            body="Fixed, thanks",
            created_at=_day(i, 4),
            in_reply_to=first.id,
        )
        server.add_review(REPO, pull.number, user=BOT, state="COMMENTED", submitted_at=_day(i, 5))
        if i % 2:
            server.close_pull(REPO, pull.number, at=_day(i, 6), merged=True, merged_by=reviewer)


@dataclass(frozen=True)
class Setup:
    config: Config
    config_path: Path


@pytest.fixture
def setup(
    repo_builder: RepoBuilder, github: FakeGitHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Setup:
    repo_builder.write("src/parse.py", "line one\nline two\nline four\n")
    repo_builder.commit("Initial import", ALICE)
    monkeypatch.setenv("TEAMLENS_KEY", TEST_KEY)
    monkeypatch.setenv("GH_TOKEN_FOR_TESTS", TOKEN)
    work = tmp_path / "work"
    work.mkdir()
    (work / "optout.txt").write_text("octo-dan\n", encoding="utf-8")
    doc: dict[str, Any] = {
        "repositories": [{"name": "widgets", "path": str(repo_builder.path), "github": REPO}],
        "github": {"url": github.url, "token_env": "GH_TOKEN_FOR_TESTS", "per_page": 3},
        "privacy": {"opt_out": "optout.txt", "retention_days": 36500},
    }
    path = work / "repos.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return Setup(load_config(path), path)


def _views(config: Config) -> dict[str, list[tuple[Any, ...]]]:
    store = Store(config.data_dir)
    order = {
        "pull_requests": "number",
        "pull_request_files": "number, path",
        "reviews": "review_id",
        "review_comments": "comment_id",
    }
    return {t: store.query(f"SELECT * FROM {t} ORDER BY {o}").rows for t, o in order.items()}  # noqa: S608


def _mine(config: Config, budget: WaitBudget | None = None) -> Any:
    return mine_github(config, config.repositories[0], budget=budget)


def test_three_pages_are_mined_completely_and_a_second_run_asks_almost_nothing(
    setup: Setup, github: FakeGitHub
) -> None:
    _populate(github)
    report = _mine(setup.config)
    assert report.pull_requests == 7 and report.stopped is None
    listing = [r for r in github.requests if r.api_path.endswith("/pulls")]
    assert len(listing) == 3  # 7 pull requests, 3 per page
    views = _views(setup.config)
    assert [r[1] for r in views["pull_requests"]] == list(range(1, 8))
    assert len(views["pull_request_files"]) == 7
    assert len(views["reviews"]) == 21 and len(views["review_comments"]) == 14
    store = Store(setup.config.data_dir)
    merged = store.query("SELECT count(*) FROM pull_requests WHERE state = 'merged'").rows
    assert merged == [(4,)]
    replies = store.query(
        "SELECT count(*) FROM review_comments c JOIN review_comments f"
        " ON c.in_reply_to = f.comment_id AND c.repo = f.repo"
    ).rows
    assert replies == [(7,)]
    assert store.query("SELECT DISTINCT line, side FROM review_comments").rows == [(2, "RIGHT")]

    github.reset_requests()
    again = _mine(setup.config)
    assert again.pull_requests == 0
    assert len(github.requests) <= 2  # the repository, and the first page answered 304
    assert [r.status for r in github.requests if r.api_path.endswith("/pulls")] == [304]
    assert _views(setup.config) == views


def test_only_updated_pull_requests_are_fetched_again(setup: Setup, github: FakeGitHub) -> None:
    _populate(github)
    _mine(setup.config)
    github.add_review(REPO, 3, user="octo-carol", state="APPROVED", submitted_at=_day(20))
    github.reset_requests()
    report = _mine(setup.config)
    assert report.pull_requests == 1
    fetched = {r.api_path for r in github.requests}
    assert not any("/pulls/5" in p or "/pulls/1" in p for p in fetched)
    reviews = (
        Store(setup.config.data_dir).query("SELECT count(*) FROM reviews WHERE number = 3").rows
    )
    assert reviews == [(4,)]  # three, and the new one; the latest fetch only
    assert Store(setup.config.data_dir).query("SELECT count(*) FROM pull_requests").rows == [(7,)]


def test_a_short_secondary_rate_limit_is_waited_out(setup: Setup, github: FakeGitHub) -> None:
    _populate(github)
    github.inject(secondary_rate_limit(r"/pulls/4/reviews", retry_after=1))
    github.inject(server_error(r"/pulls/5$", status=502))
    slept: list[float] = []
    report = _mine(setup.config, WaitBudget(60, sleep=slept.append))
    assert report.stopped is None and report.pull_requests == 7
    assert slept == [1.0, 1.0]  # Retry-After, then the first backoff step after the 502
    assert len(_views(setup.config)["pull_requests"]) == 7


def test_a_long_rate_limit_stops_cleanly_and_the_next_run_resumes(
    setup: Setup, github: FakeGitHub, tmp_path: Path, repo_builder: RepoBuilder
) -> None:
    _populate(github)
    github.inject(secondary_rate_limit(r"/pulls/4/reviews", retry_after=3600))
    first = _mine(setup.config, WaitBudget(60, sleep=lambda s: None))
    assert first.stopped is not None and "3600" in first.stopped
    assert first.pull_requests == 3
    second = _mine(setup.config)
    assert second.stopped is None and second.pull_requests == 4
    resumed = _views(setup.config)
    # An uninterrupted run into a fresh data folder holds exactly the same.
    fresh = yaml.safe_load(setup.config_path.read_text(encoding="utf-8"))
    fresh["data_dir"] = str(tmp_path / "fresh")
    other = tmp_path / "work" / "fresh.yaml"
    other.write_text(yaml.safe_dump(fresh), encoding="utf-8")
    uninterrupted = load_config(other)
    _mine(uninterrupted)
    assert resumed == _views(uninterrupted)


def test_dropped_connections_and_server_errors_are_retried(
    setup: Setup, github: FakeGitHub
) -> None:
    _populate(github, 2)
    from tests.github_server import Fault

    github.inject(Fault(r"/pulls/1/files", drop=True))
    github.inject(server_error(r"/pulls/2/comments", status=500, times=2))
    slept: list[float] = []
    report = _mine(setup.config, WaitBudget(60, sleep=slept.append))
    assert report.pull_requests == 2
    assert slept == [1.0, 1.0, 2.0]


def _forbidden() -> set[str]:
    found = {BOT}
    for login, (name, email) in HUMANS.items():
        found |= {login, name.lower(), email, email.split("@")[0]}
    return found


def test_no_login_name_or_email_reaches_the_data_folder(setup: Setup, github: FakeGitHub) -> None:
    _populate(github)
    _mine(setup.config)
    files = [p for p in setup.config.data_dir.rglob("*") if p.is_file()]
    assert any(p.suffix == ".parquet" for p in files)
    leaks = []
    for path in files:
        raw = path.read_bytes().lower()
        leaks += [f"{path.name}: {s}" for s in _forbidden() if s.lower().encode() in raw]
    assert leaks == []
    store = Store(setup.config.data_dir)
    titles = store.query("SELECT DISTINCT title FROM pull_requests ORDER BY 1 LIMIT 1").rows
    assert titles == [("Improve parsing, part 1 (thanks @<person>)",)]
    bodies = {b for (b,) in store.query("SELECT body FROM review_comments").rows}
    assert "Why line 2? cc @<person>" in bodies


def test_bots_are_flagged_and_opted_out_people_have_no_rows(
    setup: Setup, github: FakeGitHub
) -> None:
    _populate(github)
    github.add_pull(REPO, author="octo-dan", title="Private work", created_at=_day(9))
    github.add_review(REPO, 1, user="octo-dan", state="APPROVED", submitted_at=_day(21))
    _mine(setup.config)
    store = Store(setup.config.data_dir)
    assert store.query("SELECT count(*) FROM pull_requests").rows == [(7,)]  # not Dan's
    assert store.query("SELECT count(*) FROM reviews WHERE number = 1").rows == [(3,)]
    bots = store.query("SELECT count(*) FROM pull_requests WHERE author_is_bot").rows
    assert bots == [(2,)]  # pull requests 3 and 7 are the bot's
    reviewer_bots = store.query("SELECT count(*) FROM reviews WHERE reviewer_is_bot").rows
    assert reviewer_bots == [(9,)]  # one per pull request, and the bot's own replies on 3, 7


def test_opting_out_later_purges_stored_rows(setup: Setup, github: FakeGitHub) -> None:
    _populate(github)
    _mine(setup.config)
    store = Store(setup.config.data_dir)
    before = store.query("SELECT count(*) FROM reviews WHERE NOT reviewer_is_bot").rows
    (setup.config_path.parent / "optout.txt").write_text("octo-dan\nocto-bob\n", encoding="utf-8")
    report = _mine(load_config(setup.config_path))
    assert report.rows_purged > 0
    after = store.query("SELECT count(*) FROM reviews WHERE NOT reviewer_is_bot").rows
    assert after[0][0] < before[0][0]
    bob = Pseudonymizer(TEST_KEY.encode()).pseudonym("github:octo-bob")
    assert store.query(
        "SELECT (SELECT count(*) FROM pull_requests WHERE author_id = $1)"
        " + (SELECT count(*) FROM reviews WHERE reviewer_id = $1)"
        " + (SELECT count(*) FROM review_comments WHERE author_id = $1)",
        [bob],
    ).rows == [(0,)]
    orphans = store.query(
        "SELECT (SELECT count(*) FROM reviews WHERE number NOT IN"
        " (SELECT number FROM pull_requests))"
        " + (SELECT count(*) FROM pull_request_files WHERE number NOT IN"
        " (SELECT number FROM pull_requests))"
    ).rows
    assert orphans == [(0,)]  # nothing attached to bob's pull requests stays behind
    alice = Pseudonymizer(TEST_KEY.encode()).pseudonym("github:octo-alice")
    assert store.query("SELECT count(*) FROM reviews WHERE reviewer_id = ?", [alice]).rows != [
        (0,)
    ]  # the pseudonyms are the ones stored: the check above can fail


def test_old_comment_text_is_not_kept(setup: Setup, github: FakeGitHub) -> None:
    _populate(github, 2)
    doc = yaml.safe_load(setup.config_path.read_text(encoding="utf-8"))
    doc["privacy"]["retention_days"] = 10  # the comments are from October 2026 and older
    setup.config_path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    config = load_config(setup.config_path)
    github.add_review_comment(
        REPO,
        1,
        user="octo-carol",
        body="A fresh remark",
        created_at="2099-01-01T00:00:00Z",
        path="src/parse.py",
        line=2,
    )
    _mine(config)
    bodies = (
        Store(config.data_dir).query("SELECT body FROM review_comments ORDER BY comment_id").rows
    )
    assert [b for (b,) in bodies if b is not None] == ["A fresh remark"]


def _store_snapshot(config: Config) -> dict[str, bytes]:
    root = config.data_dir / "store"
    if not root.exists():
        return {}
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("no-token", "environment variable GH_TOKEN_FOR_TESTS is not set"),
        ("wrong-token", "refused the token (401 Bad credentials)"),
        ("unknown-repo", "not found on GitHub (404)"),
        ("malformed", "a response teamlens cannot read"),
    ],
)
def test_bad_input_is_one_clear_error_and_the_store_is_unchanged(
    setup: Setup, github: FakeGitHub, change: str, message: str
) -> None:
    _populate(github, 2)
    subprocess.run(
        [*teamlens_command(), "mine", "--no-github", "--quiet", "--config", str(setup.config_path)],
        check=True,
        capture_output=True,
    )
    before = _store_snapshot(setup.config)
    env = {"TEAMLENS_KEY": TEST_KEY, "GH_TOKEN_FOR_TESTS": TOKEN}
    if change == "no-token":
        del env["GH_TOKEN_FOR_TESTS"]
    elif change == "wrong-token":
        env["GH_TOKEN_FOR_TESTS"] = "not-the-token"
    elif change == "unknown-repo":
        doc = yaml.safe_load(setup.config_path.read_text(encoding="utf-8"))
        doc["repositories"][0]["github"] = "acme/nothing-here"
        setup.config_path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    else:
        from tests.github_server import Fault

        github.inject(Fault(r"/repos/acme/widgets$", malformed=True, times=10))
    import os

    result = subprocess.run(
        [*teamlens_command(), "mine", "--quiet", "--config", str(setup.config_path)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **env}
        if change != "no-token"
        else {k: v for k, v in {**os.environ, **env}.items() if k != "GH_TOKEN_FOR_TESTS"},
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("teamlens: error: ")
    assert message in lines[0]
    assert TOKEN not in result.stderr
    assert _store_snapshot(setup.config) == before


def test_review_facts_per_change(
    setup: Setup, github: FakeGitHub, repo_builder: RepoBuilder
) -> None:
    repo_builder.write("src/parse.py", "line one\nline 2\nline three\nline four\n")
    squashed = repo_builder.commit("Improve parsing (#1)", BOB)
    pull = github.add_pull(
        REPO,
        author="octo-bob",
        title="Improve parsing",
        created_at=_day(1),
        files=[FileChange("src/parse.py", patch=PATCH)],
    )
    github.add_review(
        REPO,
        pull.number,
        user="octo-alice",
        state="CHANGES_REQUESTED",
        submitted_at=_day(1, 3),
        commit_id="a" * 40,
    )
    github.add_review(
        REPO,
        pull.number,
        user="octo-carol",
        state="APPROVED",
        submitted_at=_day(2),
        commit_id="b" * 40,
    )
    github.add_review(REPO, pull.number, user=BOT, state="APPROVED", submitted_at=_day(1, 1))
    github.close_pull(REPO, pull.number, at=_day(2, 1), merged=True, merged_by="octo-carol")
    github.update_pull(REPO, pull.number, merge_commit_sha=squashed)
    mine_all(setup.config)
    _mine(setup.config)
    features_for(setup.config)
    rows = (
        Store(setup.config.data_dir)
        .query(
            "SELECT sha, number, reviewed, review_rounds, hours_to_first_review, n_reviewers"
            " FROM change_reviews"
        )
        .rows
    )
    assert rows == [(squashed, pull.number, True, 2, 3.0, 2)]


def test_mine_prints_a_github_line(setup: Setup, github: FakeGitHub) -> None:
    _populate(github, 4)
    import os

    result = subprocess.run(
        [*teamlens_command(), "mine", "--config", str(setup.config_path)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "TEAMLENS_KEY": TEST_KEY, "GH_TOKEN_FOR_TESTS": TOKEN},
    )
    assert result.returncode == 0, result.stderr
    assert "widgets: 4 pull requests updated on GitHub" in result.stdout


def test_an_exhausted_primary_limit_waits_until_its_reset(setup: Setup, github: FakeGitHub) -> None:
    from tests.github_server import primary_rate_limit

    _populate(github, 2)
    github.inject(primary_rate_limit(r"/pulls/2$", reset_at=2_000_000_030))
    slept: list[float] = []
    clock = WaitBudget(120, sleep=slept.append, now=lambda: 2_000_000_000.0)
    report = _mine(setup.config, clock)
    assert report.pull_requests == 2
    assert slept == [31.0]  # until the reset, plus a second
    assert clock.waits[0][1] == "primary rate limit (403) until reset"


def test_an_opt_out_by_e_mail_matches_the_github_profile(setup: Setup, github: FakeGitHub) -> None:
    _populate(github, 2)
    github.add_pull(REPO, author="octo-dan", title="Private work", created_at=_day(9))
    (setup.config_path.parent / "optout.txt").write_text(
        "Dan.Private@example.test\n", encoding="utf-8"
    )
    _mine(load_config(setup.config_path))
    dan = Pseudonymizer(TEST_KEY.encode()).pseudonym("github:octo-dan")
    store = Store(setup.config.data_dir)
    assert store.query("SELECT count(*) FROM pull_requests").rows == [(2,)]
    assert store.query("SELECT count(*) FROM pull_requests WHERE author_id = ?", [dan]).rows == [
        (0,)
    ]
    assert any(r.api_path.endswith("/users/octo-dan") for r in github.requests)
