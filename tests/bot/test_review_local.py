"""`teamlens review --base --head` on real repositories: each rule fires on a planted case
and stays silent on a clean one; outputs name no author."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from teamlens.bot.change import compute_change
from teamlens.bot.review import review_local
from teamlens.config import Config, load_config
from teamlens.features.pipeline import git_history
from tests.bot.rules_support import every_rule_on
from tests.conftest import TEST_KEY, teamlens_command
from tests.gitrepo import ALICE, BOB, CAROL, CAROL_OLD, ERIN, ZOE, Person, RepoBuilder

SIMPLE = "def area(w, h):\n    return w * h\n"
BRANCHY = """def area(w, h):
    if w < 0:
        return 0
    if h < 0:
        return 0
    if w > 100 and h > 100:
        return -1
    for i in range(3):
        if i == w:
            return i
    while h > 10:
        h -= 1
    return w * h
"""


def _config(repo: RepoBuilder, tmp_path: Path, **sections: Any) -> Config:
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    doc: dict[str, Any] = {
        "repositories": [{"name": "shapes", "path": str(repo.path)}],
        "teams": {"geometry": ["geo/**"], "billing": ["billing/**"]},
        **sections,
        "review": every_rule_on(sections.get("review")),  # whatever their defaults
    }
    path = work / "repos.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return load_config(path)


def _base(repo: RepoBuilder) -> str:
    repo.write("geo/shapes.py", SIMPLE)
    repo.write("geo/tests/test_shapes.py", "def test_area():\n    assert True\n")
    repo.write("billing/invoice.py", "def total(items):\n    return sum(items)\n")
    return repo.commit("Initial import", ALICE)


def _rules(config: Config, base: str, head: str) -> dict[str, list[str]]:
    result = review_local(config, None, base, head)
    found: dict[str, list[str]] = {}
    for s in result.suggestions:
        found.setdefault(s.rule, []).append(s.message)
    return found


@pytest.fixture
def key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEAMLENS_KEY", TEST_KEY)


def test_a_small_tested_change_gets_no_suggestion(
    repo_builder: RepoBuilder, tmp_path: Path, key: None
) -> None:
    base = _base(repo_builder)
    repo_builder.write("geo/shapes.py", SIMPLE.replace("w * h", "h * w"))
    repo_builder.write("geo/tests/test_shapes.py", "def test_area():\n    assert 1\n")
    head = repo_builder.commit("Swap factors", BOB)
    assert _rules(_config(repo_builder, tmp_path), base, head) == {}


def test_complexity_jump_names_the_function_and_numbers(
    repo_builder: RepoBuilder, tmp_path: Path, key: None
) -> None:
    base = _base(repo_builder)
    repo_builder.write("geo/shapes.py", BRANCHY)
    repo_builder.write("geo/tests/test_shapes.py", "def test_area():\n    assert 2\n")
    head = repo_builder.commit("Handle edge cases", BOB)
    found = _rules(_config(repo_builder, tmp_path), base, head)
    assert found == {
        "complexity": [
            "The cyclomatic complexity of `area` jumped from 1 to 8. Consider extracting "
            "parts of it or simplifying its branches."
        ]
    }
    silent = _rules(
        _config(repo_builder, tmp_path, review={"rules": {"complexity": {"increase": 8}}}),
        base,
        head,
    )
    assert silent == {}


def test_untested_functions_are_named(repo_builder: RepoBuilder, tmp_path: Path, key: None) -> None:
    base = _base(repo_builder)
    repo_builder.write("geo/shapes.py", SIMPLE + "\n\ndef volume(w, h, d):\n    return w * h * d\n")
    head = repo_builder.commit("Add volume", BOB)
    found = _rules(_config(repo_builder, tmp_path), base, head)
    assert found == {
        "untested": [
            "No test changed alongside 1 changed function: `volume` (geo/shapes.py). "
            "Add or update tests for them."
        ]
    }


def test_hotspots_count_recent_fixes(repo_builder: RepoBuilder, tmp_path: Path, key: None) -> None:
    _base(repo_builder)
    for i in range(4):
        repo_builder.write(
            "billing/invoice.py", f"def total(items):\n    return sum(items) + {i}\n"
        )
        repo_builder.commit(f"Fix rounding bug {i}", CAROL)
    base = repo_builder.head()
    repo_builder.write("billing/invoice.py", "def total(items):\n    return sum(items)\n")
    repo_builder.write("billing/tests/test_invoice.py", "def test_total():\n    assert True\n")
    head = repo_builder.commit("Simplify total", ZOE)
    found = _rules(_config(repo_builder, tmp_path), base, head)
    assert found == {
        "hotspot": [
            "Files that fixes keep touching (last 365 days): billing/invoice.py (4 of its 5 "
            "changes were fixes). Hotspots: extra care and tests pay off here."
        ]
    }
    quiet = _config(repo_builder, tmp_path, review={"rules": {"hotspot": {"fixes": 5}}})
    assert _rules(quiet, base, head) == {}


def test_cross_team_and_large_changes(repo_builder: RepoBuilder, tmp_path: Path, key: None) -> None:
    base = _base(repo_builder)
    for i in range(3):
        repo_builder.write(f"geo/extra{i}.py", "".join(f"X{j} = {j}\n" for j in range(60)))
    repo_builder.write(
        "billing/invoice.py",
        "def total(items):\n    return sum(items)\n" + "".join(f"Y{j} = {j}\n" for j in range(60)),
    )
    repo_builder.write("geo/tests/test_more.py", "def test_more():\n    assert True\n")
    head = repo_builder.commit("Constants everywhere", ERIN)
    # Only the rules under test here (risky lines: tests/bot/test_risky_lines.py).
    config = _config(
        repo_builder,
        tmp_path,
        review={"rules": {"split": {"lines": 150}}, "disabled_rules": ["risky-line"]},
    )
    found = _rules(config, base, head)
    assert set(found) == {"split", "ownership"}
    assert found["split"] == [
        "This change is large (242 lines). It comes apart by owning team; consider one pull "
        "request each: geometry: geo/extra0.py, geo/extra1.py, geo/extra2.py and 1 more "
        "(182 lines); billing: billing/invoice.py (60 lines)."
    ]
    assert found["ownership"] == [
        "1 file here belongs to team billing (billing/invoice.py; 60 of the change's 242 "
        "changed lines): ask the billing team for a review."
    ]
    quiet_lines = {"disabled_rules": ["risky-line"]}
    assert _rules(_config(repo_builder, tmp_path, review=quiet_lines), base, head).keys() == {
        "ownership"
    }


def test_change_features_and_functions(
    repo_builder: RepoBuilder, tmp_path: Path, key: None
) -> None:
    base = _base(repo_builder)
    repo_builder.write("geo/shapes.py", BRANCHY)
    repo_builder.write("geo/new.py", "def fresh():\n    return 1\n")
    head = repo_builder.commit("Fix area for negative sizes", BOB)
    config = _config(repo_builder, tmp_path)
    change = compute_change(config, config.repositories[0], base, head)
    f = change.features
    assert (f["nf"], f["ns"], f["nd"], f["fix"], f["ndev"], f["nuc"]) == (2, 1, 1, 1, 1, 1)
    # BRANCHY keeps SIMPLE's first and last lines: 11 lines added; new.py adds 2.
    assert (f["la"], f["ld"], f["lt"]) == (13, 0, 2)
    assert (f["jit_nf"], f["jit_la"], f["jit_lt"]) == (1, 11, 2)  # geo/new.py is new
    assert {
        (fn.path, fn.name, fn.complexity_before, fn.complexity_after) for fn in change.functions
    } == {
        ("geo/shapes.py", "area", 1, 8),
        ("geo/new.py", "fresh", None, 1),
    }
    shapes = next(x for x in change.files if x.path == "geo/shapes.py")
    assert shapes.added_lines == tuple(range(2, 13))
    assert shapes.owners == ("geometry",)


def test_outputs_name_no_author(repo_builder: RepoBuilder, tmp_path: Path) -> None:
    base = _base(repo_builder)
    repo_builder.write(
        "geo/shapes.py", BRANCHY + "\n\ndef volume(a, b, c):\n    return a * b * c\n"
    )
    repo_builder.write(
        "billing/invoice.py",
        "def total(items):\n    return sum(items) or 0\n"
        + "".join(f"Y{j} = 0\n" for j in range(9)),
    )
    head = repo_builder.commit("Rework by Alice Liddell <alice@example.com>", ALICE)
    config = _config(repo_builder, tmp_path)
    outputs = []
    for fmt in ("md", "json", "sarif"):
        result = subprocess.run(
            [*teamlens_command(), "review", "--base", base, "--head", head, "--format", fmt,
             "--config", str(config.path)],
            capture_output=True, text=True, check=False,
            env={"TEAMLENS_KEY": TEST_KEY, "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        outputs.append(result.stdout + result.stderr)
    doc = json.loads(outputs[1])
    assert set(doc) >= {"risk", "level", "reasons", "suggestions"}
    assert 0 <= doc["risk"] <= 1 and doc["level"] in ("low", "medium", "high")
    assert {s["rule"] for s in doc["suggestions"]} >= {"complexity", "untested", "ownership"}
    sarif = json.loads(outputs[2])
    assert sarif["version"] == "2.1.0"
    text = "\n".join(outputs).lower()
    for person in (ALICE, BOB):
        for word in (person.name.lower(), person.email, person.email.split("@")[0]):
            assert word not in text, word


def test_bad_refs_are_one_clear_line(repo_builder: RepoBuilder, tmp_path: Path) -> None:
    _base(repo_builder)
    config = _config(repo_builder, tmp_path)
    result = subprocess.run(
        [*teamlens_command(), "review", "--base", "nope", "--head", "HEAD",
         "--config", str(config.path)],
        capture_output=True, text=True, check=False,
        env={"TEAMLENS_KEY": TEST_KEY, "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.startswith("teamlens: error: 'nope' is not a commit")


def test_file_history_survives_control_characters_in_identities_and_messages(
    repo_builder: RepoBuilder,
) -> None:
    """git keeps \x1e and \x1f in e-mails and messages; they must not shift the fields."""
    odd = Person("Odd\x1f Name", "odd\x1e@x\x1f.test")
    repo_builder.write("a.py", "A = 1\n")
    repo_builder.write("b.py", "B = 1\n")
    repo_builder.commit("Add a and b", ALICE)
    repo_builder.write("a.py", "A = 2\n")
    repo_builder.commit("fix:\x1e the \x1f value\n\nbody\x1e\x1f", odd)
    repo_builder.write("b.py", "B = 2\n")
    base = repo_builder.commit("Change b\n\nb.py\n", BOB)
    fixes = [re.compile(r"(?i)\bfix")]
    found = git_history(repo_builder.path, base, fixes, False, until=repo_builder.clock)
    assert [len(c.files) for c in found] == [2, 1, 1]
    assert [c.is_fix for c in found] == [False, True, False]
    assert [c.author_id for c in found] == [ALICE.email, odd.email.lower(), BOB.email]


def test_history_without_a_store_leaves_out_opted_out_people(repo_builder: RepoBuilder) -> None:
    """Opt-out is total: the review's git history drops what the store would never hold.

    The opt-out list names Carol's old address; .mailmap gives it her current one, so
    her changes under both addresses are gone, and Bob's stay.
    """
    repo_builder.write(".mailmap", f"{CAROL.name} <{CAROL.email}> <{CAROL_OLD.email}>\n")
    repo_builder.write("a.py", "A = 1\n")
    repo_builder.commit("Add a", ALICE)
    repo_builder.write("a.py", "A = 2\n")
    repo_builder.commit("Change a", CAROL_OLD)
    repo_builder.write("a.py", "A = 3\n")
    repo_builder.commit("Change a again", CAROL)
    repo_builder.write("a.py", "A = 4\n")
    base = repo_builder.commit("Change a once more", BOB)
    everyone = git_history(repo_builder.path, base, [], False, until=repo_builder.clock)
    assert {c.author_id for c in everyone} == {ALICE.email, CAROL.email, BOB.email}
    for listed in ([CAROL_OLD.email], [CAROL.email.upper()]):
        kept = git_history(repo_builder.path, base, [], False, repo_builder.clock, ["a.py"], listed)
        assert [c.author_id for c in kept] == [ALICE.email, BOB.email]
