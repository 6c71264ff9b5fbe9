"""`teamlens review --github OWNER/REPO#N --post` against the local GitHub-compatible server.

A pull request pushed three times (the third a rebase) ends with one summary comment,
no inline comment twice, and never a comment on a line outside the diff.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from teamlens.bot.github import SUMMARY_MARKER, added_lines, review_pull_request
from teamlens.bot.stats import rule_stats
from teamlens.config import Config, load_config
from tests.bot.rules_support import every_rule_on
from tests.conftest import TEST_KEY
from tests.github_server import FakeGitHub, FileChange
from tests.gitrepo import ALICE, BOB, RepoBuilder

TOKEN = "gh-bot-token"
REPO = "acme/shapes"
SIMPLE = "def area(w, h):\n    return w * h\n"
BRANCHY = (
    "def area(w, h):\n    if w < 0:\n        return 0\n    if h < 0:\n        return 0\n"
    "    if w > 100 and h > 100:\n        return -1\n    for i in range(3):\n"
    "        if i == w:\n            return i\n    while h > 10:\n        h -= 1\n"
    "    return w * h\n"
)
# The signature changes too, so the function starts on an added line: an inline comment.
BRANCHY_NEW_SIGNATURE = BRANCHY.replace("def area(w, h):", "def area(w, h, unit=1):")


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with FakeGitHub(token=TOKEN, max_per_page=2) as server:
        for login in ("acme", "octo-alice", "octo-bob", "octo-teamlens"):
            server.add_user(login, type="Organization" if login == "acme" else "User")
        server.add_repo(REPO)
        yield server


def _patch(repo: RepoBuilder, base: str, head: str) -> list[FileChange]:
    out = repo.git("diff", "--no-color", base, head)
    files: list[FileChange] = []
    current: str | None = None
    lines: list[str] = []
    for raw in out.splitlines():
        if raw.startswith("diff --git"):
            if current:
                files.append(FileChange(current, patch="\n".join(lines)))
            current, lines = raw.split(" b/", 1)[1], []
        elif raw.startswith("@@") or (lines and not raw.startswith(("---", "+++", "index "))):
            lines.append(raw)
    if current:
        files.append(FileChange(current, patch="\n".join(lines)))
    return files


@pytest.fixture
def config(
    repo_builder: RepoBuilder, github: FakeGitHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Config:
    monkeypatch.setenv("TEAMLENS_KEY", TEST_KEY)
    monkeypatch.setenv("BOT_TOKEN", TOKEN)
    work = tmp_path / "work"
    work.mkdir()
    doc: dict[str, Any] = {
        "repositories": [{"name": "shapes", "path": str(repo_builder.path), "github": REPO}],
        "github": {"url": github.url, "token_env": "BOT_TOKEN"},
        "review": every_rule_on({"quiet": False}),  # whatever the rules' defaults
    }
    (work / "repos.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    return load_config(work / "repos.yaml")


def _push(
    repo: RepoBuilder, github: FakeGitHub, base: str, number: int | None, content: str
) -> tuple[int, str]:
    repo.write("geo/shapes.py", content)
    head = repo.commit("Handle edge cases", BOB)
    files = _patch(repo, base, head)
    if number is None:
        pull = github.add_pull(
            REPO, author="octo-bob", title="Edge cases", created_at="2026-11-01T00:00:00Z",
            base_sha=base, head_sha=head, files=files,
        )  # fmt: skip
        return pull.number, head
    github.update_pull(REPO, number, head_sha=head, files=files)
    return number, head


def test_three_pushes_one_summary_no_duplicate_inline(
    config: Config, github: FakeGitHub, repo_builder: RepoBuilder
) -> None:
    repo_builder.write("geo/shapes.py", SIMPLE)
    base = repo_builder.commit("Initial import", ALICE)
    for i in range(3):  # other people's comments first, across pages
        github.add_user(f"octo-{i}")
    number, _ = _push(repo_builder, github, base, None, BRANCHY_NEW_SIGNATURE)
    for i in range(3):
        github.add_issue_comment(
            REPO,
            number,
            user=f"octo-{i}",
            body=f"note {i}",
            created_at=f"2026-11-0{i + 2}T00:00:00Z",
        )
    first = review_pull_request(config, f"{REPO}#{number}", post=True)
    assert [(s.rule, s.path, s.line) for s in first.suggestions if s.line] == [
        ("complexity", "geo/shapes.py", 1)
    ]
    # Second push: the same code and a blank line more; third: a rebase (new commit ids).
    number, _ = _push(repo_builder, github, base, number, BRANCHY_NEW_SIGNATURE + "\n")
    review_pull_request(config, f"{REPO}#{number}", post=True)
    repo_builder.git("commit", "--amend", "-q", "-m", "Handle edge cases (rebased)", person=BOB)
    rebased = repo_builder.head()
    github.update_pull(REPO, number, head_sha=rebased, files=_patch(repo_builder, base, rebased))
    review_pull_request(config, f"{REPO}#{number}", post=True)

    summaries = [c for c in github.issue_comments(REPO, number) if SUMMARY_MARKER in c.body]
    assert len(summaries) == 1
    inline = github.review_comments(REPO, number)
    assert len(inline) == 1  # posted on the first push, recognised on the next two
    assert (inline[0].path, inline[0].line) == ("geo/shapes.py", 1)
    statuses = github.statuses(REPO, rebased)
    assert [s.context for s in statuses] == ["teamlens/risk"]
    assert statuses[0].description is not None and "risk" in statuses[0].description
    # No request ever hit 422: no comment outside the diff was attempted.
    assert not [r for r in github.requests if r.status == 422]


def test_inline_comments_only_on_added_lines(
    config: Config, github: FakeGitHub, repo_builder: RepoBuilder
) -> None:
    repo_builder.write("geo/shapes.py", "# header\n" + SIMPLE)
    base = repo_builder.commit("Initial import", ALICE)
    # The function starts on an unchanged line: its complexity jump is told in the summary.
    number, _ = _push(repo_builder, github, base, None, "# header\n" + BRANCHY)
    result = review_pull_request(config, f"{REPO}#{number}", post=True)
    jump = next(s for s in result.suggestions if s.rule == "complexity")
    assert jump.line is None
    assert github.review_comments(REPO, number) == []
    summary = next(c for c in github.issue_comments(REPO, number) if SUMMARY_MARKER in c.body)
    assert "jumped from 1 to 8" in summary.body


def test_added_lines_of_a_patch() -> None:
    patch = "@@ -1,3 +1,4 @@\n a\n-b\n+B\n+C\n c\n@@ -10,2 +11,2 @@\n x\n+y"
    assert added_lines(patch) == {2, 3, 12}


def test_no_login_or_name_in_anything_posted(
    config: Config, github: FakeGitHub, repo_builder: RepoBuilder
) -> None:
    repo_builder.write("geo/shapes.py", SIMPLE)
    base = repo_builder.commit("Initial import by Alice Liddell", ALICE)
    number, _ = _push(repo_builder, github, base, None, BRANCHY)
    review_pull_request(config, f"{REPO}#{number}", post=True)
    posted = [c.body for c in github.issue_comments(REPO, number)]
    posted += [c.body for c in github.review_comments(REPO, number)]
    posted += [
        s.description or "" for s in github.statuses(REPO, github.pull(REPO, number).head_sha)
    ]
    text = "\n".join(posted).lower()
    assert posted
    for word in ("octo-bob", "octo-alice", ALICE.name.lower(), ALICE.email, BOB.name.lower(),
                 BOB.email, "bob.builder"):  # fmt: skip
        assert word not in text, word


def test_bot_stats_count_reactions_per_rule(
    config: Config, github: FakeGitHub, repo_builder: RepoBuilder
) -> None:
    repo_builder.write("geo/shapes.py", SIMPLE)
    base = repo_builder.commit("Initial import", ALICE)
    number, _ = _push(repo_builder, github, base, None, BRANCHY_NEW_SIGNATURE)
    review_pull_request(config, f"{REPO}#{number}", post=True)
    inline = github.review_comments(REPO, number)
    assert len(inline) == 1
    github.add_reaction("review_comment", inline[0].id, user="octo-alice", content="-1")
    github.add_reaction("review_comment", inline[0].id, user="octo-bob", content="+1")
    rows = rule_stats(config, None, 10)
    assert [(r.rule, r.comments, r.useful, r.not_useful) for r in rows] == [
        (inline_rule(inline[0].body), 1, 1, 1)
    ]
    assert rows[0].not_useful_rate == 0.5


def inline_rule(body: str) -> str:
    return body.rsplit("rule=", 1)[1].split(" ", 1)[0]


def test_review_command_posts_once(
    config: Config, github: FakeGitHub, repo_builder: RepoBuilder, tmp_path: Path
) -> None:
    repo_builder.write("geo/shapes.py", SIMPLE)
    base = repo_builder.commit("Initial import", ALICE)
    number, _ = _push(repo_builder, github, base, None, BRANCHY)
    import os
    import sys

    command = [
        str(Path(sys.executable).parent / "teamlens"), "review", "--github", f"{REPO}#{number}",
        "--post", "--format", "json", "--config", str(config.path),
    ]  # fmt: skip
    env = {**os.environ, "TEAMLENS_KEY": TEST_KEY, "BOT_TOKEN": TOKEN}
    for _ in range(2):
        result = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
        assert result.returncode == 0, result.stderr
    assert len([c for c in github.issue_comments(REPO, number) if SUMMARY_MARKER in c.body]) == 1
    bad = subprocess.run(
        [*command[:3], "acme/shapes#999", *command[4:]], capture_output=True, text=True,
        check=False, env=env,
    )  # fmt: skip
    assert bad.returncode == 1 and "not found" in bad.stderr
