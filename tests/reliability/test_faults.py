"""Faults in the middle of a run: a kill, a full disk, a repository breaking, GitHub leaving.

Each must end with a clear one-line error (a kill leaves no message: the process is
gone) and a store that a rerun completes to exactly what an uninterrupted run gives in
a fresh data folder: nothing lost, nothing duplicated. Everything is real (processes,
git repositories, a GitHub-compatible HTTP server on 127.0.0.1) except the full disk:
ENOSPC cannot be produced portably, so it is raised at the functions that write the
store's Parquet parts and manifests and the model registry's files.

The SIGKILL of `teamlens mine` is tests/test_crash_resume.py. Run with ``-s`` to see
what each fault did (the figures in docs/reliability.md, "Faults").
"""

from __future__ import annotations

import contextlib
import errno
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
import yaml
from click.testing import CliRunner, Result

import teamlens.model.registry
import teamlens.store.writer
from teamlens.cli import cli
from teamlens.config import load_config
from teamlens.features.changes import features_for
from teamlens.mining.github import iter_github_repositories, mine_github
from teamlens.mining.szz import label_repository
from teamlens.mining.tasks import mine_all
from teamlens.model.dataset import load_store
from teamlens.model.registry import Registry
from teamlens.model.training import train
from teamlens.store import SCHEMAS, Store
from tests.github_server import FakeGitHub, Fault
from tests.mining.test_github_miner import BOT, HUMANS, REPO, _populate

PLANTED_CHANGES = 320
PLANTED_SEED = 3  # a history on which the trained model beats the shipped default
LINES_PER_FILE = 40
AUTHORS = (
    ("Alice Liddell", "alice@example.com", "+0100"),
    ("Bob Builder", "bob.builder@builders.test", "+0530"),
    ("Carol Danvers", "carol@marvel.test", "-0700"),
    ("Zoë Ümlaut", "zoe@umlaut.test", "+0200"),
    ("Erin Fifth", "erin@fifth.test", "+0000"),
)
TOKEN = "gh-faults-token"
TOKEN_ENV = "GH_TOKEN_FAULTS"
#: The kill and fault runs publish more often than the defaults (200 fixes, 2,000
#: changes per batch): more moments at which a kill or a fault can land.
SMALL_BATCHES = {
    "label": "import teamlens.mining.szz\nteamlens.mining.szz.LABEL_BATCH = 8\n",
    "features": "import teamlens.features.changes\nteamlens.features.changes.BATCH = 64\n",
}
#: Columns that record when a run happened, not what it found.
WHEN_RUN = {"szz_fixes": ("labelled_at",), "lost_commits": ("detected_at",)}
#: What makes a row unique in each table: a second row with the same key is a duplicate.
KEYS: Mapping[str, tuple[str, ...]] = {
    "commits": ("repo", "sha"),
    "file_changes": ("repo", "sha", "path", "change_type"),
    "lost_commits": ("repo", "sha", "event"),
    "szz_links": ("repo", "fix_sha", "inducing_sha", "path", "variant"),
    "szz_fixes": ("repo", "fix_sha", "variant"),
    "change_features": ("repo", "sha"),
    "changed_functions": ("repo", "sha", "path", "function", "start_line"),
    "change_labels": ("repo", "sha", "variant"),
    "change_reviews": ("repo", "sha"),
    "pull_requests": ("repo", "number", "fetch_id"),
    "pull_request_files": ("repo", "number", "fetch_id", "path"),
    "reviews": ("repo", "number", "fetch_id", "review_id"),
    "review_comments": ("repo", "number", "fetch_id", "comment_id"),
}


# --------------------------------------------------------------------------------------
# Repositories, configurations and the uninterrupted reference


def _source(values: list[str]) -> str:
    body = "".join(f"    x{i} = {v}\n" for i, v in enumerate(values))
    return f"def compute():\n{body}    return 0\n"


