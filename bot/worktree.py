"""Uncommitted work as a change: what ``teamlens review --worktree`` reviews.

The working tree (staged and unstaged changes, and untracked files that are not
ignored) is written as a snapshot commit whose parent is HEAD, the way ``git stash``
records work in progress: ``git add -A`` into a temporary copy of the index,
``git write-tree``, ``git commit-tree``. The snapshot goes into the repository's object
database only; no branch, ref, index entry or file of the working tree changes, so a
pre-commit hook or an editor can run it at any moment. Git's garbage collection removes
the snapshot later, as it does any unreachable object.

The snapshot is then reviewed like any other head (bot.review): against HEAD, or the
merge base with ``--base``. Its author is teamlens, never the person at the keyboard,
and its commit time is now (the change is being made now).
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from teamlens.bot.domain import NothingToReview, ReviewResult
from teamlens.config import Config
from teamlens.errors import RepositoryError
from teamlens.mining.git import run_git
from teamlens.model.registry import SavedModel

#: The snapshot commit's message: it matches no fix pattern, so `fix` comes from the
#: commits since the merge base alone.
SNAPSHOT_MESSAGE = "teamlens: snapshot of the working tree (on no branch)"
_IDENTITY = {
    "GIT_AUTHOR_NAME": "teamlens",
    "GIT_AUTHOR_EMAIL": "teamlens@localhost",
    "GIT_COMMITTER_NAME": "teamlens",
    "GIT_COMMITTER_EMAIL": "teamlens@localhost",
}


@dataclass(frozen=True)
class Snapshot:
    commit: str  # the snapshot commit's id
    parent: str  # HEAD's commit id when it was taken


def snapshot_worktree(path: Path) -> Snapshot:
    """A commit holding `path`'s working tree as ``git add -A`` would stage it, with HEAD
    as its parent (see the module).

    Raises
    ------
    RepositoryError
        `path` is not a git working tree, has no commit yet, or git failed.
    """
    top = run_git(path, "rev-parse", "--show-toplevel", check=False).strip()
    if not top:
        raise RepositoryError(f"{path}: --worktree needs a git working tree, and this is none")
    head = run_git(path, "rev-parse", "--verify", "-q", "HEAD^{commit}", check=False).strip()
    if not head:
        raise RepositoryError(f"{path}: no commit yet, so nothing to compare the working tree with")
    git_dir = Path(run_git(path, "rev-parse", "--absolute-git-dir").strip())
    with tempfile.TemporaryDirectory(prefix="teamlens-worktree-") as tmp:
        index = Path(tmp) / "index"
        if (git_dir / "index").is_file():
            # Starting from the real index lets git rehash only the files that changed.
            shutil.copyfile(git_dir / "index", index)
        env = {**os.environ, **_IDENTITY, "GIT_INDEX_FILE": str(index)}
        work = Path(top)
        run_git(work, "add", "-A", "--", ":/", env=env)
        tree = run_git(work, "write-tree", env=env).strip()
        commit = run_git(
            work, "commit-tree", "--no-gpg-sign", tree, "-p", head, "-m", SNAPSHOT_MESSAGE,
            env=env,
        ).strip()  # fmt: skip
    return Snapshot(commit, head)


def review_worktree(
    config: Config,
    repo_name: str | None,
    base: str = "HEAD",
    model: SavedModel | None = None,
    timings: dict[str, float] | None = None,
) -> ReviewResult | NothingToReview:
    """Review the uncommitted work of a configured repository against `base` (its merge
    base with HEAD). Nothing changed: :class:`NothingToReview`, its reason
    "no uncommitted changes" when `base` is HEAD's commit."""
    from teamlens.bot.review import review_local_or_nothing

    repo = config.repository(repo_name) if repo_name else config.repositories[0]
    if repo.path is None:
        raise RepositoryError(
            f"repository {repo.name!r} has no local path (url: only): --worktree reviews "
            "the uncommitted work of a local clone"
        )
    snapshot = snapshot_worktree(repo.path)
    found = review_local_or_nothing(config, repo_name, base, snapshot.commit, model, timings)
    if isinstance(found, NothingToReview):
        detail = (
            "no uncommitted changes"
            if found.base == snapshot.parent
            else "the working tree matches the merge base"
        )
        return dataclasses.replace(found, detail=detail)
    return found
