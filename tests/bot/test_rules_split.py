"""The ``split`` rule by size and by independent parts, regardless of teams: a large
refactor in one folder of one team still gets the parts it comes apart into."""

from __future__ import annotations

from pathlib import Path

import pytest

from teamlens.bot.split import references
from tests.bot.rules_support import rules_config, suggestions
from tests.gitrepo import ALICE, BOB, RepoBuilder

TEAMS = {"core": ["pkg/**"]}


@pytest.fixture(autouse=True)
def _key(key_env: str) -> None:
    """Every test here runs with the test key in the environment."""


def _module(name: str, uses: str | None, size: int, version: int) -> str:
    """A module of `size` functions; it imports `uses` (another module) when given."""
    head = f"from pkg import {uses}\n\n\n" if uses else ""
    body = "".join(
        f"def {name}_step_{i}(value):\n    return value * {i + version}\n\n\n" for i in range(size)
    )
    return head + body


def _refactor(repo: RepoBuilder) -> tuple[str, str]:
    """Ten modules in pkg/ (one folder, one team): parsing_* import each other in a chain,
    and so do render_*; no parsing module names a render module or the other way round.
    The refactor rewrites every one of them (~3,000 changed lines)."""
    names = [f"parsing_{i}" for i in range(5)] + [f"render_{i}" for i in range(5)]

    def write(version: int) -> None:
        for i, name in enumerate(names):
            uses = names[i - 1] if i % 5 else None
            repo.write(f"pkg/{name}.py", _module(name, uses, 150, version))

    write(0)
    base = repo.commit("Initial import", ALICE)
    write(1)
    head = repo.commit("Refactor the steps", BOB)
    return base, head


def test_a_large_refactor_in_one_folder_of_one_team_gets_its_parts_named(
    repo_builder: RepoBuilder, tmp_path: Path
) -> None:
    base, head = _refactor(repo_builder)
    found = suggestions(rules_config(repo_builder, tmp_path, TEAMS), base, head)["split"]
    assert len(found) == 1
    assert found[0].message == (
        "This change is large (3,000 lines). It comes apart into independent parts (no file "
        "names a file of another part); consider one pull request each: pkg/parsing_0.py, "
        "pkg/parsing_1.py, pkg/parsing_2.py and 2 more (1,500 lines); pkg/render_0.py, "
        "pkg/render_1.py, pkg/render_2.py and 2 more (1,500 lines)."
    )
    assert found[0].details["parts"] == [
        [f"pkg/parsing_{i}.py" for i in range(5)],
        [f"pkg/render_{i}.py" for i in range(5)],
    ]


def test_renames_without_edits_are_a_part_of_their_own(
    repo_builder: RepoBuilder, tmp_path: Path
) -> None:
    repo_builder.write("pkg/engine.py", _module("engine", None, 20, 0))
    for i in range(3):
        repo_builder.write(f"pkg/old_{i}.py", _module(f"old_{i}", None, 5, 0))
    base = repo_builder.commit("Initial import", ALICE)
    repo_builder.write("pkg/engine.py", _module("engine", None, 20, 1))
    for i in range(3):
        repo_builder.git("mv", f"pkg/old_{i}.py", f"pkg/moved_{i}.py")
    head = repo_builder.commit("Move helpers, rework the engine", BOB)
    config = rules_config(repo_builder, tmp_path, TEAMS, review={"rules": {"split": {"lines": 30}}})
    found = suggestions(config, base, head)["split"]
    assert [s.message for s in found] == [
        "This change is large (40 lines). It comes apart into its edits and its renames; "
        "consider one pull request each: pkg/engine.py (40 lines); 3 files renamed without "
        "edits."
    ]


def test_a_small_change_or_one_inseparable_part_stays_silent(
    repo_builder: RepoBuilder, tmp_path: Path
) -> None:
    repo_builder.write("pkg/engine.py", _module("engine", None, 150, 0))
    base = repo_builder.commit("Initial import", ALICE)
    repo_builder.write("pkg/engine.py", _module("engine", None, 150, 1))
    head = repo_builder.commit("Rework the engine", BOB)  # 600 lines, one file
    assert "split" not in suggestions(rules_config(repo_builder, tmp_path, TEAMS), base, head)


