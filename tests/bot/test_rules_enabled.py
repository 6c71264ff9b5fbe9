"""Per-rule switches: ``review.rules.<name>.enabled`` in repos.yaml over the built-in
default (teamlens.bot.rules.DEFAULT_ENABLED), and ``review.disabled_rules``."""

from __future__ import annotations

from pathlib import Path

import pytest

from teamlens.bot.rules import DEFAULT_ENABLED, RULES, enabled_rules
from teamlens.errors import ConfigError
from tests.bot.rules_support import messages, rules_config, suggestions
from tests.gitrepo import ALICE, BOB, RepoBuilder

SIMPLE = "def area(w, h):\n    return w * h\n"
BRANCHY = "def area(w, h, special=True):\n" + (
    "".join(f"    if w == {i}:\n        return {i}\n" for i in range(6)) + "    return w * h\n"
)


@pytest.fixture(autouse=True)
def _key(key_env: str) -> None:
    """Every test here runs with the test key in the environment."""


def _jump(repo: RepoBuilder) -> tuple[str, str]:
    """A change whose only suggestion is `complexity` (a test changed alongside)."""
    repo.write("geo/shapes.py", SIMPLE)
    repo.write("geo/tests/test_shapes.py", "def test_area():\n    assert True\n")
    base = repo.commit("Initial import", ALICE)
    repo.write("geo/shapes.py", BRANCHY)
    repo.write("geo/tests/test_shapes.py", "def test_area():\n    assert 1\n")
    return base, repo.commit("Special sizes", BOB)


def test_every_rule_has_a_default() -> None:
    assert set(DEFAULT_ENABLED) == {*RULES, "similar"}


def test_a_disabled_rule_is_silent_and_an_enabled_one_speaks(
    repo_builder: RepoBuilder, tmp_path: Path
) -> None:
    base, head = _jump(repo_builder)
    on = {"rules": {"complexity": {"enabled": True}}}
    off = {"rules": {"complexity": {"enabled": False}}}
    found = suggestions(rules_config(repo_builder, tmp_path, review=on), base, head)
    assert set(found) == {"complexity"}
    # Placed on the function's first line, and it knows where the function ends.
    assert (found["complexity"][0].line, found["complexity"][0].end_line) == (1, 14)
    assert messages(rules_config(repo_builder, tmp_path, review=off), base, head) == {}
    listed = {"disabled_rules": ["complexity"]}
    assert messages(rules_config(repo_builder, tmp_path, review=listed), base, head) == {}


def test_repos_yaml_turns_on_a_rule_that_is_off_by_default() -> None:
    defaults = {**DEFAULT_ENABLED, "hotspot": False}
    assert "hotspot" not in enabled_rules(None, (), defaults)
    assert "hotspot" in enabled_rules({"hotspot": True}, (), defaults)
    assert "hotspot" not in enabled_rules({"hotspot": True}, ("hotspot",), defaults)
    assert "split" not in enabled_rules({"split": False}, (), defaults)


def test_bad_switches_are_one_line_errors(repo_builder: RepoBuilder, tmp_path: Path) -> None:
    repo_builder.write("a.py", "A = 1\n")
    repo_builder.commit("Initial import", ALICE)
    with pytest.raises(ConfigError, match=r"review\.rules\.split\.enabled: expected true or false"):
        rules_config(repo_builder, tmp_path, review={"rules": {"split": {"enabled": "yes"}}})
    both = {"rules": {"split": {"enabled": True}}, "disabled_rules": ["split"]}
    with pytest.raises(ConfigError, match="not true for a rule in disabled_rules"):
        rules_config(repo_builder, tmp_path, review=both)
    with pytest.raises(ConfigError, match=r"review\.ignore: expected a list of path globs"):
        rules_config(repo_builder, tmp_path, review={"ignore": "CHANGES*"})
