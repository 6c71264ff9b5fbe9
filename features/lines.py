"""The added lines of code of one change, each with its facts (features.code_metrics.line_facts).

Read in-process with pygit2 from two revisions: git's diff without context (renames at
50 % similarity, the indent heuristic, as the SZZ labeller reads a fix), both versions of
each file tree-sitter covers, and the facts of every added line of code. Used by the
review bot to point at risky lines and by the line model's training and benchmark, so
both see the same lines.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import pygit2
from pygit2.enums import DeltaStatus, DiffFind, DiffOption, FileMode

from teamlens.features.code_metrics.line_facts import AddedLine, added_line_facts
from teamlens.features.pipeline import is_test_path
from teamlens.mining.syntax import parser_for

#: Larger files are not parsed (as the code metrics: mining.blame.MAX_SOURCE_BYTES).
MAX_SOURCE_BYTES = 1_000_000


@dataclass(frozen=True)
class ChangeLine:
    """One added line of code of a change, in its file (path after the change)."""

    path: str
    old_path: str | None  # before the change; None for an added file
    facts: AddedLine
    file_lines_added: int  # added lines of code in the same file
    is_test: bool  # the file is test code (features.pipeline.is_test_path)


def _blob(repo: pygit2.Repository, file: pygit2.DiffFile) -> bytes | None:
    if file.mode not in (FileMode.BLOB, FileMode.BLOB_EXECUTABLE):
        return None
    blob = repo.get(file.id)
    if not isinstance(blob, pygit2.Blob) or blob.size > MAX_SOURCE_BYTES:
        return None
    return blob.data


def change_lines(
    repo: pygit2.Repository,
    base: str,
    head: str,
    paths: Collection[str] | None = None,
    parse_before: bool = True,
) -> list[ChangeLine]:
    """Every added line of code between `base` and `head` in a language tree-sitter
    covers, file by file in path order and line order within a file.

    With `paths` (paths after the change), only those files; `parse_before` as in
    :func:`~teamlens.features.code_metrics.line_facts.added_line_facts`.
    """
    old = repo.revparse_single(base).peel(pygit2.Commit)
    new = repo.revparse_single(head).peel(pygit2.Commit)
    diff = repo.diff(old, new, context_lines=0, flags=DiffOption.INDENT_HEURISTIC)
    diff.find_similar(flags=DiffFind.FIND_RENAMES)
    found: list[ChangeLine] = []
    for patch in sorted(
        (p for p in diff if p is not None), key=lambda p: p.delta.new_file.path or ""
    ):
        delta = patch.delta
        if delta.status == DeltaStatus.DELETED or delta.is_binary:
            continue
        path = delta.new_file.path
        if parser_for(path) is None or (paths is not None and path not in paths):
            continue
        added = [ln.new_lineno for h in patch.hunks for ln in h.lines if ln.origin == "+"]
        if not added:
            continue
        deleted = [ln.old_lineno for h in patch.hunks for ln in h.lines if ln.origin == "-"]
        is_new = delta.status in (DeltaStatus.ADDED, DeltaStatus.COPIED)
        before = None if is_new else _blob(repo, delta.old_file)
        after = _blob(repo, delta.new_file)
        if after is None or (before is None and not is_new):
            continue  # too large, or not a regular file: left out whole
        facts = added_line_facts(path, before, after, deleted, added, parse_before) or []
        old_path = None if is_new else delta.old_file.path
        test = is_test_path(path)
        found.extend(ChangeLine(path, old_path, f, len(facts), test) for f in facts)
    return found
