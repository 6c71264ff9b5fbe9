"""A very large history mined as several tasks: split by commit ranges, then adopted.

On a runner with several workers, a repository mined for the first time whose
history has more than ``mining.split_commits`` commits is cut along its first-parent line at commits
``c1, c2, ..., ck`` into ranges ``c1``, ``c2 --not c1``, ..., ``<tips> --not ck``. The
ranges are disjoint and together are exactly the history (a commit merged between two
cuts is reachable from the later cut only), so each can be mined by its own task, on
any worker, at the same time.

Each range task writes its rows into a staging store of its own,
``<data_dir>/staging/<repo>/<range id>/``, and marks it done in that store's manifest.
When every range is done, :func:`adopt` takes the repository's write lock, hard-links
the staged files into the repository's folder and publishes them, with the tips, in
one atomic manifest replace; then it removes the staging folder. Until then the
repository looks unmined to every reader. A killed run leaves finished ranges staged:
the next run plans the same ranges (same tips, same cuts) and mines only the others.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import shutil
import threading
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

from teamlens.errors import StoreError
from teamlens.mining.domain import CommitRange
from teamlens.mining.gitlog import git_log
from teamlens.mining.miner import (
    PROGRESS_EVERY,
    MiningReport,
    MiningTask,
    ProgressCallback,
    _add_commit,
    _Batch,
    _Identities,
    _opted_out_pseudonyms,
    _unname_unstored,
    mine_repository,
    opt_out_fingerprint,
)
from teamlens.mining.repository import (
    EVERY_REF,
    Alias,
    GitRepository,
    name_email_pairs,
    people_of,
)
from teamlens.privacy import Pseudonymizer, Scrubber, key_check, load_key, read_opt_out
from teamlens.store import SCHEMAS, RepoState, Store

STAGING = "staging"
_RANGE_TABLES = ("commits", "file_changes")


def staging_dir(data_dir: Path, repo: str) -> Path:
    return data_dir / STAGING / repo


def plan(task: MiningTask, enabled: bool = True) -> list[MiningTask] | None:
    """The range tasks for ``task``, or None when it is mined as one task.

    Only a repository with nothing mined yet is split (later runs mine only what is
    new), and only when its history has more than ``mining.split_commits`` commits.
    Staged ranges that no longer belong to anything are removed, also when not
    ``enabled``.
    """
    limit = task.mining.split_commits
    if not Store(task.data_dir).manifest(task.repository.name).state.is_empty:
        # Mined already: staged ranges left behind by a kill after the adoption go.
        shutil.rmtree(staging_dir(task.data_dir, task.repository.name), ignore_errors=True)
        return None
    if not enabled or limit <= 0:
        return None
    repo = GitRepository.open(task.repository, task.clones_dir)
    tips = repo.tips(task.repository.branch, task.repository.all_branches)
    revisions = sorted(set(tips.values()))
    total = repo.count(revisions, [])
    if total <= limit:
        return None
    line = repo.first_parents(repo.main_line_tip(revisions))
    parts = math.ceil(total / limit)
    step = len(line) / parts
    # A cut at the tip itself would leave the last range empty.
    cuts = [line[j] for j in sorted({int(step * i) for i in range(1, parts)}) if j < len(line) - 1]
    if not cuts:
        return None  # a first-parent line too short to cut
    ranges: list[tuple[tuple[str, ...], tuple[str, ...]]] = []
    previous: tuple[str, ...] = ()
    for cut in cuts:
        ranges.append(((cut,), previous))
        previous = (cut,)
    ranges.append((tuple(revisions), previous))
    frozen_tips = tuple(sorted(tips.items()))
    return [
        dataclasses.replace(
            task,
            commit_range=CommitRange(i, len(ranges), include, exclude, frozen_tips),
        )
        for i, (include, exclude) in enumerate(ranges)
    ]


def mine_range(task: MiningTask, progress: ProgressCallback | None = None) -> MiningReport:
    """Mine one range of a split repository into its staging store (resumable: a
    finished range is not mined again)."""
    rng = task.commit_range
    assert rng is not None, "mine_range needs a task with a commit_range"
    started = time.monotonic()
    config = task.repository
    label = task.label
    repo = GitRepository.open(config, task.clones_dir, sync=False)  # plan() synced it
    key = load_key(task.privacy, task.data_dir)
    pseudonymizer = Pseudonymizer(key)
    fix_res = [re.compile(p) for p in task.mining.fix_patterns]
    opt_out_entries = read_opt_out(task.privacy.opt_out)
    staged = Store(staging_dir(task.data_dir, config.name) / rng.key)
    fingerprint = opt_out_fingerprint(key, opt_out_entries)
    with staged.writer(config.name) as writer:
        done_state = writer.manifest.state
        # A range staged under another opt-out list is mined again (it may hold people
        # who opted out since).
        if done_state.range_done and done_state.opt_out == fingerprint:
            if progress is not None:
                progress(label, 0, 0)
            return MiningReport(
                repo=config.name,
                commits_added=done_state.range_commits or 0,
                file_changes_added=done_state.range_file_changes or 0,
                commits_opted_out=done_state.range_opted_out or 0,
                seconds=time.monotonic() - started,
            )
        if any(writer.has_rows(t) for t in _RANGE_TABLES):  # a killed earlier attempt
            writer.replace(
                {t: SCHEMAS[t].empty_table() for t in _RANGE_TABLES}, RepoState(), purge=True
            )
        # The whole repository's identities, as the unsplit miner sees them: the subject
        # scrubber and the opt-outs must know every person, not only this range's.
        aliases = _identities(repo, EVERY_REF)
        identities = _Identities(
            pseudonymizer, _opted_out_pseudonyms(aliases, opt_out_entries, pseudonymizer)
        )
        scrub = Scrubber(name_email_pairs(aliases) | people_of(task.neighbours))
        batch = _Batch()
        total = repo.count(rng.include, rng.exclude)
        added = changes = opted = 0
        if progress is not None:
            progress(label, 0, total)
        with git_log(repo.path, rng.include, rng.exclude, task.mining.detect_copies) as commits:
            for done, commit in enumerate(commits, start=1):
                stored = _add_commit(batch, config.name, commit, identities, scrub, fix_res)
                opted += not stored
                if done % task.mining.batch_size == 0:
                    writer.commit(batch.tables(), RepoState().replace(range_done=False))
                    added += batch.n_commits
                    changes += batch.n_file_changes
                    batch = _Batch()
                if progress is not None and (done % PROGRESS_EVERY == 0 or done == total):
                    progress(label, done, total)
        added += batch.n_commits
        changes += batch.n_file_changes
        done_state = RepoState().replace(
            range_done=True,
            opt_out=fingerprint,
            range_commits=added,
            range_file_changes=changes,
            range_opted_out=opted,
        )
        writer.commit(batch.tables(), done_state)
    return MiningReport(
        repo=config.name,
        commits_added=added,
        file_changes_added=changes,
        commits_opted_out=opted,
        seconds=time.monotonic() - started,
    )


#: The last repository's identities in this process: a worker that runs several ranges
#: of one repository reads them once. Raw identities, held in memory only, like the
#: miner's own; one entry, replaced by the next repository's.
_IDENTITIES: dict[tuple[Path, tuple[str, ...]], set[Alias]] = {}
_IDENTITIES_LOCK = threading.Lock()


def _identities(repo: GitRepository, revisions: Sequence[str]) -> set[Alias]:
    key = (repo.path, tuple(revisions))
    with _IDENTITIES_LOCK:
        found = _IDENTITIES.get(key)
        if found is None:
            found = repo.identities(revisions)
            _IDENTITIES.clear()
            _IDENTITIES[key] = found
        return found


def adopt(tasks: Sequence[MiningTask], reports: Sequence[MiningReport]) -> MiningReport:
    """Publish the staged ranges of one repository in its store, then drop the staging.

    Raises
    ------
    StoreError
        A range is not staged as done, or the repository was mined meanwhile.
    """
    first = tasks[0]
    name = first.repository.name
    staging = staging_dir(first.data_dir, name)
    ranges = [t.commit_range for t in tasks]
    parts: dict[str, list[Path]] = {t: [] for t in _RANGE_TABLES}
    for rng in ranges:
        assert rng is not None
        staged = Store(staging / rng.key)
        manifest = staged.manifest(name)
        if not manifest.state.range_done:
            raise StoreError(f"repository {name!r}: range {rng.index + 1} is not mined yet")
        for table in _RANGE_TABLES:
            parts[table] += [staged.root / name / p for p in manifest.parts.get(table, ())]
    check = key_check(load_key(first.privacy, first.data_dir))
    tips = dict(ranges[0].tips) if ranges[0] is not None else {}
    with Store(first.data_dir).writer(name) as writer:
        if not writer.manifest.state.is_empty:
            raise StoreError(
                f"repository {name!r} was mined by another run while its ranges were "
                "mined; run teamlens mine again"
            )
        rels = {t: [_link(p, writer.root, t) for p in files] for t, files in parts.items()}
        entries = read_opt_out(first.privacy.opt_out)
        fingerprint = opt_out_fingerprint(load_key(first.privacy, first.data_dir), entries)
        state = RepoState().replace(key_check=check, tips=tips, frontier=(), opt_out=fingerprint)
        writer.adopt(rels, state)
        if entries:  # ranges cannot see each other's left-out commits: unname them now
            _unname_unstored(writer)
        writer.compact()
    shutil.rmtree(staging, ignore_errors=True)
    return MiningReport(
        repo=name,
        commits_added=sum(r.commits_added for r in reports),
        file_changes_added=sum(r.file_changes_added for r in reports),
        commits_opted_out=sum(r.commits_opted_out for r in reports),
    )  # the seconds are the caller's: it knows when the repository's ranges started


def _link(source: Path, root: Path, table: str) -> str:
    """Hard-link a staged file into the repository's folder (copy across filesystems)."""
    rel = f"{table}/{uuid.uuid4().hex}.parquet"
    (root / table).mkdir(exist_ok=True)
    try:
        os.link(source, root / rel)
    except OSError:
        shutil.copyfile(source, root / rel)
    return rel


def mine_task(task: MiningTask, progress: ProgressCallback | None = None) -> MiningReport:
    """Mine one task: a whole repository, or one commit range of a split history."""
    if task.commit_range is not None:
        return mine_range(task, progress)
    return mine_repository(task, progress)
