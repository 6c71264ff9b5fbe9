"""Stream commits out of one `git log` process.

One subprocess for the whole range, not one per commit: git computes rename detection
and line counts in C (the same -M semantics PyDriller gets from `git diff`), and this
module only parses its NUL-separated output. Commits arrive parents first
(``--topo-order --reverse``), so every prefix of the stream is closed under ancestry:
that is what makes resuming after a kill exact (see :mod:`mining.miner`).

Output layout per commit, with ``-z``::

    \\x1e<sha>\\0<parents>\\0<author name>\\0 ... <committer date>\\0<message>\\0
    \\n:<mode> <mode> <sha> <sha> <status>\\0<path>\\0[<new path>\\0]     (--raw, per file)
    <added>\\t<deleted>\\t<path>\\0  or  <added>\\t<deleted>\\t\\0<old>\\0<new>\\0  (--numstat)

git prints no numstat line for a file whose two versions have the same content (a
replace ref that swaps a blob for an identical one, some mode-only changes): such a
file changed by 0 lines. Numstat lines are matched to --raw entries by path, not by
position. Output teamlens cannot read is a :class:`RepositoryError` naming the commit.
"""

from __future__ import annotations

import contextlib
import re
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO

from teamlens.errors import RepositoryError
from teamlens.mining.domain import ChangeType, Commit, FileChange, Person

_HEADER = b"\x1e"
_FIELDS = ("%H", "%P", "%aN", "%aE", "%ae", "%ad", "%cN", "%cE", "%ce", "%cd", "%B")
# The header fields are NUL-separated tokens, like the rest of the -z stream: NUL is the
# one byte git cannot print inside any of them. Names and e-mails (from the commit or a
# .mailmap) may hold any other byte, \x1f and \x1e included; a message is cut at a NUL.
FORMAT = "%x1e" + "%x00".join(_FIELDS)
_RAW_DATE = re.compile(rb"([0-9]+) ([+-])([0-9]{2})([0-9]{2,})")
SUBMODULE_MODE = "160000"
CHUNK = 1 << 20


def git_log_command(
    revisions: Sequence[str],
    exclude: Sequence[str],
    detect_copies: bool,
    paths: Sequence[str] = (),
) -> list[str]:
    """The miner's `git log`; with `paths`, only the commits that touch them (every such
    commit, no history simplification), each with all its files (``--full-diff``)."""
    limited = ["--full-history", "--full-diff"] if paths else []
    return [
        "git",
        "-c",
        "core.quotepath=off",
        "-c",
        "log.showSignature=false",
        "-c",
        "diff.ignoreSubmodules=none",
        # Map the pack in small windows: on a large history the default (up to 8 GiB of
        # mapped pack) made git's resident memory the largest part of a mining run.
        "-c",
        "core.packedGitWindowSize=16m",
        "-c",
        "core.packedGitLimit=64m",
        "log",
        "--no-color",
        "--no-ext-diff",
        "--no-textconv",
        "--encoding=UTF-8",
        "--topo-order",
        "--reverse",
        "--date=raw",
        "-C" if detect_copies else "-M",
        "--raw",
        "--numstat",
        "-z",
        "--no-abbrev",
        f"--format={FORMAT}",
        *limited,
        *revisions,
        *(["--not", *exclude] if exclude else []),
        "--",
        *paths,
    ]


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace")


def decode_path(raw: bytes) -> str:
    """Paths are bytes in git. Non-UTF-8 bytes are kept visible as \\xNN escapes."""
    return raw.decode("utf-8", errors="backslashreplace")


def _date(raw: bytes, sha: bytes) -> tuple[int, int]:
    """``--date=raw`` (seconds, then the zone as ``%+05d``): seconds, minutes east of UTC.

    git prints nothing for a date it cannot parse (a hand-made, corrupt commit object):
    that is a RepositoryError naming the commit, not a ValueError.
    """
    match = _RAW_DATE.fullmatch(raw)
    if match is None:
        raise RepositoryError(f"commit {_text(sha)}: git log gave an unreadable date {raw!r}")
    seconds, sign, hours, minutes = match.groups()
    offset = int(hours) * 60 + int(minutes)
    return int(seconds), -offset if sign == b"-" else offset


