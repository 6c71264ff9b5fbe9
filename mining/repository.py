"""A git repository as the miner sees it: refs, ancestry, .mailmap (pygit2) and the CLI.

pygit2 answers the small questions in-process (which commit a branch points at, is one
commit an ancestor of another, what .mailmap makes of an e-mail); the git CLI does the
bulk work (`git log` streams, `git rev-list` counts), where it is fastest.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pygit2
from pygit2.enums import RepositoryOpenFlag

from teamlens.config import RepositoryConfig
from teamlens.errors import RepositoryError
from teamlens.mining.git import run_git

#: Revisions for :meth:`GitRepository.identities`: every ref of the repository.
EVERY_REF = ("--all",)


@dataclass(frozen=True)
class GitRepository:
    """An opened repository. Build it with :meth:`open`; the constructor does no work."""

    name: str
    path: Path
    handle: pygit2.Repository

    @classmethod
    def open(cls, config: RepositoryConfig, clones_dir: Path, sync: bool = True) -> GitRepository:
        """Open a configured repository, cloning or updating a `url:` one first.

        With ``sync=False`` a `url:` repository's clone is opened as it is (the range
        tasks of a split mining: the client synced it once, and concurrent fetches into
        one clone would fight over its locks).

        Raises
        ------
        RepositoryError
            The path is missing or is not the top of a git repository.
        """
        if config.url is not None:
            path = (
                _sync_clone(config.name, config.url, clones_dir)
                if sync
                else clones_dir / config.name
            )
        else:
            assert config.path is not None
            path = config.path
        if not path.exists():
            raise RepositoryError(f"repository {config.name!r}: {path} does not exist")
        if not path.is_dir():
            raise RepositoryError(f"repository {config.name!r}: {path} is not a folder")
        try:
            handle = pygit2.Repository(str(path), RepositoryOpenFlag.NO_SEARCH)
        except (pygit2.GitError, KeyError):
            raise RepositoryError(
                f"repository {config.name!r}: {path} is not a git repository (no .git here)"
            ) from None
        return cls(config.name, path, handle)

    def tips(self, branch: str | None, all_branches: bool) -> dict[str, str]:
        """The refs to mine and the commit each points at."""
        try:
            if all_branches:
                tips = {}
                for ref in self.handle.references:
                    if ref.startswith(("refs/heads/", "refs/remotes/")) and not ref.endswith(
                        "/HEAD"
                    ):
                        target = self.handle.references[ref].peel(pygit2.Commit).id
                        tips[ref] = str(target)
                return tips
            if branch is None:
                if self.handle.head_is_unborn:
                    return {}
                if self.handle.head_is_detached:
                    return {"HEAD": str(self.handle.head.target)}
                return {self.handle.head.name: str(self.handle.head.target)}
            for candidate in (f"refs/heads/{branch}", f"refs/remotes/origin/{branch}", branch):
                found = self.handle.references.get(candidate)
                if found is not None:
                    return {candidate: str(found.peel(pygit2.Commit).id)}
        except pygit2.GitError as exc:
            raise RepositoryError(f"repository {self.name!r}: cannot read refs ({exc})") from None
        raise RepositoryError(f"repository {self.name!r}: branch {branch!r} not found")

    def has_commit(self, sha: str) -> bool:
        try:
            obj = self.handle.get(sha)
        except (ValueError, pygit2.GitError):
            return False
        return isinstance(obj, pygit2.Commit)

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        if ancestor == descendant:
            return True
        try:
            return bool(self.handle.descendant_of(descendant, ancestor))
        except (pygit2.GitError, ValueError, KeyError):
            return False

    def count(self, revisions: Sequence[str], exclude: Sequence[str]) -> int:
        if not revisions:
            return 0
        args = ["rev-list", "--count", *revisions, *(["--not", *exclude] if exclude else []), "--"]
        return int(run_git(self.path, *args, what="git rev-list").strip() or 0)

    def first_parents(self, tip: str) -> list[str]:
        """The first-parent line from the root to ``tip``, oldest first."""
        out = run_git(
            self.path, "rev-list", "--first-parent", "--reverse", tip, "--", what="git rev-list"
        )
        return out.split()

    def main_line_tip(self, revisions: Sequence[str]) -> str:
        """Of several tips, the one HEAD points at, else the one with the most commits."""
        if not self.handle.head_is_unborn and str(self.handle.head.target) in revisions:
            return str(self.handle.head.target)
        return max(revisions, key=lambda r: (self.count([r], []), r))

    def reachable(self, revisions: Sequence[str]) -> set[str]:
        if not revisions:
            return set()
        return set(run_git(self.path, "rev-list", *revisions, "--", what="git rev-list").split())

    def identities(self, revisions: Sequence[str]) -> set[Alias]:
        """Every identity in the history: as recorded and after .mailmap (authors, committers).

        Used to scrub names from stored text and to match opt-outs given by any address a
        person has used. Read in one `git log` pass; held in memory only.
        """
        return history_identities(self.path, revisions)


def history_identities(path: Path, revisions: Sequence[str]) -> set[Alias]:
    """The identities of the repository at `path` in `revisions` (``["--all"]``: every ref)."""
    if not revisions:
        return set()
    out = run_git(
        path,
        "log",
        "--format=%an%x00%ae%x00%aN%x00%aE%x00%cn%x00%ce%x00%cN%x00%cE%x00",
        *revisions,
        "--",
        what="git log (identities)",
    )
    fields = out.replace("\n", "").split("\0")
    return {Alias(*fields[i : i + 4]) for i in range(0, len(fields) - 3, 4)}


@dataclass(frozen=True)
class Alias:
    """One identity as recorded in a commit and as .mailmap maps it."""

    raw_name: str
    raw_email: str
    name: str
    email: str


def people_of(paths: Iterable[Path]) -> set[tuple[str, str]]:
    """Every (name, e-mail) in the histories at `paths` (every ref, as recorded and after
    .mailmap); a path that is not there yet (a `url:` repository before its first clone)
    adds none."""
    pairs: set[tuple[str, str]] = set()
    for path in paths:
        if path.is_dir():
            pairs |= name_email_pairs(history_identities(path, EVERY_REF))
    return pairs


def name_email_pairs(aliases: Iterable[Alias]) -> set[tuple[str, str]]:
    """Every (name, e-mail) the aliases hold, as recorded and after .mailmap: what a
    :class:`teamlens.privacy.Scrubber` needs."""
    pairs: set[tuple[str, str]] = set()
    for a in aliases:
        pairs |= {(a.raw_name, a.raw_email), (a.name, a.email)}
    return pairs


def _sync_clone(name: str, url: str, clones_dir: Path) -> Path:
    """Clone `url` as a mirror on first use, fetch (pruning rewritten refs) afterwards."""
    target = clones_dir / name
    if target.exists():
        run_git(target, "remote", "update", "--prune", what=f"updating the clone of {url}")
        return target
    clones_dir.mkdir(parents=True, exist_ok=True)
    tmp = clones_dir / f".{name}.{os.getpid()}.partial"
    shutil.rmtree(tmp, ignore_errors=True)
    run_git(clones_dir, "clone", "--mirror", "--quiet", url, str(tmp), what=f"cloning {url}")
    os.replace(tmp, target)  # a killed clone leaves only the .partial folder
    return target
