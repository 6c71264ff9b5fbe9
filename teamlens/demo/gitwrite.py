"""Write the demo history into a real git repository with one ``git fast-import``.

One process for thousands of commits (a ``git commit`` per change would take minutes);
the result is an ordinary repository: the miner, SZZ's ``git blame`` and ``teamlens
review`` read it as they read any other.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path

from teamlens.demo.history import ChangeRecord
from teamlens.errors import TeamlensError


class DemoError(TeamlensError):
    """The demo could not build its company or run on it."""


def _stamp(seconds: int, offset_minutes: int) -> str:
    sign = "+" if offset_minutes >= 0 else "-"
    hours, minutes = divmod(abs(offset_minutes), 60)
    return f"{seconds} {sign}{hours:02d}{minutes:02d}"


def _data(text: str) -> bytes:
    raw = text.encode("utf-8")
    return b"data %d\n" % len(raw) + raw + b"\n"


def _commit(ref: str, mark: int, change: ChangeRecord, parent: int | None) -> bytes:
    person = change.author
    who = f"{person.name} <{person.email}>"
    out = [
        f"commit {ref}\n".encode(),
        f"mark :{mark}\n".encode(),
        f"author {who} {_stamp(change.author_time, person.utc_offset_minutes)}\n".encode(),
        f"committer {who} {_stamp(change.commit_time, person.utc_offset_minutes)}\n".encode(),
        _data(change.message + "\n"),
    ]
    if parent is not None:
        out.append(f"from :{parent}\n".encode())
    for edit in change.edits:
        if edit.new is None:
            out.append(f"D {edit.path}\n".encode())
        else:
            out.append(f"M 100644 inline {edit.path}\n".encode())
            out.append(_data(edit.new))
    out.append(b"\n")
    return b"".join(out)


def write_repository(
    folder: Path, main: Sequence[ChangeRecord], branches: dict[str, ChangeRecord]
) -> list[str]:
    """Create the repository at `folder`: `main` as the history of branch main, each of
    `branches` as one commit on top of main's tip. Returns main's commit ids, in order."""
    folder.mkdir(parents=True, exist_ok=True)
    _git(folder, "init", "--quiet", "--initial-branch=main")
    stream = bytearray()
    for index, change in enumerate(main, start=1):
        stream += _commit("refs/heads/main", index, change, index - 1 if index > 1 else None)
    tip = len(main)
    for offset, (branch, change) in enumerate(sorted(branches.items()), start=1):
        stream += _commit(f"refs/heads/{branch}", tip + offset, change, tip)
    marks = folder / ".git" / "demo-marks"
    try:
        subprocess.run(
            ["git", "fast-import", "--quiet", f"--export-marks={marks}"],
            cwd=folder,
            input=bytes(stream),
            check=True,
            capture_output=True,
        )
    except subprocess.CalledProcessError as exc:
        message = exc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise DemoError(f"git fast-import failed: {message[-1] if message else exc}") from exc
    shas: dict[int, str] = {}
    for row in marks.read_text(encoding="ascii").splitlines():
        mark, sha = row.split()
        shas[int(mark.lstrip(":"))] = sha
    marks.unlink()
    _git(folder, "read-tree", "-u", "--reset", "HEAD")  # fill the work tree
    return [shas[i] for i in range(1, tip + 1)]


def _git(folder: Path, *args: str) -> None:
    try:
        subprocess.run(["git", *args], cwd=folder, check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        raise DemoError(f"git {args[0]} in {folder} failed: {exc}") from exc
