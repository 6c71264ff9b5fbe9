"""The reads SZZ makes of one repository: a fix's deleted lines, `git blame`, and faults.

:class:`SzzSession` opens a repository once for a labelling run: the fix's diff and file
contents come from pygit2 in-process, `git blame -w --porcelain` (through
:func:`teamlens.mining.git.run_git_bytes`, with the commit-graph environment when there is
one) says which commit last changed each line. An object one fix needs that git cannot
read is :class:`UnreadableObject`; :func:`whole_repository_fault` tells such a fix apart
from a repository that failed as a whole. The SZZ variants themselves are
:mod:`teamlens.mining.szz`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pygit2
from pygit2.enums import DeltaStatus, DiffFind, DiffOption, FileMode

from teamlens.errors import RepositoryError
from teamlens.mining.git import run_git_bytes
from teamlens.mining.syntax import code_tokens

#: `git blame` processes B-SZZ runs at a time for a fix that touches several files
#: (blame waits on git, not Python, so threads suffice).
BLAME_JOBS = min(2, os.cpu_count() or 1)
MAX_SOURCE_BYTES = 1_000_000  # larger files are not parsed: blank-line filtering only
_BLAME_HEADER_RE = re.compile(rb"^([0-9a-f]{40}) (\d+) (\d+)")


class UnreadableObject(RepositoryError):
    "An object one fix needs is missing or cannot be read (the fix is skipped, not the run)"


@dataclass(frozen=True)
class Origin:
    """Where `git blame` found a line: the commit, and the line's number and path in it."""

    sha: str
    line: int
    path: str


@dataclass(frozen=True)
class Hunk:
    """One hunk of a commit's diff against its parent, without context lines."""

    old_path: str
    old_start: int  # first deleted line; for a pure addition, the line it follows
    deleted: tuple[str, ...]
    new_start: int
    added: tuple[str, ...]

    def covers(self, new_line: int) -> bool:
        """Whether `new_line` (a line number after the commit) is one this hunk added."""
        return self.new_start <= new_line < self.new_start + len(self.added)


def stored_path(path: str) -> str:
    """A path as the store keeps it: bytes that are not UTF-8 written as ``\\xNN``."""
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


_GITLINK = 0o160000
_DIFF_FLAGS = DiffOption.INDENT_HEURISTIC  # git diff's default since git 2.14


