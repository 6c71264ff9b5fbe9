"""Benchmark mining several repositories serially against a local Dask cluster.

Usage::

    .venv/bin/python benchmarks/bench_scale.py                  # 8 synthetic repositories
    .venv/bin/python benchmarks/bench_scale.py REPO [REPO ...]   # these repositories
        [--repos 8] [--commits 3000] [--workers 2] [--repeat 3] [--keep DIR]
        [--split N] [--json] [--save FILE]

Without repository paths it first builds ``--repos`` synthetic repositories of
``--commits`` commits each with ``git fast-import`` (a few seconds): seven authors,
files added, modified, renamed and deleted, side branches merged back. With ``--keep
DIR`` they are built in (or reused from) DIR instead of a temporary folder.

Each measurement is ``mine_all`` over every repository in a *fresh* child process with
a fresh data folder, the way ``teamlens mine`` runs: serially (one process) and on a
local Dask cluster of ``--workers`` single-threaded processes
(``mining.tasks.runner_for(workers)``, what ``teamlens mine --workers N`` uses). The
modes alternate, ``--repeat`` runs each, and medians are reported, of

* **wall**: the child process from start to exit (imports, cluster start and shutdown
  included), without the warm pass below: what a user of ``teamlens mine`` waits for;
* **mine**: ``mine_all`` alone (the cluster already up, the workers' first tasks);
* **warm**: ``mine_all`` once more, in the same process and on the same cluster, into
  another fresh data folder: the steady state of a long run over many repositories,
  where starting the cluster and the workers' first imports no longer count;
* **start**: starting the cluster, until every worker has imported the miner;
* **cpu**: user + system seconds of the whole process tree (teamlens, its ``git``
  processes, Dask's worker processes) over both passes; **cores** = cpu / the child's
  wall time. The serial miner runs ``git log`` beside itself, so it can use more than
  one core: on *c* cores no runner can be faster than serial by more than
  *c* / (serial cores);
* **peak MB**: the largest resident memory of the miner's process (serial) or of a Dask
  worker process (``ru_maxrss``); the JSON also has the largest ``git`` child's.

With ``--split N`` the Dask runs set ``mining.split_commits: N``: a repository of more
than N commits is mined as range tasks (docs/scale.md), so even one very large
repository uses every worker; the serial runs always mine each repository as one task.

After the first run of each mode the store is checked: ``commits_all`` and
``file_changes_all`` must hold the same numbers of rows in both modes, and as many
commits as ``git rev-list --count HEAD`` reports. The exit code is 1 on a mismatch.

Target: on a 2-core machine, two workers at least **1.6x** faster than serial. Both the
end-to-end (wall) and the steady-state (warm) speed-ups are printed; the verdict is on
the warm one, the figure that matters for many repositories (the cluster's start is a
fixed few seconds).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import random
import resource
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

TARGET_SPEEDUP = 1.6
AUTHORS = [(f"Developer {i}", f"dev{i}@example.org") for i in range(7)]


# --- synthetic repositories -------------------------------------------------------------


def fast_import_stream(commits: int, seed: int) -> bytes:
    """A history with adds, edits, renames, deletions and merged side branches."""
    rng = random.Random(seed)  # noqa: S311 - a reproducible history, not a secret
    out: list[bytes] = []

    def data(text: str) -> None:
        raw = text.encode()
        out.append(b"data %d\n" % len(raw) + raw + b"\n")

    files: list[str] = []
    side_mark = main_mark = 0
    for n in range(1, commits + 1):
        name, email = AUTHORS[rng.randrange(len(AUTHORS))]
        when = 1_500_000_000 + n * 900
        on_side = n % 53 == 20
        out.append(b"commit refs/heads/%s\n" % (b"side" if on_side else b"main"))
        out.append(b"mark :%d\n" % n)
        out.append(f"author {name} <{email}> {when} +0100\n".encode())
        out.append(f"committer {name} <{email}> {when} +0100\n".encode())
        data(f"{'Fix bug in ' if n % 7 == 0 else 'Change '}module {n % 40} (step {n})")
        if n > 1:
            out.append(b"from :%d\n" % (max(1, main_mark - 3) if on_side else main_mark))
        if side_mark and n % 53 == 21:
            out.append(b"merge :%d\n" % side_mark)
        if on_side:
            side_mark = n
            out.append(f"M 100644 inline side/feature_{n}.py\n".encode())
            data("".join(f"feature line {i}\n" for i in range(n % 11 + 1)))
            continue
        main_mark = n
        for op in range(rng.randint(1, 4)):
            roll = rng.random()
            if files and roll < 0.06:
                old = files.pop(rng.randrange(len(files)))
                new = f"pkg{n % 9}/moved_{n}_{op}.py"
                out.append(f"R {old} {new}\n".encode())
                files.append(new)
            elif files and roll < 0.1:
                out.append(f"D {files.pop(rng.randrange(len(files)))}\n".encode())
            elif files and roll < 0.75:
                path = files[rng.randrange(len(files))]
                out.append(f"M 100644 inline {path}\n".encode())
                data("".join(f"value_{i} = {n + i}\n" for i in range(rng.randint(5, 80))))
            else:
                path = f"pkg{n % 9}/mod_{n}_{rng.randrange(1000)}.py"
                if path not in files:
                    files.append(path)
                out.append(f"M 100644 inline {path}\n".encode())
                data("".join(f"def f{i}():\n    return {i}\n" for i in range(rng.randint(1, 30))))
    return b"".join(out)


def build_repository(path: Path, commits: int, seed: int) -> None:
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
    subprocess.run(
        ["git", "fast-import", "--quiet"],
        cwd=path,
        input=fast_import_stream(commits, seed),
        check=True,
    )


def synthetic_repositories(folder: Path, count: int, commits: int) -> list[Path]:
    """`count` repositories under `folder`, built unless already there."""
    paths = []
    for i in range(count):
        path = folder / f"synthetic-{i:02d}-{commits}"
        if not (path / ".git").is_dir():
            build_repository(path, commits, seed=1000 + i)
        paths.append(path)
    return paths


def commit_count(repo: Path) -> int:
    out = subprocess.run(
        ["git", "-C", str(repo), "rev-list", "--count", "HEAD"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return int(out.strip())


# --- one measured run, in a child process ------------------------------------------------


def child(config_path: Path, workers: int) -> dict[str, float]:
    """Runs in the child: mine everything, return the timings (seconds)."""
    started = time.perf_counter()
    from teamlens.config import load_config
    from teamlens.mining.tasks import mine_all, runner_for

    config = load_config(config_path)
    imported = time.perf_counter()
    warm_config = dataclasses.replace(config, data_dir=config.data_dir.with_name("data-warm"))
    with runner_for(workers) as runner:
        ready = time.perf_counter()
        reports = mine_all(config, runner=runner)
        mined = time.perf_counter()
        mine_all(warm_config, runner=runner)
        warm = time.perf_counter()
        client = getattr(runner, "client", None)  # a DaskRunner: ask its workers
        peaks = list(client.run(peak_rss_mb).values()) if client is not None else [peak_rss_mb()]
    closed = time.perf_counter()
    return {
        "import": imported - started,
        "start": ready - imported,
        "mine": mined - ready,
        "warm": warm - mined,
        "close": closed - warm,
        "commits": float(sum(r.commits_added for r in reports)),
        "peak_process_mb": max(p[0] for p in peaks),
        "peak_git_mb": max(p[1] for p in peaks),
    }


def peak_rss_mb() -> tuple[float, float]:
    """Peak resident memory of this process and of the largest child it waited for."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    return own, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