def build_planted_history(path: Path, changes: int, seed: int) -> Path:
    """tests/model/conftest.py's planted-defect history, written at once by git fast-import.

    Big changes plant a wrong value more often than small ones; a later "Fix wrong
    value" commit corrects it, so SZZ labels the planting commit defect-inducing.
    """
    rng = random.Random(seed)
    stream: list[bytes] = []
    clock = 1_600_000_000

    def commit(message: str, author: tuple[str, str, str], files: Mapping[str, str]) -> None:
        nonlocal clock
        clock += 3600
        name, email, tz = author
        raw = message.encode()
        stream.append(b"commit refs/heads/main\n")
        stream.append(f"author {name} <{email}> {clock} {tz}\n".encode())
        stream.append(f"committer {name} <{email}> {clock} {tz}\n".encode())
        stream.append(b"data %d\n%s\n" % (len(raw), raw))
        for file, text in files.items():
            data = text.encode()
            stream.append(f"M 100644 inline {file}\n".encode())
            stream.append(b"data %d\n%s\n" % (len(data), data))

    files = {
        f"src/{team}/m{i}.py": ["0"] * LINES_PER_FILE for team in ("core", "web") for i in range(8)
    }
    commit("Initial import", AUTHORS[0], {name: _source(v) for name, v in files.items()})
    pending: list[tuple[int, str, int]] = []  # (due change number, file, line) of planted bugs
    for n in range(1, changes + 1):
        due = [p for p in pending if p[0] <= n]
        if due:
            _, name, line = due[0]
            pending.remove(due[0])
            files[name][line] = f"{n}  # corrected"
            fixer = rng.choice(AUTHORS)
            commit(
                f"Fix wrong value in {name.rsplit('/', 1)[-1]}", fixer, {name: _source(files[name])}
            )
            continue
        big = rng.random() < 0.35
        touched = rng.sample(sorted(files), rng.randint(4, 7) if big else 1)
        for name in touched:
            for line in rng.sample(range(LINES_PER_FILE), rng.randint(6, 14) if big else 1):
                files[name][line] = str(n)
        if rng.random() < (0.6 if big else 0.08):
            line = next(i for i, v in enumerate(files[touched[0]]) if v == str(n))
            pending.append((n + rng.randint(2, 6), touched[0], line))
        commit(f"Change {n}", rng.choice(AUTHORS), {t: _source(files[t]) for t in touched})
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
    subprocess.run(["git", "fast-import", "--quiet"], cwd=path, input=b"".join(stream), check=True)
    subprocess.run(["git", "checkout", "-q", "main"], cwd=path, check=True)
    return path


def write_config(work: Path, repos: Mapping[str, Path], key: Path, **sections: Any) -> Path:
    """A repos.yaml in `work` with its data folder `work/data` and clones `work/clones`."""
    work.mkdir(parents=True, exist_ok=True)
    doc: dict[str, Any] = {
        "data_dir": str(work / "data"),
        "clones_dir": str(work / "clones"),
        "repositories": [{"name": n, "path": str(p)} for n, p in repos.items()],
        "teams": {"core": ["src/core/**"], "web": ["src/web/**"]},
        "privacy": {"key_file": str(key)},
        "labels": {"maturity_days": 1},
        "mining": {"batch_size": 50},
    }
    doc.update(sections)
    path = work / "repos.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


@dataclass(frozen=True)
class Stages:
    """Uninterrupted runs in fresh data folders: the data folder after each command."""

    planted: Path  # the repository (never written to; tests that break one copy it)
    small: Path  # a second, smaller repository
    key: Path
    mined: Path
    labelled: Path
    featured: Path
    trained: Path
    other: Path  # a third one, as small
    mined_two: Path  # small as "a" and other as "b", mined

    def start(
        self, work: Path, stage: Path | None, repos: Mapping[str, Path] | None = None
    ) -> Path:
        """A configuration in `work` whose data folder starts as a copy of `stage`."""
        config = write_config(work, repos or {"planted": self.planted}, self.key)
        if stage is not None:
            shutil.copytree(stage, work / "data", symlinks=True)
        return config


def _snapshot(data_dir: Path, into: Path) -> Path:
    shutil.copytree(data_dir, into, symlinks=True)
    return into


@pytest.fixture(scope="module")
def stages(tmp_path_factory: pytest.TempPathFactory) -> Stages:
    root = tmp_path_factory.mktemp("faults")
    planted = build_planted_history(root / "planted", PLANTED_CHANGES, PLANTED_SEED)
    small = build_planted_history(root / "small", 40, 5)
    other = build_planted_history(root / "other", 30, 6)
    key = root / "key"
    config = load_config(write_config(root / "reference", {"planted": planted}, key))
    mine_all(config)
    mined = _snapshot(config.data_dir, root / "mined")
    label_repository(config, config.repositories[0])
    labelled = _snapshot(config.data_dir, root / "labelled")
    features_for(config)
    featured = _snapshot(config.data_dir, root / "featured")
    data = load_store(Store(config.data_dir), ["planted"])
    report = train(data, Registry.for_data_dir(config.data_dir), 5, 1.0, tune=False)
    assert report.current == report.model.model_id  # the case worth testing: it wins
    trained = _snapshot(config.data_dir, root / "trained")
    two = load_config(write_config(root / "two", {"a": small, "b": other}, key))
    mine_all(two)
    mined_two = _snapshot(two.data_dir, root / "mined-two")
    for stage in (mined, labelled, featured, mined_two):
        assert duplicates(stage) == {}
    return Stages(planted, small, key, mined, labelled, featured, trained, other, mined_two)


# --------------------------------------------------------------------------------------
# Comparing stores and model registries


