"""Shared by the rule tests (tests/bot/test_rules_*.py): a repos.yaml for a repository
built in the test, and the suggestions of `teamlens review` on one of its changes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from teamlens.bot.domain import Suggestion
from teamlens.bot.review import review_local
from teamlens.config import Config, load_config
from tests.gitrepo import RepoBuilder


def rules_config(repo: RepoBuilder, tmp_path: Path, teams: Any = None, **sections: Any) -> Config:
    """A repos.yaml for `repo` with `teams` (path globs) and other top-level sections."""
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    doc: dict[str, Any] = {
        "repositories": [{"name": "shapes", "path": str(repo.path)}],
        **({"teams": teams} if teams else {}),
        **sections,
    }
    path = work / "repos.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return load_config(path)


def suggestions(config: Config, base: str, head: str) -> dict[str, list[Suggestion]]:
    """The review's suggestions by rule."""
    found: dict[str, list[Suggestion]] = {}
    for s in review_local(config, None, base, head).suggestions:
        found.setdefault(s.rule, []).append(s)
    return found


def messages(config: Config, base: str, head: str) -> dict[str, list[str]]:
    return {
        rule: [s.message for s in found] for rule, found in suggestions(config, base, head).items()
    }
