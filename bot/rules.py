"""Suggestion rules: each a small function with an id, thresholds from repos.yaml, a test.

Every rule looks at the change only (files, functions, features, the history of the
touched files) and says something concrete and checkable: which split points, which
functions, which numbers, which team. A rule that has nothing concrete to say stays
silent. Files matching ``review.ignore`` (changelogs, lock files, generated and vendored
files by default) are taken out of the change before any rule sees it: no rule names
them or counts their lines.

Rules (thresholds under ``review.rules`` in repos.yaml; docs/review.md):

``split`` (bot.split)
    lines, files, directories or subsystems above their thresholds: names the parts the
    change comes apart into (independent files, teams, folders, code and tests, renames).
``untested``
    functions changed or added in non-test files (not merely moved) and no test file
    changed: names them, and the tests that changed together with their files before.
``complexity``
    a function's cyclomatic complexity grew by at least ``increase``: names it, with
    the numbers before and after.
``hotspot``
    a touched file's fix density (fix commits / commits touching it in the last
    ``days``) is at least ``density``, with at least ``changes`` commits and ``fixes``
    fixes: names it.
``ownership``
    a team that does not own most of the change's changed lines owns at least
    ``share`` of them (and ``lines``): asks it for a review (a team, never a person).
``similar`` (bot.similar_comments)
    a past review comment on similar code scores at least ``min_score``: quotes it.

Which rules run: :data:`DEFAULT_ENABLED`, unless repos.yaml sets
``review.rules.<name>.enabled`` or lists the rule in ``review.disabled_rules``.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from types import MappingProxyType

from teamlens.bot.domain import ChangedFile, ChangeUnderReview, Suggestion
from teamlens.bot.split import split
from teamlens.mining.domain import ChangeType

Thresholds = Mapping[str, float]

SECONDS_PER_DAY = 86_400

#: Whether each rule runs when repos.yaml does not say (``review.rules.<name>.enabled``).
#: Set from the per-rule lift measured on real history (benchmarks/bench_rules.py,
#: docs/review.md "How well each rule works"): a rule whose lift is not clearly above 1
#: is off by default.
DEFAULT_ENABLED: Mapping[str, bool] = MappingProxyType(
    {
        "split": False,  # lift 0.58 [0.40, 0.82]
        "untested": False,  # 0.74 [0.49, 1.11]
        "complexity": False,  # 1.21 [0.47, 3.12]: 19 of 1,500 changes
        "hotspot": True,  # 1.44 [1.25, 1.68]
        "ownership": False,  # 1.00 [0.86, 1.13]
        "similar": True,  # not measured: the corpus has no review comments
    }
)


#: Type stubs: declarations without behaviour to test.
_STUBS = (".pyi", ".d.ts")


def _plural(n: int, one: str, many: str) -> str:
    return f"{n:,} {one if n == 1 else many}"


def untested(change: ChangeUnderReview, limits: Thresholds) -> list[Suggestion]:
    if any(f.is_test for f in change.files):
        return []
    code = {f.path: f for f in change.files if not f.is_test and not f.path.endswith(_STUBS)}
    named = sorted(
        {
            (fn.path, fn.name)
            for fn in change.functions
            if fn.path in code
            and fn.complexity_after is not None
            and not fn.moved
            and not fn.name.endswith("<anonymous>")  # nothing concrete to name
        }
    )
    if not named or len(named) < limits["functions"]:
        return []
    shown = ", ".join(f"`{name}` ({path})" for path, name in named[:8])
    more = f" and {len(named) - 8} more" if len(named) > 8 else ""
    tests = _co_changed_tests([code[path] for path in dict.fromkeys(p for p, _ in named)], limits)
    where = (
        " Tests that changed together with these files before: "
        + ", ".join(f"{path} ({_plural(n, 'time', 'times')})" for path, n in tests)
        + "."
        if tests
        else ""
    )
    return [
        Suggestion(
            "untested",
            f"No test changed alongside "
            f"{_plural(len(named), 'changed function', 'changed functions')}: "
            f"{shown}{more}. Add or update tests for them.{where}",
            details={"functions": len(named), "tests": [path for path, _ in tests]},
        )
    ]


def _co_changed_tests(
    files: Sequence[ChangedFile], limits: Thresholds, shown: int = 3
) -> list[tuple[str, int]]:
    """The tests changed together with `files` most often (at least ``together`` times)."""
    counts: dict[str, int] = {}
    for f in files:
        for path, n in f.co_changed_tests:
            counts[path] = counts.get(path, 0) + n
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [(path, n) for path, n in ranked if n >= max(limits["together"], 1)][:shown]


def complexity(change: ChangeUnderReview, limits: Thresholds) -> list[Suggestion]:
    added = {f.path: set(f.added_lines) for f in change.files}
    found = []
    for fn in change.functions:
        if fn.complexity_before is None or fn.complexity_after is None:
            continue
        grew = fn.complexity_after - fn.complexity_before
        line = fn.start_line if fn.start_line in added.get(fn.path, ()) else None
        if grew >= limits["increase"]:
            found.append(
                Suggestion(
                    "complexity",
                    f"The cyclomatic complexity of `{fn.name}` jumped from "
                    f"{fn.complexity_before} to {fn.complexity_after}. Consider extracting "
                    "parts of it or simplifying its branches.",
                    path=fn.path,
                    line=line,
                    details={"before": fn.complexity_before, "after": fn.complexity_after},
                    end_line=fn.end_line if line is not None else None,
                )
            )
    return found


def hotspot(change: ChangeUnderReview, limits: Thresholds) -> list[Suggestion]:
    since = change.time - limits["days"] * SECONDS_PER_DAY
    hot: list[tuple[ChangedFile, int, int]] = []
    for f in change.files:
        if f.status is ChangeType.DELETED:
            continue
        window = [p for p in f.past if since <= p.time <= change.time]
        fixes = sum(p.is_fix for p in window)
        if (
            window
            and len(window) >= max(limits["changes"], 1)
            and fixes >= max(limits["fixes"], 1)
            and fixes / len(window) >= limits["density"]
        ):
            hot.append((f, fixes, len(window)))
    if not hot:
        return []
    hot.sort(key=lambda h: (-h[1] / h[2], -h[1], h[0].path))
    shown = ", ".join(
        f"{f.path} ({fixes:,} of its {changes:,} changes were fixes)"
        for f, fixes, changes in hot[:5]
    )
    more = f" and {len(hot) - 5} more" if len(hot) > 5 else ""
    return [
        Suggestion(
            "hotspot",
            f"Files that fixes keep touching (last {limits['days']:,.0f} days): {shown}{more}. "
            "Hotspots: extra care and tests pay off here.",
            path=hot[0][0].path if len(hot) == 1 else None,
            details={"files": {f.path: {"fixes": n, "changes": c} for f, n, c in hot}},
        )
    ]


def ownership(change: ChangeUnderReview, limits: Thresholds) -> list[Suggestion]:
    """By changed lines: renames, copies and other entries without a changed line say
    nothing about whose code changed. A tie for the most lines means no team is at
    home in the change, and then nobody is asked."""
    owned: dict[str, list[ChangedFile]] = {}
    for f in change.files:
        if f.lines == 0:
            continue
        for team in f.owners:
            owned.setdefault(team, []).append(f)
    if len(owned) < 2:
        return []
    total = sum(f.lines for f in change.files)
    lines = {team: sum(f.lines for f in files) for team, files in owned.items()}
    most = max(lines.values())
    if sum(1 for n in lines.values() if n == most) > 1:
        return []  # no home team
    home = next(team for team, n in lines.items() if n == most)
    found = []
    for team, files in sorted(owned.items()):
        share = lines[team] / total
        if (
            team == home
            or len(files) < limits["files"]
            or lines[team] < limits["lines"]
            or share < limits["share"]
        ):
            continue
        paths = ", ".join(f.path for f in files[:3]) + (", ..." if len(files) > 3 else "")
        found.append(
            Suggestion(
                "ownership",
                f"{_plural(len(files), 'file', 'files')} here "
                f"{'belongs' if len(files) == 1 else 'belong'} to team {team} ({paths}; "
                f"{lines[team]:,} of the change's {total:,} changed lines): "
                f"ask {_handle(team)} for a review.",
                details={"team": team, "lines": lines[team], "share": round(share, 3)},
            )
        )
    return found


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


def enabled_rules(
    enabled: Mapping[str, bool] | None = None,
    disabled: Sequence[str] = (),
    defaults: Mapping[str, bool] = DEFAULT_ENABLED,
) -> frozenset[str]:
    """The rules that run: repos.yaml's ``enabled`` where it says, else `defaults`
    (:data:`DEFAULT_ENABLED`); never one listed in `disabled`."""
    settings = {**defaults, **(enabled or {})}
    return frozenset(name for name, on in settings.items() if on and name not in disabled)


class IgnoredPaths:
    """``review.ignore`` globs: ``**`` and ``*`` cross folders, a glob without ``/``
    matches a file name at any depth; case matters."""

    def __init__(self, globs: Sequence[str]) -> None:
        patterns: set[str] = set()
        for glob in globs:
            glob = glob.lstrip("/")
            patterns.add(glob)
            if glob.endswith("/**"):
                patterns.add(glob[:-3] + "/*")
            if "/" not in glob:
                patterns.add("*/" + glob)
        self.patterns = tuple(sorted(patterns))

    def __call__(self, path: str) -> bool:
        return any(fnmatch.fnmatchcase(path, p) for p in self.patterns)


def without_ignored(change: ChangeUnderReview, ignore: Sequence[str]) -> ChangeUnderReview:
    """The change as the rules see it: files matching `ignore` (and their functions) gone."""
    ignored = IgnoredPaths(ignore)
    gone = {f.path for f in change.files if ignored(f.path)}
    if not gone:
        return change
    return replace(
        change,
        files=tuple(f for f in change.files if f.path not in gone),
        functions=tuple(fn for fn in change.functions if fn.path not in gone),
    )


def suggest(
    change: ChangeUnderReview,
    thresholds: Mapping[str, Thresholds],
    disabled: Sequence[str] = (),
    extra: Sequence[Suggestion] = (),
    enabled: Mapping[str, bool] | None = None,
    ignore: Sequence[str] = (),
) -> list[Suggestion]:
    """Every running rule's suggestions (``similar`` comes in as `extra`), on the change
    without its ignored files."""
    running = enabled_rules(enabled, disabled)
    ignored = IgnoredPaths(ignore)
    seen = without_ignored(change, ignore)
    found: list[Suggestion] = []
    for name, rule in RULES.items():
        if name in running:
            found += rule(seen, thresholds[name])
    return found + [
        s
        for s in extra
        if (s.rule in running or (s.rule not in DEFAULT_ENABLED and s.rule not in disabled))
        and not (s.path is not None and ignored(s.path))
    ]
