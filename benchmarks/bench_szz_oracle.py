"""SZZ variants against the developer-informed oracle of Rosa et al. (ICSE 2021), beside PyDriller.

Usage::

    .venv/bin/python benchmarks/bench_szz_oracle.py ORACLE --repos DIR
        [--heldout FILE] [--max-commits 20000] [--repo OWNER/NAME ...] [--json] [--save FILE]

``ORACLE`` is a clone or checkout of the replication package
(github.com/grosa1/icse2021-szz-replication-package; a bare clone works too): its
``json-input-raw/bugfix_commits_all.json`` lists fix commits, their repositories and the
inducing commits their developers confirmed. The benchmark skips (exit 0, one line
saying why) when the oracle or the held-out list is absent.

``--heldout FILE`` (default ``../shared/data/szz-heldout.txt`` beside the project) lists
the oracle repositories kept for acceptance: their fixes are dropped before anything
runs, so no figure here and nothing tuned from it has seen them.

``--repos DIR`` holds the development repositories that could be had, one folder per
repository named ``owner+name`` (a git directory, or one holding ``repo`` or
``repo/.git``). An oracle repository without a folder there is listed as not fetched;
one with more than ``--max-commits`` commits on HEAD is listed as too large to mine.

For every repository: a throwaway ``git clone --shared`` with HEAD checked out (PyDriller
writes into the config of the repository it opens and wants a work tree); ``teamlens
mine`` into a fresh data folder; the commit facts SZZ's filters read (merge, files
changed, commit time) come from the store, and from git for commits off the mined
branch (a fix on another branch). Then, on every oracle fix of the repository (one
parent; the fix commit must exist):

* **PyDriller** ``Git.get_commits_last_modified_lines`` (union over files): the anchor;
* **teamlens** ``mining.szz.label_fix``: B-SZZ, and AG-SZZ and R-SZZ with the classic
  filters and with each precision filter (``formatting``, ``versions``, ``minor``,
  ``added-context``, ``last-touch``) added alone and in combinations.

Reported: micro precision, recall and F1 over (fix, inducing commit) pairs per
contender, the fixes each found nothing for, and the same on the fixes that delete no
line (added-only fixes). ``--json`` prints one JSON object; ``--save FILE`` writes it too.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench_mine import git_output, teamlens_revision  # same folder; run as a script
from bench_szz import load_store, mine

from teamlens.config import LabelConfig
from teamlens.mining.szz import (
    ALL_FILTERS,
    DEFAULT_FILTERS,
    MINOR_RULE,
    AgFilter,
    CommitInfo,
    MinorRule,
    SzzSession,
    Variant,
    deleted_lines,
    label_fix,
    variant_name,
)

ORACLE_FILE = "json-input-raw/bugfix_commits_all.json"
PROJECT = Path(__file__).resolve().parent.parent
DEFAULT_HELDOUT = PROJECT.parent / "shared" / "data" / "szz-heldout.txt"
PYDRILLER = "PyDriller"


@dataclass(frozen=True)
class Setting:
    """One teamlens filter set: AG-SZZ and R-SZZ are computed together under it."""

    filters: frozenset[AgFilter]
    minor: MinorRule = MINOR_RULE

    def name(self, variant: Variant) -> str:
        name = variant_name(variant, self.filters)
        if AgFilter.MINOR in self.filters and self.minor != MINOR_RULE:
            name += f"[{self.minor.min_lines},{self.minor.share:g}]"
        return name


def settings() -> list[Setting]:
    """The filter sets measured: the classic five, each precision filter alone, the
    ``minor`` rule at other thresholds, and combinations."""
    classic = ALL_FILTERS
    formatting, versions, minor = AgFilter.FORMATTING, AgFilter.VERSIONS, AgFilter.MINOR
    context, last = AgFilter.ADDED_CONTEXT, AgFilter.LAST_TOUCH
    found = [Setting(classic)]
    found += [Setting(classic | {f}) for f in (formatting, versions, minor, context, last)]
    found += [
        Setting(classic | {minor}, MinorRule(n, share))
        for n, share in ((5, 0.1), (10, 0.1), (10, 0.2), (20, 0.05))
    ]
    found += [
        Setting(classic | {formatting, versions}),
        Setting(classic | {formatting, last}),
        Setting(classic | {formatting, minor, last}, MinorRule(10, 0.1)),
        Setting(DEFAULT_FILTERS),  # formatting, minor, last-touch: the default
        Setting(classic | {formatting, versions, minor, last}),
    ]
    return found


@dataclass(frozen=True)
class OracleFix:
    repo: str
    fix: str
    inducing: frozenset[str]


@dataclass
class Outcome:
    """Per contender: fix -> the inducing commits it named."""

    found: dict[str, dict[str, frozenset[str]]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)  # fix -> error


# --- inputs ------------------------------------------------------------------------------


def read_oracle(path: Path) -> list[dict[str, Any]] | None:
    """The oracle's entries, from a checkout or a (bare) clone; None if not there."""
    file = path / ORACLE_FILE
    if file.is_file():
        loaded: list[dict[str, Any]] = json.loads(file.read_text(encoding="utf-8"))
        return loaded
    if path.is_dir():
        shown = subprocess.run(
            ["git", "--git-dir", str(path), "show", f"HEAD:{ORACLE_FILE}"],
            capture_output=True,
            check=False,
            stdin=subprocess.DEVNULL,
        )
        if shown.returncode == 0:
            loaded = json.loads(shown.stdout)
            return loaded
    return None


