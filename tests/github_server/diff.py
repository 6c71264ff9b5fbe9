"""Where a review comment sits in a file's patch: hunks, rows and GitHub's ``position``."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from tests.github_server.records import Side

_HUNK = re.compile(r"^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@")


def _locate(patch: str, line: int, side: Side) -> tuple[str, int] | None:
    """The diff hunk up to ``line`` on ``side`` and GitHub's ``position`` of that line."""
    lines = patch.split("\n")
    old = new = 0
    hunk_start = -1
    for index, text in enumerate(lines):
        header = _HUNK.match(text)
        if header:
            old, new, hunk_start = int(header.group(1)), int(header.group(2)), index
            continue
        if hunk_start < 0 or text.startswith("\\"):
            continue
        here_old: int | None = old
        here_new: int | None = new
        if text.startswith("+"):
            here_old = None
            new += 1
        elif text.startswith("-"):
            here_new = None
            old += 1
        else:
            old += 1
            new += 1
        if (here_new if side == "RIGHT" else here_old) == line:
            return "\n".join(lines[hunk_start : index + 1]), index
    return None


@dataclass(frozen=True)
class _DiffRow:
    index: int  # GitHub's position: the row's index in the patch
    hunk: int  # index of its hunk's @@ header
    old: int | None  # line number in the old file (None for an added line)
    new: int | None  # line number in the new file (None for a removed line)


def _diff_rows(patch: str) -> list[_DiffRow]:
    """The commentable rows of a patch: added, removed and context lines inside hunks."""
    rows: list[_DiffRow] = []
    old = new = 0
    hunk = -1
    for index, text in enumerate(patch.split("\n")):
        header = _HUNK.match(text)
        if header:
            old, new, hunk = int(header.group(1)), int(header.group(2)), index
            continue
        if hunk < 0 or text.startswith("\\"):
            continue
        if text.startswith("+"):
            rows.append(_DiffRow(index, hunk, None, new))
            new += 1
        elif text.startswith("-"):
            rows.append(_DiffRow(index, hunk, old, None))
            old += 1
        else:
            rows.append(_DiffRow(index, hunk, old, new))
            old += 1
            new += 1
    return rows


def _row_at(rows: Sequence[_DiffRow], line: int, side: Side) -> _DiffRow | None:
    return next((r for r in rows if (r.new if side == "RIGHT" else r.old) == line), None)
