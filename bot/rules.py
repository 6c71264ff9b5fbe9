"""Suggestion rules: each a small function with an id, thresholds from repos.yaml, a test.

Every rule looks at the change only (files, functions, features) and says something
concrete and checkable: which split points, which functions, which numbers, which team.
A rule that has nothing concrete to say stays silent.

Rules (thresholds under ``review.rules`` in repos.yaml; docs/review.md):

``split``
    lines, files, directories or subsystems above their thresholds: split the change,
    naming the natural split points (teams, else top-level directories).
``untested``
    functions changed or added in non-test files and no test file changed: names them.
``complexity``
    a function's cyclomatic complexity grew by at least ``increase``: names it, with
    the numbers before and after.
``hotspot``
    a touched file had at least ``fixes`` fix commits in the last 90 days: names it.
``ownership``
    files owned by teams other than the one owning most of the change: asks those
    teams for a review (team handles, never a person).
``similar`` (bot.similar_comments)
    a past review comment on similar code scores at least ``min_score``: quotes it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence

from teamlens.bot.domain import ChangedFile, ChangeUnderReview, Suggestion
from teamlens.mining.domain import ChangeType

Thresholds = Mapping[str, float]


def _plural(n: int, one: str, many: str) -> str:
    return f"{n:,} {one if n == 1 else many}"


def _top_directory(path: str) -> str:
    parts = path.split("/")
    return parts[0] if len(parts) > 1 else "(top level)"


def split(change: ChangeUnderReview, limits: Thresholds) -> list[Suggestion]:
    f = change.features
    over = [
        (f"{f['la'] + f['ld']:,.0f} lines", f["la"] + f["ld"] > limits["lines"]),
        (f"{f['nf']:,.0f} files", f["nf"] > limits["files"]),
        (f"{f['nd']:,.0f} directories", f["nd"] > limits["directories"]),
        (f"{f['ns']:,.0f} subsystems", f["ns"] > limits["subsystems"]),
    ]
    if not any(hit for _, hit in over):
        return []
    teams = Counter(t for file in change.files for t in file.owners)
    if len(teams) > 1:
        groups = teams
        by = "team"
    else:
        groups = Counter(_top_directory(file.path) for file in change.files)
        by = "top-level directory"
    if len(groups) < 2:
        return []  # nothing natural to split along: no concrete advice
    points = ", ".join(
        f"{name} ({_plural(n, 'file', 'files')})" for name, n in groups.most_common(5)
    )
    size = ", ".join(text for text, _ in over)
    return [
        Suggestion(
            "split",
            f"This change is large or scattered ({size}). Consider one pull request per {by}: "
            f"{points}.",
            details={"by": by, "groups": dict(groups)},
        )
    ]


def untested(change: ChangeUnderReview, limits: Thresholds) -> list[Suggestion]:
    if any(f.is_test for f in change.files):
        return []
    code_paths = {f.path for f in change.files if not f.is_test}
    named = sorted(
        {
            (fn.path, fn.name)
            for fn in change.functions
            if fn.path in code_paths and fn.complexity_after is not None
        }
    )
    if not named or len(named) < limits["functions"]:
        return []
    shown = ", ".join(f"`{name}` ({path})" for path, name in named[:8])
    more = f" and {len(named) - 8} more" if len(named) > 8 else ""
    return [
        Suggestion(
            "untested",
            f"No test changed alongside "
            f"{_plural(len(named), 'changed function', 'changed functions')}: "
            f"{shown}{more}. Add or update tests for them.",
            details={"functions": len(named)},
        )
    ]


def complexity(change: ChangeUnderReview, limits: Thresholds) -> list[Suggestion]:
    added = {f.path: set(f.added_lines) for f in change.files}
    found = []
    for fn in change.functions:
        if fn.complexity_before is None or fn.complexity_after is None:
            continue
        grew = fn.complexity_after - fn.complexity_before
        if grew >= limits["increase"]:
            found.append(
                Suggestion(
                    "complexity",
                    f"The cyclomatic complexity of `{fn.name}` jumped from "
                    f"{fn.complexity_before} to {fn.complexity_after}. Consider extracting "
                    "parts of it or simplifying its branches.",
                    path=fn.path,
                    line=fn.start_line if fn.start_line in added.get(fn.path, ()) else None,
                    details={"before": fn.complexity_before, "after": fn.complexity_after},
                )
            )
    return found


def hotspot(change: ChangeUnderReview, limits: Thresholds) -> list[Suggestion]:
    hot = sorted(
        (f for f in change.files if f.recent_fixes >= max(limits["fixes"], 1)),
        key=lambda f: (-f.recent_fixes, f.path),
    )
    hot = [f for f in hot if f.status is not ChangeType.DELETED]
    if not hot:
        return []
    shown = ", ".join(f"{f.path} ({_plural(f.recent_fixes, 'fix', 'fixes')})" for f in hot[:5])
    more = f" and {len(hot) - 5} more" if len(hot) > 5 else ""
    return [
        Suggestion(
            "hotspot",
            f"Files with recent fix activity (last 90 days): {shown}{more}. "
            "Hotspots: extra care and tests pay off here.",
            path=hot[0].path if len(hot) == 1 else None,
            details={"files": {f.path: f.recent_fixes for f in hot}},
        )
    ]


def ownership(change: ChangeUnderReview, limits: Thresholds) -> list[Suggestion]:
    owned: dict[str, list[ChangedFile]] = {}
    for f in change.files:
        for team in f.owners:
            owned.setdefault(team, []).append(f)
    if len(owned) < 2:
        return []
    home = max(owned, key=lambda t: (len(owned[t]), t))
    return [
        Suggestion(
            "ownership",
            f"{_plural(len(files), 'file', 'files')} here belong to team {team} "
            f"({', '.join(f.path for f in files[:3])}{', ...' if len(files) > 3 else ''}): "
            f"ask {_handle(team)} for a review.",
            details={"team": team},
        )
        for team, files in sorted(owned.items())
        if team != home and len(files) >= limits["files"]
    ]


def _handle(team: str) -> str:
    """A CODEOWNERS team (``org/team``) is mentioned as ``@org/team``; a repos.yaml team by name."""
    return f"@{team}" if "/" in team else f"the {team} team"


Rule = Callable[[ChangeUnderReview, Thresholds], list[Suggestion]]
RULES: Mapping[str, Rule] = {
    "split": split,
    "untested": untested,
    "complexity": complexity,
    "hotspot": hotspot,
    "ownership": ownership,
}


def suggest(
    change: ChangeUnderReview,
    thresholds: Mapping[str, Thresholds],
    disabled: Sequence[str] = (),
    extra: Sequence[Suggestion] = (),
) -> list[Suggestion]:
    """Every enabled rule's suggestions (``similar`` comes in as `extra`)."""
    found: list[Suggestion] = []
    for name, rule in RULES.items():
        if name not in disabled:
            found += rule(change, thresholds[name])
    return found + [s for s in extra if s.rule not in disabled]
