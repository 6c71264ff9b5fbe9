"""Risky lines on built repositories: a planted complex line of a function that earlier
fixes touched ranks above trivial lines; the review carries the lines as inline
suggestions in JSON, SARIF and Markdown, only for medium and high risk, and no person's
name or e-mail is in any output."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pygit2
import pytest
import yaml

from teamlens.bot.change import compute_change
from teamlens.bot.github import review_pull_request
from teamlens.bot.lines import RULE, rank_lines, review_lines
from teamlens.bot.render import to_json, to_markdown, to_sarif_json
from teamlens.bot.review import review_local
from teamlens.config import Config, load_config
from teamlens.features.changes import build_features
from teamlens.features.code_metrics.line_facts import added_line_facts
from teamlens.features.lines import change_lines
from teamlens.mining.szz import label_repository
from teamlens.mining.tasks import mine_all
from teamlens.model.registry import DEFAULT_MODEL_DIR, SavedModel, load_model
from tests.bot.test_review_github import _patch as github_patch
from tests.github_server import FakeGitHub
from tests.gitrepo import ALICE, BOB, CAROL, ERIN, EVERYONE, ZOE, RepoBuilder

DAY = 86_400

PARSE = '''def parse(text, flags):
    """Split `text` into tokens."""
    tokens = []
    for token in text.split():
        if token.startswith("--"):
            tokens.append(token[2:])
{extra}        else:
            tokens.append(token)
    return tokens
'''

PLANTED = """        elif token.startswith("-") and len(token) > 1:
            for ch in token[1:]:
                if ch not in flags:
                    raise ValueError(ch)
"""

TRIVIAL = """

SEPARATOR = ","


def version():
    return "1.0"
