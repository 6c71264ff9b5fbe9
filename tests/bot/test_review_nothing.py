"""`teamlens review` on a change with nothing in it: one line (or a small JSON object, or a
SARIF log without results), exit code 0, no risk and no reasons."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from teamlens.bot.domain import NothingToReview, ReviewResult
from teamlens.bot.review import review_local_or_nothing
from teamlens.config import Config, load_config
from tests.conftest import TEST_KEY, teamlens_command
from tests.gitrepo import ALICE, BOB, RepoBuilder


def _config(repo: RepoBuilder, tmp_path: Path) -> Config:
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    doc = {"repositories": [{"name": "shapes", "path": str(repo.path)}]}
    path = work / "repos.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return load_config(path)


def _review(config: Config, tmp_path: Path, base: str, head: str, fmt: str) -> str:
    result = subprocess.run(
        [*teamlens_command(), "review", "--base", base, "--head", head, "--format", fmt,
         "--config", str(config.path)],
        capture_output=True, text=True, check=False,
        env={"TEAMLENS_KEY": TEST_KEY, "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return result.stdout


def _branch(repo: RepoBuilder) -> str:
    return repo.git("rev-parse", "--abbrev-ref", "HEAD").strip()


@pytest.fixture
def key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEAMLENS_KEY", TEST_KEY)


def test_same_base_and_head_is_nothing_to_review(repo_builder: RepoBuilder, tmp_path: Path) -> None:
    repo_builder.write("geo/shapes.py", "def area(w, h):\n    return w * h\n")
    repo_builder.commit("Initial import by Alice Liddell", ALICE)
    config = _config(repo_builder, tmp_path)
    branch = _branch(repo_builder)

    text = _review(config, tmp_path, branch, branch, "md")
    assert text == ("teamlens: nothing to review (no commits between the merge base and head)\n")
    doc = json.loads(_review(config, tmp_path, branch, branch, "json"))
    assert doc["nothing_to_review"] is True
    assert not {"risk", "level", "reasons", "suggestions"} & set(doc)
    sarif = json.loads(_review(config, tmp_path, branch, branch, "sarif"))
    assert sarif["version"] == "2.1.0"
    assert sarif["runs"][0]["results"] == []
    assert sarif["runs"][0]["properties"]["nothingToReview"] is True
    outputs = (text + json.dumps(doc) + json.dumps(sarif)).lower()
    for word in (ALICE.name.lower(), ALICE.email, ALICE.email.split("@")[0]):
        assert word not in outputs, word


def test_head_behind_base_is_nothing_to_review(
    repo_builder: RepoBuilder, tmp_path: Path, key: None
) -> None:
    """head is an ancestor of base: the merge base is head itself."""
    repo_builder.write("a.py", "x = 1\n")
    old = repo_builder.commit("one", ALICE)
    repo_builder.write("a.py", "x = 2\n")
    new = repo_builder.commit("two", BOB)
    found = review_local_or_nothing(_config(repo_builder, tmp_path), None, new, old)
    assert found == NothingToReview("shapes", old, old)


def test_an_empty_diff_is_nothing_to_review(
    repo_builder: RepoBuilder, tmp_path: Path, key: None
) -> None:
    """Commits whose changes cancel out (added, then removed) leave nothing to review."""
    repo_builder.write("geo/shapes.py", "def area(w, h):\n    return w * h\n")
    base = repo_builder.commit("Initial import", ALICE)
    repo_builder.write("geo/scratch.py", "print('try')\n")
    repo_builder.commit("Try something", BOB)
    os.remove(repo_builder.path / "geo" / "scratch.py")
    head = repo_builder.commit("Undo the try", BOB)
    config = _config(repo_builder, tmp_path)

    found = review_local_or_nothing(config, None, base, head)
    assert isinstance(found, NothingToReview)
    assert found.reason == "the diff between the merge base and head is empty"
    assert _review(config, tmp_path, base, head, "md") == (
        "teamlens: nothing to review (the diff between the merge base and head is empty)\n"
    )


def test_a_real_change_is_still_reviewed(
    repo_builder: RepoBuilder, tmp_path: Path, key: None
) -> None:
    repo_builder.write("geo/shapes.py", "def area(w, h):\n    return w * h\n")
    base = repo_builder.commit("Initial import", ALICE)
    repo_builder.write("geo/shapes.py", "def area(w, h):\n    return h * w\n")
    head = repo_builder.commit("Swap", BOB)
    found = review_local_or_nothing(_config(repo_builder, tmp_path), None, base, head)
    assert isinstance(found, ReviewResult)
    assert 0 <= found.risk <= 1