_REFERENCE_FACTS: dict[Path, dict[str, list[str]]] = {}


def reference_facts(data_dir: Path) -> dict[str, list[str]]:
    """:func:`facts` of a reference data folder (never written to), read once."""
    if data_dir not in _REFERENCE_FACTS:
        _REFERENCE_FACTS[data_dir] = facts(data_dir)
    return _REFERENCE_FACTS[data_dir]


def facts(data_dir: Path) -> dict[str, list[str]]:
    """Every stored table (every fetch, lost commits included), rows sorted, run times out."""
    store = Store(data_dir)
    found: dict[str, list[str]] = {}
    for table in SCHEMAS:
        data = store.read(table)
        columns = [c for c in data.column_names if c not in WHEN_RUN.get(table, ())]
        rows = zip(*(data[c].to_pylist() for c in columns), strict=True)
        found[table] = sorted(repr(row) for row in rows)
    return found


def duplicates(data_dir: Path) -> dict[str, int]:
    """Per table, how many rows repeat another row's key."""
    store = Store(data_dir)
    found: dict[str, int] = {}
    for table, key in KEYS.items():
        data: pa.Table = store.read(table)
        counts = Counter(zip(*(data[c].to_pylist() for c in key), strict=True))
        extra = sum(n - 1 for n in counts.values())
        if extra:
            found[table] = extra
    return found


def assert_same_store(data_dir: Path, reference: Path) -> None:
    assert duplicates(data_dir) == {}
    assert facts(data_dir) == reference_facts(reference)


def data_files(data_dir: Path) -> dict[str, bytes]:
    """Every file of a data folder (not the lock files, which are empty and stay)."""
    if not data_dir.exists():
        return {}
    return {
        p.relative_to(data_dir).as_posix(): p.read_bytes()
        for p in sorted(data_dir.rglob("*"))
        if p.is_file() and p.name != ".lock"
    }


@dataclass(frozen=True)
class Models:
    """A registry as a user sees it: each model's content (no id, no date), and the current."""

    contents: tuple[str, ...]  # one per listed model, sorted
    current: str | None  # the current model's content; None for the shipped default
    leftovers: tuple[str, ...]  # temporary folders and files of unfinished saves


def _content(folder: Path) -> str:
    meta = yaml.safe_load((folder / "meta.json").read_text(encoding="utf-8"))
    meta = {k: v for k, v in meta.items() if k not in ("model_id", "created")}
    return (folder / "model.txt").read_text(encoding="utf-8") + repr(sorted(meta.items()))


def models(data_dir: Path) -> Models:
    """Fails if a listed model or the current one cannot be loaded."""
    registry = Registry.for_data_dir(data_dir)
    listed = registry.ids()
    for model_id in listed:
        registry.load(model_id)
    current = registry.current()
    root = data_dir / "models"
    leftovers = (
        tuple(sorted(p.name for p in root.iterdir() if p.name.startswith(".")))
        if root.is_dir()
        else ()
    )
    return Models(
        tuple(sorted(_content(root / m) for m in listed)),
        None if current.model_id == "default" else _content(current.path),
        leftovers,
    )


# --------------------------------------------------------------------------------------
# Running teamlens


def teamlens_with(setup: str, *args: str) -> list[str]:
    """`teamlens ARGS` in a new process that first runs `setup` (batch sizes, a fault hook)."""
    return [sys.executable, "-c", f"{setup}\nfrom teamlens.cli import main\nmain()\n", *args]


def fault_hook(function: str, nth: int, action: str, repo: Path, name: str | None = None) -> str:
    """Setup code: the `nth` call of `function` ("module:Class.method") first breaks `repo`.

    `action` "remove" deletes the repository folder; "corrupt" zeroes the middle third
    of each pack file. With `name`, only calls whose first argument belongs to that
    repository (its ``name`` or ``repo``) count.
    """
    module, _, attribute = function.partition(":")
    owner, _, method = attribute.rpartition(".")
    return f"""
import functools, importlib, os, shutil
from pathlib import Path
_owner = importlib.import_module({module!r})
for _part in {owner!r}.split(".") if {owner!r} else []:
    _owner = getattr(_owner, _part)
_original = getattr(_owner, {method!r})
_calls = [0]
def _break():
    repo = Path({str(repo)!r})
    if {action!r} == "remove":
        shutil.rmtree(repo)
        return
    for pack in (repo / ".git" / "objects" / "pack").glob("*.pack"):
        size = pack.stat().st_size
        with open(pack, "r+b") as fh:
            fh.seek(size // 3)
            fh.write(bytes(size // 3))
@functools.wraps(_original)
def _hooked(*args, **kwargs):
    owner = (getattr(args[0], "name", None), getattr(args[0], "repo", None))
    if {name!r} is None or {name!r} in owner:
        _calls[0] += 1
        if _calls[0] == {nth}:
            _break()
    return _original(*args, **kwargs)
setattr(_owner, {method!r}, _hooked)
"""


