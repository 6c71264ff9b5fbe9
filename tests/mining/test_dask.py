# mypy: disallow-untyped-calls=False
"""Mining, labelling and features on a real two-worker Dask cluster give the serial store."""

from __future__ import annotations

import os
import pickle
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
import yaml

pytest.importorskip("distributed")

from distributed.protocol import pickle as dask_pickle

from teamlens.config import Config, load_config
from teamlens.errors import RepositoryError, TeamlensError
from teamlens.features.changes import build_features
from teamlens.mining.dask_runner import DaskRunner, _Secret
from teamlens.mining.miner import MiningReport
from teamlens.mining.ranges import plan
from teamlens.mining.szz import label_repository
from teamlens.mining.tasks import (
    SerialRunner,
    mine_all,
    run_per_repository,
    runner_for,
    tasks_for,
)
from teamlens.privacy import verify_key_check
from teamlens.store import Store
from tests.conftest import TEST_KEY, teamlens_command
from tests.gitrepo import ALICE, BOB, CAROL, CAROL_OLD, DAVE, ERIN, ZOE, RepoBuilder, lines

DAY = 86_400

#: Every view a query sees, with the columns that hold the time of the run left out.
VIEWS = {
    "commits": "*",
    "commits_all": "*",
    "file_changes": "*",
    "file_changes_all": "*",
    "lost_commits": "* EXCLUDE (detected_at)",
    "szz_links": "*",
    "szz_fixes": "* EXCLUDE (labelled_at)",
    "change_features": "*",
    "changed_functions": "*",
    "change_labels": "*",
    "changes": "*",
}


def _alpha(path: Path) -> None:
    """Two people, a rename, a fix of an earlier change, a merged side branch."""
    r = RepoBuilder(path)
    r.write("src/parse.py", "def parse(s):\n    return s.split()\n" + lines(6, "# pad"))
    r.write("README.md", "# alpha\n")
    r.commit("Add parser", ALICE)
    r.clock += DAY
    r.write("src/parse.py", "def parse(s):\n    return s.split(',')\n" + lines(6, "# pad"))
    r.commit("Split on commas", BOB)
    r.git("checkout", "-q", "-b", "side")
    r.write("src/extra.py", lines(9, "extra"))
    r.commit("Add extra", BOB)
    r.git("checkout", "-q", "main")
    r.git("mv", "src/parse.py", "src/parser.py")
    r.commit("Rename parse to parser", ALICE, add_all=False)
    r.clock += 3600
    r.git("merge", "-q", "--no-ff", "-m", "Merge branch 'side'", "side", person=ALICE)
    r.clock += 200 * DAY
    r.write("src/parser.py", "def parse(s):\n    return s.split(';')\n" + lines(6, "# pad"))
    r.commit("Fix parse: split on semicolons", ALICE)


def _beta(path: Path) -> None:
    """Three people (one under an old address, linked by .mailmap), deletions."""
    r = RepoBuilder(path)
    r.write(".mailmap", f"{CAROL.name} <{CAROL.email}> {CAROL_OLD.name} <{CAROL_OLD.email}>\n")
    r.write("lib/core.py", "def area(w, h):\n    return w + h\n")
    r.write("lib/old.py", lines(4, "old"))
    r.commit("Core", CAROL_OLD)
    r.write("lib/core.py", "def area(w, h):\n    return w + h\n\n\ndef half(x):\n    return x\n")
    r.commit("Add half", ZOE)
    r.git("rm", "-q", "lib/old.py")
    r.commit("Remove old module", CAROL, add_all=False)
    r.clock += 200 * DAY
    r.write("lib/core.py", "def area(w, h):\n    return w * h\n\n\ndef half(x):\n    return x\n")
    r.commit("Fix bug in area", CAROL)
    r.write(
        "lib/core.py", "def area(w, h):\n    return w * h\n\n\ndef half(x):\n    return x / 2\n"
    )
    r.commit("fixes #2: half halves", ERIN)


def _gamma(path: Path) -> None:
    """Renamed twice with edits, a test file, an octopus merge."""
    r = RepoBuilder(path)
    r.write("app/main.py", "def main():\n    return 0\n" + lines(20, "# filler"))
    r.commit("Start", DAVE)
    base = r.head()
    for name, who in (("a", ERIN), ("b", ZOE)):
        r.git("checkout", "-q", "-b", name, base)
        r.write(f"app/{name}.py", lines(3, name))
        r.commit(f"Part {name}", who)
    r.git("checkout", "-q", "main")
    r.clock += 3600
    r.git("merge", "-q", "-m", "Octopus merge", "a", "b", person=DAVE)
    r.git("mv", "app/main.py", "app/entry.py")
    r.write("app/entry.py", "def main():\n    return 1\n" + lines(20, "# filler"))
    r.commit("Rename main to entry", ALICE)
    r.write("tests/test_entry.py", "def test_main():\n    assert True\n")
    r.commit("Test entry", BOB)
    r.clock += 200 * DAY
    r.write("app/entry.py", "def main():\n    return 2\n" + lines(20, "# filler"))
    r.commit("Patch main's return value", DAVE)