def read_heldout(path: Path) -> set[str]:
    return {
        line.strip()
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }


def local_repository(repos: Path, name: str) -> Path | None:
    """The git directory of oracle repository `name` under `repos`, if fetched."""
    folder = repos / name.replace("/", "+")
    for candidate in (folder / "repo" / ".git", folder / "repo", folder / ".git", folder):
        if (candidate / "HEAD").is_file() and (candidate / "objects").is_dir():
            return candidate
    return None


def has_commit(git_dir: Path, sha: str) -> bool:
    return (
        subprocess.run(
            ["git", "--git-dir", str(git_dir), "cat-file", "-e", f"{sha}^{{commit}}"],
            capture_output=True,
            check=False,
            stdin=subprocess.DEVNULL,
        ).returncode
        == 0
    )


@contextlib.contextmanager
def scratch_clone(git_dir: Path) -> Iterator[tuple[Path, Path]]:
    """(work-tree clone sharing `git_dir`'s objects, scratch folder), removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="szz-oracle-") as tmp:
        folder = Path(tmp)
        clone = folder / "clone"
        for cmd in (
            ["git", "clone", "--shared", "--no-checkout", "--quiet", str(git_dir), str(clone)],
            ["git", "-C", str(clone), "checkout", "--quiet"],
        ):
            subprocess.run(cmd, check=True, stdin=subprocess.DEVNULL, capture_output=True)
        yield clone, folder


def commit_infos(clone: Path, fixes: Sequence[str], exclude_head: bool) -> dict[str, CommitInfo]:
    """CommitInfo of the commits behind `fixes` (those HEAD lacks, with `exclude_head`)."""
    rest = ["--not", "HEAD"] if exclude_head else []
    out = git_output(
        clone, "log", "--format=%x00%H %P%x01%ct", "--name-only", "--no-renames", *fixes, *rest
    )
    found: dict[str, CommitInfo] = {}
    for record in out.split("\0")[1:]:
        head, _, files = record.partition("\n")
        ids, _, when = head.partition("\x01")
        sha, *parents = ids.split()
        n_files = sum(1 for line in files.splitlines() if line.strip())
        found[sha] = CommitInfo(len(parents) > 1, n_files, int(when))
    return found


# --- running -----------------------------------------------------------------------------


def run_repository(
    clone: Path,
    fixes: Sequence[OracleFix],
    commits: Mapping[str, CommitInfo],
    outcomes: dict[str, Outcome],
    added_only: set[str],
) -> None:
    from pydriller import Git

    git = Git(str(clone))
    session = SzzSession(clone)
    bulk = LabelConfig().bulk_files
    try:
        for f in fixes:
            try:
                found = git.get_commits_last_modified_lines(git.get_commit(f.fix))
                outcomes[PYDRILLER].found.setdefault(f.repo, {})[f.fix] = frozenset(
                    s for shas in found.values() for s in shas
                )
            except Exception as exc:  # a failure on one fix is a result, not the end
                outcomes[PYDRILLER].errors[f.fix] = f"{type(exc).__name__}: {exc}"
            try:
                if not any(lines for lines in deleted_lines(session, f.fix).values()):
                    added_only.add(f.fix)
                (b,) = label_fix(session, f.fix, [Variant.B], commits, bulk)
                outcomes[Variant.B.value].found.setdefault(f.repo, {})[f.fix] = frozenset(
                    b.inducing()
                )
            except Exception as exc:
                outcomes[Variant.B.value].errors[f.fix] = f"{type(exc).__name__}: {exc}"
            for setting in settings():
                names = {v: setting.name(v) for v in (Variant.AG, Variant.R)}
                try:
                    results = label_fix(
                        session,
                        f.fix,
                        [Variant.AG, Variant.R],
                        commits,
                        bulk,
                        setting.filters,
                        setting.minor,
                    )
                except Exception as exc:
                    for name in names.values():
                        outcomes[name].errors[f.fix] = f"{type(exc).__name__}: {exc}"
                    continue
                for r in results:
                    found_set = frozenset(r.inducing())
                    outcomes[names[r.variant]].found.setdefault(f.repo, {})[f.fix] = found_set
    finally:
        session.close()


def mined_before(data: Path | None, repo: str, clone: Path) -> Path | None:
    """The data folder `--data` keeps for `repo`, if it was mined at the clone's HEAD."""
    if data is None:
        return None
    folder = data / repo.replace("/", "+")
    head = folder / "head"
    if head.is_file() and head.read_text("utf-8") == git_output(clone, "rev-parse", "HEAD"):
        return folder / ".teamlens"
    return None