class _Tokens:
    """NUL-separated tokens from a byte stream, read in large chunks."""

    def __init__(self, stream: object) -> None:
        self._stream = stream
        self._buffer: list[bytes] = []
        self._pos = 0
        self._rest = b""
        self._eof = False

    def _fill(self) -> bool:
        while not self._eof:
            chunk: bytes = self._stream.read(CHUNK)  # type: ignore[attr-defined]
            if not chunk:
                self._eof = True
                if self._rest:
                    self._buffer, self._pos, self._rest = [self._rest], 0, b""
                    return True
                return False
            pieces = (self._rest + chunk).split(b"\0")
            self._rest = pieces.pop()
            if pieces:
                self._buffer, self._pos = pieces, 0
                return True
        return False

    def peek(self) -> bytes | None:
        if self._pos >= len(self._buffer) and not self._fill():
            return None
        return self._buffer[self._pos]

    def next(self) -> bytes:
        token = self.peek()
        if token is None:
            raise RepositoryError("git log output ended in the middle of a commit")
        self._pos += 1
        return token


class _Malformed(Exception):
    "One commit's file entries are not what git prints"


_RawEntry = tuple[str, str, ChangeType, int | None, bytes, bytes | None]
_STATUS = re.compile(r"([AMDTRC])([0-9]{1,3})?")
_MODE = re.compile(r"[0-7]{6}")
_COUNT = re.compile(rb"[0-9]+")


def _raw_entry(head: bytes, tokens: _Tokens) -> _RawEntry:
    """``:<old mode> <new mode> <old sha> <new sha> <status>`` and its one or two paths."""
    try:
        meta = head.lstrip(b"\n")[1:].decode("ascii").split(" ")
    except UnicodeDecodeError:
        raise _Malformed(repr(head[:60])) from None
    if len(meta) != 5 or not all(_MODE.fullmatch(mode) for mode in meta[:2]):
        raise _Malformed(repr(head[:60]))
    status = _STATUS.fullmatch(meta[4])
    if status is None:
        raise _Malformed(f"status {meta[4]!r}")
    kind = ChangeType(status.group(1))
    score = status.group(2)
    first = tokens.next()
    second = tokens.next() if kind in (ChangeType.RENAMED, ChangeType.COPIED) else None
    return meta[0], meta[1], kind, int(score) if score is not None else None, first, second


def _numstat(token: bytes, tokens: _Tokens) -> tuple[tuple[bytes, ...], int, int, bool]:
    """``<added>\\t<deleted>\\t<path>`` (or an empty path, then old and new as tokens):
    (the paths, added, deleted, is_binary)."""
    parts = token.lstrip(b"\n").split(b"\t", 2)
    if len(parts) != 3:
        raise _Malformed(repr(token[:60]))
    added_s, deleted_s, path = parts
    paths = (path,) if path else (tokens.next(), tokens.next())  # a rename or copy
    if added_s == deleted_s == b"-":
        return paths, 0, 0, True
    if not (_COUNT.fullmatch(added_s) and _COUNT.fullmatch(deleted_s)):
        raise _Malformed(repr(token[:60]))
    return paths, int(added_s), int(deleted_s), False


def _file_changes(tokens: _Tokens) -> list[FileChange]:
    """One commit's --raw entries, then its --numstat lines (fewer, or none, may come)."""
    raw_entries: list[_RawEntry] = []
    while (head := tokens.peek()) is not None and head.lstrip(b"\n").startswith(b":"):
        tokens.next()
        raw_entries.append(_raw_entry(head, tokens))
    counts: dict[tuple[bytes, ...], tuple[int, int, bool]] = {}
    while (token := tokens.peek()) is not None and not token.startswith(_HEADER):
        tokens.next()
        paths, added, deleted, binary = _numstat(token, tokens)
        if paths in counts:
            raise _Malformed(f"two line counts for {decode_path(paths[-1])!r}")
        counts[paths] = (added, deleted, binary)
    changes: list[FileChange] = []
    for old_mode, new_mode, kind, score, first, second in raw_entries:
        paths = (first,) if second is None else (first, second)
        # No numstat line: git found both versions' content identical (0 lines changed).
        added, deleted, binary = counts.pop(paths, (0, 0, False))
        changes.append(
            FileChange(
                path=decode_path(second if second is not None else first),
                old_path=decode_path(first) if second is not None else None,
                change_type=kind,
                added=added,
                deleted=deleted,
                is_binary=binary,
                is_submodule=SUBMODULE_MODE in (old_mode, new_mode),
                similarity=score if kind in (ChangeType.RENAMED, ChangeType.COPIED) else None,
            )
        )
    if counts:
        stray = decode_path(next(iter(counts))[-1])
        raise _Malformed(f"a line count for {stray!r}, which the commit does not change")
    return changes