def test_references_by_module_name_and_test_name() -> None:
    found = references(
        {
            "src/parser.py": b"import tokens\n",
            "src/tokens.py": b"WORDS = 1\n",
            "tests/test_parser.py": b"def test_it():\n    pass\n",
            "src/utils.py": b"import parser\n",
            "docs/guide.md": b"The utils module.\n",
        }
    )
    assert found == {
        "src/parser.py": ("src/tokens.py",),
        "src/tokens.py": (),
        "tests/test_parser.py": ("src/parser.py",),
        "src/utils.py": ("src/parser.py",),
        "docs/guide.md": (),  # `utils` is too common a name to tell
    }


def test_a_module_moved_into_a_package_is_one_part(
    repo_builder: RepoBuilder, tmp_path: Path
) -> None:
    """Code moved from pkg/engine.py into pkg/engine/*.py ties the old file to the new
    ones: no "pkg/engine/ vs pkg/engine.py" split of what is one move."""
    repo_builder.write("pkg/engine.py", _module("engine", None, 120, 0))
    base = repo_builder.commit("Initial import", ALICE)
    repo_builder.git("rm", "-q", "pkg/engine.py")
    repo_builder.write("pkg/engine/first.py", _module("engine", None, 60, 0))
    whole = _module("engine", None, 120, 0)
    cut = whole.index("def engine_step_60(")
    repo_builder.write("pkg/engine/second.py", whole[cut:])
    repo_builder.write("pkg/engine/__init__.py", "from pkg.engine.first import *\n")
    head = repo_builder.commit("Engine as a package", BOB)
    assert "split" not in suggestions(rules_config(repo_builder, tmp_path, TEAMS), base, head)


def test_folders_split_with_their_tests_and_small_parts_go_with_any(
    repo_builder: RepoBuilder, tmp_path: Path
) -> None:
    """pkg/alpha and pkg/beta name each other (no independent parts): the folders are
    the parts, each test goes with the code it tests, and a 4-line edit elsewhere is no
    pull request of its own."""
    repo_builder.write(
        "pkg/alpha/reader.py", "from pkg.beta import writer\n" + _module("reader", None, 100, 0)
    )
    repo_builder.write(
        "pkg/beta/writer.py", "from pkg.alpha import reader\n" + _module("writer", None, 100, 0)
    )
    repo_builder.write("tests/test_reader.py", "def test_it():\n    assert 0\n")
    repo_builder.write("tests/test_writer.py", "def test_it():\n    assert 0\n")
    repo_builder.write("pkg/version.py", "VERSION = 1\nNAME = 'x'\n")
    base = repo_builder.commit("Initial import", ALICE)
    repo_builder.write(
        "pkg/alpha/reader.py", "from pkg.beta import writer\n" + _module("reader", None, 100, 1)
    )
    repo_builder.write(
        "pkg/beta/writer.py", "from pkg.alpha import reader\n" + _module("writer", None, 100, 1)
    )
    repo_builder.write("tests/test_reader.py", "def test_it():\n    assert 1\n")
    repo_builder.write("tests/test_writer.py", "def test_it():\n    assert 1\n")
    repo_builder.write("pkg/version.py", "VERSION = 2\nNAME = 'y'\n")
    head = repo_builder.commit("Rework reader and writer", BOB)
    found = suggestions(rules_config(repo_builder, tmp_path, TEAMS), base, head)["split"]
    assert [s.message for s in found] == [
        "This change is large (408 lines). It comes apart by directory; consider one pull "
        "request each: pkg/alpha/: pkg/alpha/reader.py, tests/test_reader.py (202 lines); "
        "pkg/beta/: pkg/beta/writer.py, tests/test_writer.py (202 lines); the rest with any "
        "of them (pkg/version.py (4 lines))."
    ]
