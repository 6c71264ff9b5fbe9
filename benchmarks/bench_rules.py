"""How well each review rule works: its lift on real history, measured with teamlens's SZZ.

Usage::

    .venv/bin/python benchmarks/bench_rules.py CORPUS_DIR [--repos a,b,c] [--changes 150]
        [--seed 0] [--bootstrap 1000] [--json] [--save FILE.json]

``CORPUS_DIR`` is a folder scripts/build_corpus.py filled (its ``repos.yaml`` and store,
mined, labelled and featurised); it is only read. Per repository (``--repos``, default
:data:`DEFAULT_REPOS`; the six held-out repositories are refused) it samples ``--changes``
non-merge changes spread over time (one at random from each of that many equal slices of
the history, seeded), each at least :data:`WINDOW_DAYS` days older than the repository's
newest commit. Each change is built exactly as ``teamlens review --base C^ --head C``
builds it with a store (teamlens.bot.change.compute_change), without the files
``review.ignore`` matches (as the rules see it), and every rule of teamlens.bot.rules runs
on it, enabled or not by default, with repos.yaml's thresholds.

What a rule names: functions (``untested``, ``complexity``) or files (``split``'s parts,
``hotspot``, ``ownership``). Ground truth, teamlens's own SZZ: a file is *fixed later*
when a fix commit the labeller processed (``szz_fixes``) within :data:`WINDOW_DAYS` days
after the change touches it; a function when such a fix changes it (the same path and
qualified function name in the fix's ``changed_functions``). The things of a change are
its files that still exist after it, and its changed functions that still exist.

Per rule (benchmarks/rule_lift.py): the changes it fires on, the things it names and the
share fixed later; the **base rate**, the share fixed later among the same kind of thing
in the same changes that the rule did not name; **lift** = named rate / base rate, with
a bootstrap 95 % interval over changes. Also against the things of the changes the rule
did not fire on (the main comparison of ``split`` and ``untested``, which name every file
or every unmoved function of a change, so the same change leaves nothing to compare
with), and both on code only (a programming language, not a test: fixes also touch tests
and docs); and per repository. The anchor line is the base rate of all files and all
functions of all replayed changes.

The corpus has no teams; every repository gets the teams of a common layout
(:func:`layout_teams`: core, tests, docs, examples), as the issue read flask.

Only aggregates are printed: no commit id, no path, no function name, no person.
A repository's own figures are shown only with at least ``privacy.k`` people behind its
replayed changes. LightGBM is not used.
"""

from __future__ import annotations

import argparse
import bisect
import itertools
import json
import random
import re
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import Any

from teamlens.bot import rules
from teamlens.bot.change import compute_change
from teamlens.bot.domain import ChangedFunction, ChangeUnderReview, Suggestion
from teamlens.config import Config, load_config
from teamlens.config.schema import RepositoryConfig, TeamsConfig
from teamlens.features.pipeline import is_test_path
from teamlens.mining.domain import ChangeType
from teamlens.mining.languages import language_of
from teamlens.store import Store

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rule_lift import (
    RULE_KINDS,
    WINDOW_DAYS,
    Key,
    Kind,
    ReplayedChange,
    Thing,
    finite,
    measure,
    render,
)

HELD_OUT_NAMES = frozenset({"flask", "click", "requests", "httpx", "cobra", "express"})
#: Python, Go, JavaScript and Java repositories of the corpus (none held out).
DEFAULT_REPOS = (
    "werkzeug",
    "jinja",
    "starlette",
    "black",
    "gin",
    "echo",
    "axios",
    "koa",
    "gson",
    "junit4",
)
DAY = 86_400


@dataclass(frozen=True)
class FixTouch:
    time: int
    files: frozenset[str]
    functions: frozenset[Key]