def measure_repository(
    teamlens: Path,
    data: Path | None,
    git_dir: Path,
    fixes: Sequence[OracleFix],
    outcomes: dict[str, Outcome],
    added_only: set[str],
    not_mined: list[str],
    log: Callable[[str], None],
) -> float:
    """Mine one repository and run every contender on its fixes; returns mining seconds."""
    mine_seconds = 0.0
    with scratch_clone(git_dir) as (clone, folder):
        try:
            data_dir = mined_before(data, fixes[0].repo, clone)
            if data_dir is None:
                into = folder if data is None else data / fixes[0].repo.replace("/", "+")
                into.mkdir(parents=True, exist_ok=True)
                data_dir, mine_seconds = mine(teamlens, into, clone)
                (into / "head").write_text(git_output(clone, "rev-parse", "HEAD"), "utf-8")
            _, commits = load_store(data_dir)
        except RuntimeError as exc:
            # A snapshot without its largest blobs cannot be mined (numstat reads
            # blobs); the facts SZZ reads need commits and trees only.
            log(f"  mining failed ({exc}); commit facts from git log")
            not_mined.append(fixes[0].repo)
            commits = {}
        off = [f.fix for f in fixes if f.fix not in commits]
        if off:
            commits = {**commit_infos(clone, off, exclude_head=bool(commits)), **commits}
        run_repository(clone, fixes, commits, outcomes, added_only)
    return mine_seconds


def scores(
    outcome: Outcome, oracle: Sequence[OracleFix], only: set[str] | None = None
) -> dict[str, Any]:
    """Micro precision, recall and F1 over (fix, inducing commit) pairs."""
    tp = fp = fn = empty = exact = fixes = 0
    for f in oracle:
        if only is not None and f.fix not in only:
            continue
        named = outcome.found.get(f.repo, {}).get(f.fix, frozenset())
        fixes += 1
        tp += len(named & f.inducing)
        fp += len(named - f.inducing)
        fn += len(f.inducing - named)
        empty += not named
        exact += named == f.inducing
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "fixes": fixes,
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "fixes_with_nothing": empty,
        "fixes_exact": exact,
    }


