"""Lines of the two versions: the diff as line ranges, the after tree parsed incrementally
from the before tree, and the added lines that hold only comments or nothing."""

from __future__ import annotations

import bisect
import itertools
import operator
from collections.abc import Sequence

import tree_sitter as ts


class _Lines:
    """A source split at ``\\n`` with each line's start byte (no per-byte Python loops)."""

    def __init__(self, source: bytes) -> None:
        self.source = source
        self.lines = source.split(b"\n")
        # Git does not count the empty piece after a final newline as a line.
        self.count = len(self.lines) - (1 if self.lines[-1] == b"" else 0)
        lengths = map(operator.add, map(len, self.lines), itertools.repeat(1))
        self.starts = [0, *itertools.accumulate(lengths)]

    def position(self, index: int) -> tuple[int, ts.Point]:
        """Byte and point where 0-based line ``index`` starts (or where the source ends)."""
        if index < len(self.lines):
            return self.starts[index], ts.Point(index, 0)
        last = len(self.lines) - 1
        return len(self.source), ts.Point(last, len(self.lines[last]))


def _sorted_lines(numbers: Sequence[int], count: int) -> list[int]:
    return sorted({n for n in numbers if 1 <= n <= count})


def _line_edits(
    before: _Lines, after: _Lines, deleted: list[int], added: list[int]
) -> list[tuple[int, int, int, int]] | None:
    """The diff as 0-based half-open line ranges ``before[b0:b1] -> after[a0:a1]``.

    None when the line numbers do not describe a diff of the two sources (then the
    caller parses from scratch instead of reusing the before tree).
    """
    if before.count - len(deleted) != after.count - len(added):
        return None
    edits = []
    b = a = 1  # next unpaired 1-based lines
    di = ai = 0
    unchanged_from = (0, 0)
    end = before.count + after.count + 2
    while di < len(deleted) or ai < len(added):
        next_deleted = deleted[di] if di < len(deleted) else end
        next_added = added[ai] if ai < len(added) else end
        skip = min(next_deleted - b, next_added - a)
        b, a = b + skip, a + skip
        b0, a0 = b, a
        while di < len(deleted) and deleted[di] == b:
            b, di = b + 1, di + 1
        while ai < len(added) and added[ai] == a:
            a, ai = a + 1, ai + 1
        if not _same(before, after, unchanged_from, (b0 - 1, a0 - 1)):
            return None
        edits.append((b0 - 1, b - 1, a0 - 1, a - 1))
        unchanged_from = (b - 1, a - 1)
    if not _same(before, after, unchanged_from, (len(before.lines), len(after.lines))):
        return None
    return edits


def _same(before: _Lines, after: _Lines, start: tuple[int, int], stop: tuple[int, int]) -> bool:
    b_start, _ = before.position(start[0])
    b_stop, _ = before.position(stop[0])
    a_start, _ = after.position(start[1])
    a_stop, _ = after.position(stop[1])
    return before.source[b_start:b_stop] == after.source[a_start:a_stop]


# Beyond this many hunks reparsing from scratch is as fast (measured on a 5,000-line file).
_MAX_EDITS = 50


def _parse_after(
    parser: ts.Parser,
    before_tree: ts.Tree,
    before: _Lines,
    after: _Lines,
    edits: list[tuple[int, int, int, int]] | None,
) -> ts.Tree:
    """Parse the after version, reusing the before tree where the diff left lines alone."""
    if edits is None or len(edits) > _MAX_EDITS:
        return parser.parse(after.source)
    tree = before_tree.copy()
    # Top to bottom: above each edit the tree already holds the after version.
    for b0, b1, a0, a1 in edits:
        start_byte, start_point = after.position(a0)
        old_start, _ = before.position(b0)
        old_stop, old_point = before.position(b1)
        new_end_byte, new_end_point = after.position(a1)
        tree.edit(
            start_byte=start_byte,
            old_end_byte=start_byte + old_stop - old_start,
            new_end_byte=new_end_byte,
            start_point=start_point,
            old_end_point=ts.Point(old_point.row + a0 - b0, old_point.column),
            new_end_point=new_end_point,
        )
    return parser.parse(after.source, tree)


def _comment_and_blank_lines(
    comments: list[tuple[int, int, int, int]], after: _Lines, added: list[int]
) -> tuple[int, int]:
    """How many of the added lines hold only comments, and how many are blank."""
    code = _code_lines(comments, after, added)
    written = sum(1 for n in added if after.lines[n - 1].strip())
    return written - len(code), len(added) - written


def _code_lines(
    comments: list[tuple[int, int, int, int]], source: _Lines, numbers: list[int]
) -> list[int]:
    """The lines among ``numbers`` (1-based, sorted) holding code: neither blank nor
    only comments (a trailing comment does not make a line comment-only)."""
    written = [n for n in numbers if source.lines[n - 1].strip()]
    touched: set[int] = set()  # 1-based lines with some comment on them
    for _, _, first_row, last_row in comments:
        touched.update(range(first_row + 1, last_row + 2))
    starts = [start for start, _, _, _ in comments]
    code = []
    for number in written:
        if number not in touched:
            code.append(number)
            continue
        line = source.lines[number - 1]
        line_start = source.starts[number - 1]
        position = line_start + len(line) - len(line.lstrip())
        stop = line_start + len(line.rstrip())
        while position < stop:  # step over comments and the blanks between them
            index = bisect.bisect_right(starts, position) - 1
            if index < 0 or comments[index][1] <= position:
                code.append(number)  # code here
                break
            end = comments[index][1]
            rest = line[end - line_start :]
            position = end + len(rest) - len(rest.lstrip())
    return code


class _LineMap:
    """Where an unchanged 0-based line of the before version is in the after version."""

    def __init__(self, edits: list[tuple[int, int, int, int]]) -> None:
        self.edits = edits
        self.ends = [b1 for _, b1, _, _ in edits]

    def __call__(self, row: int) -> int | None:
        index = bisect.bisect_right(self.ends, row)  # first edit ending after the row
        if index < len(self.edits) and self.edits[index][0] <= row:
            return None  # deleted or replaced
        if index == 0:
            return row
        _, b1, _, a1 = self.edits[index - 1]
        return row + a1 - b1