@dataclass
class Mode:
    """The runs of one mode (serial, or `workers` Dask workers)."""

    name: str
    workers: int
    wall: list[float] = field(default_factory=list)
    mine: list[float] = field(default_factory=list)
    warm: list[float] = field(default_factory=list)
    start: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)  # user + system, the whole process tree
    child_wall: list[float] = field(default_factory=list)  # both passes
    peak_mb: list[float] = field(default_factory=list)  # the miner's (or a worker's) process
    peak_git_mb: list[float] = field(default_factory=list)  # the largest git it ran

    def median(self, what: str) -> float:
        values: list[float] = getattr(self, what)
        return statistics.median(values)


def write_config(folder: Path, repos: Sequence[Path], split: int) -> Path:
    folder.mkdir(parents=True)
    lines = ["data_dir: data", "clones_dir: clones", "mining:", f"  split_commits: {split}"]
    lines.append("repositories:")
    for i, repo in enumerate(repos):
        lines += [f"  - name: r{i:02d}-{repo.name}"[:100], f"    path: {json.dumps(str(repo))}"]
    path = folder / "repos.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def measure(mode: Mode, scratch: Path, repos: Sequence[Path], run: int, split: int) -> Path:
    """One run of `mode` in a fresh child process and data folder; returns the folder."""
    folder = scratch / f"{mode.name}-{run}"
    config = write_config(folder, repos, split if mode.workers > 1 else 0)
    env = {
        **os.environ,
        "TEAMLENS_KEY": secrets.token_hex(32),  # the same for all runs would not matter
        "XDG_CONFIG_HOME": str(scratch / "xdg"),
    }
    cmd = [sys.executable, __file__, "--child", str(config), "--workers", str(mode.workers)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        sys.stderr.write(result.stderr)
        raise SystemExit(f"{mode.name} run {run} failed (exit code {result.returncode})")
    timings = json.loads(result.stdout.strip().splitlines()[-1])
    mode.wall.append(wall - timings["warm"])
    mode.mine.append(timings["mine"])
    mode.warm.append(timings["warm"])
    mode.start.append(timings["start"])
    mode.peak_mb.append(timings["peak_process_mb"])
    mode.peak_git_mb.append(timings["peak_git_mb"])
    # Every process of the run was waited for (git by the miner, Dask's worker processes
    # by the child at cluster close), so the children's usage covers the whole tree.
    mode.cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    mode.child_wall.append(wall)
    return folder


def store_counts(folder: Path) -> tuple[int, int]:
    from teamlens.store import Store

    store = Store(folder / "data")
    (commits,) = store.query("SELECT count(*) FROM commits_all").rows[0]
    (changes,) = store.query("SELECT count(*) FROM file_changes_all").rows[0]
    return int(commits), int(changes)


def run(args: argparse.Namespace) -> dict[str, Any]:
    def log(message: str) -> None:
        if not args.json:
            print(message, file=sys.stderr, flush=True)

    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        scratch = Path(tmp)
        if args.repo:
            repos = [p.resolve() for p in args.repo]
        else:
            where = args.keep.resolve() if args.keep else scratch / "repos"
            log(f"building {args.repos} repositories of {args.commits} commits in {where} ...")
            built = time.perf_counter()
            repos = synthetic_repositories(where, args.repos, args.commits)
            log(f"  built in {time.perf_counter() - built:.1f}s")
        commits = sum(commit_count(r) for r in repos)
        serial = Mode("serial", 1)
        dask = Mode(f"dask-{args.workers}", args.workers)
        counts: dict[str, tuple[int, int]] = {}
        load_before = [round(x, 2) for x in os.getloadavg()]
        for i in range(args.repeat):
            for mode in (serial, dask) if i % 2 == 0 else (dask, serial):
                log(f"run {i + 1}/{args.repeat}: {mode.name} ...")
                folder = measure(mode, scratch, repos, i, args.split)
                if mode.name not in counts:
                    counts[mode.name] = store_counts(folder)
                log(
                    f"  wall {mode.wall[-1]:.2f}s, mine {mode.mine[-1]:.2f}s, "
                    f"warm {mode.warm[-1]:.2f}s"
                )
        load_after = [round(x, 2) for x in os.getloadavg()]

    speedup_wall = serial.median("wall") / dask.median("wall")
    speedup_mine = serial.median("mine") / dask.median("mine")
    speedup_warm = serial.median("warm") / dask.median("warm")
    same = len(set(counts.values())) == 1 and counts[serial.name][0] == commits
    return {
        "repositories": len(repos),
        "commits": commits,
        "file_changes": counts[serial.name][1],
        "cpus": os.cpu_count(),
        "workers": args.workers,
        "split_commits": args.split,
        "repeat": args.repeat,
        "load_average_before": load_before,
        "load_average_after": load_after,
        "modes": {
            m.name: {
                **asdict(m),
                "median_wall": m.median("wall"),
                "median_mine": m.median("mine"),
                "median_warm": m.median("warm"),
                "median_cluster_start": m.median("start"),
                "median_cpu": m.median("cpu"),
                "cores_used": m.median("cpu") / m.median("child_wall"),
                "peak_process_mb": max(m.peak_mb),
                "peak_git_mb": max(m.peak_git_mb),
                "commits_per_second_wall": commits / m.median("wall"),
                "commits_per_second_mine": commits / m.median("mine"),
                "commits_per_second_warm": commits / m.median("warm"),
            }
            for m in (serial, dask)
        },
        "speedup_wall": speedup_wall,
        "speedup_mine": speedup_mine,
        "speedup_warm": speedup_warm,
        "target": TARGET_SPEEDUP,
        "target_met": speedup_warm >= TARGET_SPEEDUP,
        "store_counts": {k: list(v) for k, v in counts.items()},
        "stores_match": same,
    }


def print_table(result: dict[str, Any]) -> None:
    print(
        f"{result['repositories']} repositories, {result['commits']:,} commits, "
        f"{result['file_changes']:,} file changes; {result['cpus']} CPUs; medians of "
        f"{result['repeat']} runs; load average {result['load_average_before']} -> "
        f"{result['load_average_after']}"
    )
    print(
        f"{'mode':<8} {'wall s':>7} {'mine s':>7} {'warm s':>7} {'start s':>7} {'cpu s':>7} "
        f"{'cores':>5} {'warm c/s':>9} {'peak MB':>7}  runs (wall; warm)"
    )
    for name, m in result["modes"].items():
        walls = ", ".join(f"{s:.2f}" for s in m["wall"])
        warms = ", ".join(f"{s:.2f}" for s in m["warm"])
        print(
            f"{name:<8} {m['median_wall']:>7.2f} {m['median_mine']:>7.2f} "
            f"{m['median_warm']:>7.2f} {m['median_cluster_start']:>7.2f} "
            f"{m['median_cpu']:>7.2f} {m['cores_used']:>5.2f} "
            f"{m['commits_per_second_warm']:>9,.0f} {m['peak_process_mb']:>7.0f}  "
            f"{walls}; {warms}"
        )
    verdict = "met" if result["target_met"] else "NOT met"
    print(
        f"speed-up with {result['workers']} workers: {result['speedup_warm']:.2f}x warm "
        f"(target >= {result['target']:g}x: {verdict}); {result['speedup_wall']:.2f}x wall "
        f"(end to end), {result['speedup_mine']:.2f}x first pass"
    )
    ok = "match" if result["stores_match"] else "MISMATCH"
    print(f"stores (commits, file changes): {result['store_counts']} ({ok})")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Serial mining against a local Dask cluster.")
    parser.add_argument("repo", nargs="*", type=Path, help="repositories (default: synthetic)")
    parser.add_argument("--repos", type=int, default=8, help="synthetic repositories (8)")
    parser.add_argument("--commits", type=int, default=3000, help="commits each (3000)")
    parser.add_argument("--workers", type=int, default=2, help="Dask worker processes (2)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each mode (3)")
    parser.add_argument("--keep", type=Path, help="build (or reuse) synthetic ones here")
    parser.add_argument(
        "--split",
        type=int,
        default=0,
        help="mining.split_commits of the Dask runs (0: one task per repository; "
        "the serial runs never split)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--save", type=Path, help="also write the JSON object to this file")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is None and (
        args.repeat < 1 or args.workers < 2 or args.repos < 1 or args.commits < 1
    ):
        parser.error("--repeat, --repos and --commits must be at least 1, --workers at least 2")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child is not None:
        print(json.dumps(child(args.child, args.workers)))
        return 0
    result = run(args)
    if args.save is not None:
        args.save.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    if args.json:
        print(json.dumps(result))
    else:
        print_table(result)
    return 0 if result["stores_match"] else 1


if __name__ == "__main__":
    sys.exit(main())