def contender_names() -> list[str]:
    names = [PYDRILLER, Variant.B.value]
    for setting in settings():
        names += [setting.name(Variant.AG), setting.name(Variant.R)]
    return names


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)

    def log(message: str) -> None:
        if not args.json:
            print(message, file=sys.stderr, flush=True)

    def skip(reason: str) -> int:
        if args.json:
            print(json.dumps({"skipped": reason}))
        else:
            print(f"skipped: {reason}")
        return 0

    entries = read_oracle(args.oracle)
    if entries is None:
        return skip(f"no oracle at {args.oracle} (a checkout or clone holding {ORACLE_FILE})")
    if not args.heldout.is_file():
        return skip(f"no held-out list at {args.heldout}; refusing to run without it")
    heldout = read_heldout(args.heldout)
    dev = [e for e in entries if e["repo_name"] not in heldout]
    by_repo: dict[str, list[OracleFix]] = {}
    for e in dev:
        by_repo.setdefault(e["repo_name"], []).append(
            OracleFix(e["repo_name"], e["fix_commit_hash"], frozenset(e["bug_commit_hash"]))
        )
    wanted = sorted(args.repo) if args.repo else sorted(by_repo)
    names = contender_names()
    outcomes = {name: Outcome() for name in names}
    not_fetched: list[str] = []
    too_large: dict[str, int] = {}
    not_mined: list[str] = []  # mining failed (objects missing): facts from git log
    repo_failed: dict[str, str] = {}
    missing_commits: list[str] = []  # fix or oracle commits git does not have
    merges_or_roots: list[str] = []
    measured: list[OracleFix] = []
    added_only: set[str] = set()
    repos_measured: list[str] = []
    mine_seconds = 0.0
    load_before = [round(x, 2) for x in os.getloadavg()]
    started = time.perf_counter()
    for name in wanted:
        git_dir = local_repository(args.repos, name) if name in by_repo else None
        if git_dir is None:
            not_fetched.append(name)
            continue
        fixes = []
        for f in by_repo[name]:
            if not has_commit(git_dir, f.fix):
                missing_commits.append(f.fix)
                continue
            parents = git_output(git_dir, "rev-list", "--parents", "-n", "1", f.fix).split()
            if len(parents) != 2:
                merges_or_roots.append(f.fix)
                continue
            fixes.append(f)
        if not fixes:
            continue
        count = int(git_output(git_dir, "rev-list", "--count", "HEAD").strip())
        if count > args.max_commits:
            too_large[name] = count
            continue
        log(f"{name}: {count} commits, {len(fixes)} fixes")
        try:
            mine_seconds += measure_repository(
                args.teamlens, args.data, git_dir, fixes, outcomes, added_only, not_mined, log
            )
        except (subprocess.CalledProcessError, OSError, ValueError) as exc:
            log(f"  failed: {exc}")
            repo_failed[name] = str(exc)
            continue
        measured += fixes
        repos_measured.append(name)
    # A fix any contender failed on is left out of every contender's figures.
    failed = {fix for o in outcomes.values() for fix in o.errors}
    scored = [f for f in measured if f.fix not in failed]
    result: dict[str, Any] = {
        "oracle_fixes": len(entries),
        "heldout_repositories": len(heldout),
        "heldout_fixes_excluded": len(entries) - len(dev),
        "development_repositories": len(by_repo),
        "development_fixes": len(dev),
        "repositories_measured": len(repos_measured),
        "fixes_measured": len(scored),
        "oracle_pairs": sum(len(f.inducing) for f in scored),
        "added_only_fixes": len(added_only & {f.fix for f in scored}),
        "not_fetched": not_fetched,
        "too_large_to_mine": too_large,
        "not_mined_facts_from_git_log": not_mined,
        "repository_failed": repo_failed,
        "fix_commit_missing": missing_commits,
        "fix_is_merge_or_root": merges_or_roots,
        "failed_fixes": {n: o.errors for n, o in outcomes.items() if o.errors},
        "max_commits": args.max_commits,
        "mine_seconds": mine_seconds,
        "seconds": time.perf_counter() - started,
        "teamlens_revision": teamlens_revision(args.teamlens),
        "pydriller_version": _version("pydriller"),
        "git_version": git_output(PROJECT, "--version").strip(),
        "load_average_before": load_before,
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "scores": {name: scores(outcomes[name], scored) for name in names},
        "scores_added_only": {name: scores(outcomes[name], scored, added_only) for name in names},
        "repositories": repos_measured,
        "per_fix": [
            {
                "repo": f.repo,
                "fix": f.fix,
                "oracle": sorted(f.inducing),
                "added_only": f.fix in added_only,
                "found": {
                    n: sorted(outcomes[n].found.get(f.repo, {}).get(f.fix, ())) for n in names
                },
            }
            for f in scored
        ],
    }
    if args.save is not None:
        args.save.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    if args.json:
        print(json.dumps(result))
    else:
        print_table(result)
    return 0