def run_teamlens(
    command: list[str], env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, capture_output=True, text=True, check=False, env={**os.environ, **(env or {})}
    )


def invoke(*args: str) -> Result:
    """`teamlens ARGS` in this process (reruns, and the full-disk cases)."""
    return CliRunner().invoke(cli, list(args))


def one_line_error(stderr: str) -> str:
    """The error line of a failed command; fails on a traceback or a second error line."""
    assert "Traceback" not in stderr, stderr
    errors = [line for line in stderr.splitlines() if line.startswith("teamlens: error: ")]
    assert len(errors) == 1, stderr
    assert stderr.rstrip("\n").splitlines()[-1] == errors[0], stderr
    return errors[0].removeprefix("teamlens: error: ")


# --------------------------------------------------------------------------------------
# SIGKILL during label, features and train


@dataclass(frozen=True)
class KillAt:
    """When to kill: at the `publishes`-th manifest change of the run, when stderr shows
    `text`, or when a new file matching `appears` (a glob under the data folder) exists;
    then `later` seconds after that."""

    publishes: int | None = None
    text: str | None = None
    appears: str | None = None
    later: float = 0.0

    def describe(self) -> str:
        if self.publishes is not None:
            when = f"publish {self.publishes}"
        else:
            when = repr(self.text) if self.text is not None else f"a new {self.appears}"
        return f"{self.later:.2f}s after {when}" if self.later else f"at {when}"


@dataclass(frozen=True)
class Kill:
    point: KillAt
    landed: bool  # the process was still running when SIGKILL came


def _manifests(data_dir: Path) -> bytes:
    return b"".join(
        p.read_bytes() for p in sorted((data_dir / "store").glob("*/manifest.json")) if p.exists()
    )


def kill_at(command: list[str], data_dir: Path, point: KillAt, timeout: float = 60.0) -> Kill:
    """Start `command`, SIGKILL it at `point` (or let it finish), and wait for it."""
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    seen = threading.Event()

    def read_stderr() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            if point.text is not None and point.text in line:
                seen.set()

    reader = threading.Thread(target=read_stderr, daemon=True)
    reader.start()
    started = time.monotonic()
    last = _manifests(data_dir)
    existing = set(data_dir.glob(point.appears)) if point.appears is not None else set()
    publishes = 0
    while proc.poll() is None and time.monotonic() - started < timeout:
        if point.text is not None and seen.is_set():
            break
        if point.appears is not None and set(data_dir.glob(point.appears)) - existing:
            break
        if point.publishes is not None:
            now = _manifests(data_dir)
            if now != last:
                publishes, last = publishes + 1, now
                if publishes >= point.publishes:
                    break
        time.sleep(0.002)
    deadline = time.monotonic() + point.later
    while proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.002)
    landed = proc.poll() is None
    if landed:
        proc.send_signal(signal.SIGKILL)
    proc.wait()
    reader.join(timeout=5)
    return Kill(point, landed)


def _kill_in_turn(
    stages: Stages, tmp_path: Path, command: str, start: Path, points: list[KillAt], setup: str
) -> list[tuple[Kill, bool]]:
    """Kill `teamlens COMMAND` at each point in turn, each run resuming from the last.

    Returns each kill and whether the data folder differs from the start after it.
    """
    config = stages.start(tmp_path, start)
    data_dir = tmp_path / "data"
    before = data_files(data_dir)
    args = [command, "--config", str(config)]
    outcomes = []
    for point in points:
        kill = kill_at(teamlens_with(setup, *args), data_dir, point)
        after = data_files(data_dir)
        outcomes.append((kill, after != before))
    return outcomes


def _print_kills(command: str, outcomes: list[tuple[Kill, bool]]) -> None:
    for kill, changed in outcomes:
        state = "landed mid-run" if kill.landed else "came after the end"
        print(f"kill {command} {kill.point.describe()}: {state}; data folder changed: {changed}")


def test_sigkill_during_label_then_rerun(stages: Stages, tmp_path: Path) -> None:
    rng = random.Random(11)
    points = [
        KillAt(publishes=2),
        KillAt(publishes=1, later=rng.uniform(0.0, 0.3)),
        KillAt(text="fixes (100%)"),  # links published, szz_variants not yet
    ]
    outcomes = _kill_in_turn(
        stages, tmp_path, "label", stages.mined, points, SMALL_BATCHES["label"]
    )
    _print_kills("label", outcomes)
    assert sum(k.landed for k, _ in outcomes) >= 2
    data_dir = tmp_path / "data"
    assert duplicates(data_dir) == {}  # a killed run never leaves a fix labelled twice
    result = invoke("label", "--quiet", "--config", str(tmp_path / "repos.yaml"))
    assert result.exit_code == 0, result.output
    assert_same_store(data_dir, stages.labelled)


