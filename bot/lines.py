"""Risky lines: the added lines of a change a later fix is most likely to touch.

For a change of medium or high risk, every added line of code in a non-test file that
tree-sitter parses is scored by the line model (model.lines: the line, its function and
its file's history) and the best-scoring ones become inline suggestions of the rule
``risky-line`` (at most ``review.rules.risky-line.top`` per change, default 3; one per
function, so that three comments do not land on three lines of one block). Each says
why in a plain sentence, e.g. "a new branch or loop inside `parse` (complexity 14, was 9),
a function fixed 3 times before".

How well the ranking finds the lines later fixes touched, against random order and
against "most complex lines first": docs/review.md, "Risky lines"
(benchmarks/bench_lines.py). The lines are read from the repository's commits; a
change seen only through its pull request's patches gets none.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import pygit2

from teamlens.bot.domain import ChangeUnderReview, Level, RiskyLine, Suggestion
from teamlens.bot.rules import enabled_rules, without_ignored
from teamlens.config import Config
from teamlens.errors import TeamlensError
from teamlens.features.code_metrics.line_facts import AddedLine
from teamlens.features.lines import ChangeLine, change_lines
from teamlens.model.lines import LineHistory, LineModel, default_line_model, line_vector

RULE = "risky-line"
#: Lines shown per change unless ``review.rules.risky-line.top`` says otherwise.
DEFAULT_TOP = 3


def _plural(n: int, one: str, many: str) -> str:
    return f"{n:,} {one if n == 1 else many}"


def _what(facts: AddedLine) -> str:
    if facts.handlers:
        return "a new exception handler"
    if facts.decisions:
        return "a new branch or loop"
    if facts.exits:
        return "a new return or raise"
    if facts.calls:
        return "a new call"
    return "new code"


def line_reason(line: ChangeLine, history: LineHistory) -> str:
    """Why a line is risky, in one plain sentence without a final stop."""
    f = line.facts
    if f.function is None:
        text = f"{_what(f)} outside any function"
    else:
        if f.complexity_before is None:
            how = f"complexity {f.complexity}, a new function"
        elif f.complexity_before != f.complexity:
            how = f"complexity {f.complexity}, was {f.complexity_before}"
        else:
            how = f"complexity {f.complexity}"
        text = f"{_what(f)} inside `{f.function}` ({how})"
    if f.nesting >= 2:
        text += f", nested {f.nesting} deep"
    if f.function is not None and history.function_prior_fixes:
        text += ", a function fixed " + _plural(history.function_prior_fixes, "time", "times")
        text += " before"
    elif f.function is not None and history.function_prior_changes >= 3:
        text += ", a function changed " + _plural(history.function_prior_changes, "time", "times")
        text += " before"
    if history.file_recent_fixes:
        text += ", in a file with " + _plural(history.file_recent_fixes, "fix", "fixes")
        text += " in the last 90 days"
    return text


def rank_lines(
    change: ChangeUnderReview, lines: Sequence[ChangeLine], model: LineModel | None = None
) -> list[RiskyLine]:
    """Every line of `lines` in a non-test file of `change`, riskiest first (ties in
    diff order), with its score and reason; lines of functions the change only moved are
    left out."""
    files = {f.path: f for f in change.files}
    prior = {(p.path, p.name): p for p in change.prior_functions}
    # Code the change only moved (bot.moves) is not new: nothing to point at in it.
    moved = {(f.path, f.name) for f in change.functions if f.moved and f.complexity_after}
    kept: list[tuple[ChangeLine, LineHistory]] = []
    for line in lines:
        file = files.get(line.path)
        if file is None or file.is_test or (line.path, line.facts.function) in moved:
            continue
        past = prior.get((line.path, line.facts.function or ""))
        history = LineHistory(
            past.changes if past is not None else 0,
            past.fixes if past is not None else 0,
            file.recent_fixes,
        )
        kept.append((line, history))
    if not kept:
        return []
    scores = (model or default_line_model()).scores([line_vector(*k) for k in kept])
    order = sorted(range(len(kept)), key=lambda i: -scores[i])  # stable: diff order
    return [
        RiskyLine(
            kept[i][0].path,
            kept[i][0].facts.line,
            float(scores[i]),
            line_reason(*kept[i]),
            kept[i][0].facts.function,
        )
        for i in order
    ]


def pick(ranked: Sequence[RiskyLine], top: int) -> tuple[RiskyLine, ...]:
    """The first `top` lines of a ranking, at most one per function (per file outside
    functions)."""
    seen: set[tuple[str, str | None]] = set()
    chosen: list[RiskyLine] = []
    for line in ranked:
        if len(chosen) >= top:
            break
        where = (line.path, line.function)
        if where in seen:
            continue
        seen.add(where)
        chosen.append(line)
    return tuple(chosen)


def risky_lines(
    repo: pygit2.Repository,
    change: ChangeUnderReview,
    top: int = DEFAULT_TOP,
    model: LineModel | None = None,
) -> tuple[RiskyLine, ...]:
    """The `top` riskiest added lines of `change`, read from `repo`'s commits."""
    if top <= 0:
        return ()
    return pick(rank_lines(change, review_lines(repo, change), model), top)


def review_lines(repo: pygit2.Repository, change: ChangeUnderReview) -> list[ChangeLine]:
    """The added lines of code of the change's non-test files, each file parsed once (at
    head): the functions' complexity before comes from the change's code metrics."""
    paths = {f.path for f in change.files if not f.is_test and not f.is_binary}
    if not paths:
        return []
    before: dict[tuple[str, str], int | None] = {}
    for function in change.functions:
        before.setdefault((function.path, function.name), function.complexity_before)
    lines = change_lines(repo, change.base, change.head, paths, parse_before=False)
    return [
        replace(
            line,
            facts=replace(
                line.facts, complexity_before=before.get((line.path, line.facts.function))
            ),
        )
        if line.facts.function is not None
        else line
        for line in lines
    ]


def risky_lines_for(
    config: Config, change: ChangeUnderReview, level: Level
) -> tuple[RiskyLine, ...]:
    """:func:`risky_lines` as the review shows them: for a change of medium or high risk
    whose commits the configured clone holds, unless the rule is off (``disabled_rules``
    or ``review.rules.risky-line.enabled: false``), never in ``review.ignore`` files."""
    review = config.review
    running = enabled_rules(review.enabled_rules, review.disabled_rules, {RULE: True})
    if level is Level.LOW or RULE not in running:
        return ()
    top = int(review.rules.get(RULE, {}).get("top", DEFAULT_TOP))
    try:
        from teamlens.mining.repository import GitRepository

        # The review opened (and for a `url:` repository synced) the clone already.
        repo_config = config.repository(change.repo)
        repo = GitRepository.open(repo_config, config.clones_dir, sync=False).handle
        if change.head not in repo or change.base not in repo:
            return ()  # a pull request seen only through its patches
        return risky_lines(repo, without_ignored(change, review.ignore), top)
    except (TeamlensError, pygit2.GitError, KeyError, ValueError):
        return ()


def line_suggestions(lines: Sequence[RiskyLine]) -> list[Suggestion]:
    """The lines as inline suggestions of the rule ``risky-line``."""
    return [
        Suggestion(
            rule=RULE,
            message=f"Risky line: {line.reason}. Lines like this are what later fixes "
            "touch most often: worth a second look and a test.",
            path=line.path,
            line=line.line,
        )
        for line in lines
    ]