class FixIndex:
    """The fix commits of one repository (``szz_fixes``) with what each touched."""

    def __init__(self, fixes: Sequence[FixTouch]) -> None:
        self._fixes = sorted(fixes, key=lambda f: f.time)
        self._times = [f.time for f in self._fixes]

    @classmethod
    def from_store(cls, store: Store, repo: str) -> FixIndex:
        shas = "SELECT DISTINCT fix_sha FROM szz_fixes WHERE repo = ?"
        times = store.query(
            f"SELECT sha, epoch(commit_time) FROM commits WHERE repo = ? AND sha IN ({shas})",  # noqa: S608
            [repo, repo],
        ).rows
        files: dict[str, set[str]] = {}
        for sha, path, old_path in store.query(
            f"SELECT sha, path, old_path FROM file_changes WHERE repo = ? AND sha IN ({shas})",  # noqa: S608
            [repo, repo],
        ).rows:
            files.setdefault(sha, set()).update(p for p in (path, old_path) if p)
        functions: dict[str, set[Key]] = {}
        for sha, path, name in store.query(
            "SELECT sha, path, function FROM changed_functions"  # noqa: S608
            f" WHERE repo = ? AND sha IN ({shas})",
            [repo, repo],
        ).rows:
            functions.setdefault(sha, set()).add((path, name))
        return cls(
            [
                FixTouch(int(t), frozenset(files.get(s, ())), frozenset(functions.get(s, ())))
                for s, t in times
            ]
        )

    def touched(self, after: int, days: int = WINDOW_DAYS) -> tuple[set[str], set[Key]]:
        """Files and functions the fixes in (after, after + days] touched."""
        lo = bisect.bisect_right(self._times, after)
        hi = bisect.bisect_right(self._times, after + days * DAY)
        files: set[str] = set()
        functions: set[Key] = set()
        for fix in self._fixes[lo:hi]:
            files |= fix.files
            functions |= fix.functions
        return files, functions


_TEST_NAME = re.compile(r"test|fixture|spec", re.IGNORECASE)
_DOCS_NAME = re.compile(r"^(docs?|documentation|website|site)$", re.IGNORECASE)
_EXAMPLE_NAME = re.compile(r"example|sample|sandbox", re.IGNORECASE)
_DOC_SUFFIXES = (".md", ".rst", ".txt", ".adoc")
#: Test files wherever they are (the conventions of features.pipeline.is_test_path).
_NESTED_TESTS = (
    "**/test/**",
    "**/tests/**",
    "**/__tests__/**",
    "**/testdata/**",
    "*_test.go",
    "*_test.py",
    "test_*.py",
    "*Test.java",
    "*Tests.java",
    "*.test.js",
    "*.test.ts",
    "*.spec.js",
    "*.spec.ts",
)