def test_sigkill_during_features_then_rerun(stages: Stages, tmp_path: Path) -> None:
    rng = random.Random(12)
    points = [
        KillAt(publishes=2),
        KillAt(publishes=1, later=rng.uniform(0.0, 0.3)),
        KillAt(text="changes (100%)"),  # features published, labels not yet
    ]
    outcomes = _kill_in_turn(
        stages, tmp_path, "features", stages.labelled, points, SMALL_BATCHES["features"]
    )
    _print_kills("features", outcomes)
    assert sum(k.landed for k, _ in outcomes) >= 2
    data_dir = tmp_path / "data"
    assert duplicates(data_dir) == {}
    result = invoke("features", "--quiet", "--config", str(tmp_path / "repos.yaml"))
    assert result.exit_code == 0, result.output
    assert_same_store(data_dir, stages.featured)


def test_sigkill_during_train_then_rerun(stages: Stages, tmp_path: Path) -> None:
    points = [
        KillAt(appears="models/.*.partial"),  # the model folder is being written
        KillAt(appears="models/2*/card.md"),  # renamed into place; CURRENT maybe not yet
    ]
    config = stages.start(tmp_path, stages.featured)
    data_dir = tmp_path / "data"
    reference = models(stages.trained)
    outcomes = []
    for point in points:
        kill = kill_at(
            teamlens_with("", "train", "--no-tune", "--config", str(config)), data_dir, point
        )
        seen = models(data_dir)  # every listed model and the current one load
        # A model becomes current whole or not at all, and only the trained one.
        assert seen.current in (None, reference.current)
        assert set(seen.contents) <= set(reference.contents)
        outcomes.append((kill, seen != models(stages.featured)))
    _print_kills("train", outcomes)
    assert sum(k.landed for k, _ in outcomes) >= 1
    result = invoke("train", "--no-tune", "--format", "json", "--config", str(config))
    assert result.exit_code == 0, result.output
    after = models(data_dir)
    assert after.current == reference.current
    assert set(after.contents) == set(reference.contents)  # extra copies only of this model
    assert after.leftovers == ()  # temporary folders of killed saves are gone
    print(f"train: {len(after.contents)} complete model folder(s) after the kills and the rerun")
    assert_same_store(data_dir, stages.trained)  # train never writes the store


# --------------------------------------------------------------------------------------
# A full disk (ENOSPC) during mine, label, features and train


class FullDisk:
    """From the `fail_from`-th write on (1-based), every write fails with ENOSPC until freed.

    The writes counted are the store's Parquet parts (``_write_parquet``), its manifests
    and rollback points (``_write_text``) and the model registry's files.
    """

    def __init__(self, monkeypatch: pytest.MonkeyPatch, fail_from: int) -> None:
        self.fail_from = fail_from
        self.writes = 0
        self.failed: list[str] = []
        self.full = False
        for module, name in (
            (teamlens.store.writer, "_write_parquet"),
            (teamlens.store.writer, "_write_text"),
            (teamlens.model.registry, "_write_text"),
        ):
            monkeypatch.setattr(module, name, self._wrap(getattr(module, name)))

    def _wrap(self, write: Callable[..., None]) -> Callable[..., None]:
        def checked(first: Any, second: Any) -> None:
            path = second if isinstance(second, Path) else first
            self.writes += 1
            if self.writes >= self.fail_from:
                self.full = True
            if self.full:
                self.failed.append(str(path))
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            write(first, second)

        return checked

    def free(self) -> None:
        self.full = False
        self.fail_from = sys.maxsize


@dataclass(frozen=True)
class DiskCase:
    command: tuple[str, ...]
    start: str | None  # the Stages field the data folder starts from
    fail_from: int
    end: str  # the Stages field an uninterrupted run ends at


DISK_CASES = {
    "mine-first-manifest": DiskCase(("mine", "--quiet", "--no-github"), None, 3, "mined"),
    "mine-batch-4": DiskCase(("mine", "--quiet", "--no-github"), None, 11, "mined"),
    "label-batch-3": DiskCase(("label", "--quiet"), "mined", 8, "labelled"),
    "features-labels": DiskCase(("features", "--quiet"), "labelled", 17, "featured"),
    "train-model-file": DiskCase(
        ("train", "--no-tune", "--format", "json"), "featured", 1, "trained"
    ),
    "train-current-marker": DiskCase(
        ("train", "--no-tune", "--format", "json"), "featured", 4, "trained"
    ),
}


