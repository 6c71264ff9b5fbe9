"""Shared by the rule tests (tests/bot/test_rules_*.py): a repos.yaml for a repository
built in the test, and the suggestions of `teamlens review` on one of its changes."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from teamlens.bot.domain import Suggestion
from teamlens.bot.review import review_local
from teamlens.bot.rules import RULES
from teamlens.config import Config, load_config
from tests.gitrepo import RepoBuilder


def every_rule_on(review: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """repos.yaml's `review` section with every rule of bot.rules switched on where it
    does not say otherwise (``enabled`` or ``disabled_rules``): the rule tests check what
    a rule says, whatever its default (DEFAULT_ENABLED, set from benchmarks/bench_rules.py)."""
    found = dict(review or {})
    listed = set(found.get("disabled_rules", ()))
    rules = {name: dict(settings) for name, settings in dict(found.get("rules", {})).items()}
    for name in RULES:
        if name not in listed:
            rules.setdefault(name, {}).setdefault("enabled", True)
    found["rules"] = rules
    return found


def rules_config(repo: RepoBuilder, tmp_path: Path, teams: Any = None, **sections: Any) -> Config:
    """A repos.yaml for `repo` with `teams` (path globs) and other top-level sections;
    every rule on unless `review` says otherwise (:func:`every_rule_on`)."""
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    doc: dict[str, Any] = {
        "repositories": [{"name": "shapes", "path": str(repo.path)}],
        **({"teams": teams} if teams else {}),
        **sections,
        "review": every_rule_on(sections.get("review")),
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