def layout_teams(paths: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """Teams of a common layout from a repository's paths: ``tests``, ``docs``,
    ``examples`` by their top-level folders (and test files anywhere, docs files at the
    top), ``core`` every other top-level folder or file."""
    teams: dict[str, set[str]] = {"core": set(), "tests": set(_NESTED_TESTS), "docs": set()}
    teams["examples"] = set()
    teams["docs"].update(f"*{s}" for s in _DOC_SUFFIXES)
    for path in paths:
        top, _, rest = path.partition("/")
        glob = f"{top}/**" if rest else top
        if rest and _TEST_NAME.search(top):
            teams["tests"].add(glob)
        elif rest and _DOCS_NAME.match(top):
            teams["docs"].add(glob)
        elif rest and _EXAMPLE_NAME.search(top):
            teams["examples"].add(glob)
        elif rest or not top.lower().endswith(_DOC_SUFFIXES):
            teams["core"].add(glob)
    return {team: tuple(sorted(globs)) for team, globs in teams.items() if globs}


def with_layout_teams(config: Config, store: Store, names: Sequence[str]) -> Config:
    """`config` with the layout teams of each named repository (from its stored paths)."""
    repos = []
    for repo in config.repositories:
        if repo.name in names:
            paths = [
                p
                for (p,) in store.query(
                    "SELECT DISTINCT path FROM file_changes WHERE repo = ?", [repo.name]
                ).rows
            ]
            repo = replace(repo, teams=TeamsConfig(globs=layout_teams(paths)))
        repos.append(repo)
    return replace(config, repositories=tuple(repos))


def sample_changes(
    store: Store, repo: str, n: int, seed: int, days: int = WINDOW_DAYS
) -> list[tuple[str, int]]:
    """`n` non-merge changes with a parent and files, at least `days` older than the
    newest commit: one at random from each of `n` equal slices of the history, in time
    order (all of them when there are fewer)."""
    newest = store.query("SELECT max(epoch(commit_time)) FROM commits WHERE repo = ?", [repo])
    if newest.rows[0][0] is None:
        return []
    rows = store.query(
        "SELECT sha, epoch(commit_time) AS t FROM commits WHERE repo = ? AND NOT is_merge"
        " AND n_files > 0 AND len(parent_shas) = 1 AND epoch(commit_time) <= ?"
        " ORDER BY t, sha",
        [repo, int(newest.rows[0][0]) - days * DAY],
    ).rows
    eligible = [(str(s), int(t)) for s, t in rows]
    if len(eligible) <= n:
        return eligible
    rng = random.Random(f"{seed}:{repo}")  # noqa: S311 - sampling, not secrecy
    edges = [round(i * len(eligible) / n) for i in range(n + 1)]
    return [eligible[rng.randrange(lo, hi)] for lo, hi in itertools.pairwise(edges)]


def _paths_in(text: str, paths: Iterable[str]) -> set[str]:
    return {p for p in paths if re.search(rf"(?<![\w/.-]){re.escape(p)}(?![\w/-])", text)}


_STUBS = (".pyi", ".d.ts")  # type stubs: untested never names their functions
_SHOWN_FUNCTION = re.compile(r"`([^`]+)` \(([^)]+)\)")


def named_things(suggestion: Suggestion, change: ChangeUnderReview) -> frozenset[Key]:
    """What one suggestion names, among the change's files or functions (`change` as the
    rules saw it)."""
    if RULE_KINDS[suggestion.rule] is Kind.FUNCTION:
        return _named_functions(suggestion, change)
    paths = {f.path for f in change.files}
    details = suggestion.details
    found: set[str] = set()
    for key in ("files", "paths"):
        value = details.get(key)
        if isinstance(value, Mapping | list | tuple | set | frozenset):
            found |= {str(p) for p in value}
    parts = details.get("parts")
    if isinstance(parts, Mapping):
        parts = list(parts.values())
    if isinstance(parts, list | tuple):
        for members in parts:
            if isinstance(members, list | tuple | set | frozenset):
                found |= {str(p) for p in members}
    team = details.get("team")
    if suggestion.rule == "ownership" and isinstance(team, str):
        found |= {f.path for f in change.files if team in f.owners and f.added + f.deleted}
    groups = details.get("groups")
    if suggestion.rule == "split" and isinstance(groups, Mapping):  # the rule before issue 16
        names = {str(g) for g in groups}
        if details.get("by") == "team":
            found |= {f.path for f in change.files if names & set(f.owners)}
        else:
            found |= {f.path for f in change.files if _top_directory(f.path) in names}
    if suggestion.path:
        found.add(suggestion.path)
    found |= _paths_in(suggestion.message, paths)
    return frozenset((p, "") for p in found if p in paths)


def _named_functions(suggestion: Suggestion, change: ChangeUnderReview) -> frozenset[Key]:
    """`untested` shows at most 8 functions and the number of the rest: then every
    function it counted (changed, not deleted, not moved, named, in a non-test file that
    is not a type stub) is named."""
    if suggestion.rule == "untested" and re.search(r" and [\d,]+ more\.", suggestion.message):
        code = {f.path for f in change.files if not f.is_test and not f.path.endswith(_STUBS)}
        return frozenset(
            (fn.path, fn.name)
            for fn in change.functions
            if fn.path in code
            and fn.complexity_after is not None
            and not fn_moved(fn)
            and not fn.name.endswith("<anonymous>")
        )
    pairs = {(path, name) for name, path in _SHOWN_FUNCTION.findall(suggestion.message)}
    if suggestion.path:
        pairs |= {(suggestion.path, n) for n in re.findall(r"`([^`]+)`", suggestion.message)}
    return frozenset((fn.path, fn.name) for fn in change.functions if (fn.path, fn.name) in pairs)


def fn_moved(fn: ChangedFunction) -> bool:
    """Whether the function only moved (the review knows moves since issue 16)."""
    return bool(getattr(fn, "moved", False))


def _top_directory(path: str) -> str:
    parts = path.split("/")
    return parts[0] if len(parts) > 1 else "(top level)"


def rules_view(change: ChangeUnderReview, config: Config) -> ChangeUnderReview:
    """The change as the rules see it: without the files ``review.ignore`` matches."""
    ignore = getattr(config.review, "ignore", ())
    without = getattr(rules, "without_ignored", None)
    return change if without is None or not ignore else without(change, ignore)


def run_rules(change: ChangeUnderReview, config: Config) -> dict[str, list[Suggestion]]:
    """Every rule of RULE_KINDS on `change` (as the rules see it), enabled or not by
    default, with repos.yaml's thresholds."""
    thresholds = config.review.rules
    return {name: rules.RULES[name](change, thresholds[name]) for name in RULE_KINDS}


def replay_change(
    config: Config, repo_config: RepositoryConfig, sha: str, when: int, fixes: FixIndex
) -> ReplayedChange:
    """One change as `teamlens review --base C^ --head C` sees it, and its outcome."""
    change = rules_view(compute_change(config, repo_config, f"{sha}^", sha), config)
    fixed_files, fixed_functions = fixes.touched(when)
    things = [
        Thing((f.path, ""), Kind.FILE, f.path in fixed_files, _is_code(f.path))
        for f in change.files
        if f.status is not ChangeType.DELETED
    ]
    seen: set[Key] = set()
    for fn in change.functions:
        key = (fn.path, fn.name)
        if fn.complexity_after is None or key in seen:
            continue
        seen.add(key)
        things.append(Thing(key, Kind.FUNCTION, key in fixed_functions, _is_code(fn.path)))
    found = run_rules(change, config)
    named = {
        rule: frozenset(k for s in suggestions for k in named_things(s, change))
        for rule, suggestions in found.items()
    }
    fired = frozenset(rule for rule, suggestions in found.items() if suggestions)
    return ReplayedChange(repo_config.name, tuple(things), named, fired)


def _is_code(path: str) -> bool:
    return language_of(PurePosixPath(path).name) is not None and not is_test_path(path)


def distinct_people(store: Store, repo: str, shas: Sequence[str]) -> int:
    """How many people made the replayed changes (a count only; private zone)."""
    if not shas:
        return 0
    rows = store.query(
        "SELECT count(DISTINCT author_id) FROM commits WHERE repo = ? AND sha IN "  # noqa: S608
        f"({', '.join('?' * len(shas))})",
        [repo, *shas],
    ).rows
    return int(rows[0][0])


def replay_repositories(
    config: Config,
    names: Sequence[str],
    n: int,
    seed: int,
    progress: Any = None,
) -> tuple[list[ReplayedChange], dict[str, int]]:
    """Sample and replay `n` changes of each repository; how many people made them."""
    store = Store(config.data_dir)
    config = with_layout_teams(config, store, names)
    changes: list[ReplayedChange] = []
    people: dict[str, int] = {}
    for name in names:
        started = time.monotonic()
        repo_config = config.repository(name)
        fixes = FixIndex.from_store(store, name)
        sample = sample_changes(store, name, n, seed)
        changes += [replay_change(config, repo_config, s, t, fixes) for s, t in sample]
        people[name] = distinct_people(store, name, [s for s, _ in sample])
        if progress is not None:
            progress(
                f"{name}: {len(sample)} changes replayed in {time.monotonic() - started:.0f} s"
            )
    return changes, people


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path, help="a folder with repos.yaml and its store")
    parser.add_argument("--repos", default=",".join(DEFAULT_REPOS))
    parser.add_argument("--changes", type=int, default=150, help="per repository")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--bootstrap", type=int, default=1000)
    parser.add_argument("--json", action="store_true", help="print JSON instead of the table")
    parser.add_argument("--save", type=Path, default=None, help="also write the JSON here")
    args = parser.parse_args(argv)
    started = time.monotonic()
    config = load_config(args.corpus / "repos.yaml")
    names = [n for n in args.repos.split(",") if n]
    refused = HELD_OUT_NAMES & set(names)
    if refused:
        print(
            f"held out for acceptance, not measured: {', '.join(sorted(refused))}", file=sys.stderr
        )
        return 2
    known = {r.name for r in config.repositories}
    if set(names) - known:
        print(f"not in {args.corpus}: {', '.join(sorted(set(names) - known))}", file=sys.stderr)
        return 2

    def progress(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    changes, people = replay_repositories(config, names, args.changes, args.seed, progress)
    result = measure(changes, people, config.privacy.k, args.bootstrap, args.seed)
    result["seconds"] = round(time.monotonic() - started, 1)
    text = json.dumps(finite(result), indent=2)
    if args.save is not None:
        args.save.write_text(text + "\n", encoding="utf-8")
    if args.json:
        print(text)
    else:
        print(render(result))
        print(f"\n{result['seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
