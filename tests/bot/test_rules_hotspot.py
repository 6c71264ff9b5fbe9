"""The ``hotspot`` rule by fix density (fix commits / commits touching the file in the
window), and ``review.ignore``: changelogs and other bookkeeping files are never named."""

from __future__ import annotations

from pathlib import Path

import pytest

from teamlens.bot.rules import IgnoredPaths
from teamlens.config.schema import DEFAULT_REVIEW_IGNORE
from tests.bot.rules_support import messages, rules_config
from tests.gitrepo import ALICE, BOB, CAROL, RepoBuilder

DAY = 86_400


@pytest.fixture(autouse=True)
def _key(key_env: str) -> None:
    """Every test here runs with the test key in the environment."""


def _history(repo: RepoBuilder) -> str:
    """CHANGES.rst changes with every commit (8 fixes of 12); parser.py takes 4 fixes of
    5 changes; app.py 2 fixes of 10 changes. Returns the last commit."""
    repo.write("CHANGES.rst", "Changes\n=======\n")
    repo.write("src/parser.py", "def parse(text):\n    return text\n")
    repo.write("src/app.py", "def run():\n    return 0\n")
    repo.commit("Initial import", ALICE)
    for i in range(11):
        repo.clock += DAY
        repo.write(
            "CHANGES.rst", "Changes\n=======\n" + "".join(f"- entry {j}\n" for j in range(i + 1))
        )
        if i < 4:
            repo.write("src/parser.py", f"def parse(text):\n    return text[{i}:]\n")
            repo.commit(f"Fix parser bug {i}", CAROL)
        elif i < 8:
            repo.write("src/app.py", f"def run():\n    return {i}\n")
            repo.commit(f"Fix app crash {i}" if i < 6 else f"Tune app {i}", BOB)
        else:
            repo.write("src/app.py", f"def run():\n    return {i}\n")
            repo.commit(f"Tune app {i}", BOB)
    return repo.head()


def _change(repo: RepoBuilder) -> str:
    repo.clock += DAY
    repo.write("CHANGES.rst", "Changes\n=======\n- the newest entry\n")
    repo.write("src/parser.py", "def parse(text):\n    return text.strip()\n")
    repo.write("src/app.py", "def run():\n    return -1\n")
    repo.write("tests/test_all.py", "def test_all():\n    assert True\n")
    return repo.commit("Strip and run", ALICE)


def test_dense_fixes_are_named_and_a_changelog_with_many_fixes_is_not(
    repo_builder: RepoBuilder, tmp_path: Path
) -> None:
    base = _history(repo_builder)
    head = _change(repo_builder)
    config = rules_config(repo_builder, tmp_path)
    assert messages(config, base, head) == {
        "hotspot": [
            "Files that fixes keep touching (last 365 days): src/parser.py (4 of its 5 changes "
            "were fixes). Hotspots: extra care and tests pay off here."
        ]
    }  # app.py: 2 fixes of 8 changes is below the density; CHANGES.rst is ignored


def test_ignore_extends_or_replaces_the_default(repo_builder: RepoBuilder, tmp_path: Path) -> None:
    base = _history(repo_builder)
    head = _change(repo_builder)
    extended = rules_config(repo_builder, tmp_path, review={"ignore": ["src/parser.py"]})
    assert messages(extended, base, head) == {}
    replaced = rules_config(repo_builder, tmp_path, review={"ignore_defaults": False})
    assert messages(replaced, base, head)["hotspot"] == [
        "Files that fixes keep touching (last 365 days): src/parser.py (4 of its 5 changes "
        "were fixes), CHANGES.rst (6 of its 12 changes were fixes). Hotspots: extra care and "
        "tests pay off here."
    ]


def test_the_window_and_the_minimum_count_hold(repo_builder: RepoBuilder, tmp_path: Path) -> None:
    base = _history(repo_builder)
    head = _change(repo_builder)
    for rules in ({"days": 5}, {"changes": 6}, {"fixes": 5}):
        quiet = rules_config(repo_builder, tmp_path, review={"rules": {"hotspot": rules}})
        assert "hotspot" not in messages(quiet, base, head), rules


def test_default_ignore_globs() -> None:
    ignored = IgnoredPaths(DEFAULT_REVIEW_IGNORE)
    for path in (
        "CHANGES.rst", "docs/CHANGELOG.md", "changelog.txt", "HISTORY.rst", "NEWS",
        "poetry.lock", "Cargo.lock", "web/package-lock.json", "go.sum", "static/app.min.js",
        "api/service_pb2.py", "vendor/github.com/x/y.go", "lib/third_party/z.c",
        "ui/node_modules/left-pad/index.js",
    ):  # fmt: skip
        assert ignored(path), path
    for path in ("src/changes.py", "src/app.py", "docs/news_feed.py", "lock.py", "vendors.py"):
        assert not ignored(path), path


def test_a_file_keeps_its_fixes_through_a_rename(repo_builder: RepoBuilder, tmp_path: Path) -> None:
    repo_builder.write("src/parser.py", "def parse(text):\n    return text\n")
    repo_builder.commit("Initial import", ALICE)
    for i in range(4):
        repo_builder.clock += DAY
        repo_builder.write("src/parser.py", f"def parse(text):\n    return text[{i}:]\n")
        repo_builder.commit(f"Fix parser bug {i}", CAROL)
    repo_builder.git("mv", "src/parser.py", "src/reader.py")
    base = repo_builder.commit("Rename parser to reader", BOB)
    repo_builder.write("src/reader.py", "def parse(text):\n    return text.strip()\n")
    repo_builder.write("tests/test_reader.py", "def test_parse():\n    assert True\n")
    head = repo_builder.commit("Strip", ALICE)
    assert messages(rules_config(repo_builder, tmp_path), base, head) == {
        "hotspot": [
            "Files that fixes keep touching (last 365 days): src/reader.py (4 of its 6 changes "
            "were fixes). Hotspots: extra care and tests pay off here."
        ]
    }
