"""The structure of the code a change added and removed, per file and per change.

:func:`file_code_structure` reads the after version's syntax tree at the added lines and
the before version's at the deleted lines (``git diff -U0`` numbers, as for
:func:`~teamlens.features.code_metrics.file_code_metrics`). An added file is all added
code and a deleted file all removed code, so both count in full. A syntax node belongs
to the line where it starts: a call whose first line the change left alone is not an
added call even if its arguments changed. Moved code is removed at the old place and
added at the new one (a function keeps its identity when its qualified name does).

Per-change features (:func:`change_code_structure`; sums over the change's files that
tree-sitter parsed, except ``max_nesting_added``, a maximum). Every value is a count
(``float`` for the feature table); how it reads to a reviewer follows the dash.

``new_source_files``
    Files the change adds (supported languages) -- "adds 14 new source files".
``new_source_lines``
    Lines of those files, every line counted -- "adds 330 lines in new files".
``deleted_source_files``, ``deleted_source_lines``
    The same for files the change deletes -- "deletes 2 source files (120 lines)".
``code_lines_added``, ``code_lines_removed``
    Added (deleted) lines holding code: not blank and not only comments; a line inside
    a multi-line string is code -- "adds 240 lines of code".
``decisions_added``, ``decisions_removed``
    Decision points on added (deleted) lines: every branch of a conditional, loop,
    ``case`` label, exception handler, conditional expression and short-circuit
    boolean operator, exactly what the cyclomatic complexity counts (package
    docstring) -- "adds 26 decision points".
``functions_added``, ``functions_removed``
    Functions of the after (before) version with no counterpart of the same qualified
    name in the other version whose first line (after decorators) is an added
    (deleted) line: new and deleted functions. A renamed function is one of each;
    renaming a class alone adds no function -- "adds 5 functions".
``max_nesting_added``
    The deepest nesting of an added line of code: how many statements that nest code
    (``if``, loops, ``try``, ``with``, ``switch``/``match``/``select``) start above
    the line and enclose it, counted from the top of the file (an ``else if`` does
    not nest again) -- "adds code nested 4 levels deep".
``calls_added``
    Calls (and ``new`` object creations) starting on added lines -- "adds 31 calls".
``returns_added``
    ``return`` statements on added lines -- "adds 9 return statements".
``raises_added``
    ``raise`` and ``throw`` statements on added lines -- "adds 3 raise/throw statements".
``handlers_added``
    Exception handlers (``except``, ``catch``) on added lines -- "adds 2 exception handlers".
``literals_added``
    Number and string literals on added lines; docstrings and other strings standing
    alone as a statement, and import paths, are not counted -- "adds 18 literals".
``magic_numbers_added``
    Number literals on added lines other than 0, 1 and 2 (Checkstyle's default
    ``MagicNumber`` exemptions; ``-1`` is ``-`` applied to 1) -- "adds 6 magic numbers".

Nothing here keeps any text of the code: the per-file result holds counts only.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import tree_sitter as ts

from teamlens.features.code_metrics.complexity import _is_decision
from teamlens.features.code_metrics.file_metrics import _parse_versions, _Versions
from teamlens.features.code_metrics.grammar import _NESTING_TYPES, _Queries
from teamlens.features.code_metrics.line_edits import _code_lines, _Lines
from teamlens.features.code_metrics.naming import _Structure


@dataclass(frozen=True)
class FileCodeStructure:
    """Counts of what a change added to and removed from one file's code (module docstring)."""

    new_file_lines: int  # lines of an added file, else 0
    deleted_file_lines: int  # lines of a deleted file, else 0
    code_lines_added: int
    code_lines_removed: int
    decisions_added: int
    decisions_removed: int
    functions_added: int
    functions_removed: int
    max_nesting_added: int
    calls_added: int
    returns_added: int
    raises_added: int
    handlers_added: int
    literals_added: int
    magic_numbers_added: int
    is_new: bool = False  # the change adds the file
    is_deleted: bool = False  # the change deletes the file


