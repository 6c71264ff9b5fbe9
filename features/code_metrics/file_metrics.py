"""The metrics of one changed file: which functions changed, with their complexity before
and after, and the comment and blank lines added."""

from __future__ import annotations

import bisect
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import tree_sitter as ts

from teamlens.features.code_metrics.complexity import _complexities
from teamlens.features.code_metrics.grammar import _Queries, _queries
from teamlens.features.code_metrics.line_edits import (
    _comment_and_blank_lines,
    _line_edits,
    _LineMap,
    _Lines,
    _parse_after,
    _sorted_lines,
)
from teamlens.features.code_metrics.naming import _Function, _Structure, _structure
from teamlens.mining.syntax import parser_for


@dataclass(frozen=True)
class FunctionChange:
    """A function whose lines a change touched, with its complexity before and after.

    ``start_line`` is the 1-based line where the function itself starts (its decorators
    are above it) in the after version, or in the before version for a deleted function.
    """

    name: str  # qualified: "Class.method", "outer.inner", "Receiver.Method", "<anonymous>"
    start_line: int
    complexity_before: int | None  # McCabe cyclomatic complexity; None: a new function
    complexity_after: int | None  # None: a deleted function
    #: Last line (decorators and body included) in the version ``start_line`` is in.
    end_line: int | None = field(default=None, compare=False)
    #: A hash of the function's text before and after the change (each line stripped,
    #: blank lines dropped; None where that version has no such function): the same hash
    #: removed in one place and added in another is code that moved unchanged.
    body_before: str | None = field(default=None, compare=False)
    body_after: str | None = field(default=None, compare=False)


def _body_hash(function: _Function, lines: _Lines | None) -> str | None:
    if lines is None:
        return None
    text = b"\n".join(
        stripped
        for line in lines.lines[function.first_line - 1 : function.last_line]
        if (stripped := line.strip())
    )
    return hashlib.blake2b(text, digest_size=12).hexdigest()


@dataclass(frozen=True)
class FileCodeMetrics:
    """What a change did to one file's functions, and the comment and blank lines it added."""

    functions_changed: tuple[FunctionChange, ...]  # after-document order, deleted ones last
    comment_lines_added: int  # added lines holding only comments (no trailing comments)
    whitespace_lines_added: int  # added lines that are blank


def _overlaps(function: _Function, lines: list[int]) -> bool:
    index = bisect.bisect_left(lines, function.first_line)
    return index < len(lines) and lines[index] <= function.last_line


def _pairs(
    old: list[_Function], new: list[_Function], line_map: _LineMap | None
) -> list[tuple[int | None, int | None]]:
    """Before and after indexes of the same functions (None: no counterpart).

    Functions match by qualified name. Among functions of the same name, one whose
    first line the diff left alone (at the same column) matches the function starting
    there; the rest match in order of occurrence. New functions come in after-document
    order, deleted ones after them in before-document order.
    """
    old_by_name: dict[str, list[int]] = {}
    for index, function in enumerate(old):
        old_by_name.setdefault(function.name, []).append(index)
    new_by_name: dict[str, list[int]] = {}
    for index, function in enumerate(new):
        new_by_name.setdefault(function.name, []).append(index)
    match: dict[int, int] = {}  # after index -> before index
    for name, news in new_by_name.items():
        olds = old_by_name.get(name, [])
        if len(news) > 1 and len(olds) > 1 and line_map is not None:
            # Anchored by an unchanged first line: a function inserted among others of
            # the same name (callbacks: "<anonymous>") does not shift their pairing.
            starts = {tuple(new[i].node.start_point): i for i in news}
            for j in olds:
                row, column = old[j].node.start_point
                moved = line_map(row)
                i = starts.pop((moved, column), None) if moved is not None else None
                if i is not None:
                    match[i] = j
            paired = set(match.values())
            news = [i for i in news if i not in match]
            olds = [j for j in olds if j not in paired]
        match.update(zip(news, olds, strict=False))
    paired = set(match.values())
    pairs: list[tuple[int | None, int | None]] = [(match.get(i), i) for i in range(len(new))]
    pairs.extend((j, None) for j in range(len(old)) if j not in paired)
    return pairs


@dataclass(frozen=True)
class _Versions:
    """The two versions of one changed file, parsed once for every metric of it."""

    queries: _Queries
    before_lines: _Lines | None  # None: an added file
    after_lines: _Lines | None  # None: a deleted file
    deleted: list[int]  # sorted 1-based line numbers in the before version
    added: list[int]  # sorted 1-based line numbers in the after version
    before_tree: ts.Tree | None
    after_tree: ts.Tree | None
    old: _Structure | None
    new: _Structure | None
    pairs: list[tuple[int | None, int | None]]  # every function, before and after index