def _delta(path: Path) -> None:
    """A single person; configured with its own teams (a mapping in the pickled config)."""
    r = RepoBuilder(path)
    for i in range(6):
        r.write(f"pkg/m{i % 3}.py", lines(3 + i, f"v{i}"))
        r.commit(f"Step {i}" + (" (bugfix)" if i == 4 else ""), ZOE)


BUILDERS = {"alpha": _alpha, "beta": _beta, "gamma": _gamma, "delta": _delta}


@pytest.fixture(scope="module")
def repos_template(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("dask-repos")
    for name, build in BUILDERS.items():
        build(root / name)
    return {name: root / name for name in BUILDERS}


@dataclass(frozen=True)
class Cluster:
    runner: DaskRunner
    xdg: Path  # the workers' XDG_CONFIG_HOME: a key file there means they made their own


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """One real two-process LocalCluster for the module (it takes seconds to start).

    Its workers start without TEAMLENS_KEY and with a scratch XDG_CONFIG_HOME: they can
    only mine with the key the client sends, and never touch a real per-user key.
    """
    xdg = tmp_path_factory.mktemp("worker-xdg")
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("TEAMLENS_KEY", raising=False)
        mp.setenv("XDG_CONFIG_HOME", str(xdg))
        runner = DaskRunner(workers=2).__enter__()
    try:
        yield Cluster(runner, xdg)
    finally:
        runner.__exit__(None, None, None)


def _config(root: Path, repos: dict[str, Path], name: str, split_commits: int = 0) -> Config:
    doc: dict[str, Any] = {
        "data_dir": f"data-{name}",
        "clones_dir": f"clones-{name}",
        "labels": {"maturity_days": 30},
        "mining": {"split_commits": split_commits},
        "teams": {"core": ["src/**", "lib/**"], "app": ["app/**"]},
        "repositories": [{"name": n, "path": str(p)} for n, p in repos.items()],
    }
    doc["repositories"][-1]["teams"] = {"pkg": ["pkg/**"]}
    path = root / f"repos-{name}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return load_config(path)


def _snapshot(config: Config) -> dict[str, Any]:
    store = Store(config.data_dir)
    views = {
        view: store.query(f"SELECT {columns} FROM {view} ORDER BY ALL").rows  # noqa: S608
        for view, columns in VIEWS.items()
    }
    states = {repo: store.manifest(repo).state.to_json() for repo in store.repos()}
    for state in states.values():  # the check's salt is random: compare what it verifies
        state["key_check"] = verify_key_check(TEST_KEY.encode(), state.get("key_check"))
    return {"views": views, "states": states}


def _without_time(report: MiningReport) -> MiningReport:
    return replace(report, seconds=0.0)


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, int, int]] = []

    def __call__(self, label: str, done: int, total: int) -> None:
        self.calls.append((label, done, total))

    def last(self, label: str) -> tuple[int, int]:
        return next((d, t) for n, d, t in reversed(self.calls) if n == label)


def test_two_workers_build_the_serial_store(
    cluster: Cluster, repos_template: dict[str, Path], tmp_path: Path, key_env: str
) -> None:
    serial = _config(tmp_path, repos_template, "serial")
    dask = _config(tmp_path, repos_template, "dask")

    mined = mine_all(serial)
    run_per_repository(None, label_repository, serial)
    run_per_repository(SerialRunner(), build_features, serial)

    progress = Recorder()
    mined_dask = mine_all(dask, runner=cluster.runner, progress=progress)
    labels = run_per_repository(cluster.runner, label_repository, dask)
    features = run_per_repository(cluster.runner, build_features, dask, progress=Recorder())

    assert [_without_time(r) for r in mined_dask] == [_without_time(r) for r in mined]
    assert [r.repo for r in labels] == [r.repo for r in features] == list(BUILDERS)
    assert sum(r.fixes_labelled for r in labels) >= 4
    expected = _snapshot(serial)
    assert all(expected["views"][v] for v in ("commits", "file_changes", "szz_links", "changes"))
    assert _snapshot(dask) == expected
    # Progress came back from the workers and ended at each repository's total.
    for report in mined_dask:
        assert progress.last(report.repo) == (report.commits_added, report.commits_added)

    # Incremental on the cluster too; and the key never stays behind on a worker.
    again = mine_all(dask, runner=cluster.runner)
    assert [r.commits_added for r in again] == [0] * len(BUILDERS)
    leftovers = cluster.runner.client.run(
        lambda: sorted(k for k in os.environ if k.startswith("TEAMLENS"))
    )
    assert list(leftovers.values()) == [[], []]
    assert not (cluster.xdg / "teamlens").exists()  # the workers used the key they got


