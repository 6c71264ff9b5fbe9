"""Benchmark teamlens's SZZ labeller against PyDriller's on the fix commits of one repository.

Usage::

    .venv/bin/python benchmarks/bench_szz.py PATH/TO/REPO [--fixes 100] [--fix SHA ...]
        [--commit-graph teamlens|both|none] [--teamlens PATH] [--json] [--save FILE]

``PATH/TO/REPO`` is a git repository (a work tree or a bare repository). It is never
written to: everything runs on a throwaway ``git clone --shared --no-checkout`` in a
temporary folder (objects borrowed, not copied) with HEAD checked out, because PyDriller
writes ``blame.markUnblamableLines`` into the config of every repository it opens and
GitPython wants a work tree.

1. ``teamlens mine`` mines the clone into a fresh data folder (key file outside it).
2. The fix commits come from the store (``is_fix``, not a merge, exactly one parent,
   oldest first, ties by sha); ``--fixes N`` of them are taken evenly spaced over that
   list (all of them when there are fewer), so the sample is deterministic. ``--fix SHA``
   (repeatable) measures the given commits instead.
3. For every sampled fix, in this process and one after the other, three contenders run
   (the order rotates from fix to fix, so none always gets the colder caches):

   * **PyDriller** -- ``git.get_commits_last_modified_lines(git.get_commit(sha))`` on one
     ``pydriller.Git`` object (opened before timing); the inducing set is the union of
     the returned per-file sets.
   * **teamlens B-SZZ** -- ``mining.szz.label_fix(..., [Variant.B], ...)``.
   * **teamlens all variants** -- ``label_fix(..., [Variant.B, Variant.AG, Variant.R],
     ...)``, what ``teamlens label`` computes per fix, with one ``SzzSession`` shared
     over the fixes as ``teamlens label`` does (B-SZZ has a session of its own).

   The ``CommitInfo`` map (merge flag, files changed, commit time) is built from the
   store, as ``teamlens label`` builds it.

   ``--commit-graph teamlens`` (the default) runs teamlens as ``teamlens label`` does:
   with the commit-graph (changed-path Bloom filters) it keeps in a folder of its own
   outside the repository (``mining.commitgraph``); PyDriller gets the clone as it is.
   ``both`` also writes such a graph into the clone itself, so PyDriller's ``git blame``
   uses one too; ``none`` runs teamlens without its graph. The graphs' one-off cost is
   printed, not added to the per-fix times.

Reported: seconds per fix (median and mean) of each contender over the fixes none of
them failed on, the speed ratios, how often teamlens B-SZZ's inducing commits equal
PyDriller's, and how many links (path, inducing commit) AG-SZZ and R-SZZ keep relative
to B-SZZ. For the first ten disagreements and failures it shows which commits differ and
why, found by re-running the pieces untimed: submodule (gitlink) changes, files
PyDriller cannot blame (it skips them silently), deleted lines starting with ``-- ``
(read as ``--- `` file headers), files or lines to blame that differ, and lines a blame
restricted with ``-L`` attributes differently from a blame of the whole file.

Target (benchmarks/README.md): teamlens B-SZZ at least 5x faster per fix than PyDriller,
with the same inducing commits.

``--json`` prints the result as one JSON object instead of the table; ``--save FILE``
writes that object to FILE as well. The exit code is 1 when a contender fails on a fix.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench_mine import git_output, teamlens_revision, write_config  # same folder; run as a script

from teamlens.config import LabelConfig
from teamlens.errors import RepositoryError
from teamlens.mining import commitgraph
from teamlens.mining.szz import (
    CommitInfo,
    FixLinks,
    SzzSession,
    Variant,
    _pydriller_useless,
    blame,
    deleted_lines,
    label_fix,
)
from teamlens.store import Store

TARGET_SPEED_UP = 5.0
SHOW_DISAGREEMENTS = 10
FIXES_SQL = (
    "SELECT sha FROM commits WHERE is_fix AND NOT is_merge AND len(parent_shas) = 1 "
    "ORDER BY commit_time, sha"
)
COMMITS_SQL = "SELECT sha, is_merge, n_files, CAST(epoch(commit_time) AS BIGINT) FROM commits"
ALL_VARIANTS = (Variant.B, Variant.AG, Variant.R)
CONTENDERS = ("PyDriller", "teamlens B-SZZ", "teamlens all variants")


@dataclass
class Contender:
    """The fixes one contender failed on: sha -> error."""

    name: str
    errors: dict[str, str] = field(default_factory=dict)


def timing(seconds: Sequence[float], errors: Mapping[str, str]) -> dict[str, Any]:
    """Median, mean, total, min and max of per-fix seconds."""
    return {
        "fixes": len(seconds),
        "median_seconds": statistics.median(seconds) if seconds else None,
        "mean_seconds": statistics.fmean(seconds) if seconds else None,
        "total_seconds": sum(seconds),
        "min_seconds": min(seconds, default=None),
        "max_seconds": max(seconds, default=None),
        "errors": dict(errors),
    }


@dataclass(frozen=True)
class FixResult:
    """What each contender found for one fix."""

    sha: str
    seconds: tuple[float | None, ...]  # per contender, None when it failed
    pydriller: frozenset[str] | None
    by_variant: Mapping[Variant, FixLinks]  # from the all-variants run
    b_alone: FixLinks | None

    @property
    def b_szz(self) -> frozenset[str] | None:
        return frozenset(self.b_alone.inducing()) if self.b_alone is not None else None


# --- set-up ------------------------------------------------------------------------------


@contextlib.contextmanager
def scratch_clone(repo: Path) -> Iterator[tuple[Path, Path]]:
    """(work-tree clone of `repo` sharing its objects, scratch folder), removed afterwards.

    PyDriller writes ``blame.markUnblamableLines`` into the config of every repository
    it opens; the clone has a config of its own, and it reads the same pack files as
    `repo` (``--shared``: nothing is copied but the checked-out files).
    """
    with tempfile.TemporaryDirectory(prefix="szz-bench-") as tmp:
        folder = Path(tmp)
        clone = folder / "clone"
        for cmd in (
            ["git", "clone", "--shared", "--no-checkout", "--quiet", str(repo), str(clone)],
            ["git", "-C", str(clone), "checkout", "--quiet"],
        ):
            subprocess.run(cmd, check=True, stdin=subprocess.DEVNULL)
        head = git_output(repo, "rev-parse", "HEAD").strip()
        if git_output(clone, "rev-parse", "HEAD").strip() != head:
            raise RuntimeError(f"the scratch clone's HEAD differs from {repo}'s")
        yield clone, folder


def write_commit_graph(repo: Path) -> float:
    """A commit-graph with changed-path Bloom filters in `repo`'s own object folder."""
    started = time.perf_counter()
    subprocess.run(
        ["git", "-C", str(repo), "commit-graph", "write", "--reachable", "--changed-paths"],
        check=True,
        capture_output=True,
        stdin=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def mine(teamlens: Path, folder: Path, clone: Path) -> tuple[Path, float]:
    """Mine `clone` into ``folder/.teamlens``. Returns (data folder, seconds)."""
    config = write_config(folder, clone)
    # The key comes from key_file only: an inherited TEAMLENS_KEY would win over it.
    env = {k: v for k, v in os.environ.items() if k != "TEAMLENS_KEY"}
    started = time.perf_counter()
    result = subprocess.run(
        [str(teamlens), "mine", "--config", str(config), "--quiet"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    if result.returncode != 0:
        raise RuntimeError(f"teamlens mine failed ({result.returncode}): {result.stderr.strip()}")
    return folder / ".teamlens", time.perf_counter() - started


def evenly_spaced(items: Sequence[str], n: int) -> list[str]:
    """`n` items spread evenly from the first to the last (all of them if there are fewer)."""
    if n >= len(items):
        return list(items)
    if n == 1:
        return [items[len(items) // 2]]
    return [items[round(i * (len(items) - 1) / (n - 1))] for i in range(n)]


def load_store(data_dir: Path) -> tuple[list[str], dict[str, CommitInfo]]:
    """(fix commits oldest first, CommitInfo of every commit) from the store."""
    store = Store(data_dir)
    fixes = [sha for (sha,) in store.query(FIXES_SQL).rows]
    commits = {
        sha: CommitInfo(bool(is_merge), int(n_files), int(when))
        for sha, is_merge, n_files, when in store.query(COMMITS_SQL).rows
    }
    return fixes, commits


# --- the contenders ----------------------------------------------------------------------


def _timed(contender: Contender, sha: str, call: Callable[[], Any]) -> tuple[Any, float | None]:
    """(what `call` returned, seconds), or (None, None) when it raised."""
    started = time.perf_counter()
    try:
        value = call()
    except Exception as exc:  # a failure on one fix is a result, not the end
        contender.errors[sha] = f"{type(exc).__name__}: {exc}"
        return None, None
    return value, time.perf_counter() - started


def run_contenders(
    pydriller_repo: Path,
    teamlens_repo: Path,
    git_env: Mapping[str, str] | None,
    fixes: Sequence[str],
    commits: Mapping[str, CommitInfo],
    bulk_files: int,
    log: Callable[[str], None],
) -> tuple[list[Contender], list[FixResult]]:
    from pydriller import Git

    git = Git(str(pydriller_repo))
    _ = git.repo  # open it (and let it write its config) before timing
    contenders = [Contender(name) for name in CONTENDERS]
    # One session each, opened before timing, as PyDriller's Git object is: B-SZZ's
    # never sees the cosmetic verdicts the all-variants run caches.
    b_session = SzzSession(teamlens_repo, git_env)
    shared = SzzSession(teamlens_repo, git_env)
    results: list[FixResult] = []

    for i, sha in enumerate(fixes):

        def pydriller(sha: str = sha) -> frozenset[str]:
            found = git.get_commits_last_modified_lines(git.get_commit(sha))
            return frozenset(s for shas in found.values() for s in shas)

        def b_alone(sha: str = sha) -> list[FixLinks]:
            return label_fix(b_session, sha, [Variant.B], commits, bulk_files)

        def all_variants(sha: str = sha) -> list[FixLinks]:
            return label_fix(shared, sha, ALL_VARIANTS, commits, bulk_files)

        calls: list[Callable[[], Any]] = [pydriller, b_alone, all_variants]
        values: list[Any] = [None, None, None]
        seconds: list[float | None] = [None, None, None]
        for k in range(3):  # rotate the order: fix i starts with contender i mod 3
            j = (i + k) % 3
            values[j], seconds[j] = _timed(contenders[j], sha, calls[j])
        b_links: list[FixLinks] | None = values[1]
        every: list[FixLinks] | None = values[2]
        results.append(
            FixResult(
                sha=sha,
                seconds=tuple(seconds),
                pydriller=values[0],
                by_variant={r.variant: r for r in every or ()},
                b_alone=b_links[0] if b_links else None,
            )
        )
        if (i + 1) % 10 == 0 or i + 1 == len(fixes):
            log(f"  {i + 1}/{len(fixes)} fixes")
    b_session.close()
    shared.close()
    return contenders, results


# --- explaining disagreements ------------------------------------------------------------


@dataclass(frozen=True)
class _TheirFile:
    """One file of a fix as PyDriller sees it."""

    path: str  # the path PyDriller blames (the old path of a rename or deletion)
    deleted: list[tuple[int, str]]
    blame_error: str | None


def _pydriller_files(repo: Path, sha: str) -> list[_TheirFile]:
    from git.exc import GitCommandError
    from pydriller import Git
    from pydriller.domain.commit import ModificationType

    git = Git(str(repo))
    files: list[_TheirFile] = []
    for mod in git.get_commit(sha).modified_files:
        old = mod.change_type in (ModificationType.RENAME, ModificationType.DELETE)
        path = mod.old_path if old else mod.new_path
        assert path is not None
        error = None
        try:
            git.repo.git.blame("-w", f"{sha}^", "--", path)
        except GitCommandError as exc:
            lines = str(exc.stderr).strip().splitlines()
            error = lines[-1].strip().removeprefix("stderr:").strip(" '") if lines else str(exc)
        files.append(_TheirFile(path, mod.diff_parsed["deleted"], error))
    return files


def _whole_file_blame(repo: Path, sha: str, path: str, lines: Sequence[int]) -> dict[int, str]:
    """Line -> commit as PyDriller finds it: ``git blame -w`` of the whole file."""
    out = git_output(repo, "blame", "-w", "--porcelain", f"{sha}^", "--", path)
    found: dict[int, str] = {}
    for line in out.splitlines():
        parts = line.split(" ")
        if len(parts) >= 3 and len(parts[0]) == 40 and not line.startswith("\t"):
            found[int(parts[2])] = parts[0]
    return {n: found[n] for n in lines if n in found}


def _spans(numbers: set[int]) -> str:
    """{3, 4, 5, 9} -> '3-5, 9'."""
    spans: list[str] = []
    for n in sorted(numbers):
        if spans and spans[-1].split("-")[-1] == str(n - 1):
            spans[-1] = f"{spans[-1].split('-')[0]}-{n}"
        else:
            spans.append(str(n))
    return ", ".join(spans) or "-"


def explain(repo: Path, sha: str, error: str | None = None) -> list[str]:
    """Why PyDriller and teamlens B-SZZ see this fix differently (best effort, untimed).

    `error`: what teamlens raised on this fix, if it did.
    """
    from pydriller import Git

    reasons: list[str] = [f"teamlens raised {error}"] if error else []
    session = SzzSession(repo)
    try:
        ours = deleted_lines(session, sha)
    except RepositoryError as exc:
        reasons.append(f"teamlens deleted_lines failed: {exc}")
        ours = {}
    theirs = _pydriller_files(repo, sha)
    for f in theirs:
        if f.blame_error is not None and f.deleted:
            reasons.append(
                f"{f.path}: PyDriller's blame failed ({f.blame_error}); PyDriller skips "
                "the file silently"
            )
    their_paths = {f.path for f in theirs if f.deleted and f.blame_error is None}
    if only := sorted(set(ours) - their_paths):
        reasons.append(f"files with deleted lines to blame for teamlens only: {only}")
    if only := sorted(their_paths - set(ours)):
        reasons.append(f"files with deleted lines to blame for PyDriller only: {only}")
    for f in theirs:
        if f.path not in ours or f.blame_error is not None:
            continue
        useful = {n for n, text in f.deleted if not Git._useless_line(text.strip())}
        wanted = {n for n, text in ours[f.path] if not _pydriller_useless(text)}
        if useful != wanted:
            reasons.append(
                f"{f.path}: lines to blame differ: PyDriller only {_spans(useful - wanted)}, "
                f"teamlens only {_spans(wanted - useful)}"
            )
            mine = {n for n, _ in ours[f.path]}
            if {n for n, _ in f.deleted} != mine:
                reasons.append(
                    f"{f.path}: the diffs delete different lines (git's and libgit2's "
                    "alignment of a change among repeated lines)"
                )
            continue
        ranged = blame(session, f"{sha}^", f.path, sorted(wanted))
        whole = _whole_file_blame(repo, sha, f.path, sorted(wanted))
        differ = [n for n in sorted(wanted) if ranged.get(n) != whole.get(n)]
        if differ:
            reasons.append(
                f"{f.path}: lines {differ[:10]} are blamed differently with -L ranges "
                "than in a blame of the whole file"
            )
    return reasons or ["no difference found in files, lines to blame or per-line blame"]


# --- report ------------------------------------------------------------------------------


def _links(result: FixResult, variant: Variant) -> int:
    found = result.by_variant.get(variant)
    return 0 if found is None else sum(len(by_sha) for by_sha in found.links.values())


def _inducing(result: FixResult, variant: Variant) -> int:
    found = result.by_variant.get(variant)
    return 0 if found is None else len(found.inducing())


def summarise(
    repo: Path, contenders: Sequence[Contender], results: Sequence[FixResult]
) -> dict[str, Any]:
    # Times and ratios over the fixes all three contenders got through.
    timed = [r for r in results if all(s is not None for s in r.seconds)]
    times = {
        c.name: timing([r.seconds[i] or 0.0 for r in timed], c.errors)
        for i, c in enumerate(contenders)
    }
    pydriller, b_szz, every = (times[name] for name in CONTENDERS)
    compared = [r for r in results if r.pydriller is not None and r.b_szz is not None]
    differing = [r for r in compared if r.pydriller != r.b_szz]
    disagreements = []
    for r in differing[:SHOW_DISAGREEMENTS]:
        assert r.pydriller is not None and r.b_szz is not None
        disagreements.append(
            {
                "fix": r.sha,
                "only_pydriller": sorted(r.pydriller - r.b_szz),
                "only_teamlens": sorted(r.b_szz - r.pydriller),
                "reasons": explain(repo, r.sha),
            }
        )
    failures = []
    explained: set[str] = set()
    for name, contender in zip(CONTENDERS, contenders, strict=True):
        for sha, error in list(contender.errors.items())[:SHOW_DISAGREEMENTS]:
            reasons = ["as above"] if sha in explained else explain(repo, sha, error)
            explained.add(sha)
            failures.append({"contender": name, "fix": sha, "error": error, "reasons": reasons})
    inconsistent = [
        r.sha
        for r in results
        if r.b_alone is not None
        and Variant.B in r.by_variant
        and r.by_variant[Variant.B].links != r.b_alone.links
    ]
    full = [r for r in results if len(r.by_variant) == len(ALL_VARIANTS)]
    variants: dict[str, Any] = {}
    b_links = sum(_links(r, Variant.B) for r in full)
    b_inducing = sum(_inducing(r, Variant.B) for r in full)
    for variant in ALL_VARIANTS:
        links = sum(_links(r, variant) for r in full)
        inducing = sum(_inducing(r, variant) for r in full)
        variants[variant.value] = {
            "links": links,
            "links_vs_b": links / b_links if b_links else None,
            "inducing": inducing,
            "inducing_vs_b": inducing / b_inducing if b_inducing else None,
            "fixes_with_links": sum(1 for r in full if _links(r, variant)),
        }

    def ratio(a: dict[str, Any], b: dict[str, Any], what: str) -> float | None:
        x, y = a[f"{what}_seconds"], b[f"{what}_seconds"]
        return x / y if x is not None and y else None

    return {
        "timed_fixes": len(timed),
        "contenders": times,
        "speed_up": {
            "b_szz_median": ratio(pydriller, b_szz, "median"),
            "b_szz_mean": ratio(pydriller, b_szz, "mean"),
            "all_variants_median": ratio(pydriller, every, "median"),
            "all_variants_mean": ratio(pydriller, every, "mean"),
        },
        "agreement": {
            "compared": len(compared),
            "equal": len(compared) - len(differing),
            "percent": 100 * (len(compared) - len(differing)) / len(compared) if compared else None,
            "pydriller_commits": sum(len(r.pydriller or ()) for r in compared),
            "teamlens_commits": sum(len(r.b_szz or ()) for r in compared),
            "differing_fixes": [r.sha for r in differing],
            "disagreements": disagreements,
        },
        "failures": failures,
        "b_alone_vs_b_in_all_variants_differ": inconsistent,
        "variants": variants,
        "per_fix": [
            {
                "fix": r.sha,
                "seconds": dict(zip(CONTENDERS, r.seconds, strict=True)),
                "pydriller": sorted(r.pydriller) if r.pydriller is not None else None,
                "links": {v.value: _links(r, v) for v in r.by_variant},
                "inducing": {v.value: _inducing(r, v) for v in r.by_variant},
            }
            for r in results
        ],
    }


def verdict(value: float | None) -> str:
    if value is None:
        return "n/a"
    return "PASS" if value >= TARGET_SPEED_UP else "FAIL"


def print_table(result: dict[str, Any]) -> None:
    print(f"repository: {result['repository']} (HEAD {result['head'][:12]})")
    print(f"teamlens: {result['teamlens_revision']}; PyDriller {result['pydriller_version']}")
    print(f"{result['git_version']}; {result['cpus']} CPUs")
    print(
        f"load average {result['load_average_before']} before, "
        f"{result['load_average_after']} after (1, 5, 15 min)"
    )
    print(
        f"mined {result['head_commits']} commits in {result['mine_seconds']:.1f} s; "
        f"{result['fix_commits']} fix commits (non-merge, one parent); "
        f"measured {result['fixes_measured']} ({result['sample']})"
    )
    if result["commit_graph"] == "none":
        print("no commit-graph for either contender")
    else:
        print(
            "teamlens's own commit-graph with changed-path Bloom filters written in "
            f"{result['commit_graph_seconds']:.1f} s (not in the per-fix times)"
        )
    if result["commit_graph"] == "both":
        print(
            "a commit-graph in PyDriller's clone too, written in "
            f"{result['pydriller_commit_graph_seconds']:.1f} s"
        )
    print()
    print(f"seconds per fix, over the {result['timed_fixes']} fixes no contender failed on:")
    header = (
        f"{'contender':<22} {'fixes':>5} {'median s':>9} {'mean s':>8} {'min s':>7} "
        f"{'max s':>7} {'total s':>8} {'failed':>6}"
    )
    print(header)
    print("-" * len(header))

    def number(value: float | None, width: int, digits: int = 3) -> str:
        return f"{'-':>{width}}" if value is None else f"{value:>{width}.{digits}f}"

    for name, c in result["contenders"].items():
        print(
            f"{name:<22} {c['fixes']:>5} {number(c['median_seconds'], 9)} "
            f"{number(c['mean_seconds'], 8)} {number(c['min_seconds'], 7)} "
            f"{number(c['max_seconds'], 7)} {number(c['total_seconds'], 8, 1)} "
            f"{len(c['errors']):>6}"
        )
    print()
    s = {k: "n/a" if v is None else f"{v:.1f}x" for k, v in result["speed_up"].items()}
    b_median, b_mean = result["speed_up"]["b_szz_median"], result["speed_up"]["b_szz_mean"]
    print(
        f"PyDriller / teamlens B-SZZ:        {s['b_szz_median']} per fix (medians), "
        f"{s['b_szz_mean']} (means); target >= {TARGET_SPEED_UP:g}x: "
        f"{verdict(b_median)} (medians), {verdict(b_mean)} (means)"
    )
    print(
        f"PyDriller / teamlens all variants: {s['all_variants_median']} per fix "
        f"(medians), {s['all_variants_mean']} (means)"
    )
    a = result["agreement"]
    if a["percent"] is not None:
        print(
            f"B-SZZ agreement: {a['equal']}/{a['compared']} fixes ({a['percent']:.1f} %) with "
            f"the same inducing commits as PyDriller; inducing commits in all: PyDriller "
            f"{a['pydriller_commits']}, teamlens {a['teamlens_commits']}"
        )
    if result["b_alone_vs_b_in_all_variants_differ"]:
        print(
            "WARNING: B-SZZ alone and B-SZZ in the all-variants run differ on "
            f"{result['b_alone_vs_b_in_all_variants_differ']}"
        )
    for d in a["disagreements"]:
        print(f"  fix {d['fix'][:12]}:")
        print(f"    only PyDriller: {', '.join(s[:12] for s in d['only_pydriller']) or '-'}")
        print(f"    only teamlens:  {', '.join(s[:12] for s in d['only_teamlens']) or '-'}")
        for reason in d["reasons"]:
            print(f"    why: {reason}")
    if len(a["differing_fixes"]) > len(a["disagreements"]):
        rest = a["differing_fixes"][len(a["disagreements"]) :]
        print(f"  ... and {len(rest)} more: {', '.join(s[:12] for s in rest)}")
    print()
    print("links (path, inducing commit) of the all-variants run, relative to B-SZZ:")
    for name, v in result["variants"].items():
        links_vs = "-" if v["links_vs_b"] is None else f"{100 * v['links_vs_b']:.1f} %"
        inducing_vs = "-" if v["inducing_vs_b"] is None else f"{100 * v['inducing_vs_b']:.1f} %"
        print(
            f"  {name:<7} {v['links']:>6} links ({links_vs:>7}), {v['inducing']:>5} "
            f"fix-inducing pairs ({inducing_vs:>7}), {v['fixes_with_links']:>4} fixes with links"
        )
    for failure in result["failures"]:
        print(f"ERROR {failure['contender']} on {failure['fix'][:12]}: {failure['error']}")
        for reason in failure["reasons"]:
            print(f"    why: {reason}")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark teamlens's SZZ labeller against PyDriller's on sampled fixes."
    )
    parser.add_argument("repo", type=Path, help="path of a git repository (bare or not)")
    parser.add_argument("--fixes", type=int, default=100, help="fix commits to measure (100)")
    parser.add_argument(
        "--fix",
        action="append",
        default=[],
        metavar="SHA",
        help="measure this commit instead of a sample (repeatable; one parent each)",
    )
    parser.add_argument(
        "--commit-graph",
        choices=["teamlens", "both", "none"],
        default="teamlens",
        help="commit-graphs with changed-path Bloom filters: teamlens's own, as `teamlens "
        "label` keeps it (default); 'both': also one in the clone PyDriller uses; 'none': "
        "neither",
    )
    parser.add_argument(
        "--teamlens",
        type=Path,
        default=Path(sys.executable).parent / "teamlens",
        help="the teamlens executable used to mine (default: next to this Python)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--save", type=Path, default=None, help="also write the JSON object to this file"
    )
    args = parser.parse_args(argv)
    if args.fixes < 1:
        parser.error("--fixes must be at least 1")
    if not args.teamlens.exists():
        parser.error(f"{args.teamlens} does not exist; pass --teamlens")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    repo: Path = args.repo.resolve()

    def log(message: str) -> None:
        if not args.json:
            print(message, file=sys.stderr, flush=True)

    from importlib.metadata import version

    load_before = [round(x, 2) for x in os.getloadavg()]
    graph_seconds: float | None = None
    pydriller_graph_seconds: float | None = None
    with scratch_clone(repo) as (clone, folder):
        log(f"teamlens mine {repo} (scratch clone {clone}) ...")
        data_dir, mine_seconds = mine(args.teamlens, folder, clone)
        fixes, commits = load_store(data_dir)
        if args.fix:
            sample = [
                git_output(clone, "rev-parse", "--verify", f"{sha}^{{commit}}").strip()
                for sha in args.fix
            ]
        else:
            sample = evenly_spaced(fixes, args.fixes)
        git_env: Mapping[str, str] | None = None
        if args.commit_graph != "none":
            log("teamlens's commit-graph (mining.commitgraph.refresh) ...")
            started = time.perf_counter()
            git_env = commitgraph.refresh(clone, folder / "graph" / "objects")
            graph_seconds = time.perf_counter() - started
            if git_env is None:
                raise RuntimeError("git could not write teamlens's commit-graph")
        if args.commit_graph == "both":
            log(f"git commit-graph write --reachable --changed-paths in {clone} ...")
            pydriller_graph_seconds = write_commit_graph(clone)
        log(f"{len(sample)} of {len(fixes)} fixes: PyDriller, B-SZZ, all variants ...")
        contenders, results = run_contenders(
            clone, clone, git_env, sample, commits, LabelConfig().bulk_files, log
        )
        load_after = [round(x, 2) for x in os.getloadavg()]
        log("explaining disagreements ...")
        summary = summarise(clone, contenders, results)
        head = git_output(clone, "rev-parse", "HEAD").strip()
    result: dict[str, Any] = {
        "repository": str(repo),
        "head": head,
        "head_commits": len(commits),
        "teamlens_revision": teamlens_revision(args.teamlens),
        "pydriller_version": version("pydriller"),
        "git_version": subprocess.run(
            ["git", "--version"], capture_output=True, text=True, check=False
        ).stdout.strip(),
        "cpus": os.cpu_count(),
        "load_average_before": load_before,
        "load_average_after": load_after,
        "mine_seconds": mine_seconds,
        "commit_graph": args.commit_graph,
        "commit_graph_seconds": graph_seconds,
        "pydriller_commit_graph_seconds": pydriller_graph_seconds,
        "fix_commits": len(fixes),
        "fixes_measured": len(sample),
        "sample": "given" if args.fix else "all" if len(sample) == len(fixes) else "evenly spaced",
        **summary,
    }
    if args.save is not None:
        args.save.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    if args.json:
        print(json.dumps(result))
    else:
        print_table(result)
    failed = any(c.errors for c in contenders)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