#: The per-change feature names of :func:`change_code_structure`, in a stable order.
STRUCTURE_FEATURES = (
    "new_source_files",
    "new_source_lines",
    "deleted_source_files",
    "deleted_source_lines",
    "code_lines_added",
    "code_lines_removed",
    "decisions_added",
    "decisions_removed",
    "functions_added",
    "functions_removed",
    "max_nesting_added",
    "calls_added",
    "returns_added",
    "raises_added",
    "handlers_added",
    "literals_added",
    "magic_numbers_added",
)

# Per-file fields summed into the per-change feature of the same name.
_SUMMED = (
    "code_lines_added",
    "code_lines_removed",
    "decisions_added",
    "decisions_removed",
    "functions_added",
    "functions_removed",
    "calls_added",
    "returns_added",
    "raises_added",
    "handlers_added",
    "literals_added",
    "magic_numbers_added",
)

# Added lines closer than this share one query (a query has a fixed cost).
_RUN_GAP = 40
# Strings here are not literals a reader would call data: a module path.
_IMPORT_PARENTS = frozenset({"import_spec", "import_statement", "export_statement"})


def file_code_structure(
    path: str,
    before: bytes | None,
    after: bytes | None,
    deleted_lines: Sequence[int],
    added_lines: Sequence[int],
) -> FileCodeStructure | None:
    """The structure of one file's added and removed code, or None for a language
    tree-sitter does not cover here.

    ``before`` is None for an added file and ``after`` for a deleted one;
    ``deleted_lines`` are 1-based line numbers in ``before`` and ``added_lines`` in
    ``after``, as in ``git diff -U0`` hunks (every line of an added or deleted file).
    """
    versions = _parse_versions(path, before, after, deleted_lines, added_lines)
    return _file_structure(versions) if versions is not None else None


def _file_structure(versions: _Versions) -> FileCodeStructure:
    """:func:`file_code_structure` of versions already parsed."""
    before, after = versions.before_lines, versions.after_lines
    is_new = before is None and after is not None
    is_deleted = after is None and before is not None
    added = _Side(versions.after_tree, after, versions.added, versions.new, versions.queries)
    removed = _Side(versions.before_tree, before, versions.deleted, versions.old, versions.queries)
    new_functions = versions.new.functions if versions.new is not None else []
    old_functions = versions.old.functions if versions.old is not None else []
    added_set, deleted_set = set(versions.added), set(versions.deleted)
    functions_added = sum(
        1
        for was, now in versions.pairs
        if was is None
        and now is not None
        and new_functions[now].node.start_point.row + 1 in added_set
    )
    functions_removed = sum(
        1
        for was, now in versions.pairs
        if now is None
        and was is not None
        and old_functions[was].node.start_point.row + 1 in deleted_set
    )
    facts = added.facts()
    added_code = added.code_lines()
    strings = [node for node in facts.get("string", []) if _is_literal_string(node)]
    numbers = facts.get("number", [])
    return FileCodeStructure(
        new_file_lines=after.count if is_new and after is not None else 0,
        deleted_file_lines=before.count if is_deleted and before is not None else 0,
        code_lines_added=len(added_code),
        code_lines_removed=len(removed.code_lines()),
        decisions_added=sum(1 for node in facts.get("decision", []) if _is_decision(node)),
        decisions_removed=sum(
            1 for node in removed.facts().get("decision", []) if _is_decision(node)
        ),
        functions_added=functions_added,
        functions_removed=functions_removed,
        max_nesting_added=added.max_nesting(added_code),
        calls_added=len(facts.get("call", [])),
        returns_added=len(facts.get("return", [])),
        raises_added=len(facts.get("raise", [])),
        handlers_added=len(facts.get("handler", [])),
        literals_added=len(strings) + len(numbers),
        magic_numbers_added=sum(1 for node in numbers if _is_magic(node.text or b"")),
        is_new=is_new,
        is_deleted=is_deleted,
    )


