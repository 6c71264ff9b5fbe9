"""Line-level diffs of chosen commits, streamed from one git process.

``git log --no-walk --stdin -p -U0`` prints exactly the commits asked for, with hunk
headers only (no context), which is all the code metrics need: the numbers of the lines
each change deleted (in the parent) and added (in the commit).

:func:`diff_between` gives the same for two commits (``git diff``, a change under
review), with the same options and parser; it keeps each hunk's text for the review bot.
The number of context lines can change which lines git calls added or deleted (with
``-U3`` an unchanged blank line between two rewritten blocks may stay context, with
``-U0`` be deleted and added again), so code metrics always read ``-U0`` diffs.
"""

from __future__ import annotations

import contextlib
import re
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from teamlens.errors import RepositoryError

_HUNK_RE = re.compile(rb"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


@dataclass
class FileDiff:
    """Deleted line numbers (in the parent) and added ones (in the commit) of one file."""

    old_path: str | None
    new_path: str | None
    deleted: list[int] = field(default_factory=list)
    added: list[int] = field(default_factory=list)
    hunks: list[str] = field(default_factory=list)  # only kept by diff_between


#: Options shared by the store's `git log -p` and the review's `git diff`.
_DIFF_OPTIONS = (
    "-M",
    "--no-color",
    "--no-ext-diff",
    "--no-textconv",
    "--no-prefix",
    "--ignore-submodules=all",
)


def _path(raw: bytes) -> str | None:
    raw = raw.rstrip(b"\t")
    if raw == b"/dev/null":
        return None
    if raw.startswith(b'"') and raw.endswith(b'"'):
        raw = raw[1:-1].decode("unicode_escape").encode("latin-1")
    return raw.decode("utf-8", "backslashreplace")


def iter_diffs(repo: Path, shas: Sequence[str]) -> Iterator[tuple[str, list[FileDiff]]]:
    """(sha, file diffs) for each of `shas` (non-merge commits), in the order given."""
    if not shas:
        return
    cmd = [
        "git",
        "-c",
        "core.quotepath=off",
        "log",
        "--no-walk=unsorted",
        "--stdin",
        "-p",
        "-U0",
        *_DIFF_OPTIONS,
        "--format=%x00%H",
    ]
    # git's complaints go to a file (a pipe nobody reads could stall git); its first
    # error line names the problem when git fails (a corrupt pack, a missing object).
    with tempfile.TemporaryFile() as errors:
        yield from _diffs(repo, cmd, shas, errors)


def diff_between(repo: Path, old: str, new: str, context: int = 0) -> list[FileDiff]:
    """The file diffs from commit `old` to commit `new` with `context` lines around each
    hunk (0: what the code metrics read), hunk texts kept."""
    return PendingDiff(repo, old, new, context).result()


class PendingDiff:
    """:func:`diff_between` started now and read by :meth:`result`: git computes the diff
    while the caller does other work (and waits, pipe full, if it is larger)."""

    def __init__(self, repo: Path, old: str, new: str, context: int = 0) -> None:
        cmd = ["git", "-c", "core.quotepath=off", "diff", "-p", f"-U{context}", *_DIFF_OPTIONS]
        self._repo = repo
        self._errors = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close()
        try:
            self._proc = _start(repo, [*cmd, old, new, "--"], self._errors)
        except BaseException:
            self._errors.close()
            raise

    def result(self) -> list[FileDiff]:
        try:
            found = list(_read(self._repo, self._proc, (), self._errors, keep_hunks=True))
        finally:
            self.close()
        return found[0][1] if found else []

    def close(self) -> None:
        """Stop git if it still runs (the result was not wanted after all)."""
        if self._proc.poll() is None:
            self._proc.kill()
        self._proc.wait()
        self._errors.close()


def _start(repo: Path, cmd: Sequence[str], errors: IO[bytes]) -> subprocess.Popen[bytes]:
    try:
        return subprocess.Popen(
            cmd, cwd=repo, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errors
        )
    except OSError as exc:  # the folder was removed while the features ran
        gone = "the repository folder is gone" if not repo.is_dir() else "cannot run git"
        raise RepositoryError(f"{repo}: git log -p failed: {gone} ({exc.strerror})") from None


def _diffs(
    repo: Path,
    cmd: Sequence[str],
    shas: Sequence[str],
    errors: IO[bytes],
    keep_hunks: bool = False,
) -> Iterator[tuple[str, list[FileDiff]]]:
    yield from _read(repo, _start(repo, cmd, errors), shas, errors, keep_hunks)


def _read(
    repo: Path,
    proc: subprocess.Popen[bytes],
    shas: Sequence[str],
    errors: IO[bytes],
    keep_hunks: bool = False,
) -> Iterator[tuple[str, list[FileDiff]]]:
    with proc:
        assert proc.stdin is not None and proc.stdout is not None
        # git reads all of stdin before it writes: no deadlock in writing everything first.
        with contextlib.suppress(BrokenPipeError):  # git died at once: its exit code says why
            if shas:
                proc.stdin.write(("\n".join(shas) + "\n").encode("ascii"))
            proc.stdin.close()
        # `git diff` prints no commit header: its one "commit" is named "".
        sha: str | None = None if shas else ""
        hunk: list[str] | None = None
        texts: list[tuple[FileDiff, list[str]]] = []  # each hunk's lines, joined at the end
        files: list[FileDiff] = []
        current: FileDiff | None = None
        old_line = new_line = old_left = new_left = 0
        for raw in proc.stdout:
            raw = raw.rstrip(b"\n")
            if current is not None and (old_left > 0 or new_left > 0):
                # Inside a hunk every line is content, even one reading "--- x" or "+++ y".
                if hunk is not None:
                    hunk.append(raw.decode("utf-8", "replace"))
                if raw.startswith(b"-"):
                    current.deleted.append(old_line)
                    old_line += 1
                    old_left -= 1
                elif raw.startswith(b"+"):
                    current.added.append(new_line)
                    new_line += 1
                    new_left -= 1
                elif raw.startswith(b" ") or raw == b"":
                    old_line += 1
                    new_line += 1
                    old_left -= 1
                    new_left -= 1
                continue
            if raw.startswith(b"\0"):
                if sha is not None:
                    yield sha, files
                sha, files, current = raw[1:].decode("ascii"), [], None
            elif raw.startswith(b"diff --git "):
                current = None
            elif raw.startswith(b"--- "):
                current = FileDiff(_path(raw[4:]), None)
                files.append(current)
            elif raw.startswith(b"+++ ") and current is not None:
                current.new_path = _path(raw[4:])
            elif raw.startswith(b"@@") and current is not None:
                match = _HUNK_RE.match(raw)
                if match:
                    if keep_hunks:
                        hunk = [raw.decode("utf-8", "replace")]
                        texts.append((current, hunk))
                    old_line, new_line = int(match.group(1)), int(match.group(3))
                    old_left = int(match.group(2)) if match.group(2) is not None else 1
                    new_left = int(match.group(4)) if match.group(4) is not None else 1
        for diff, hunk_lines in texts:
            diff.hunks.append("\n".join(hunk_lines))
        if sha is not None:
            yield sha, files
    if proc.returncode not in (0, None):
        errors.seek(0)
        lines = errors.read().decode("utf-8", "replace").splitlines()
        reason = next((x for x in lines if x.startswith(("fatal:", "error:"))), None)
        raise RepositoryError(
            f"{repo}: git log -p failed: {reason or f'exit code {proc.returncode}'}"
        )
