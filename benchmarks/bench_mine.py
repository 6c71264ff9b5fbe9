"""Benchmark `teamlens mine` against `git log --numstat -M` and PyDriller on one repository.

Usage::

    .venv/bin/python benchmarks/bench_mine.py PATH/TO/REPO [--repeat 3]
        [--pydriller-limit 3000] [--pydriller-repeat 1] [--pydriller-order oldest]
        [--skip-pydriller] [--no-verify] [--teamlens PATH] [--json] [--save FILE]

``PATH/TO/REPO`` is a git repository (a work tree or a bare repository); its HEAD history
is measured. Three contenders extract the same per-commit facts (hash, parents, author,
author date and time zone, message, and per file: path, old path, change type, added
and deleted lines):

* **git log** -- the anchor: ``git log --numstat -M HEAD``, output drained and
  discarded. Nothing can be faster than git producing the facts in the first place.
* **PyDriller** -- ``Repository(path).traverse_commits()`` reading those fields from every
  commit and every ``modified_files`` entry, in this process. PyDriller manages 65-250
  commits/s, so it stops after ``--pydriller-limit`` commits (oldest first, PyDriller's
  default order) and its rate is over those commits only; the output says so.
* **teamlens** -- ``teamlens mine --config <tmp>/repos.yaml --quiet`` as a child process,
  with a fresh data folder and key file per repetition.

Peak memory of each child (see :class:`Memory`): ``ru_maxrss`` from ``os.wait4`` (the
figure the targets use; on Linux the largest single process of the tree, i.e. the max
over teamlens and the git processes it waited for, not a sum), the child process alone,
and the sampled peak of the *sum* of the tree's resident memory, in all and anonymous
only (teamlens and its ``git log`` run concurrently, so the sum is what the machine
holds; git's mapped pack files make up most of the non-anonymous part).

git and teamlens run ``--repeat`` times, PyDriller ``--pydriller-repeat`` times; medians
are reported. After the first teamlens run, the number of mined commits
(``select count(*) from commits_all``) is checked against ``git rev-list --count HEAD``,
and unless ``--no-verify`` the number of file changes against the lines of
``git log --numstat -M --format= HEAD`` (one untimed extra git run).

Targets (benchmarks/README.md): teamlens at least 5x PyDriller's rate and at least half of
git log's; peak memory under 500 MB on an 80,000-commit history.

``--json`` prints the result as one JSON object instead of the table; ``--save FILE``
writes that object to FILE as well. The exit code is 1 when a count check fails.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
SAMPLE_SECONDS = 0.1
DRAIN_CHUNK = 1 << 20
MIB = 1024 * 1024

TARGET_VS_PYDRILLER = 5.0
TARGET_VS_GIT = 0.5
TARGET_RSS_MB = 500.0


@dataclass(frozen=True)
class Memory:
    """Peak memory of one child process tree, in MiB.

    ``max_rss``: ``ru_maxrss`` from ``os.wait4``, the largest single process of the tree
    (Linux keeps the max over the child and the children it waited for, not a sum).
    ``own``: the child process alone (its ``VmHWM``). ``tree``: the sampled peak of the
    tree's summed resident memory. ``tree_anon``: the same, anonymous memory only
    (heap, not pages of mapped files such as git's pack files, which the kernel can
    drop and share with the page cache).
    """

    max_rss: float
    own: float
    tree: float | None
    tree_anon: float | None


@dataclass(frozen=True)
class ChildRun:
    """One child process: wall time, exit code and memory."""

    seconds: float
    exit_code: int
    memory: Memory


@dataclass
class Contender:
    """Timings of one tool on one repository."""

    name: str
    commits: int  # commits each run processed
    runs: list[float] = field(default_factory=list)
    memory: list[Memory] = field(default_factory=list)
    note: str = ""

    @property
    def median_seconds(self) -> float:
        return statistics.median(self.runs)

    @property
    def rate(self) -> float:
        """Commits per second over the median run."""
        return self.commits / self.median_seconds if self.median_seconds > 0 else float("inf")

    def peak(self, what: str) -> float | None:
        """The largest figure `what` (a :class:`Memory` field) over the runs."""
        values: list[float] = [v for m in self.memory if (v := getattr(m, what)) is not None]
        return max(values) if values else None

    def summary(self) -> dict[str, Any]:
        out = asdict(self)
        out["median_seconds"] = self.median_seconds
        out["commits_per_second"] = self.rate
        out["peak_mb"] = {name: self.peak(name) for name in Memory.__dataclass_fields__}
        return out


def _status_kib(pid: int, keys: tuple[str, ...]) -> dict[str, int]:
    """Fields of /proc/<pid>/status given in kB, or {} when the process is gone."""
    found: dict[str, int] = {}
    try:
        with open(f"/proc/{pid}/status", "rb") as fh:
            for line in fh:
                key, _, value = line.partition(b":")
                if key.decode() in keys:
                    found[key.decode()] = int(value.split()[0])
    except (OSError, ValueError, IndexError):
        return {}
    return found


class TreeSampler:
    """Samples the resident memory of a process and all its descendants (10 Hz)."""

    def __init__(self, root: int) -> None:
        self.root = root
        self.peak_bytes = 0
        self.peak_anon_bytes = 0
        self.own_hwm_bytes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> TreeSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(SAMPLE_SECONDS)

    def _sample(self) -> None:
        rss = anon = 0
        for pid in self._tree():
            status = _status_kib(pid, ("VmRSS", "RssAnon", "VmHWM"))
            rss += status.get("VmRSS", 0) * 1024
            anon += status.get("RssAnon", 0) * 1024
            if pid == self.root and "VmHWM" in status:
                self.own_hwm_bytes = max(self.own_hwm_bytes, status["VmHWM"] * 1024)
        self.peak_bytes = max(self.peak_bytes, rss)
        self.peak_anon_bytes = max(self.peak_anon_bytes, anon)

    def _tree(self) -> set[int]:
        parents: dict[int, int] = {}
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                with open(f"/proc/{entry.name}/stat", "rb") as fh:
                    stat = fh.read()
            except OSError:
                continue  # the process ended while we looked
            # The command name is in parentheses and may contain anything: split after it.
            parents[int(entry.name)] = int(stat[stat.rfind(b")") + 2 :].split()[1])
        if self.root not in parents:
            return set()
        tree = {self.root}
        grew = True
        while grew:
            grew = False
            for pid, ppid in parents.items():
                if ppid in tree and pid not in tree:
                    tree.add(pid)
                    grew = True
        return tree


def run_child(
    cmd: Sequence[str],
    *,
    drain_stdout: bool = False,
    env: dict[str, str] | None = None,
    stderr_path: Path | None = None,
) -> ChildRun:
    """Run `cmd`, timing it and measuring its memory with ``os.wait4``."""
    with contextlib.ExitStack() as stack:
        stderr_file = stack.enter_context(open(stderr_path, "wb")) if stderr_path else None
        started = time.perf_counter()
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if drain_stdout else subprocess.DEVNULL,
            stderr=stderr_file if stderr_file is not None else subprocess.DEVNULL,
            env=env,
        )
        with TreeSampler(proc.pid) as sampler:
            if proc.stdout is not None:
                while proc.stdout.read(DRAIN_CHUNK):
                    pass
                proc.stdout.close()
            _, status, usage = os.wait4(proc.pid, 0)
            seconds = time.perf_counter() - started
        code = os.waitstatus_to_exitcode(status)
        proc.returncode = code  # reaped by wait4; tell Popen so it does not wait again
    memory = Memory(
        max_rss=usage.ru_maxrss / 1024,  # KiB on Linux
        # VmHWM as last sampled; never below ru_maxrss when the child ran nothing bigger.
        own=sampler.own_hwm_bytes / MIB,
        tree=sampler.peak_bytes / MIB,
        tree_anon=sampler.peak_anon_bytes / MIB,
    )
    return ChildRun(seconds=seconds, exit_code=code, memory=memory)


def git_output(repo: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", "-C", str(repo), *args],
        capture_output=True,
        check=True,
        encoding="utf-8",
        errors="replace",
        stdin=subprocess.DEVNULL,
    )
    return result.stdout


def teamlens_revision(teamlens: Path) -> str:
    """``teamlens --version`` and, in a checkout, the commit (``+dirty`` if code changed)."""
    version = subprocess.run(
        [str(teamlens), "--version"], capture_output=True, text=True, check=False
    ).stdout.strip()
    root = Path(__file__).resolve().parent.parent
    try:
        sha = git_output(root, "rev-parse", "--short", "HEAD").strip()
        dirty = git_output(root, "status", "--porcelain", "--", "teamlens", "mining").strip()
    except (subprocess.CalledProcessError, OSError):
        return version
    return f"{version} at {sha}{'+dirty' if dirty else ''}"


def count_numstat_lines(repo: Path) -> int:
    """File changes git reports for HEAD's history (merges show none without -m)."""
    proc = subprocess.Popen(
        ["git", "-C", str(repo), "log", "--numstat", "-M", "--format=", "HEAD"],
        stdout=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    count = sum(1 for line in proc.stdout if line.strip())
    if proc.wait() != 0:
        raise RuntimeError("git log --numstat failed")
    return count


def bench_git(repo: Path, commits: int, repeat: int) -> Contender:
    result = Contender("git log --numstat -M", commits)
    for _ in range(repeat):
        run = run_child(
            ["git", "-C", str(repo), "log", "--numstat", "-M", "HEAD"], drain_stdout=True
        )
        if run.exit_code != 0:
            raise RuntimeError(f"git log failed with exit code {run.exit_code}")
        result.runs.append(run.seconds)
        result.memory.append(run.memory)
    return result


def pydriller_pass(repo: Path, limit: int, order: str) -> tuple[int, int, float]:
    """Extract the per-commit facts with PyDriller. Returns (commits, files, seconds)."""
    from pydriller import Repository

    facts: list[object] = []
    files = 0
    started = time.perf_counter()
    traversal = Repository(str(repo), order="reverse" if order == "newest" else None)
    for commit in traversal.traverse_commits():
        changes = [
            (m.new_path, m.old_path, m.change_type.name, m.added_lines, m.deleted_lines)
            for m in commit.modified_files
        ]
        facts.append(
            (
                commit.hash,
                commit.parents,
                commit.author.name,
                commit.author.email,
                commit.author_date,
                commit.author_timezone,
                commit.msg,
                len(changes),
            )
        )
        files += len(changes)
        if limit and len(facts) >= limit:
            break
    return len(facts), files, time.perf_counter() - started


@contextlib.contextmanager
def scratch_clone(repo: Path) -> Iterator[Path]:
    """A throwaway bare clone of `repo` that borrows its objects (``--shared``).

    PyDriller writes ``blame.markUnblamableLines`` into the config of every repository
    it opens, and GitPython treats a bare repository without ``core.bare = true`` in its
    config as a work tree. The clone takes both: it has a config of its own, and it
    reads the very same pack files as the other contenders (no objects are copied).
    """
    with tempfile.TemporaryDirectory(prefix="pydriller-bench-") as tmp:
        clone = Path(tmp) / "repo.git"
        subprocess.run(
            ["git", "clone", "--bare", "--shared", "--quiet", str(repo), str(clone)],
            check=True,
            stdin=subprocess.DEVNULL,
        )
        yield clone


def bench_pydriller(repo: Path, commits: int, limit: int, repeat: int, order: str) -> Contender:
    result = Contender("PyDriller", 0)
    with scratch_clone(repo) as clone:
        head = git_output(repo, "rev-parse", "HEAD").strip()
        if git_output(clone, "rev-parse", "HEAD").strip() != head:
            raise RuntimeError(f"the scratch clone's HEAD differs from {repo}'s")
        for _ in range(repeat):
            done, files, seconds = pydriller_pass(clone, limit, order)
            result.commits = done
            result.runs.append(seconds)
            result.note = f"{order} {done} of {commits} commits, {files} file changes"
    # PyDriller runs in this process: ru_maxrss of the benchmark itself, an upper bound.
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result.memory.append(Memory(max_rss=own, own=own, tree=None, tree_anon=None))
    return result


def write_config(folder: Path, repo: Path) -> Path:
    config = folder / "repos.yaml"
    # JSON strings are valid YAML scalars and quote any path safely.
    config.write_text(
        f"data_dir: {json.dumps(str(folder / '.teamlens'))}\n"
        "repositories:\n"
        "  - name: bench\n"
        f"    path: {json.dumps(str(repo))}\n"
        "privacy:\n"
        f"  key_file: {json.dumps(str(folder / 'key'))}\n",
        encoding="utf-8",
    )
    return config


def teamlens_count(teamlens: Path, config: Path, env: dict[str, str], sql: str) -> int:
    result = subprocess.run(
        [str(teamlens), "query", sql, "--config", str(config)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"teamlens query failed: {result.stderr.strip()}")
    return int(result.stdout.strip().splitlines()[-1])


def bench_teamlens(
    repo: Path, commits: int, repeat: int, teamlens: Path, verify_changes: int | None
) -> tuple[Contender, dict[str, int]]:
    result = Contender("teamlens mine", commits)
    # The key comes from key_file only: an inherited TEAMLENS_KEY would win over it.
    env = {k: v for k, v in os.environ.items() if k != "TEAMLENS_KEY"}
    checks: dict[str, int] = {}
    for i in range(repeat):
        with tempfile.TemporaryDirectory(prefix="teamlens-bench-") as tmp:
            folder = Path(tmp)
            config = write_config(folder, repo)
            stderr = folder / "stderr.txt"
            run = run_child(
                [str(teamlens), "mine", "--config", str(config), "--quiet"],
                env=env,
                stderr_path=stderr,
            )
            if run.exit_code != 0:
                detail = stderr.read_text(encoding="utf-8", errors="replace").strip()
                raise RuntimeError(f"teamlens mine failed ({run.exit_code}): {detail}")
            result.runs.append(run.seconds)
            result.memory.append(run.memory)
            if i == 0:
                checks["mined_commits"] = teamlens_count(
                    teamlens, config, env, "select count(*) from commits_all"
                )
                if verify_changes is not None:
                    checks["mined_file_changes"] = teamlens_count(
                        teamlens, config, env, "select count(*) from file_changes_all"
                    )
                    checks["git_file_changes"] = verify_changes
    return result, checks


def ratio(a: Contender, b: Contender | None) -> float | None:
    if b is None or b.rate == 0:
        return None
    return a.rate / b.rate


def verdict(value: float | None, target: float, higher_is_better: bool = True) -> str:
    if value is None:
        return "n/a"
    ok = value >= target if higher_is_better else value < target
    return "PASS" if ok else "FAIL"


def _mb(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def print_table(result: dict[str, Any], contenders: Sequence[Contender]) -> None:
    print(f"repository: {result['repository']}")
    print(f"HEAD commits (git rev-list --count HEAD): {result['head_commits']}")
    print(f"teamlens: {result['teamlens_revision']}; {result['git_version']}")
    print(
        f"machine: {result['cpus']} CPUs, load average {result['load_average_before']} "
        f"before, {result['load_average_after']} after (1, 5, 15 min)"
    )
    print()
    header = (
        f"{'contender':<22} {'runs':>4} {'commits':>8} {'median s':>9} {'min s':>8} "
        f"{'max s':>8} {'commits/s':>10} {'maxrss MB':>10} {'own MB':>7} {'tree MB':>8} "
        f"{'anon MB':>8}"
    )
    print(header)
    print("-" * len(header))
    for c in contenders:
        mem = {name: _mb(c.peak(name)) for name in ("max_rss", "own", "tree", "tree_anon")}
        print(
            f"{c.name:<22} {len(c.runs):>4} {c.commits:>8} {c.median_seconds:>9.2f} "
            f"{min(c.runs):>8.2f} {max(c.runs):>8.2f} {c.rate:>10.1f} {mem['max_rss']:>10} "
            f"{mem['own']:>7} {mem['tree']:>8} {mem['tree_anon']:>8}"
        )
    for c in contenders:
        runs = ", ".join(f"{s:.2f}" for s in c.runs)
        print(f"  {c.name} runs (s): {runs}" + (f"  [{c.note}]" if c.note else ""))
    print()
    r = result["ratios"]
    if r["teamlens_vs_pydriller"] is not None:
        print(
            f"teamlens / PyDriller rate: {r['teamlens_vs_pydriller']:.1f}x "
            f"(target >= {TARGET_VS_PYDRILLER:g}x: {result['verdicts']['vs_pydriller']}); "
            f"PyDriller rate is over its first {result['pydriller_commits']} commits only"
        )
    print(
        f"teamlens / git log rate:   {r['teamlens_vs_git']:.2f}x "
        f"(target >= {TARGET_VS_GIT:g}x: {result['verdicts']['vs_git']})"
    )
    m = result["teamlens_peak_mb"]
    print(
        f"teamlens peak RSS: {m['max_rss']:.1f} MB ru_maxrss "
        f"(target < {TARGET_RSS_MB:g} MB at 80,000 commits: {result['verdicts']['rss']}); "
        f"teamlens process alone {m['own']:.1f} MB; whole tree (teamlens + git) "
        f"{_mb(m['tree'])} MB, of which anonymous {_mb(m['tree_anon'])} MB"
    )
    checks = result["checks"]
    mined = checks["mined_commits"]
    ok = "matches" if mined == result["head_commits"] else "MISMATCH"
    print(f"teamlens mined commits: {mined} ({ok} git rev-list --count HEAD)")
    if "mined_file_changes" in checks:
        ok = "matches" if checks["mined_file_changes"] == checks["git_file_changes"] else "MISMATCH"
        print(
            f"teamlens mined file changes: {checks['mined_file_changes']} ({ok} "
            f"{checks['git_file_changes']} lines of git log --numstat -M)"
        )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark teamlens mine against git log --numstat -M and PyDriller."
    )
    parser.add_argument("repo", type=Path, help="path of a git repository (bare or not)")
    parser.add_argument("--repeat", type=int, default=3, help="git and teamlens runs (3)")
    parser.add_argument(
        "--pydriller-limit",
        type=int,
        default=3000,
        help="stop PyDriller after this many commits; 0 = all (3000)",
    )
    parser.add_argument("--pydriller-repeat", type=int, default=1, help="PyDriller runs (1)")
    parser.add_argument(
        "--pydriller-order",
        choices=["oldest", "newest"],
        default="oldest",
        help="which end of the history PyDriller starts from (oldest, its default)",
    )
    parser.add_argument("--skip-pydriller", action="store_true", help="do not run PyDriller")
    parser.add_argument(
        "--no-verify",
        action="store_true",
        help="skip the file-change count check (an extra untimed git log run)",
    )
    parser.add_argument(
        "--teamlens",
        type=Path,
        default=Path(sys.executable).parent / "teamlens",
        help="the teamlens executable (default: next to this Python)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--save", type=Path, default=None, help="also write the JSON object to this file"
    )
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.pydriller_repeat < 1:
        parser.error("--repeat and --pydriller-repeat must be at least 1")
    if not args.teamlens.exists():
        parser.error(f"{args.teamlens} does not exist; pass --teamlens")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    repo: Path = args.repo.resolve()
    commits = int(git_output(repo, "rev-list", "--count", "HEAD").strip())

    def log(message: str) -> None:
        if not args.json:
            print(message, file=sys.stderr, flush=True)

    load_before = [round(x, 2) for x in os.getloadavg()]
    log(f"git log --numstat -M x{args.repeat} ...")
    git = bench_git(repo, commits, args.repeat)
    pydriller = None
    if not args.skip_pydriller:
        log(f"PyDriller (limit {args.pydriller_limit}) x{args.pydriller_repeat} ...")
        pydriller = bench_pydriller(
            repo, commits, args.pydriller_limit, args.pydriller_repeat, args.pydriller_order
        )
    verify = None if args.no_verify else count_numstat_lines(repo)
    log(f"teamlens mine x{args.repeat} ...")
    teamlens, checks = bench_teamlens(repo, commits, args.repeat, args.teamlens, verify)

    vs_pydriller = ratio(teamlens, pydriller)
    vs_git = ratio(teamlens, git)
    peak = {name: teamlens.peak(name) for name in Memory.__dataclass_fields__}
    contenders = [c for c in (git, pydriller, teamlens) if c is not None]
    result: dict[str, Any] = {
        "repository": str(repo),
        "head_commits": commits,
        "teamlens_revision": teamlens_revision(args.teamlens),
        "git_version": subprocess.run(
            ["git", "--version"], capture_output=True, text=True, check=False
        ).stdout.strip(),
        "cpus": os.cpu_count(),
        "load_average_before": load_before,
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "pydriller_commits": pydriller.commits if pydriller else None,
        "contenders": {c.name: c.summary() for c in contenders},
        "ratios": {"teamlens_vs_pydriller": vs_pydriller, "teamlens_vs_git": vs_git},
        "teamlens_peak_mb": peak,
        "verdicts": {
            "vs_pydriller": verdict(vs_pydriller, TARGET_VS_PYDRILLER),
            "vs_git": verdict(vs_git, TARGET_VS_GIT),
            "rss": verdict(peak["max_rss"], TARGET_RSS_MB, higher_is_better=False),
        },
        "checks": checks,
    }
    if args.save is not None:
        args.save.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    if args.json:
        print(json.dumps(result))
    else:
        print_table(result, contenders)
    mismatch = checks["mined_commits"] != commits or checks.get("mined_file_changes") != checks.get(
        "git_file_changes"
    )
    return 1 if mismatch else 0


if __name__ == "__main__":
    sys.exit(main())
