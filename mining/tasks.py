"""The scale seam: mining is one independent task per repository.

A runner takes tasks and returns one report per task. :class:`SerialRunner` runs them
in this process; a distributed runner (Dask) only has to implement :class:`TaskRunner`
— each task writes its own repository's part of the store and shares nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from mining.miner import MiningReport, MiningTask, ProgressCallback, mine_repository
from mining.repository import GitRepository
from teamlens.config import Config
from teamlens.privacy import load_key


class TaskRunner(Protocol):
    def run(
        self, tasks: Sequence[MiningTask], progress: ProgressCallback | None
    ) -> list[MiningReport]: ...


class SerialRunner:
    """Runs the tasks one after another in this process."""

    def run(
        self, tasks: Sequence[MiningTask], progress: ProgressCallback | None
    ) -> list[MiningReport]:
        return [mine_repository(task, progress) for task in tasks]


def tasks_for(config: Config, only: Sequence[str] = ()) -> list[MiningTask]:
    repos = [config.repository(n) for n in only] if only else list(config.repositories)
    return [
        MiningTask(
            repository=r,
            data_dir=config.data_dir,
            clones_dir=config.clones_dir,
            privacy=config.privacy,
            mining=config.mining,
        )
        for r in repos
    ]


def mine_all(
    config: Config,
    only: Sequence[str] = (),
    runner: TaskRunner | None = None,
    progress: ProgressCallback | None = None,
) -> list[MiningReport]:
    """Mine every configured repository (or those named in `only`).

    Local repositories and the key are checked before any task starts, so a bad path
    or an unreadable key file stops the run with nothing written.
    """
    tasks = tasks_for(config, only)
    load_key(config.privacy, config.data_dir)
    for task in tasks:
        if task.repository.url is None:
            GitRepository.open(task.repository, config.clones_dir)
    return (runner or SerialRunner()).run(tasks, progress)