def change_code_structure(files: Iterable[FileCodeStructure]) -> dict[str, float]:
    """The per-change features (names: :data:`STRUCTURE_FEATURES`) of a change's files.

    Sums over the files, except ``max_nesting_added`` (the largest); all 0 for none.
    """
    totals = dict.fromkeys(STRUCTURE_FEATURES, 0.0)
    for file in files:
        for name in _SUMMED:
            totals[name] += getattr(file, name)
        totals["max_nesting_added"] = max(
            totals["max_nesting_added"], float(file.max_nesting_added)
        )
        if file.is_new:
            totals["new_source_files"] += 1
            totals["new_source_lines"] += file.new_file_lines
        if file.is_deleted:
            totals["deleted_source_files"] += 1
            totals["deleted_source_lines"] += file.deleted_file_lines
    return totals


@dataclass(frozen=True)
class _Side:
    """One version's tree and the changed lines in it (added in after, deleted in before)."""

    tree: ts.Tree | None
    source: _Lines | None
    lines: list[int]  # 1-based, sorted
    structure: _Structure | None  # its comments tell comment-only lines
    queries: _Queries

    def code_lines(self) -> list[int]:
        if self.source is None or not self.lines:
            return []
        comments = self.structure.comments if self.structure is not None else []
        return _code_lines(comments, self.source, self.lines)

    def facts(self) -> dict[str, list[ts.Node]]:
        """Nodes of the facts query (capture name -> nodes) starting on the changed lines."""
        if self.tree is None or self.source is None or not self.lines:
            return {}
        wanted = {n - 1 for n in self.lines}  # 0-based rows
        cursor = ts.QueryCursor(self.queries.facts)
        found: dict[str, list[ts.Node]] = {}
        for first, last in _runs(self.lines):
            low, _ = self.source.position(first - 1)
            high, _ = self.source.position(last)
            cursor.set_byte_range(low, high)
            for name, nodes in cursor.captures(self.tree.root_node).items():
                # The cursor also yields nodes around the range: keep those starting in it.
                keep = [
                    n for n in nodes if low <= n.start_byte < high and n.start_point.row in wanted
                ]
                found.setdefault(name, []).extend(keep)
        return found

    def max_nesting(self, code_lines: list[int]) -> int:
        """The deepest nesting of these changed lines of code (module docstring)."""
        if self.tree is None or self.source is None:
            return 0
        root = self.tree.root_node
        deepest = 0
        for number in code_lines:
            line = self.source.lines[number - 1]
            byte = self.source.starts[number - 1] + len(line) - len(line.lstrip())
            node: ts.Node | None = root.descendant_for_byte_range(byte, byte)
            row = number - 1
            depth = 0
            while node is not None:
                if (
                    node.type in _NESTING_TYPES
                    and node.start_point.row < row
                    and not _is_else_if(node)
                ):
                    depth += 1
                node = node.parent
            deepest = max(deepest, depth)
        return deepest


def _runs(lines: list[int]) -> list[tuple[int, int]]:
    """Sorted line numbers as (first, last) runs, runs closer than _RUN_GAP merged."""
    runs: list[tuple[int, int]] = []
    for number in lines:
        if runs and number - runs[-1][1] <= _RUN_GAP:
            runs[-1] = (runs[-1][0], number)
        else:
            runs.append((number, number))
    return runs


def _is_else_if(node: ts.Node) -> bool:
    """An ``if`` that is the ``else`` branch of another: a chain, not a deeper level."""
    if node.type != "if_statement":
        return False
    parent = node.parent
    if parent is not None and parent.type == "else_clause":  # JavaScript/TypeScript
        parent = parent.parent
    return parent is not None and parent.type == "if_statement"


def _is_literal_string(node: ts.Node) -> bool:
    parent = node.parent
    if parent is None:
        return True
    if parent.type == "expression_statement" and parent.named_child_count == 1:
        return False  # a docstring, or a directive such as "use strict"
    return parent.type not in _IMPORT_PARENTS


def _is_magic(text: bytes) -> bool:
    """A number literal other than 0, 1 and 2 (any base, suffix or digit separators)."""
    literal = text.decode("ascii", errors="replace").lower().replace("_", "")
    try:
        if literal.startswith(("0x", "0b", "0o")):
            value: float = int(literal.rstrip("ln"), 0)
        else:
            value = float(literal.rstrip("lfdnij"))
    except ValueError:
        return True
    return value not in (0, 1, 2)
