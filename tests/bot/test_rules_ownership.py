"""The ``ownership`` rule counts changed lines, not files: renames without edits and
0-line entries say nothing, a tie has no home team, and a team is asked only for a real
share of the change."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.bot.rules_support import messages, rules_config
from tests.gitrepo import ALICE, BOB, RepoBuilder, lines

TEAMS = {"core": ["src/**"], "tests": ["tests/**"], "docs": ["docs/**"]}


@pytest.fixture(autouse=True)
def _key(key_env: str) -> None:
    """Every test here runs with the test key in the environment."""


def _code(n: int, name: str = "value") -> str:
    return "".join(f"{name}_{i} = {i}\n" for i in range(n))


def test_renamed_tests_without_edits_do_not_make_tests_the_home_team(
    repo_builder: RepoBuilder, tmp_path: Path
) -> None:
    """The flask misfire: three test files moved (0 changed lines) and one core file
    edited; files alone made "tests" the home team and asked core to review core code."""
    for i in range(3):
        repo_builder.write(f"tests/old_{i}.py", lines(20, f"test{i}"))
    repo_builder.write("src/app.py", _code(10))
    base = repo_builder.commit("Initial import", ALICE)
    for i in range(3):
        repo_builder.git("mv", f"tests/old_{i}.py", f"tests/new_{i}.py")
    repo_builder.write("src/app.py", _code(30))
    head = repo_builder.commit("Rename tests, more values", BOB)
    config = rules_config(repo_builder, tmp_path, TEAMS)
    assert "ownership" not in messages(config, base, head)


def test_a_tie_has_no_home_team_and_asks_nobody(repo_builder: RepoBuilder, tmp_path: Path) -> None:
    repo_builder.write("src/app.py", _code(5))
    repo_builder.write("docs/guide.py", _code(5, "page"))
    base = repo_builder.commit("Initial import", ALICE)
    repo_builder.write("src/app.py", _code(25))
    repo_builder.write("docs/guide.py", _code(25, "page"))
    head = repo_builder.commit("Twenty more of each", BOB)
    config = rules_config(repo_builder, tmp_path, TEAMS)
    assert "ownership" not in messages(config, base, head)


def test_a_small_share_asks_nobody_and_a_real_share_asks_with_correct_grammar(
    repo_builder: RepoBuilder, tmp_path: Path
) -> None:
    repo_builder.write("src/app.py", _code(5))
    for i in range(3):
        repo_builder.write(f"docs/page{i}.py", _code(2, f"page{i}"))
    base = repo_builder.commit("Initial import", ALICE)
    repo_builder.write("src/app.py", _code(105))  # 100 lines of core
    repo_builder.write("docs/page0.py", _code(5, "page0"))  # 3 lines of docs: 3 %
    small = repo_builder.commit("Values and a doc touch", BOB)
    config = rules_config(repo_builder, tmp_path, TEAMS)
    assert "ownership" not in messages(config, base, small)

    repo_builder.write("src/app.py", _code(145))  # 40 more of core
    repo_builder.write("docs/page0.py", _code(5 + 10, "page0"))  # 10 more of docs each
    repo_builder.write("docs/page1.py", _code(2 + 10, "page1"))
    repo_builder.write("docs/page2.py", _code(2 + 10, "page2"))
    three = repo_builder.commit("Document the values", BOB)
    assert messages(config, small, three)["ownership"] == [
        "3 files here belong to team docs (docs/page0.py, docs/page1.py, docs/page2.py; "
        "30 of the change's 70 changed lines): ask the docs team for a review."
    ]
    # One file: "belongs"; and the thresholds come from repos.yaml.
    repo_builder.write("src/app.py", _code(165))
    repo_builder.write("docs/page0.py", _code(15 + 12, "page0"))
    one = repo_builder.commit("One more doc", BOB)
    assert messages(config, three, one)["ownership"] == [
        "1 file here belongs to team docs (docs/page0.py; 12 of the change's 32 changed "
        "lines): ask the docs team for a review."
    ]
    strict = rules_config(
        repo_builder, tmp_path, TEAMS, review={"rules": {"ownership": {"share": 0.5}}}
    )
    assert "ownership" not in messages(strict, three, one)
    few = rules_config(
        repo_builder, tmp_path, TEAMS, review={"rules": {"ownership": {"lines": 13}}}
    )
    assert "ownership" not in messages(few, three, one)