class SzzSession:
    """One labelling run over one repository: what it reads, opened once.

    Holds the pygit2 handle (diffs and file contents in-process), the environment `git
    blame` runs with (the commit-graph of :mod:`mining.commitgraph`, when there is one),
    and which commits were found cosmetic. Used from one thread; it runs up to `jobs`
    `git blame` processes at a time itself (:meth:`blame_files`).
    """

    def __init__(
        self, path: Path, git_env: Mapping[str, str] | None = None, jobs: int = BLAME_JOBS
    ) -> None:
        self.path = path
        self.git_env = git_env
        self.handle = pygit2.Repository(str(path))
        self.packs = _pack_files(self.handle)  # to tell a broken repository from a bad fix
        self.jobs = jobs
        self._pool: ThreadPoolExecutor | None = None
        self._cosmetic: dict[str, bool] = {}
        self._hunks: dict[str, dict[str, list[Hunk]] | None] = {}

    def blame_files(
        self, rev: str, wanted: Mapping[str, Sequence[int]]
    ) -> dict[str, dict[int, str]]:
        """`blame` of several files at `rev`, up to `jobs` `git blame` processes at a time."""
        paths = [p for p, lines in wanted.items() if lines]
        if self.jobs < 2 or len(paths) < 2:
            return {p: blame(self, rev, p, wanted[p]) for p in paths}
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.jobs, thread_name_prefix="blame")
        found = self._pool.map(lambda p: blame(self, rev, p, wanted[p]), paths)
        return dict(zip(paths, found, strict=True))

    def blame(
        self, rev: str, path: str, lines: Sequence[int], ignore: Sequence[str] = ()
    ) -> dict[int, str]:
        """:func:`blame` in this session."""
        return blame(self, rev, path, lines, ignore)

    def origins(
        self, rev: str, path: str, lines: Sequence[int], ignore: Sequence[str] = ()
    ) -> dict[int, Origin]:
        """:func:`blame_origins` in this session."""
        return blame_origins(self, rev, path, lines, ignore)

    def hunks(self, sha: str, path: str) -> list[Hunk] | None:
        """The hunks commit `sha` made to `path` (its path after the commit), cached per commit.

        None for a root or merge commit, or a path the commit did not change.
        """
        if sha not in self._hunks:
            self._hunks[sha] = _commit_hunks(self, sha)
        by_path = self._hunks[sha]
        return None if by_path is None else by_path.get(path)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    def git(self, *args: str) -> bytes:
        return run_git_bytes(self.path, *args, env=self.git_env)

    def read(self, rev: str, path: str) -> bytes | None:
        """The content of `path` at commit `rev` (a sha, or a sha with ``^``), if a small file."""
        try:
            commit = self.handle.revparse_single(rev).peel(pygit2.Commit)
            entry = commit.tree[path]
        except (KeyError, ValueError, UnicodeEncodeError, pygit2.GitError):
            return None
        if entry.filemode not in (FileMode.BLOB, FileMode.BLOB_EXECUTABLE):
            return None
        blob = self.object(entry.id)
        if not isinstance(blob, pygit2.Blob):
            return None
        return None if blob.size > MAX_SOURCE_BYTES else blob.data

    def object(self, oid: pygit2.Oid | str) -> pygit2.Object:
        """The object `oid`; a missing one is :class:`UnreadableObject`, not None.

        A corrupt one raises pygit2's GitError, as every other read here does.
        """
        found = self.handle.get(oid)
        if found is None:
            raise UnreadableObject(f"{self.path}: object {oid} is missing")
        return found

    def is_cosmetic(self, sha: str) -> bool:
        """Whether commit `sha` changed only comments and layout (computed once per commit)."""
        if sha not in self._cosmetic:
            self._cosmetic[sha] = self._check_cosmetic(sha)
        return self._cosmetic[sha]

    def _check_cosmetic(self, sha: str) -> bool:
        commit = self.object(sha)
        if not isinstance(commit, pygit2.Commit) or len(commit.parents) != 1:
            return False  # root or merge commits are never cosmetic
        diff = self.handle.diff(commit.parents[0], commit, context_lines=0, flags=_DIFF_FLAGS)
        diff.find_similar(flags=DiffFind.FIND_RENAMES)
        changed = 0
        for delta in diff.deltas:
            changed += 1
            if delta.status not in (DeltaStatus.MODIFIED, DeltaStatus.RENAMED):
                return False  # adding or deleting a file is never cosmetic
            before = self._blob(delta.old_file)
            after = self._blob(delta.new_file)
            if before is None or after is None:
                return False
            old_tokens = code_tokens(before, delta.old_file.path)
            new_tokens = code_tokens(after, delta.new_file.path)
            if old_tokens is None or new_tokens is None or old_tokens != new_tokens:
                return False
        return changed > 0

    def _blob(self, file: pygit2.DiffFile) -> bytes | None:
        if file.mode not in (FileMode.BLOB, FileMode.BLOB_EXECUTABLE):
            return None
        blob = self.object(file.id)
        if not isinstance(blob, pygit2.Blob) or blob.size > MAX_SOURCE_BYTES:
            return None
        return blob.data


def _pack_files(handle: pygit2.Repository) -> frozenset[tuple[str, int, int]]:
    """(name, size, mtime) of each pack file: what a repack or a corruption changes."""
    folder = Path(handle.path) / "objects" / "pack"
    try:
        return frozenset(
            (entry.name, entry.stat().st_size, entry.stat().st_mtime_ns)
            for entry in os.scandir(folder)
            if entry.name.endswith((".pack", ".idx"))
        )
    except OSError:
        return frozenset()


FOLDER_GONE = "the repository folder is gone"


