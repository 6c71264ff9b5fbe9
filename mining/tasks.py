"""The scale seam: mining is one independent task per repository.

A runner takes tasks and returns one report per task. :class:`SerialRunner` runs them
in this process; :class:`mining.dask_runner.DaskRunner` runs them on a Dask cluster (a
local one, or an existing one). Each task writes its own repository's part of the store
and shares nothing, so any runner gives the same store.

The later per-repository stages (SZZ labels, change features) run the same way through
:func:`run_per_repository`: a runner that also implements :class:`RepositoryRunner`
calls ``fn(config, repository, progress)`` once per repository and returns the results
in order. docs/scale.md describes running on a cluster.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Callable, Iterator, Sequence
from types import TracebackType
from typing import Protocol, TypeVar

from teamlens.config import Config, RepositoryConfig
from teamlens.errors import TeamlensError
from teamlens.mining.miner import MiningReport, MiningTask, ProgressCallback
from teamlens.mining.ranges import mine_task
from teamlens.mining.repository import GitRepository
from teamlens.privacy import load_key

R = TypeVar("R")

#: A per-repository stage: ``label_repository``, ``build_features``, ...
RepositoryFunction = Callable[[Config, RepositoryConfig, ProgressCallback | None], R]


class TaskRunner(Protocol):
    def run(
        self, tasks: Sequence[MiningTask], progress: ProgressCallback | None
    ) -> list[MiningReport]: ...


class RepositoryRunner(Protocol):
    def per_repository(
        self,
        fn: RepositoryFunction[R],
        config: Config,
        repos: Sequence[RepositoryConfig],
        progress: ProgressCallback | None,
    ) -> list[R]: ...


class Runner(TaskRunner, RepositoryRunner, Protocol):
    """What the CLI needs: mining tasks and the per-repository stages."""


class SerialRunner:
    """Runs the tasks one after another in this process."""

    def __enter__(self) -> SerialRunner:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    def run(
        self, tasks: Sequence[MiningTask], progress: ProgressCallback | None
    ) -> list[MiningReport]:
        return [mine_task(task, progress) for task in tasks]

    def per_repository(
        self,
        fn: RepositoryFunction[R],
        config: Config,
        repos: Sequence[RepositoryConfig],
        progress: ProgressCallback | None,
    ) -> list[R]:
        return [fn(config, repo, progress) for repo in repos]


@contextlib.contextmanager
def runner_for(workers: int = 1, scheduler: str | None = None) -> Iterator[Runner]:
    """The runner for ``teamlens ... --workers N --scheduler URL``.

    One worker and no scheduler: :class:`SerialRunner` (Dask is not even imported).
    ``workers`` > 1: a local Dask cluster of that many processes, closed on exit.
    ``scheduler`` ("tcp://host:8786", "tls://host:8786"): an existing Dask cluster.

    Raises
    ------
    TeamlensError
        Both were given, or Dask is not installed.
    """
    if scheduler is None and workers <= 1:
        yield SerialRunner()
        return
    if scheduler is not None and workers > 1:
        raise TeamlensError(
            "--workers and --scheduler exclude each other: an existing cluster has its own workers"
        )
    try:
        from teamlens.mining.dask_runner import DaskRunner
    except ImportError as exc:
        raise TeamlensError(
            f"--workers/--scheduler need Dask ({exc.name} is not installed): "
            "pip install 'teamlens[dask]'"
        ) from None
    with DaskRunner(workers=None if scheduler else workers, scheduler=scheduler) as runner:
        yield runner


def tasks_for(config: Config, only: Sequence[str] = ()) -> list[MiningTask]:
    copies = {r.name: r.path or config.clones_dir / r.name for r in config.repositories}
    return [
        MiningTask(
            repository=r,
            data_dir=config.data_dir,
            clones_dir=config.clones_dir,
            privacy=config.privacy,
            mining=config.mining,
            neighbours=tuple(path for name, path in copies.items() if name != r.name),
        )
        for r in repositories(config, only)
    ]


def repositories(config: Config, only: Sequence[str] = ()) -> list[RepositoryConfig]:
    """The repositories named in `only` (in that order), or every configured one."""
    return [config.repository(n) for n in only] if only else list(config.repositories)


def mine_all(
    config: Config,
    only: Sequence[str] = (),
    runner: TaskRunner | None = None,
    progress: ProgressCallback | None = None,
    split: bool | None = None,
) -> list[MiningReport]:
    """Mine every configured repository (or those named in `only`).

    Local repositories and the key are checked before any task starts, so a bad path
    or an unreadable key file stops the run with nothing written. ``split``: whether a
    large first mining runs as range tasks (``mining.split_commits``); by default only
    on a runner with several workers: in one process ranges only add work.
    """
    from teamlens.mining.ranges import adopt, plan

    tasks = tasks_for(config, only)
    load_key(config.privacy, config.data_dir)
    for task in tasks:
        if task.repository.url is None:
            GitRepository.open(task.repository, config.clones_dir)
    started = time.monotonic()
    # A very large first mining becomes several range tasks (mining.split_commits).
    if split is None:
        split = not isinstance(runner or SerialRunner(), SerialRunner)
    planned = [plan(task, split) or [task] for task in tasks]
    # Newest range first: later stretches of a history are larger (more files, bigger
    # diffs), and workers take tasks roughly in submission order.
    reports = (runner or SerialRunner()).run(
        [t for group in planned for t in reversed(group)], progress
    )
    merged: list[MiningReport] = []
    for group in planned:
        done, reports = reports[: len(group)][::-1], reports[len(group) :]
        if group[0].commit_range is None:
            merged.extend(done)
        else:
            report = adopt(group, done)
            merged.append(dataclasses.replace(report, seconds=time.monotonic() - started))
    return merged


def run_per_repository(
    runner: RepositoryRunner | None,
    fn: RepositoryFunction[R],
    config: Config,
    repos: Sequence[str] = (),
    progress: ProgressCallback | None = None,
) -> list[R]:
    """``fn(config, repository, progress)`` for each repository named (default: all).

    For the stages after mining, e.g. ``run_per_repository(runner, label_repository,
    config)`` or ``run_per_repository(runner, build_features, config)``. Each call reads
    and writes only its own repository's part of the store. On a Dask runner ``fn`` must
    be a module-level function (it is pickled by name) and runs in a worker process.
    """
    return (runner or SerialRunner()).per_repository(
        fn, config, repositories(config, repos), progress
    )
