"""`teamlens review --worktree`: uncommitted work (staged, unstaged, untracked and not
ignored) reviewed against HEAD or --base, without touching the repository's refs, index
or files."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from teamlens.bot.domain import NothingToReview, ReviewResult
from teamlens.bot.worktree import review_worktree, snapshot_worktree
from teamlens.config import Config, load_config
from teamlens.errors import RepositoryError
from teamlens.mining.domain import ChangeType
from tests.bot.rules_support import every_rule_on
from tests.conftest import TEST_KEY, teamlens_command
from tests.gitrepo import ALICE, BOB, RepoBuilder

SHAPES = "def area(w, h):\n    return w * h\n"
BRANCHY = (
    "def area(w, h):\n"
    "    if w < 0:\n        return 0\n"
    "    if h < 0:\n        return 0\n"
    "    for _ in range(3):\n        if w > h:\n            w -= 1\n"
    "    return w * h\n"
)


def _config(repo: RepoBuilder, tmp_path: Path) -> Config:
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    doc = {
        "repositories": [{"name": "shapes", "path": str(repo.path)}],
        "review": every_rule_on(),  # whatever the rules' defaults
    }
    path = work / "repos.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return load_config(path)


def _run(config: Config, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*teamlens_command(), "review", *args, "--config", str(config.path)],
        capture_output=True, text=True, check=False,
        env={"TEAMLENS_KEY": TEST_KEY, "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )  # fmt: skip


def _state(repo: RepoBuilder) -> tuple[str, str, str, str]:
    """What a review must leave as it was: refs, index, status, stash."""
    return (
        repo.git("for-each-ref"),
        repo.git("ls-files", "--stage"),
        repo.git("status", "--porcelain", "--untracked-files=all"),
        repo.git("stash", "list"),
    )


@pytest.fixture
def key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEAMLENS_KEY", TEST_KEY)


@pytest.fixture
def committed(repo_builder: RepoBuilder) -> RepoBuilder:
    repo_builder.write(".gitignore", "*.log\n")
    repo_builder.write("geo/shapes.py", SHAPES)
    repo_builder.write("geo/util.py", "X = 1\n")
    repo_builder.commit("Initial import by Alice Liddell", ALICE)
    return repo_builder


def test_modified_staged_and_untracked_files_are_reviewed(
    committed: RepoBuilder, tmp_path: Path, key: None
) -> None:
    committed.write("geo/shapes.py", BRANCHY)  # modified, not staged
    committed.write("geo/util.py", "X = 2\n")
    committed.git("add", "geo/util.py")  # staged
    committed.write("geo/volume.py", "def volume(a, b, c):\n    return a * b * c\n")  # new
    committed.write("debug.log", "ignored\n")  # ignored: not part of the change
    before = _state(committed)
    head = committed.head()

    found = review_worktree(_config(committed, tmp_path), None)

    assert isinstance(found, ReviewResult)
    files = {f.path: f for f in found.change.files}
    assert set(files) == {"geo/shapes.py", "geo/util.py", "geo/volume.py"}
    assert files["geo/volume.py"].status is ChangeType.ADDED
    assert files["geo/shapes.py"].status is ChangeType.MODIFIED
    assert (files["geo/shapes.py"].added, files["geo/shapes.py"].deleted) == (7, 0)
    assert found.change.base == head
    assert {f.name for f in found.change.functions} >= {"area", "volume"}
    assert 0 <= found.risk <= 1
    assert _state(committed) == before  # no ref, index entry or file changed
    assert committed.head() == head


def test_the_command_in_every_format(committed: RepoBuilder, tmp_path: Path) -> None:
    committed.write("geo/shapes.py", BRANCHY)
    committed.write("geo/volume.py", "def volume(a, b, c):\n    return a * b * c\n")
    config = _config(committed, tmp_path)
    outputs = []
    for fmt in ("md", "json", "sarif"):
        result = _run(config, tmp_path, "--worktree", "--format", fmt)
        assert result.returncode == 0, result.stderr
        outputs.append(result.stdout + result.stderr)
    assert outputs[0].startswith("**teamlens: ")
    doc = json.loads(outputs[1])
    assert doc["level"] in ("low", "medium", "high") and doc["base"] == committed.head()
    assert "untested" in {s["rule"] for s in doc["suggestions"]}
    sarif = json.loads(outputs[2])
    assert all(r["locations"] for r in sarif["runs"][0]["results"])
    text = "\n".join(outputs).lower()
    for word in (ALICE.name.lower(), ALICE.email, ALICE.email.split("@")[0]):
        assert word not in text, word


def test_nothing_changed_is_nothing_to_review(committed: RepoBuilder, tmp_path: Path) -> None:
    committed.write("debug.log", "ignored files are no change\n")
    config = _config(committed, tmp_path)
    result = _run(config, tmp_path, "--worktree")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "teamlens: nothing to review (no uncommitted changes)\n"
    doc = json.loads(_run(config, tmp_path, "--worktree", "--format", "json").stdout)
    assert doc["nothing_to_review"] is True and doc["reason"] == "no uncommitted changes"
    assert doc["base"] == committed.head()


def test_against_a_base_the_commits_since_count_too(
    committed: RepoBuilder, tmp_path: Path, key: None
) -> None:
    base = committed.head()
    committed.git("checkout", "-q", "-b", "feature")
    committed.write("geo/util.py", "X = 3\n")
    committed.commit("Tune", BOB)
    committed.write("geo/shapes.py", BRANCHY)
    config = _config(committed, tmp_path)

    found = review_worktree(config, None, "main")
    assert isinstance(found, ReviewResult)
    assert found.change.base == base
    assert {f.path for f in found.change.files} == {"geo/shapes.py", "geo/util.py"}
    only_uncommitted = review_worktree(config, None)
    assert isinstance(only_uncommitted, ReviewResult)
    assert {f.path for f in only_uncommitted.change.files} == {"geo/shapes.py"}


def test_a_working_tree_that_undoes_the_commits_matches_the_base(
    committed: RepoBuilder, tmp_path: Path, key: None
) -> None:
    committed.git("checkout", "-q", "-b", "feature")
    committed.write("geo/util.py", "X = 3\n")
    committed.commit("Tune", BOB)
    committed.write("geo/util.py", "X = 1\n")  # back to main's text, uncommitted
    found = review_worktree(_config(committed, tmp_path), None, "main")
    assert isinstance(found, NothingToReview)
    assert found.reason == "the working tree matches the merge base"


def test_no_commit_yet_is_one_clear_error(repo_builder: RepoBuilder) -> None:
    repo_builder.write("a.py", "x = 1\n")
    with pytest.raises(RepositoryError, match="no commit yet"):
        snapshot_worktree(repo_builder.path)


def test_worktree_and_head_exclude_each_other(committed: RepoBuilder, tmp_path: Path) -> None:
    config = _config(committed, tmp_path)
    result = _run(config, tmp_path, "--worktree", "--head", "main")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "--worktree" in result.stderr
    result = _run(config, tmp_path, "--worktree", "--github", "o/r#1")
    assert result.returncode == 2 and "exclude each other" in result.stderr
