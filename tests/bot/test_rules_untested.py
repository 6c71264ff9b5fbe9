"""The ``untested`` rule ignores code that only moved, and names the tests that changed
together with the file before (from git when there is no store, from the store's
file_changes when there is one)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from teamlens.bot.moves import moved_functions
from teamlens.features.changes import features_for
from teamlens.features.code_metrics.file_metrics import FunctionChange
from teamlens.mining.tasks import mine_all
from tests.bot.rules_support import messages, rules_config
from tests.conftest import TEST_KEY, teamlens_command
from tests.gitrepo import ALICE, BOB, CAROL, ERIN, ZOE, RepoBuilder


@pytest.fixture(autouse=True)
def _key(key_env: str) -> None:
    """Every test here runs with the test key in the environment."""


def _functions(names: range, indent: str = "") -> str:
    return "".join(
        f"{indent}def step_{i}(value):\n{indent}    if value > {i}:\n"
        f"{indent}        return value - {i}\n{indent}    return value + {i}\n\n\n"
        for i in names
    )


def test_a_change_that_only_moves_fifty_functions_is_silent(
    repo_builder: RepoBuilder, tmp_path: Path
) -> None:
    repo_builder.write("src/steps.py", _functions(range(50)))
    repo_builder.write("src/other.py", "VALUE = 1\n")
    base = repo_builder.commit("Initial import", ALICE)
    # 30 functions move to another file, 20 into a class (re-indented), in a new order.
    repo_builder.write("src/steps.py", "class Steps:\n" + _functions(range(49, 29, -1), "    "))
    repo_builder.write("src/moved.py", _functions(range(30)))
    head = repo_builder.commit("Split steps into two modules", BOB)
    config = rules_config(repo_builder, tmp_path)
    assert "untested" not in messages(config, base, head)
    # One real edit among the moves is named, and only it.
    repo_builder.write("src/moved.py", _functions(range(30)).replace("value + 7\n", "value + 8\n"))
    edited = repo_builder.commit("Move and change step_7", BOB)
    assert messages(config, base, edited)["untested"] == [
        "No test changed alongside 1 changed function: `step_7` (src/moved.py). "
        "Add or update tests for them."
    ]


def _co_changing(repo: RepoBuilder) -> tuple[str, str]:
    """src/calc.py came with tests/test_calc.py and tests/test_misc.py and changed together
    with tests/test_calc.py three more times; then a change to calc's function without a
    test."""
    repo.write("src/calc.py", "def add(a, b):\n    return a + b\n")
    repo.write("tests/test_calc.py", "def test_add():\n    assert True\n")
    repo.write("tests/test_misc.py", "def test_misc():\n    assert True\n")
    repo.write("README.md", "calc\n")
    repo.commit("Initial import", ALICE)
    people = (BOB, CAROL, ZOE, ERIN, ALICE)
    for i in range(3):
        repo.write("src/calc.py", f"def add(a, b):\n    return a + b + {i}\n")
        repo.write("tests/test_calc.py", f"def test_add():\n    assert {i + 1}\n")
        repo.commit(f"Adjust add {i}", people[i])
    for i in range(3):
        repo.write("README.md", f"calc {i}\n")
        repo.commit(f"Document {i}", people[i + 2])
    base = repo.head()
    repo.write("src/calc.py", "def add(a, b):\n    return b + a\n")
    return base, repo.commit("Swap add's operands", BOB)


EXPECTED = (
    "No test changed alongside 1 changed function: `add` (src/calc.py). Add or update tests "
    "for them. Tests that changed together with these files before: tests/test_calc.py "
    "(4 times)."
)


def test_names_the_tests_that_changed_with_the_file_from_git(
    repo_builder: RepoBuilder, tmp_path: Path
) -> None:
    base, head = _co_changing(repo_builder)
    config = rules_config(repo_builder, tmp_path)
    assert messages(config, base, head) == {"untested": [EXPECTED]}  # test_misc: once only
    once = rules_config(repo_builder, tmp_path, review={"rules": {"untested": {"together": 1}}})
    assert messages(once, base, head)["untested"] == [
        EXPECTED.replace("(4 times).", "(4 times), tests/test_misc.py (1 time).")
    ]


def test_names_the_tests_from_the_store_and_no_person(
    repo_builder: RepoBuilder, tmp_path: Path
) -> None:
    base, head = _co_changing(repo_builder)
    config = rules_config(repo_builder, tmp_path)
    # The store holds the history up to the base (the change itself is not mined yet).
    repo_builder.git("branch", "reviewed", head)
    repo_builder.git("reset", "-q", "--hard", base)
    mine_all(config)
    features_for(config)
    repo_builder.git("reset", "-q", "--hard", head)
    assert messages(config, base, head) == {"untested": [EXPECTED]}
    result = subprocess.run(
        [*teamlens_command(), "review", "--base", base, "--head", head, "--format", "json",
         "--config", str(config.path)],
        capture_output=True, text=True, check=False,
        env={"TEAMLENS_KEY": TEST_KEY, "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert [s["message"] for s in doc["suggestions"]] == [EXPECTED]
    text = (result.stdout + result.stderr).lower()
    for person in (ALICE, BOB, CAROL, ZOE, ERIN):
        for word in (person.name.lower(), person.email, person.email.split("@")[0]):
            assert word not in text, word


def test_type_stubs_and_anonymous_functions_are_not_named(
    repo_builder: RepoBuilder, tmp_path: Path
) -> None:
    repo_builder.write("src/calc.pyi", "def add(a: int, b: int) -> int: ...\n")
    repo_builder.write("web/app.js", "run(function () {\n  return 1;\n});\n")
    base = repo_builder.commit("Initial import", ALICE)
    repo_builder.write("src/calc.pyi", "def add(a: float, b: float) -> float: ...\n")
    repo_builder.write("web/app.js", "run(function () {\n  return 2;\n});\n")
    head = repo_builder.commit("Floats; another value", BOB)
    assert "untested" not in messages(rules_config(repo_builder, tmp_path), base, head)


def test_a_new_function_where_a_moved_out_one_started_is_not_moved() -> None:
    # `helper` left a.py (it starts at line 5 of the old version) for b.py; `fresh` is
    # new code that starts at line 5 of a.py's new version.
    functions = [
        ("a.py", FunctionChange("helper", 5, 2, None, body_before="h", body_after=None)),
        ("a.py", FunctionChange("fresh", 5, None, 3, body_before=None, body_after="f")),
        ("b.py", FunctionChange("helper", 1, None, 2, body_before=None, body_after="h")),
    ]
    assert moved_functions(functions) == {0, 2}