@pytest.mark.parametrize("case", DISK_CASES.values(), ids=DISK_CASES.keys())
def test_a_full_disk_is_one_error_line_changes_nothing_and_a_rerun_completes(
    stages: Stages, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: DiskCase
) -> None:
    import teamlens.features.changes
    import teamlens.mining.szz

    monkeypatch.setattr(teamlens.mining.szz, "LABEL_BATCH", 8)
    monkeypatch.setattr(teamlens.features.changes, "BATCH", 64)
    start = getattr(stages, case.start) if case.start else None
    config = stages.start(tmp_path, start)
    data_dir = tmp_path / "data"
    before = data_files(data_dir)
    models_before = models(data_dir)
    disk = FullDisk(monkeypatch, case.fail_from)

    result = invoke(*case.command, "--config", str(config))
    message = one_line_error(result.stderr)
    print(f"ENOSPC {' '.join(case.command[:1])} at write {case.fail_from}: {message}")
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert disk.failed, "the full disk was never hit"
    assert f"no space left on device while writing {data_dir}" in message
    assert message.endswith("; free some space and run the command again")
    assert data_files(data_dir) == before  # the store, and the models, as before the command
    assert models(data_dir) == models_before

    disk.free()
    rerun = invoke(*case.command, "--config", str(config))
    assert rerun.exit_code == 0, rerun.output
    end = getattr(stages, case.end)
    assert_same_store(data_dir, end)
    if case.command[0] == "train":
        assert models(data_dir) == models(end)