"""


def _app(extra: str = "", tail: str = "") -> str:
    return PARSE.format(extra=extra) + tail


def _history(r: RepoBuilder) -> tuple[str, str]:
    """`parse` changed and fixed several times, then the change under review."""

    def commit(message: str, who: Any) -> str:
        r.clock += DAY
        return r.commit(message, who)

    r.write("cli/app.py", _app())
    r.write("cli/tests/test_app.py", "def test_parse():\n    assert True\n")
    commit("Add the parser", ALICE)
    for i, who in enumerate((BOB, CAROL, ZOE, ERIN)):
        extra = f'        elif token == "{"x" * (i + 1)}":\n            continue\n'
        r.write("cli/app.py", _app(extra))
        commit(f"Fix parse for option {i}" if i % 2 == 0 else f"Teach parse option {i}", who)
    r.write("cli/app.py", _app())
    base = commit("Fix parse: drop the special cases", ALICE)
    r.write("cli/app.py", _app(PLANTED, TRIVIAL))
    head = commit("Short flags, a version", BOB)
    return base, head


def _config(r: RepoBuilder, tmp_path: Path, **sections: Any) -> Config:
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    doc = {"repositories": [{"name": "cli", "path": str(r.path)}], **sections}
    path = work / "repos.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return load_config(path)


def test_line_facts_of_a_planted_branch() -> None:
    before = _app().encode()
    after = _app(PLANTED).encode()
    first = before.count(b"\n") - 3  # the planted lines follow `tokens.append(token[2:])`
    facts = added_line_facts("app.py", before, after, [], range(first + 1, first + 5))
    assert facts is not None
    condition, loop, check, raising = facts
    assert condition.function == "parse"
    assert (condition.complexity, condition.complexity_before) == (7, 3)  # + elif, and, for, if
    assert condition.decisions == 2  # the `elif` and the `and`
    assert (loop.nesting, check.nesting, raising.nesting) == (2, 3, 4)
    assert raising.exits == 1 and raising.calls == 1
    assert condition.new_words > 0  # `ch` is new to the file; `len` is too


def test_a_complex_line_of_a_fixed_function_ranks_above_trivial_lines(
    repo_builder: RepoBuilder, tmp_path: Path, key_env: str
) -> None:
    base, head = _history(repo_builder)
    config = _config(repo_builder, tmp_path)
    mine_all(config)
    label_repository(config, config.repositories[0])
    build_features(config, config.repositories[0])
    change = compute_change(config, config.repositories[0], base, head)
    parse = next(p for p in change.prior_functions if p.name == "parse")
    assert (parse.changes, parse.fixes) == (6, 3)

    repo = pygit2.Repository(str(repo_builder.path))
    # The review parses each file once (at head), taking the complexity before from the
    # change's code metrics: the same facts as parsing both versions.
    both = change_lines(repo, base, head)
    assert review_lines(repo, change) == [line for line in both if not line.is_test]
    assert any(line.facts.complexity_before == 3 for line in both)

    ranked = rank_lines(change, both)
    assert {r.path for r in ranked} == {"cli/app.py"}
    planted = [r for r in ranked if r.function == "parse"]
    trivial = [r for r in ranked if r.function != "parse"]
    assert len(planted) == 4 and len(trivial) == 3  # SEPARATOR, def version, return
    # The planted lines come first, above every trivial one.
    assert ranked[0].function == "parse"
    assert max(t.score for t in trivial) < min(p.score for p in planted)
    assert "inside `parse` (complexity 7, was 3)" in ranked[0].reason
    assert "a function fixed 3 times before" in ranked[0].reason


@pytest.fixture(scope="module")
def fixed_levels(tmp_path_factory: pytest.TempPathFactory) -> SavedModel:
    """The shipped model without its levels: the fixed thresholds of repos.yaml decide."""
    folder = tmp_path_factory.mktemp("model") / "default"
    shutil.copytree(DEFAULT_MODEL_DIR, folder)
    (folder / "levels.json").unlink()
    return load_model(folder)


def _outputs(
    config: Config, base: str, head: str, model: SavedModel
) -> tuple[dict[str, Any], dict[str, Any], str]:
    result = review_local(config, None, base, head, model=model)
    sarif = json.loads(to_sarif_json(result, "test"))
    return json.loads(to_json(result)), sarif, to_markdown(result)


def test_the_review_shows_at_most_three_lines_in_json_sarif_and_markdown(
    repo_builder: RepoBuilder, tmp_path: Path, key_env: str, fixed_levels: SavedModel
) -> None:
    base, head = _history(repo_builder)
    # The fixed thresholds decide the level: medium from any risk.
    config = _config(repo_builder, tmp_path, review={"medium": 0.000001, "high": 1.0})
    as_json, sarif, markdown = _outputs(config, base, head, fixed_levels)
    assert as_json["level"] == "medium"
    lines = as_json["risky_lines"]
    assert 1 <= len(lines) <= 3
    assert lines[0]["path"] == "cli/app.py" and "`parse`" in lines[0]["reason"]
    added = range(6, 10)  # the planted lines at head
    assert lines[0]["line"] in added
    inline = [s for s in as_json["suggestions"] if s["rule"] == RULE]
    assert [(s["path"], s["line"]) for s in inline] == [(x["path"], x["line"]) for x in lines]
    # At most one line per function.
    assert len({x["reason"].split("`")[1] if "`" in x["reason"] else "" for x in lines}) == len(
        lines
    )
    results = [r for r in sarif["runs"][0]["results"] if r["ruleId"] == RULE]
    assert len(results) == len(lines)
    region = results[0]["locations"][0]["physicalLocation"]["region"]
    assert region["startLine"] == lines[0]["line"]
    assert RULE in markdown
    text = json.dumps(as_json) + json.dumps(sarif) + markdown
    for person in EVERYONE:
        assert person.name not in text and person.email not in text
        assert person.email.split("@")[0] not in text


@pytest.mark.parametrize(
    "review",
    [
        {"medium": 0.99, "high": 1.0},
        {"medium": 0.000001, "high": 1.0, "disabled_rules": [RULE]},
        {"medium": 0.000001, "high": 1.0, "rules": {RULE: {"enabled": False}}},
        {"medium": 0.000001, "high": 1.0, "ignore": ["cli/*.py"]},
    ],
    ids=["low-risk", "disabled", "not-enabled", "ignored"],
)
def test_no_lines_for_a_low_risk_change_a_rule_turned_off_or_ignored_files(
    repo_builder: RepoBuilder,
    tmp_path: Path,
    key_env: str,
    review: dict[str, Any],
    fixed_levels: SavedModel,
) -> None:
    base, head = _history(repo_builder)
    config = _config(repo_builder, tmp_path, review=review)
    as_json, sarif, _ = _outputs(config, base, head, fixed_levels)
    assert as_json["level"] == ("low" if review["medium"] > 0.5 else "medium")
    assert as_json["risky_lines"] == []
    assert not [r for r in sarif["runs"][0]["results"] if r["ruleId"] == RULE]


def test_the_github_poster_comments_inline_on_the_risky_lines(
    repo_builder: RepoBuilder,
    tmp_path: Path,
    key_env: str,
    fixed_levels: SavedModel,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    base, head = _history(repo_builder)
    with FakeGitHub(token="gh-bot-token") as github:
        for login in ("acme", "octo-bob"):
            github.add_user(login, type="Organization" if login == "acme" else "User")
        github.add_repo("acme/cli")
        files = github_patch(repo_builder, base, head)
        pull = github.add_pull(
            "acme/cli", author="octo-bob", title="Short flags",
            created_at="2026-11-01T00:00:00Z", base_sha=base, head_sha=head, files=files,
        )  # fmt: skip
        config = _config(
            repo_builder,
            tmp_path,
            review={"medium": 0.000001, "high": 1.0},
            github={"url": github.url, "token_env": "BOT_TOKEN"},
        )
        monkeypatch.setenv("BOT_TOKEN", "gh-bot-token")
        ref = f"acme/cli#{pull.number}"
        result = review_pull_request(config, ref, post=True, repo_name="cli", model=fixed_levels)
        posted = github.review_comments("acme/cli", pull.number)
    assert result.risky_lines
    on_lines = {(c.path, c.line) for c in posted if RULE in c.body}
    assert on_lines == {(x.path, x.line) for x in result.risky_lines}
    for comment in posted:
        for person in EVERYONE:
            assert person.name not in comment.body and person.email not in comment.body


def test_no_line_of_a_function_the_change_only_moved(
    repo_builder: RepoBuilder, tmp_path: Path, key_env: str
) -> None:
    _, head = _history(repo_builder)
    # `parse` moves unchanged to a new module; a small new function is added (not on
    # line 1, where `parse` started before: bot.moves keys functions by path and line).
    repo_builder.write(
        "cli/app.py", '"""The command line."""\n\n\ndef banner(n):\n    return \'=\' * n\n'
    )
    repo_builder.write("cli/parsing.py", _app(PLANTED))
    moved = repo_builder.commit("Move the parser", BOB)
    config = _config(repo_builder, tmp_path)
    change = compute_change(config, config.repositories[0], head, moved)
    assert any(f.moved and f.name == "parse" for f in change.functions)
    repo = pygit2.Repository(str(repo_builder.path))
    ranked = rank_lines(change, change_lines(repo, head, moved))
    assert {r.function for r in ranked} == {None, "banner"}  # its docstring, `banner`