def test_a_failing_task_names_its_repository(
    cluster: Cluster, repos_template: dict[str, Path], tmp_path: Path, key_env: str
) -> None:
    repos = {n: tmp_path / "repos" / n for n in repos_template}
    for name, path in repos.items():
        shutil.copytree(repos_template[name], path, symlinks=True)
    config = _config(tmp_path, repos, "fail")
    tasks = tasks_for(config)  # checked by mine_all before any task starts ...
    shutil.rmtree(repos["beta"])  # ... but gone when the task runs

    with pytest.raises(RepositoryError) as caught:
        cluster.runner.run(tasks, None)
    message = str(caught.value)
    assert message.startswith("repository 'beta': ")
    assert "does not exist" in message and "more repositories" not in message
    # The other tasks ran to the end and kept their work.
    assert Store(config.data_dir).repos() == ["alpha", "delta", "gamma"]

    # Two failures: the first in task order is raised, the other one is named.
    shutil.rmtree(repos["delta"])
    with pytest.raises(RepositoryError, match=r"^repository 'beta': .*1 more repositories"):
        cluster.runner.run(tasks, None)
    with pytest.raises(RepositoryError, match="repository 'beta'"):
        mine_all(config, runner=cluster.runner)  # the client's check, before any task


def test_tasks_and_config_travel_and_the_key_stays_hidden(
    repos_template: dict[str, Path], tmp_path: Path, key_env: str
) -> None:
    config = _config(tmp_path, repos_template, "pickle")
    assert config.repositories[-1].teams is not None  # a MappingProxyType inside
    for obj in (*tasks_for(config), config):
        assert dask_pickle.loads(dask_pickle.dumps(obj)) == obj
    secret = _Secret(key_env.encode())
    assert key_env not in repr(secret) and key_env not in str((secret,))
    assert pickle.loads(pickle.dumps(secret)).reveal() == key_env.encode()  # noqa: S301


def test_runner_for() -> None:
    with runner_for() as runner:
        assert isinstance(runner, SerialRunner)
    with (
        pytest.raises(TeamlensError, match="exclude each other"),
        runner_for(2, "tls://127.0.0.1:8786"),
    ):
        pass


def _teamlens(config: Config, *args: str) -> str:
    result = subprocess.run(
        [*teamlens_command(), "--config", str(config.path), *args],
        env={**os.environ},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_the_commands_with_two_workers_build_the_serial_store(
    repos_template: dict[str, Path], tmp_path: Path, key_env: str
) -> None:
    """`label`/`features --workers 2` and `run --workers 2`, each on its own local cluster."""
    serial = _config(tmp_path, repos_template, "serial")
    stages = _config(tmp_path, repos_template, "stages")
    whole = _config(tmp_path, repos_template, "run")

    for config, workers in ((serial, "1"), (stages, "2")):
        _teamlens(config, "mine", "--no-github", "-q")
        labelled = _teamlens(config, "label", "--workers", workers)
        computed = _teamlens(config, "features", "--workers", workers)
    assert all(f"{name}: " in labelled and f"{name}: " in computed for name in BUILDERS)
    summary = _teamlens(whole, "run", "--workers", "2", "-q")
    assert "report:" in summary

    expected = _snapshot(serial)
    assert expected["views"]["szz_links"] and expected["views"]["change_features"]
    assert _snapshot(stages) == expected
    assert _snapshot(whole) == expected


def test_a_split_history_on_two_workers_equals_one_serial_task(
    cluster: Cluster, repos_template: dict[str, Path], tmp_path: Path, key_env: str
) -> None:
    """`mining.split_commits`: the ranges of one history run on both workers at once."""
    serial = _config(tmp_path, repos_template, "whole")
    split = _config(tmp_path, repos_template, "split", split_commits=3)
    plans = [plan(t) for t in tasks_for(split)]
    assert sum(len(p) for p in plans if p) >= 4  # some repositories are split
    mined = mine_all(serial)
    progress = Recorder()
    mined_split = mine_all(split, runner=cluster.runner, progress=progress)
    assert [(r.repo, r.commits_added) for r in mined_split] == [
        (r.repo, r.commits_added) for r in mined
    ]
    assert _snapshot(split) == _snapshot(serial)
    assert any(label.endswith("]") for label, _, _ in progress.calls)  # "delta [2/3]"