def whole_repository_fault(session: SzzSession) -> str | None:
    """Why a failed read is the repository's fault rather than one fix's, or None.

    The repository has failed as a whole when its folder is gone, when its pack files
    changed since labelling started (git was reading objects that changed under it), or
    when its tip commit and root tree cannot be read either (every object unreadable).
    """
    if not session.path.is_dir():
        return FOLDER_GONE
    try:
        probe = pygit2.Repository(str(session.path))
        if _pack_files(probe) != session.packs:
            return "its pack files changed while labelling ran"
        if not probe.head_is_unborn:
            len(probe.head.peel(pygit2.Commit).tree)
    except (pygit2.GitError, KeyError, ValueError):
        return "its tip commit cannot be read"
    return None


def deleted_lines(session: SzzSession, fix_sha: str) -> dict[str, list[tuple[int, str]]]:
    """Old path -> (line number in the parent, text) of every line the fix deletes or changes.

    The diff is git's (libgit2's xdiff, indent heuristic, renames at 50 % similarity)
    with three lines of context, as PyDriller's: with none, a deleted block among
    repeated lines may be aligned differently. Submodule (gitlink) changes are not code.
    Paths are the repository's bytes, decoded with ``surrogateescape``.
    """
    commit = session.object(fix_sha)
    if not isinstance(commit, pygit2.Commit) or not commit.parents:
        return {}
    diff = session.handle.diff(commit.parents[0], commit, context_lines=3, flags=_DIFF_FLAGS)
    diff.find_similar(flags=DiffFind.FIND_RENAMES)
    found: dict[str, list[tuple[int, str]]] = {}
    for patch in diff:
        if patch is None:
            continue
        delta = patch.delta
        if delta.old_file.mode == _GITLINK or delta.new_file.mode == _GITLINK or delta.is_binary:
            continue
        lines = [
            (line.old_lineno, line.raw_content.removesuffix(b"\n").decode("utf-8", "replace"))
            for hunk in patch.hunks
            for line in hunk.lines
            if line.origin == "-"
        ]
        if lines:
            found.setdefault(os.fsdecode(delta.old_file.raw_path), []).extend(lines)
    return found


def _ranges(lines: Iterable[int]) -> list[str]:
    ranges: list[str] = []
    numbers = sorted(set(lines))
    start = prev = numbers[0]
    for n in numbers[1:]:
        if n != prev + 1:
            ranges.append(f"-L{start},{prev}")
            start = n
        prev = n
    ranges.append(f"-L{start},{prev}")
    return ranges


def blame(
    session: SzzSession, rev: str, path: str, lines: Sequence[int], ignore: Sequence[str] = ()
) -> dict[int, str]:
    """Line number -> the commit that last changed it, as `git blame -w` sees at `rev`."""
    return {n: o.sha for n, o in blame_origins(session, rev, path, lines, ignore).items()}


def blame_origins(
    session: SzzSession, rev: str, path: str, lines: Sequence[int], ignore: Sequence[str] = ()
) -> dict[int, Origin]:
    """Line number -> :class:`Origin` (commit, line and path there), as `git blame -w` sees."""
    if not lines:
        return {}
    args = ["blame", "-w", "--porcelain", *_ranges(lines)]
    for sha in ignore:
        args += ["--ignore-rev", sha]
    try:
        out = session.git(*args, rev, "--", path)
    except RepositoryError as exc:
        if "no such path" in str(exc) and not _is_file_at(session, rev, path):
            return {}  # not a file at `rev` (e.g. a submodule): nothing to blame, as PyDriller
        # git says "no such path" too when the file's blob at `rev` cannot be read.
        raise UnreadableObject(str(exc)) from None
    found: dict[int, Origin] = {}
    # Porcelain: a header per line; "filename" follows it when the path differs from
    # the one shown last (git's own rule), so the last one seen is the line's path.
    shown = path
    header: tuple[str, int, int] | None = None
    for raw in out.split(b"\n"):
        if raw.startswith(b"\t"):
            if header is not None:
                sha, line, final = header
                found[final] = Origin(sha, line, shown)
            header = None
            continue
        match = _BLAME_HEADER_RE.match(raw)
        if match is not None:
            header = (match.group(1).decode("ascii"), int(match.group(2)), int(match.group(3)))
        elif raw.startswith(b"filename "):
            shown = _unquote(raw[len(b"filename ") :])
    return found


