"""A miner killed with SIGKILL at random moments resumes to exactly the uninterrupted result."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from teamlens.store import Store
from tests.conftest import ConfigFactory, teamlens_command

COMMITS = 1500
AUTHORS = [(f"Person {i}", f"person{i}@example.org") for i in range(7)]


def _fast_import(repo: Path, commits: int, seed: int = 7) -> None:
    """A history with renames, deletions and merges, written quickly by git fast-import."""
    rng = random.Random(seed)
    out: list[bytes] = []

    def data(text: str) -> None:
        raw = text.encode()
        out.append(b"data %d\n" % len(raw) + raw + b"\n")

    files: list[str] = []
    side_mark = main_mark = 0
    for n in range(1, commits + 1):
        name, email = AUTHORS[rng.randrange(len(AUTHORS))]
        when = 1_500_000_000 + n * 600
        on_side = n % 97 == 50
        out.append(b"commit refs/heads/%s\n" % (b"side" if on_side else b"main"))
        out.append(b"mark :%d\n" % n)
        out.append(f"author {name} <{email}> {when} +0100\n".encode())
        out.append(f"committer {name} <{email}> {when} +0100\n".encode())
        data(f"{'fix: ' if n % 9 == 0 else ''}change number {n}")
        if n > 1:
            out.append(b"from :%d\n" % (main_mark if not on_side else max(1, main_mark - 2)))
        if side_mark and n % 97 == 51:
            out.append(b"merge :%d\n" % side_mark)
        if on_side:  # a side-branch commit adds one file and is merged by the next commit
            side_mark = n
            out.append(f"M 100644 inline side/file_{n}.py\n".encode())
            data("side\n" * (n % 7 + 1))
            continue
        main_mark = n
        ops = rng.randint(1, 3)
        for op in range(ops):
            roll = rng.random()
            if files and roll < 0.08:
                old = files.pop(rng.randrange(len(files)))
                new = f"pkg{n % 5}/moved_{n}_{op}.py"
                out.append(f"R {old} {new}\n".encode())
                files.append(new)
            elif files and roll < 0.12:
                out.append(f"D {files.pop(rng.randrange(len(files)))}\n".encode())
            elif files and roll < 0.7:
                path = files[rng.randrange(len(files))]
                out.append(f"M 100644 inline {path}\n".encode())
                data("".join(f"line {i} v{n}\n" for i in range(rng.randint(5, 60))))
            else:
                path = f"pkg{n % 5}/file_{n}_{rng.randrange(1000)}.py"
                if path not in files:
                    files.append(path)
                out.append(f"M 100644 inline {path}\n".encode())
                data("".join(f"new {i}\n" for i in range(rng.randint(1, 40))))
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    subprocess.run(["git", "fast-import", "--quiet"], cwd=repo, input=b"".join(out), check=True)


def _snapshot(data_dir: Path) -> dict[str, list[tuple[Any, ...]]]:
    store = Store(data_dir)
    return {
        "commits": store.query("SELECT * FROM commits ORDER BY sha").rows,
        "file_changes": store.query(
            "SELECT * FROM file_changes ORDER BY sha, path, change_type"
        ).rows,
        "lost_commits": store.query("SELECT * FROM lost_commits").rows,
        "duplicates": store.query(
            "SELECT sha, count(*) FROM commits_all GROUP BY sha HAVING count(*) > 1"
        ).rows,
    }


@pytest.mark.slow
def test_sigkill_at_random_points_then_resume(
    tmp_path: Path, make_config: ConfigFactory, key_env: str
) -> None:
    repo = tmp_path / "history"
    _fast_import(repo, COMMITS)
    config = make_config({"history": repo}, mining={"batch_size": 40})
    data_dir = config.parent / ".teamlens"
    cmd = [*teamlens_command(), "mine", "--quiet", "--config", str(config)]
    env = {**os.environ}

    started = time.monotonic()
    subprocess.run(cmd, env=env, check=True)
    full_run = time.monotonic() - started
    reference = _snapshot(data_dir)
    assert len(reference["commits"]) == COMMITS
    assert reference["duplicates"] == [] and reference["lost_commits"] == []

    rng = random.Random(20261129)
    partial_states = 0
    kills = 0
    manifest = data_dir / "store" / "history" / "manifest.json"
    for _ in range(10):
        shutil.rmtree(data_dir)
        # First kill: at a random moment of a run (start-up, walk, batches, publishing).
        # Second kill: once a batch has been published, a random moment later; this one
        # lands mid-run however fast or slow the machine is.
        for wait_for_progress in (False, True):
            before = manifest.read_bytes() if manifest.exists() else b""
            proc = subprocess.Popen(cmd, env=env)
            if wait_for_progress:
                _wait_for(proc, functools.partial(_changed, manifest, before), 10 * full_run)
                time.sleep(rng.uniform(0.0, 0.2) * full_run)
            else:
                time.sleep(rng.uniform(0.05, 1.0) * full_run)
            kills += _kill(proc)
            mined = Store(data_dir).query("SELECT count(*) FROM commits").rows[0][0]
            partial_states += 0 < mined < COMMITS
        subprocess.run(cmd, env=env, check=True)
        assert _snapshot(data_dir) == reference
    # The kills must really have landed mid-run for this test to mean anything.
    assert kills >= 10
    assert partial_states >= 5


@pytest.mark.slow
def test_sigkill_while_a_split_history_is_mined_then_resume(
    tmp_path: Path, make_config: ConfigFactory, key_env: str
) -> None:
    """`mining.split_commits`: kills between and inside the ranges, and while adopting."""
    repo = tmp_path / "history"
    _fast_import(repo, COMMITS)
    reference_dir = tmp_path / "reference"
    whole = make_config({"history": repo}, data_dir=str(reference_dir))
    subprocess.run([*teamlens_command(), "mine", "-q", "--config", str(whole)], check=True)
    reference = _snapshot(reference_dir)

    config = make_config({"history": repo}, mining={"batch_size": 40, "split_commits": 300})
    data_dir = config.parent / ".teamlens"
    # What `teamlens mine --workers N` does, in one process (a cluster's worker processes
    # would outlive a SIGKILL of the client); serial `teamlens mine` does not split.
    script = (
        "import sys; from pathlib import Path; from teamlens.mining.tasks import mine_all; "
        "from teamlens.config import load_config; "
        "mine_all(load_config(Path(sys.argv[1])), split=True)"
    )
    cmd = [sys.executable, "-c", script, str(config)]
    staging = data_dir / "staging" / "history"
    started = time.monotonic()
    subprocess.run(cmd, check=True)
    full_run = time.monotonic() - started
    assert _snapshot(data_dir) == reference
    assert not staging.exists()

    rng = random.Random(20261130)
    kept_ranges = kills = 0
    for i in range(6):
        shutil.rmtree(data_dir)
        proc = subprocess.Popen(cmd)
        if i % 2:
            # Once a range has finished (its staged manifest says so), a moment later:
            # this kill lands mid-run however fast or slow the machine is.
            _wait_for(proc, lambda: _range_done(staging) > 0, 10 * full_run)
            time.sleep(rng.uniform(0.0, 0.1) * full_run)
        else:
            time.sleep(rng.uniform(0.1, 0.9) * full_run)
        kills += _kill(proc)
        kept_ranges += _range_done(staging)
        subprocess.run(cmd, check=True)
        assert _snapshot(data_dir) == reference
        assert not staging.exists()
    assert kills >= 3
    assert kept_ranges > 0  # some reruns started from finished ranges


def _range_done(staging: Path) -> int:
    """How many ranges of a split mining are staged as finished."""
    done = 0
    for manifest in staging.glob("*/store/history/manifest.json"):
        with contextlib.suppress(OSError, ValueError):
            done += bool(json.loads(manifest.read_text())["state"].get("range_done"))
    return done


def _wait_for(proc: subprocess.Popen[bytes], ready: Callable[[], bool], timeout: float) -> None:
    """Until `ready()`, the process ends, or `timeout` seconds have passed."""
    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline and not ready():
        time.sleep(0.01)


def _kill(proc: subprocess.Popen[bytes]) -> bool:
    """SIGKILL `proc` if it still runs, and reap it; whether the kill landed mid-run."""
    running = proc.poll() is None
    if running:
        proc.send_signal(signal.SIGKILL)
    proc.wait()
    return running


def _changed(path: Path, before: bytes) -> bool:
    """Whether the file at `path` exists and no longer holds `before`."""
    return path.exists() and path.read_bytes() != before