def _parse_versions(
    path: str,
    before: bytes | None,
    after: bytes | None,
    deleted_lines: Sequence[int],
    added_lines: Sequence[int],
) -> _Versions | None:
    """Parse both versions (the after one incrementally when it can), find the functions
    and pair them; None for a language tree-sitter does not cover here."""
    parser = parser_for(path)
    if parser is None or parser.language is None:
        return None
    queries = _queries(parser.language)
    before_lines = _Lines(before) if before is not None else None
    after_lines = _Lines(after) if after is not None else None
    deleted = _sorted_lines(deleted_lines, before_lines.count) if before_lines else []
    added = _sorted_lines(added_lines, after_lines.count) if after_lines else []
    if not deleted and not added:  # a rename or mode change: nothing to parse
        return _Versions(queries, before_lines, after_lines, [], [], None, None, None, None, [])
    edits = (
        _line_edits(before_lines, after_lines, deleted, added)
        if before_lines is not None and after_lines is not None
        else None
    )
    before_tree = parser.parse(before) if before is not None else None
    old = _structure(before_tree, queries) if before_tree is not None else None
    after_tree = None
    if after_lines is not None:
        if before_tree is None or before_lines is None:
            after_tree = parser.parse(after_lines.source)
        else:
            after_tree = _parse_after(parser, before_tree, before_lines, after_lines, edits)
    new = _structure(after_tree, queries) if after_tree is not None else None
    pairs = _pairs(
        old.functions if old is not None else [],
        new.functions if new is not None else [],
        _LineMap(edits) if edits is not None else None,
    )
    return _Versions(
        queries, before_lines, after_lines, deleted, added, before_tree, after_tree, old, new,
        pairs,
    )  # fmt: skip


def file_code_metrics(
    path: str,
    before: bytes | None,
    after: bytes | None,
    deleted_lines: Sequence[int],
    added_lines: Sequence[int],
) -> FileCodeMetrics | None:
    """Functions changed (with complexity before and after) and comment/blank lines added.

    ``before`` is None for an added file and ``after`` for a deleted one;
    ``deleted_lines`` are 1-based line numbers in ``before`` and ``added_lines`` in
    ``after``, as in ``git diff -U0`` hunks. Returns None for a language tree-sitter
    does not cover here.

    The after version is parsed incrementally from the before tree, edited with the
    diff's line ranges, when the line numbers fit the two sources; otherwise (or for
    more than ``_MAX_EDITS`` hunks) from scratch.
    """
    versions = _parse_versions(path, before, after, deleted_lines, added_lines)
    return _file_metrics(versions) if versions is not None else None


def _file_metrics(versions: _Versions) -> FileCodeMetrics:
    """:func:`file_code_metrics` of versions already parsed."""
    if not versions.deleted and not versions.added:
        return FileCodeMetrics((), 0, 0)
    old = versions.old.functions if versions.old is not None else []
    new = versions.new.functions if versions.new is not None else []
    deleted, added = versions.deleted, versions.added
    pairs = [
        (was, now)
        for was, now in versions.pairs
        if (now is not None and _overlaps(new[now], added))
        or (was is not None and _overlaps(old[was], deleted))
    ]
    queries = versions.queries
    old_cc = (
        _complexities(
            versions.before_tree, queries, old, {was for was, _ in pairs if was is not None}
        )
        if versions.before_tree is not None
        else {}
    )
    new_cc = (
        _complexities(
            versions.after_tree, queries, new, {now for _, now in pairs if now is not None}
        )
        if versions.after_tree is not None
        else {}
    )
    changed = []
    before_lines, after_lines = versions.before_lines, versions.after_lines
    for was, now in pairs:
        shown = new[now] if now is not None else old[was or 0]
        changed.append(
            FunctionChange(
                shown.name,
                shown.node.start_point.row + 1,
                old_cc[was] if was is not None else None,
                new_cc[now] if now is not None else None,
                end_line=shown.last_line,
                body_before=_body_hash(old[was], before_lines) if was is not None else None,
                body_after=_body_hash(new[now], after_lines) if now is not None else None,
            )
        )
    comments, blanks = (
        _comment_and_blank_lines(versions.new.comments, versions.after_lines, added)
        if versions.new is not None and versions.after_lines is not None
        else (0, 0)
    )
    return FileCodeMetrics(tuple(changed), comments, blanks)
