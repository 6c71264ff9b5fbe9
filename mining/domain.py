"""Typed domain objects the miners produce, before pseudonymisation.

Raw names and e-mails exist only here, in memory; :mod:`mining.miner` turns them into
keyed pseudonyms before anything reaches the store.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import StrEnum


class ChangeType(StrEnum):
    """How a file changed, as git's --raw status letter reports it."""

    ADDED = "A"
    MODIFIED = "M"
    DELETED = "D"
    RENAMED = "R"
    COPIED = "C"
    TYPE_CHANGED = "T"


@dataclass(frozen=True, slots=True)
class FileChange:
    """One file touched by a non-merge commit, against its only parent."""

    path: str
    old_path: str | None
    change_type: ChangeType
    added: int
    deleted: int
    is_binary: bool
    is_submodule: bool
    similarity: int | None


@dataclass(frozen=True, slots=True)
class Person:
    """A raw identity: name and e-mail after .mailmap, plus the e-mail as recorded."""

    name: str
    email: str
    raw_email: str


@dataclass(frozen=True, slots=True)
class Commit:
    """One commit with its own file changes (none for merges: they are not its work)."""

    sha: str
    parent_shas: tuple[str, ...]
    author: Person
    author_time: int
    author_tz: int
    committer: Person
    commit_time: int
    committer_tz: int
    message: str
    file_changes: tuple[FileChange, ...]

    @property
    def is_merge(self) -> bool:
        return len(self.parent_shas) > 1

    @property
    def subject(self) -> str:
        return self.message.split("\n", 1)[0].strip()


@dataclass(frozen=True)
class CommitRange:
    """``git log <include> --not <exclude>``: one part of a split history."""

    index: int  # 0-based, in history order
    count: int  # parts of the repository in all
    include: tuple[str, ...]
    exclude: tuple[str, ...]
    tips: tuple[tuple[str, str], ...]  # the refs the whole split mines (ref, sha)

    @property
    def key(self) -> str:
        """The range's identity: the same tips and cuts give the same key on every run."""
        text = " ".join([*self.include, "--not", *self.exclude])
        return hashlib.sha256(text.encode()).hexdigest()[:16]