def test_a_full_disk_outside_the_store_is_one_error_line_too(
    stages: Stages, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CLI's own net: ENOSPC from a writer with no error handling of its own (here the
    team report's aggregates) is the same one line, not a traceback."""
    import teamlens.dashboard.team_period

    config = stages.start(tmp_path, stages.featured)

    def full(table: pa.Table, path: Path) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr(teamlens.dashboard.team_period, "write_atomically", full)
    result = invoke("report", "--config", str(config))
    message = one_line_error(result.stderr)
    assert result.exit_code == 1
    assert message.startswith("no space left on device while writing ")
    assert str(tmp_path / "data") in message


# --------------------------------------------------------------------------------------
# A repository deleted or corrupted mid-run


@dataclass(frozen=True)
class BrokenRepo:
    command: str
    start: str  # the Stages field the data folder starts from
    hook: str  # the function whose nth call breaks the repository
    nth: int
    action: str  # "remove" or "corrupt"
    end: str


def _copy_repos(stages: Stages, work: Path) -> dict[str, Path]:
    repos = {"a": work / "repos" / "a", "b": work / "repos" / "b"}
    shutil.copytree(stages.small, repos["a"])
    shutil.copytree(stages.other, repos["b"])
    return repos


def test_a_repository_removed_while_another_is_mined(stages: Stages, tmp_path: Path) -> None:
    """b is checked at the start, then removed while a is mined (at a's first batch)."""
    repos = _copy_repos(stages, tmp_path)
    config = stages.start(tmp_path, None, repos)
    data_dir = tmp_path / "data"
    hook = fault_hook("teamlens.store:RepoWriter.commit", 1, "remove", repos["b"], name="a")
    result = run_teamlens(teamlens_with(hook, "mine", "--quiet", "--config", str(config)))
    message = one_line_error(result.stderr)
    print(f"mine, b removed while a is mined: exit {result.returncode}: {message}")
    assert result.returncode == 1
    assert message == f"repository 'b': {repos['b']} does not exist"
    reference = reference_facts(stages.mined_two)
    mined = facts(data_dir)
    for table in ("commits", "file_changes"):
        assert mined[table] == [r for r in reference[table] if r.startswith("('a',")]
    assert Store(data_dir).repos() == ["a"]

    shutil.copytree(stages.other, repos["b"])
    rerun = invoke("mine", "--quiet", "--config", str(config))
    assert rerun.exit_code == 0, rerun.output
    assert_same_store(data_dir, stages.mined_two)


BROKEN_MINE = {
    "removed-after-git-log-started": (
        "remove",
        "git log (identities) failed: the repository folder is gone",
    ),
    "pack-corrupted-after-git-log-started": ("corrupt", "git log (identities) failed: "),
}


@pytest.mark.parametrize(("action", "expected"), BROKEN_MINE.values(), ids=BROKEN_MINE.keys())
def test_a_repository_breaking_while_it_is_mined(
    stages: Stages, tmp_path: Path, action: str, expected: str
) -> None:
    """b breaks after its `git log` has started (a hook on its identity scan, which runs
    while git log walks the history)."""
    repos = _copy_repos(stages, tmp_path)
    config = stages.start(tmp_path, None, repos)
    data_dir = tmp_path / "data"
    hook = fault_hook(
        "teamlens.mining.repository:GitRepository.identities", 1, action, repos["b"], name="b"
    )
    result = run_teamlens(teamlens_with(hook, "mine", "--quiet", "--config", str(config)))
    message = one_line_error(result.stderr)
    print(f"mine, b {action} mid-run: exit {result.returncode}: {message}")
    assert result.returncode == 1
    assert message.startswith(f"{repos['b']}: ")  # names the repository
    assert expected in message
    reference = reference_facts(stages.mined_two)
    mined = facts(data_dir)
    for table in ("commits", "file_changes"):  # a is intact, b rolled back to nothing
        assert mined[table] == [r for r in reference[table] if r.startswith("('a',")]

    shutil.rmtree(repos["b"], ignore_errors=True)
    shutil.copytree(stages.other, repos["b"])
    rerun = invoke("mine", "--quiet", "--config", str(config))
    assert rerun.exit_code == 0, rerun.output
    assert_same_store(data_dir, stages.mined_two)


BROKEN_LATER = {
    "label-removed": BrokenRepo(
        "label", "mined", "teamlens.mining.blame:blame", 30, "remove", "labelled"
    ),
    "label-corrupted": BrokenRepo(
        "label", "mined", "teamlens.mining.blame:blame", 30, "corrupt", "labelled"
    ),
    "features-corrupted": BrokenRepo(
        "features", "labelled", "teamlens.mining.blobs:BlobReader.read", 40, "corrupt", "featured"
    ),
}


@pytest.mark.parametrize("case", BROKEN_LATER.values(), ids=BROKEN_LATER.keys())
def test_a_repository_breaking_during_label_or_features(
    stages: Stages, tmp_path: Path, case: BrokenRepo
) -> None:
    repo = tmp_path / "repos" / "planted"
    shutil.copytree(stages.planted, repo)
    config = stages.start(tmp_path, getattr(stages, case.start), {"planted": repo})
    data_dir = tmp_path / "data"
    before = data_files(data_dir)
    hook = SMALL_BATCHES[case.command] + fault_hook(case.hook, case.nth, case.action, repo)
    result = run_teamlens(teamlens_with(hook, case.command, "--quiet", "--config", str(config)))
    message = one_line_error(result.stderr)
    print(f"{case.command}, repository {case.action} mid-run: exit {result.returncode}: {message}")
    assert result.returncode == 1
    assert str(repo) in message  # names the repository
    assert data_files(data_dir) == before  # batches published before the fault rolled back

    shutil.rmtree(repo, ignore_errors=True)
    shutil.copytree(stages.planted, repo)
    rerun = invoke(case.command, "--quiet", "--config", str(config))
    assert rerun.exit_code == 0, rerun.output
    assert_same_store(data_dir, getattr(stages, case.end))


# --------------------------------------------------------------------------------------
# GitHub going away mid-run, or away for the whole run


def github_config(work: Path, server: FakeGitHub, stages: Stages) -> Path:
    """The small repository, with `github:` naming the fake server's acme/widgets."""
    return write_config(
        work,
        {},
        stages.key,
        repositories=[{"name": "widgets", "path": str(stages.small), "github": REPO}],
        github={
            "url": server.url,
            "token_env": TOKEN_ENV,
            "per_page": 3,
            "max_wait_seconds": 1,  # waits 1 s; the next wait (2 s) does not fit
        },
        privacy={"key_file": str(stages.key), "retention_days": 36500},
    )


@dataclass(frozen=True)
class GithubReference:
    server: FakeGitHub
    data_dir: Path  # an uninterrupted `teamlens mine`, git and GitHub
    requests: int  # the requests it sent


@pytest.fixture(scope="module")
def github_reference(
    stages: Stages, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GithubReference]:
    root = tmp_path_factory.mktemp("github")
    with FakeGitHub(token=TOKEN, max_per_page=3) as server, pytest.MonkeyPatch.context() as env:
        env.setenv(TOKEN_ENV, TOKEN)
        for login, (name, email) in HUMANS.items():
            server.add_user(login, name=name, email=email)
        server.add_user(BOT, type="Bot")
        server.add_user("acme", type="Organization")
        server.add_repo(REPO)
        _populate(server, 7)
        reference = load_config(github_config(root, server, stages))
        mine_all(reference)
        for repo in iter_github_repositories(reference):
            mine_github(reference, repo)
        assert duplicates(reference.data_dir) == {}
        yield GithubReference(server, reference.data_dir, len(server.requests))


@dataclass(frozen=True)
class GithubSetup:
    server: FakeGitHub  # running, no faults, no requests recorded yet
    config: Path
    work: Path
    reference: GithubReference

    def point_at_server(self) -> None:
        """Rewrite github.url (a restarted server listens on a new port)."""
        doc = yaml.safe_load(self.config.read_text(encoding="utf-8"))
        doc["github"]["url"] = self.server.url
        self.config.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")


@pytest.fixture
def github_setup(
    github_reference: GithubReference,
    stages: Stages,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> GithubSetup:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    server = github_reference.server
    try:
        server.port  # noqa: B018 - raises when a test left it stopped
    except RuntimeError:
        server.start()
    server.clear_faults()
    server.reset_requests()
    work = tmp_path / "work"
    return GithubSetup(server, github_config(work, server, stages), work, github_reference)


@contextlib.contextmanager
def when_requests_reach(
    server: FakeGitHub, count: int, then: Callable[[], None]
) -> Iterator[threading.Event]:
    """Within the block, call `then` once the server has answered `count` requests.

    Yields an event that is set when `then` ran; it never runs after the block.
    """
    fired = threading.Event()
    done = threading.Event()

    def watch() -> None:
        while len(server.requests) < count:
            if done.wait(0.001):
                return
        then()
        fired.set()

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        yield fired
    finally:
        done.set()
        watcher.join(timeout=10)


GITHUB_GOES = {
    "server-stops": "connection refused",
    "connections-dropped": "connection closed without an answer",
}


@pytest.mark.parametrize("how", GITHUB_GOES.keys())
def test_github_going_away_mid_run_keeps_what_was_fetched(
    github_setup: GithubSetup, how: str
) -> None:
    setup = github_setup
    server = setup.server
    halfway = setup.reference.requests // 2
    drop_all = Fault(".*", drop=True, times=None)
    goes: Callable[[], None] = (
        server.stop if how == "server-stops" else lambda: server.inject(drop_all)
    )
    started = time.monotonic()
    with when_requests_reach(server, halfway, goes) as gone:
        result = run_teamlens(teamlens_with("", "mine", "--quiet", "--config", str(setup.config)))
    seconds = time.monotonic() - started
    assert gone.is_set()
    message = one_line_error(result.stderr)
    print(
        f"GitHub {how} after {halfway} of {setup.reference.requests} requests:"
        f" exit {result.returncode}"
        f" in {seconds:.1f}s: {message}"
    )
    assert result.returncode == 1
    assert "could not reach GitHub at 127.0.0.1:" in message
    assert f"({GITHUB_GOES[how]}; gave up after 2 attempts)" in message
    assert "kept " in message and "(the next run resumes there)" in message
    data_dir = setup.work / "data"
    reference = reference_facts(setup.reference.data_dir)
    kept = facts(data_dir)
    for table in ("commits", "file_changes"):
        assert kept[table] == reference[table]  # the git part is whole
    assert 0 < len(kept["pull_requests"]) < len(reference["pull_requests"])
    for table in ("pull_requests", "pull_request_files", "reviews", "review_comments"):
        assert set(kept[table]) <= set(reference[table])  # what was kept is right
    assert duplicates(data_dir) == {}

    if how == "server-stops":
        server.start()
        setup.point_at_server()
    else:
        server.clear_faults()
    rerun = invoke("mine", "--quiet", "--config", str(setup.config))
    assert rerun.exit_code == 0, rerun.output
    assert_same_store(data_dir, setup.reference.data_dir)


def test_github_down_for_the_whole_run(github_setup: GithubSetup) -> None:
    setup = github_setup
    setup.server.stop()
    result = run_teamlens(teamlens_with("", "mine", "--quiet", "--config", str(setup.config)))
    message = one_line_error(result.stderr)
    print(f"GitHub down for the whole run: exit {result.returncode}: {message}")
    assert result.returncode == 1
    assert message.startswith(f"repository {REPO}: could not reach GitHub at 127.0.0.1:")
    assert message.endswith("(connection refused; gave up after 2 attempts)")
    data_dir = setup.work / "data"
    reference = reference_facts(setup.reference.data_dir)
    mined = facts(data_dir)
    assert mined["commits"] == reference["commits"]
    assert mined["pull_requests"] == []

    setup.server.start()
    setup.point_at_server()
    rerun = invoke("mine", "--quiet", "--config", str(setup.config))
    assert rerun.exit_code == 0, rerun.output
    assert_same_store(data_dir, setup.reference.data_dir)


def test_run_goes_on_from_git_when_github_is_down(github_setup: GithubSetup) -> None:
    """`teamlens run`: labels, features and the report still come; the exit code says 1."""
    setup = github_setup
    setup.server.stop()
    result = run_teamlens(teamlens_with("", "run", "--quiet", "--config", str(setup.config)))
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    errors = [x for x in result.stderr.splitlines() if x.startswith("teamlens: error: ")]
    assert len(errors) == 1, result.stderr
    assert f"repository {REPO}: could not reach GitHub" in errors[0]
    assert errors[0].endswith("; continuing without it")
    mined = facts(setup.work / "data")
    assert mined["commits"] == reference_facts(setup.reference.data_dir)["commits"]
    assert mined["change_features"] and mined["pull_requests"] == []
    assert "report: " in result.stdout