def _version(package: str) -> str:
    from importlib.metadata import version

    return version(package)


def print_table(result: Mapping[str, Any]) -> None:
    print(f"teamlens: {result['teamlens_revision']}; PyDriller {result['pydriller_version']}")
    print(
        f"{result['git_version']}; load average {result['load_average_before']} before, "
        f"{result['load_average_after']} after"
    )
    print(
        f"oracle: {result['oracle_fixes']} fixes; held out: {result['heldout_repositories']} "
        f"repositories ({result['heldout_fixes_excluded']} fixes, never run); development: "
        f"{result['development_fixes']} fixes in {result['development_repositories']} "
        "repositories"
    )
    print(
        f"measured: {result['fixes_measured']} fixes ({result['oracle_pairs']} oracle "
        f"fix-inducing pairs, {result['added_only_fixes']} fixes delete no line) in "
        f"{result['repositories_measured']} repositories; not fetched: "
        f"{len(result['not_fetched'])}; over {result['max_commits']} commits: "
        f"{len(result['too_large_to_mine'])}; facts from git log (mining failed): "
        f"{len(result['not_mined_facts_from_git_log'])}; fix commit missing: "
        f"{len(result['fix_commit_missing'])}; merge or root fix: "
        f"{len(result['fix_is_merge_or_root'])}; repositories failed: "
        f"{len(result['repository_failed'])}; failed: {len(result['failed_fixes'])} "
        f"contenders on some fix; {result['seconds']:.0f} s"
    )
    for title, table in (
        ("all measured fixes", result["scores"]),
        ("fixes that delete no line", result["scores_added_only"]),
    ):
        print()
        print(f"micro precision / recall / F1 over (fix, inducing) pairs, {title}:")
        header = (
            f"{'contender':<48} {'P':>6} {'R':>6} {'F1':>6} {'TP':>5} {'FP':>5} {'FN':>5} "
            f"{'none':>5} {'exact':>5}"
        )
        print(header)
        print("-" * len(header))
        for name, s in table.items():
            print(
                f"{name:<48} {s['precision']:>6.3f} {s['recall']:>6.3f} {s['f1']:>6.3f} "
                f"{s['tp']:>5} {s['fp']:>5} {s['fn']:>5} {s['fixes_with_nothing']:>5} "
                f"{s['fixes_exact']:>5}"
            )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="SZZ variants and PyDriller against the developer-informed oracle."
    )
    parser.add_argument("oracle", type=Path, help="the replication package (checkout or clone)")
    parser.add_argument(
        "--repos",
        type=Path,
        required=True,
        help="folder of development repositories, one per oracle repository (owner+name)",
    )
    parser.add_argument(
        "--heldout",
        type=Path,
        default=DEFAULT_HELDOUT,
        help="held-out repositories, never run (default ../shared/data/szz-heldout.txt)",
    )
    parser.add_argument(
        "--data",
        type=Path,
        default=None,
        help="keep each repository's mined data folder here and reuse it while HEAD is "
        "unchanged (default: a throwaway folder)",
    )
    parser.add_argument(
        "--max-commits",
        type=int,
        default=20_000,
        help="skip repositories with more commits on HEAD (20000)",
    )
    parser.add_argument(
        "--repo",
        action="append",
        default=[],
        metavar="OWNER/NAME",
        help="measure only this oracle repository (repeatable)",
    )
    parser.add_argument(
        "--teamlens",
        type=Path,
        default=Path(sys.executable).parent / "teamlens",
        help="the teamlens executable used to mine (default: next to this Python)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--save", type=Path, default=None, help="also write the JSON to FILE")
    args = parser.parse_args(argv)
    if not args.teamlens.exists():
        parser.error(f"{args.teamlens} does not exist; pass --teamlens")
    return args


if __name__ == "__main__":
    sys.exit(main())
