"""A synthetic 12-person company: one real git repository that the privacy attacks run on.

Twelve people (one of them, Quentin, later opts out) work over four calendar months on
``src/`` (team core), ``examples/`` (team examples) and ``docs/`` (team docs); fix
commits ("Fix …") repair lines that earlier commits wrote, so SZZ has links to find.
Dates are fixed, so the periods are too: the first commit is on Monday 2024-01-01.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from tests.conftest import TEST_KEY, teamlens_command
from tests.gitrepo import Person, RepoBuilder

PEOPLE: tuple[Person, ...] = (
    Person("Agatha Quernby", "agatha.quernby@company.test", "+0100"),
    Person("Bartholomew Oakes", "bart.oakes@company.test", "+0000"),
    Person("Cressida Vane", "cressida.vane@company.test", "-0500"),
    Person("Desmond Pryce", "desmond.pryce@company.test", "+0200"),
    Person("Euphemia Stroud", "euphemia.stroud@company.test", "+0530"),
    Person("Fitzgerald Nunn", "fitz.nunn@company.test", "-0800"),
    Person("Gwendolyn Achterberg", "gwen.achterberg@company.test", "+0100"),
    Person("Horatio Blackwood", "horatio.blackwood@company.test", "+0000"),
    Person("Isadora Penhaligon", "isadora.penhaligon@company.test", "+0300"),
    Person("Jasper Wintergreen", "jasper.wintergreen@company.test", "-0300"),
    Person("Kallista Moreau", "kallista.moreau@company.test", "+0100"),
    Person("Quentin Solitaire", "quentin.solitaire@company.test", "+0000"),
)
#: The person who works alone on examples/ and later opts out.
LONER = PEOPLE[-1]
START = 1_704_067_200  # Monday 2024-01-01 00:00 UTC
DAY = 86_400

TEAMS: dict[str, list[str]] = {
    "core": ["src/**"],
    "docs": ["docs/**"],
    "examples": ["examples/**"],
}


@dataclass(frozen=True)
class Company:
    path: Path
    people: tuple[Person, ...]
    loner: Person


def _module(name: str, version: int) -> str:
    body = "".join(
        f"def {name}_{i}(x):\n    if x > {i + version}:\n        return x - {i}\n    return x\n\n"
        for i in range(6)
    )
    return f'"""Module {name}."""\n\n' + body


def build_company(path: Path, days: int = 120) -> Company:
    """Build the repository: about one commit per person every few days, ~300 commits."""
    r = RepoBuilder(path)
    r.clock = START
    r.write("src/core.py", _module("core", 0))
    r.write("docs/index.md", "# Docs\n")
    r.write("examples/demo.py", _module("demo", 0))
    r.commit("Initial import", PEOPLE[0])
    version = 1
    for day in range(days):
        for i, person in enumerate(PEOPLE[:-1]):
            if (day + i) % 4:
                continue
            r.clock = START + day * DAY + 3600 * (8 + i % 9)
            version += 1
            if i % 3 == 0:
                r.write(f"src/mod{i}.py", _module(f"mod{i}", version))
                msg = "Fix off-by-one in mod" if day % 10 == 0 and day else "Tune mod"
            elif i % 3 == 1:
                r.write(f"docs/page{i}.md", f"# Page {i}\n\nrevision {version}\n")
                msg = "Document the module"
            else:
                r.write("src/core.py", _module("core", version))
                msg = "Fix core threshold" if day % 7 == 0 else "Refactor core"
            r.commit(msg, person)
        # The loner: examples/ alone, once a week, on a Saturday near the month's end
        # as well (a lone weekend commit is what attack 6 differences out).
        if day % 7 == 5:
            r.clock = START + day * DAY + 3600 * 12
            version += 1
            r.write("examples/demo.py", _module("demo", version))
            r.commit("Fix the demo" if day % 14 == 5 else "Extend the demo", LONER)
    return Company(path, PEOPLE, LONER)


def run_teamlens(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`teamlens ARGS --config CONFIG` as a user runs it (the tests' key in the environment)."""
    return subprocess.run(
        [*teamlens_command(), *args, "--config", str(config)],
        capture_output=True,
        text=True,
        env={**os.environ, "TEAMLENS_KEY": TEST_KEY},
        check=False,
    )


def teamlens_ok(config: Path, *args: str) -> str:
    """:func:`run_teamlens` that must succeed; its standard output."""
    result = run_teamlens(config, *args)
    assert result.returncode == 0, result.stderr
    return result.stdout


def write_config(work: Path, teams: Mapping[str, list[str]] = TEAMS) -> Path:
    """repos.yaml for the company repository in ``work/repo`` (labels mature at once)."""
    doc = {
        "repositories": [{"name": "company", "path": str(work / "repo")}],
        "teams": dict(teams),
        "labels": {"maturity_days": 0},
    }
    config = work / "repos.yaml"
    config.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return config


def featured(work: Path, teams: Mapping[str, list[str]] = TEAMS) -> Path:
    """Build the company in ``work`` and run mine, label and features; its repos.yaml."""
    build_company(work / "repo")
    config = write_config(work, teams)
    for stage in ("mine", "label", "features"):
        teamlens_ok(config, stage)
    return config


def copy_company(config: Path, into: Path) -> Path:
    """A private copy of a company work folder (repository, store); the copy's repos.yaml."""
    shutil.copytree(config.parent, into, symlinks=True)
    teams = yaml.safe_load(config.read_text(encoding="utf-8"))["teams"]
    return write_config(into, teams)