def parse_log(stream: object) -> Iterator[Commit]:
    """Parse the output of :func:`git_log_command` into commits."""
    tokens = _Tokens(stream)
    while (token := tokens.peek()) is not None:
        tokens.next()
        if not token.startswith(_HEADER):
            raise RepositoryError(f"unexpected git log output: {token[:60]!r}")
        fields = [token[1:]] + [tokens.next() for _ in _FIELDS[1:]]
        sha, parents, a_name, a_email, a_raw, a_date, c_name, c_email, c_raw, c_date, body = fields
        try:
            changes = _file_changes(tokens)
        except _Malformed as exc:
            raise RepositoryError(
                f"commit {_text(sha)}: git log printed a file entry teamlens cannot read ({exc})"
            ) from None
        a_time, a_tz = _date(a_date, sha)
        c_time, c_tz = _date(c_date, sha)
        yield Commit(
            sha=sha.decode("ascii"),
            parent_shas=tuple(parents.decode("ascii").split()),
            author=Person(_text(a_name), _text(a_email), _text(a_raw)),
            author_time=a_time,
            author_tz=a_tz,
            committer=Person(_text(c_name), _text(c_email), _text(c_raw)),
            commit_time=c_time,
            committer_tz=c_tz,
            message=_text(body),
            file_changes=tuple(changes),
        )


@contextlib.contextmanager
def git_log(
    repo_dir: Path,
    revisions: Sequence[str],
    exclude: Sequence[str] = (),
    detect_copies: bool = False,
    paths: Sequence[str] = (),
) -> Iterator[Iterator[Commit]]:
    """Start `git log` at once; yield an iterator over its commits, parents first
    (with `paths`, only those that touch them: :func:`git_log_command`).

    Starting first lets the caller do other work (counting, reading identities) while
    git walks the history, which takes a while before the first commit comes out.
    Leaving the block stops git if it is still running.

    Raises
    ------
    RepositoryError
        When git fails (a corrupt object, a missing revision), with git's own message.
    """
    cmd = git_log_command(revisions, exclude, detect_copies, paths)
    # stderr goes to a file, not a pipe: git may warn once per commit (rename limits),
    # and a full stderr pipe nobody reads would stall git and this reader with it.
    with tempfile.TemporaryFile() as errors, _started(cmd, repo_dir, errors) as proc:
        assert proc.stdout is not None

        def commits() -> Iterator[Commit]:
            assert proc.stdout is not None
            try:
                yield from parse_log(proc.stdout)
            except RepositoryError:
                _raise_git_error(repo_dir, proc, errors)  # git's reason beats a parse error
                raise
            _raise_git_error(repo_dir, proc, errors)

        try:
            yield commits()
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.stdout.close()


def _started(cmd: list[str], repo_dir: Path, errors: IO[bytes]) -> subprocess.Popen[bytes]:
    try:
        return subprocess.Popen(
            cmd, cwd=repo_dir, stdout=subprocess.PIPE, stderr=errors, stdin=subprocess.DEVNULL
        )
    except OSError as exc:  # the folder was removed after the repository was opened
        gone = "the repository folder is gone" if not repo_dir.is_dir() else "cannot run git"
        raise RepositoryError(f"{repo_dir}: git log failed: {gone} ({exc.strerror})") from None


def _raise_git_error(repo_dir: Path, proc: subprocess.Popen[bytes], errors: IO[bytes]) -> None:
    code = proc.wait()
    if code == 0:
        return
    errors.seek(0)
    text = _text(errors.read()).strip().splitlines()
    lines = [line for line in text if line.startswith(("fatal:", "error:"))] or text
    detail = lines[0] if lines else f"exit code {code}"
    raise RepositoryError(f"{repo_dir}: git log failed: {detail}")


def diff_file_changes(
    repo_dir: Path, old: str, new: str, detect_copies: bool = False
) -> list[FileChange]:
    """The file changes from commit `old` to commit `new`, exactly as the miner records a
    commit's against its parent: the same rename (or copy) detection, numstat counts and
    binary files, parsed by the same code (a change under review, teamlens.bot)."""
    options = git_log_command((), (), detect_copies)
    # The miner's git options (-c ...) and diff options, without the log-only ones.
    configs = options[1 : options.index("log")]
    cmd = [
        "git", *configs, "diff", "--no-color", "--no-ext-diff", "--no-textconv",
        "-C" if detect_copies else "-M", "--raw", "--numstat", "-z", "--no-abbrev",
        old, new, "--",
    ]  # fmt: skip
    with tempfile.TemporaryFile() as errors, _started(cmd, repo_dir, errors) as proc:
        assert proc.stdout is not None
        tokens = _Tokens(proc.stdout)
        try:
            changes = _file_changes(tokens)
        except _Malformed as exc:
            raise RepositoryError(
                f"{old}..{new}: git diff printed a file entry teamlens cannot read ({exc})"
            ) from None
        finally:
            proc.stdout.read()
        _raise_git_error(repo_dir, proc, errors)
    return changes