def _unquote(raw: bytes) -> str:
    """A path as git prints it (C-quoted when it holds unusual bytes), decoded as stored."""
    if raw.startswith(b'"') and raw.endswith(b'"'):
        raw = raw[1:-1].decode("unicode_escape").encode("latin-1")
    return os.fsdecode(raw)


def _commit_hunks(session: SzzSession, sha: str) -> dict[str, list[Hunk]] | None:
    """New path -> the hunks of commit `sha` against its only parent (None: root or merge)."""
    commit = session.object(sha)
    if not isinstance(commit, pygit2.Commit) or len(commit.parents) != 1:
        return None
    diff = session.handle.diff(commit.parents[0], commit, context_lines=0, flags=_DIFF_FLAGS)
    diff.find_similar(flags=DiffFind.FIND_RENAMES)
    found: dict[str, list[Hunk]] = {}
    for patch in diff:
        if patch is None or patch.delta.is_binary:
            continue
        old_path = os.fsdecode(patch.delta.old_file.raw_path)
        hunks = found.setdefault(os.fsdecode(patch.delta.new_file.raw_path), [])
        for hunk in patch.hunks:
            text: dict[str, list[str]] = {"-": [], "+": []}
            for line in hunk.lines:
                if line.origin in text:
                    content = line.raw_content.removesuffix(b"\n")
                    text[line.origin].append(content.decode("utf-8", "replace"))
            hunks.append(
                Hunk(
                    old_path,
                    hunk.old_start,
                    tuple(text["-"]),
                    hunk.new_start,
                    tuple(text["+"]),
                )
            )
    return found


def modified_paths(session: SzzSession, fix_sha: str) -> list[str]:
    """The paths, in the fix's parent, of the files the fix modifies, renames or deletes."""
    commit = session.object(fix_sha)
    if not isinstance(commit, pygit2.Commit) or not commit.parents:
        return []
    diff = session.handle.diff(commit.parents[0], commit, context_lines=0, flags=_DIFF_FLAGS)
    diff.find_similar(flags=DiffFind.FIND_RENAMES)
    return sorted(
        {
            os.fsdecode(delta.old_file.raw_path)
            for delta in diff.deltas
            if delta.status in (DeltaStatus.MODIFIED, DeltaStatus.RENAMED, DeltaStatus.DELETED)
            and delta.old_file.mode != _GITLINK
        }
    )


def last_changes(
    session: SzzSession, rev: str, paths: Sequence[str], limit: int
) -> list[tuple[str, list[str]]]:
    """(commit, which of `paths` it changed) of the last `limit` non-merge commits up to
    `rev` that changed any of `paths`, newest first."""
    if not paths:
        return []
    out = session.git(
        "log",
        "--no-merges",
        "--no-renames",
        "--format=%x00%H",
        "--name-only",
        f"-n{limit}",
        rev,
        "--",
        *paths,
    )
    found: list[tuple[str, list[str]]] = []
    for record in out.split(b"\0")[1:]:
        sha, _, names = record.partition(b"\n")
        found.append(
            (sha.decode("ascii").strip(), [os.fsdecode(n) for n in names.split(b"\n") if n])
        )
    return found


def insertion_points(session: SzzSession, fix_sha: str) -> dict[str, list[int]]:
    """Old path -> the parent's line after which the fix only adds lines, per such hunk.

    A hunk that deletes nothing has no line to blame; the lines around where it adds
    code are the nearest the parent has to one (0: added at the top of the file).
    """
    found: dict[str, list[int]] = {}
    for hunks in (_commit_hunks(session, fix_sha) or {}).values():
        for hunk in hunks:
            if not hunk.deleted and hunk.added:
                found.setdefault(hunk.old_path, []).append(hunk.old_start)
    return found


def _is_file_at(session: SzzSession, rev: str, path: str) -> bool:
    """Whether the tree of `rev` lists `path` as a file (reads trees only, not the blob)."""
    listed = session.git("ls-tree", "-z", rev, "--", path)
    entry = listed.split(b"\0", 1)[0]
    return entry.split(b" ", 1)[0] in (b"100644", b"100755", b"120000")
