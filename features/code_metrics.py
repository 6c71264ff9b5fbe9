"""Code metrics of one changed file: which functions changed, their complexity, comment lines.

Built on the tree-sitter parsers of :mod:`mining.syntax` (Python, Java, JavaScript,
TypeScript/TSX, Go); other languages get ``None``. Parsing is error-tolerant, so a file
with syntax errors still gets metrics (from whatever tree-sitter recovered).

Functions
---------
Python ``function_definition`` (methods and nested functions too; lambdas are not
functions); Java ``method_declaration``, ``constructor_declaration`` and
``compact_constructor_declaration`` (lambdas are not functions); JavaScript/TypeScript
``function_declaration``, ``generator_function_declaration``, ``function_expression``,
``generator_function``, ``arrow_function`` and ``method_definition``; Go
``function_declaration``, ``method_declaration`` and ``func_literal``. Declarations
without a body (interface and abstract methods, Go assembly stubs) are skipped.

A function is named like Python's ``__qualname__`` without ``<locals>``: the names of
the enclosing classes (Java classes, interfaces, enums and records but not anonymous
classes; TypeScript namespaces) and functions joined by dots, e.g.
``Parser.parse.helper``; Go methods are
``Receiver.Method``. A JavaScript/TypeScript function expression without a name of its
own takes the name of the variable, object key, class field or assignment target it is
bound to (as ``Function.prototype.name`` does), and so does a Go ``func`` literal bound
by ``:=``, ``=`` or ``var``; others are ``<anonymous>``.

The before and after versions of a function are matched by this name; among functions
of the same name, by occurrence index, except that one whose first line the diff left
alone keeps its partner (so inserting a callback among ``<anonymous>`` ones does not
shift the rest). A renamed function shows as one deleted and one new function.

A function changed when its lines (signature and decorators included) overlap a
deleted line in the before version or an added line in the after version; a change in
a nested function therefore changes the enclosing one too.

Cyclomatic complexity
---------------------
McCabe (1976) counted for one function as 1 + its decision points, the way lizard and
radon count them from source: every branch of a conditional statement, every loop,
every ``case`` label, every exception handler, every conditional expression and every
short-circuit boolean operator adds one path. Nested functions are not part of the
enclosing function (they have their own complexity), but lambdas in Python and Java,
which are not functions here, count towards the function they are written in.

Decision points (tree-sitter node types):

* Python: ``if_statement``, ``elif_clause``, ``for_statement`` (also ``async for``),
  ``while_statement``, ``except_clause`` (also ``except*``), ``conditional_expression``,
  ``boolean_operator`` (one per ``and``/``or``), comprehension ``for_in_clause`` and
  ``if_clause`` (an ``if_clause`` is also a ``case`` guard), ``case_clause`` of
  ``match`` unless its pattern is the bare wildcard ``_``.
* Java: ``if_statement`` (``else if`` is a nested ``if_statement``), ``for_statement``,
  ``enhanced_for_statement``, ``while_statement``, ``do_statement``, ``switch_label``
  starting with ``case`` (one per label, also for ``case 1, 2``; not ``default``),
  ``guard`` (``case ... when``), ``catch_clause``, ``ternary_expression``,
  ``binary_expression`` with ``&&`` or ``||``.
* JavaScript/TypeScript: ``if_statement``, ``for_statement``, ``for_in_statement``
  (``for in``, ``for of``, ``for await``), ``while_statement``, ``do_statement``,
  ``switch_case`` (not ``switch_default``), ``catch_clause``, ``ternary_expression``,
  ``binary_expression`` with ``&&``, ``||`` or ``??``, and
  ``augmented_assignment_expression`` with ``&&=``, ``||=`` or ``??=``.
* Go: ``if_statement``, ``for_statement`` (every form, also ``for {}``),
  ``expression_case``, ``type_case`` and ``communication_case`` (not ``default_case``),
  ``binary_expression`` with ``&&`` or ``||``.

Differences from other tools: ``else``, ``finally``, ``with``, ``assert``, ``goto`` and
``break``/``continue`` add nothing. radon also counts ``assert`` and the ``else`` of
Python ``for``/``while``/``try``. lizard 1.24 (token-based) also counts Python
``finally`` and ``case _``, and every ``?`` token, so a TypeScript optional parameter
``x?: T`` too; on the samples in tests/features/test_code_metrics.py it otherwise gives
the same numbers. gocyclo folds Go ``func`` literals into the enclosing function, which
here are functions of their own. ESLint's ``complexity`` also counts default parameter
values and optional chaining.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import operator
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import tree_sitter as ts

from teamlens.mining.syntax import parser_for

__all__ = [
    "FileCodeMetrics",
    "FunctionChange",
    "cyclomatic_complexity",
    "file_code_metrics",
]

# The node type names are unions over the five grammars: a name means the same thing in
# every grammar that has it (checked by parsing samples), so one table serves all.
_FUNCTION_TYPES = frozenset(
    {
        "function_definition",  # Python
        "method_declaration",  # Java, Go
        "constructor_declaration",  # Java
        "compact_constructor_declaration",  # Java records
        "function_declaration",  # JavaScript/TypeScript, Go
        "generator_function_declaration",
        "function_expression",
        "generator_function",
        "arrow_function",
        "method_definition",
        "func_literal",  # Go
    }
)
_SCOPE_TYPES = frozenset(
    {
        "class_definition",  # Python
        "class_declaration",  # Java, JavaScript/TypeScript
        "interface_declaration",  # Java (TypeScript interfaces have no bodies)
        "enum_declaration",
        "record_declaration",
        "annotation_type_declaration",
        "class",  # JavaScript/TypeScript class expression
        "abstract_class_declaration",  # TypeScript
        "internal_module",  # TypeScript `namespace N {}`
        "module",  # TypeScript `module M {}`; Python's root `module` has no name
    }
)
_COMMENT_TYPES = frozenset({"comment", "line_comment", "block_comment", "html_comment"})
_ALWAYS_DECISIONS = frozenset(
    {
        "if_statement",
        "elif_clause",
        "for_statement",
        "enhanced_for_statement",
        "for_in_statement",
        "while_statement",
        "do_statement",
        "except_clause",
        "catch_clause",
        "conditional_expression",
        "ternary_expression",
        "boolean_operator",
        "for_in_clause",
        "if_clause",
        "guard",
        "switch_case",
        "expression_case",
        "type_case",
        "communication_case",
    }
)
# Decision points only with these operators: short-circuit `&&`, `||`, `??` (also as
# logical assignments in JavaScript/TypeScript).
_OPERATOR_DECISIONS = {
    "binary_expression": frozenset({"&&", "||", "??"}),
    "augmented_assignment_expression": frozenset({"&&=", "||=", "??="}),
}
_DECISION_TYPES = _ALWAYS_DECISIONS | _OPERATOR_DECISIONS.keys() | {"switch_label", "case_clause"}
# Python wraps a decorated function in this (TypeScript class members have their
# decorators as siblings instead, see _first_row).
_DECORATOR_PARENTS = frozenset({"decorated_definition"})


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


@dataclass(frozen=True)
class FileCodeMetrics:
    """What a change did to one file's functions, and the comment and blank lines it added."""

    functions_changed: tuple[FunctionChange, ...]  # after-document order, deleted ones last
    comment_lines_added: int  # added lines holding only comments (no trailing comments)
    whitespace_lines_added: int  # added lines that are blank


def _is_decision(node: ts.Node) -> bool:
    kind = node.type
    if kind in _ALWAYS_DECISIONS:
        return True
    operators = _OPERATOR_DECISIONS.get(kind)
    if operators is not None:
        op = node.child_by_field_name("operator")
        return op is not None and op.type in operators
    if kind == "switch_label":  # Java: `case ...` or `default`
        return node.child_count > 0 and node.children[0].type == "case"
    if kind == "case_clause":  # Python `match`: `case _:` is the default
        patterns = [child for child in node.named_children if child.type == "case_pattern"]
        return not (len(patterns) == 1 and patterns[0].named_child_count == 0)
    return False


def cyclomatic_complexity(node: ts.Node) -> int:
    """McCabe complexity of one function node: 1 + its decision points (module docstring).

    Nested functions are skipped: they have a complexity of their own.
    """
    count = 1
    stack = list(node.children)
    while stack:
        child = stack.pop()
        kind = child.type
        if kind in _FUNCTION_TYPES:
            continue
        if kind in _DECISION_TYPES and _is_decision(child):
            count += 1
        stack.extend(child.children)
    return count


# --- Finding and naming functions -------------------------------------------------


@dataclass(frozen=True)
class _Function:
    name: str  # qualified
    node: ts.Node
    first_line: int  # 1-based, decorators included
    last_line: int


def _text(node: ts.Node | None) -> str | None:
    if node is None or node.text is None:
        return None
    text = node.text.decode("utf-8", errors="replace")
    if node.type == "string":  # quoted object key or method name: drop the quotes
        text = text[1:-1]
    return " ".join(text.split())


def _go_receiver(node: ts.Node) -> str | None:
    receiver = node.child_by_field_name("receiver")
    param = receiver.named_children[0] if receiver is not None and receiver.named_children else None
    kind = param.child_by_field_name("type") if param is not None else None
    while kind is not None and kind.type in ("pointer_type", "generic_type"):
        kind = kind.child_by_field_name("type") or (
            kind.named_children[0] if kind.named_children else None
        )
    return _text(kind)


def _bound_name(node: ts.Node) -> str | None:
    """The name an anonymous function expression or Go literal is bound to, if any."""
    parent = node.parent
    if parent is None:
        return None
    kind = parent.type
    if kind == "variable_declarator":
        name = parent.child_by_field_name("name")
        return _text(name) if name is not None and name.type == "identifier" else None
    if kind == "pair":
        return _text(parent.child_by_field_name("key"))
    if kind == "assignment_expression":
        left = parent.child_by_field_name("left")
        if left is not None and left.type in ("identifier", "member_expression"):
            return _text(left)
        return None
    if kind == "field_definition":
        return _text(parent.child_by_field_name("property"))
    if kind == "public_field_definition":
        return _text(parent.child_by_field_name("name"))
    if kind == "expression_list":  # Go: `f := func() {}`, `f = func() {}`, `var f = func...`
        holder = parent.parent
        if holder is None:
            return None
        index = parent.named_children.index(node)
        if holder.type in ("short_var_declaration", "assignment_statement"):
            left = holder.child_by_field_name("left")
            names = left.named_children if left is not None else []
        elif holder.type == "var_spec":
            names = holder.children_by_field_name("name")
        else:
            return None
        return _text(names[index]) if index < len(names) else None
    return None


def _function_name(node: ts.Node) -> str:
    own = node.child_by_field_name("name")
    if node.type == "method_declaration" and node.child_by_field_name("receiver") is not None:
        receiver = _go_receiver(node)
        method = _text(own) or "<anonymous>"
        return f"{receiver}.{method}" if receiver else method
    return _text(own) or _bound_name(node) or "<anonymous>"


def _scope_name(node: ts.Node) -> str | None:
    name = _text(node.child_by_field_name("name"))
    if name is None and node.type == "class":
        name = _bound_name(node)
    return name


def _first_row(node: ts.Node) -> int:
    """0-based first row of a function, its decorators included."""
    parent = node.parent
    if parent is not None and parent.type in _DECORATOR_PARENTS:
        return parent.start_point.row
    row = node.start_point.row
    sibling = node.prev_named_sibling
    while sibling is not None and sibling.type == "decorator":  # TypeScript class members
        row = sibling.start_point.row
        sibling = sibling.prev_named_sibling
    return row


def _last_row(node: ts.Node) -> int:
    end = node.end_point
    return end.row - 1 if end.column == 0 and end.row > node.start_point.row else end.row


@dataclass(frozen=True)
class _Queries:
    structure: ts.Query  # functions, scopes and comments
    decisions: ts.Query  # candidate decision points (filtered by _is_decision)


@functools.cache
def _queries(language: ts.Language) -> _Queries:
    def alternation(types: Iterable[str], capture: str) -> str:
        present = sorted(t for t in types if language.id_for_node_kind(t, True) is not None)
        return f"[{' '.join(f'({t})' for t in present)}] @{capture}" if present else ""

    structure = (
        alternation(_FUNCTION_TYPES, "function")
        + alternation(_SCOPE_TYPES, "scope")
        + alternation(_COMMENT_TYPES, "comment")
    )
    # Operators are matched in the query too: most binary expressions are arithmetic or
    # comparisons, and every capture costs a Python object.
    decisions = [
        f"({kind})"
        for kind in sorted(_DECISION_TYPES - _OPERATOR_DECISIONS.keys())
        if language.id_for_node_kind(kind, True) is not None
    ]
    for kind, operators in sorted(_OPERATOR_DECISIONS.items()):
        tokens = sorted(op for op in operators if language.id_for_node_kind(op, False) is not None)
        if language.id_for_node_kind(kind, True) is not None and tokens:
            quoted = " ".join(f'"{op}"' for op in tokens)
            decisions.append(f"({kind} operator: [{quoted}])")
    return _Queries(
        structure=ts.Query(language, structure),
        decisions=ts.Query(language, f"[{' '.join(decisions)}] @decision"),
    )


@dataclass(frozen=True)
class _Structure:
    functions: list[_Function]  # document order, enclosing before enclosed
    comments: list[tuple[int, int, int, int]]  # start byte, end byte, start row, end row


def _structure(tree: ts.Tree, queries: _Queries) -> _Structure:
    """Every function with a body, with qualified names, and every comment (one pass)."""
    captures = ts.QueryCursor(queries.structure).captures(tree.root_node)
    functions = [n for n in captures.get("function", []) if n.child_by_field_name("body")]
    nodes = [(n, True) for n in functions] + [(n, False) for n in captures.get("scope", [])]
    # Enclosing nodes first: by start, then longest.
    nodes.sort(key=lambda item: (item[0].start_byte, -item[0].end_byte))
    found: list[_Function] = []
    open_scopes: list[tuple[int, str | None]] = []  # end byte, name (None: unnamed)
    for node, is_function in nodes:
        while open_scopes and open_scopes[-1][0] <= node.start_byte:
            open_scopes.pop()
        own = _function_name(node) if is_function else _scope_name(node)
        if is_function:
            qualified = ".".join([*(name for _, name in open_scopes if name), own or ""])
            found.append(_Function(qualified, node, _first_row(node) + 1, _last_row(node) + 1))
        open_scopes.append((node.end_byte, own))
    comments = sorted(
        (n.start_byte, n.end_byte, n.start_point.row, n.end_point.row)
        for n in captures.get("comment", [])
    )
    return _Structure(found, comments)


def _complexities(
    tree: ts.Tree, queries: _Queries, functions: list[_Function], wanted: set[int]
) -> dict[int, int]:
    """Complexity of the wanted functions (indexes into ``functions``).

    Gives what :func:`cyclomatic_complexity` gives, but the tree is searched by a
    tree-sitter query (in C) over the wanted functions' bytes only, and each decision
    point goes to the innermost function around it.
    """
    counts = dict.fromkeys(wanted, 1)
    starts = [f.node.start_byte for f in functions]
    # One search per run of wanted functions; nested ones ride along with the outer.
    ranges: list[tuple[int, int, int]] = []  # first byte, end byte, first function
    for first in sorted(wanted):
        node = functions[first].node
        if ranges and node.start_byte < ranges[-1][1]:
            continue  # nested in a function already in a range
        if ranges and node.start_byte - ranges[-1][1] < _QUERY_GAP:
            ranges[-1] = (ranges[-1][0], node.end_byte, ranges[-1][2])
        else:
            ranges.append((node.start_byte, node.end_byte, first))
    cursor = ts.QueryCursor(queries.decisions)
    for low, high, first in ranges:
        cursor.set_byte_range(low, high)
        found = cursor.captures(tree.root_node).get("decision", [])
        # The query also yields nodes around the range; keep the ones inside it.
        inside = sorted(
            (n for n in found if n.start_byte >= low and n.end_byte <= high),
            key=operator.attrgetter("start_byte"),
        )
        index = first
        stack: list[int] = []  # functions around the current position, innermost last
        for candidate in inside:
            position = candidate.start_byte
            # A node starting where a function starts lies around it (e.g. `f() || x`).
            while index < len(functions) and starts[index] < position:
                stack.append(index)
                index += 1
            while stack and functions[stack[-1]].node.end_byte <= position:
                stack.pop()
            if stack and stack[-1] in counts and _is_decision(candidate):
                counts[stack[-1]] += 1
    return counts


# Wanted functions closer than this (bytes) share one query: a query has a fixed cost
# of about as much as searching this many bytes.
_QUERY_GAP = 2048


# --- Lines --------------------------------------------------------------------------


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
    code = [n for n in added if after.lines[n - 1].strip()]
    blank = len(added) - len(code)
    touched: set[int] = set()  # 1-based lines with some comment on them
    for _, _, first_row, last_row in comments:
        touched.update(range(first_row + 1, last_row + 2))
    starts = [start for start, _, _, _ in comments]
    comment_only = 0
    for number in (n for n in code if n in touched):
        line = after.lines[number - 1]
        line_start = after.starts[number - 1]
        position = line_start + len(line) - len(line.lstrip())
        stop = line_start + len(line.rstrip())
        while position < stop:  # step over comments and the blanks between them
            index = bisect.bisect_right(starts, position) - 1
            if index < 0 or comments[index][1] <= position:
                break  # code here
            end = comments[index][1]
            rest = line[end - line_start :]
            position = end + len(rest) - len(rest.lstrip())
        else:
            comment_only += 1
    return comment_only, blank


# --- The file -------------------------------------------------------------------------


def _overlaps(function: _Function, lines: list[int]) -> bool:
    index = bisect.bisect_left(lines, function.first_line)
    return index < len(lines) and lines[index] <= function.last_line


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
    parser = parser_for(path)
    if parser is None or parser.language is None:
        return None
    queries = _queries(parser.language)
    before_lines = _Lines(before) if before is not None else None
    after_lines = _Lines(after) if after is not None else None
    deleted = _sorted_lines(deleted_lines, before_lines.count) if before_lines else []
    added = _sorted_lines(added_lines, after_lines.count) if after_lines else []

    if not deleted and not added:  # a rename or mode change: nothing to parse
        return FileCodeMetrics((), 0, 0)
    edits = (
        _line_edits(before_lines, after_lines, deleted, added)
        if before_lines is not None and after_lines is not None
        else None
    )
    before_tree = parser.parse(before) if before is not None else None
    old = _structure(before_tree, queries).functions if before_tree is not None else []
    after_tree = None
    if after_lines is not None:
        if before_tree is None or before_lines is None:
            after_tree = parser.parse(after_lines.source)
        else:
            after_tree = _parse_after(parser, before_tree, before_lines, after_lines, edits)
    new_structure = _structure(after_tree, queries) if after_tree is not None else None
    new = new_structure.functions if new_structure is not None else []

    pairs = [
        (was, now)
        for was, now in _pairs(old, new, _LineMap(edits) if edits is not None else None)
        if (now is not None and _overlaps(new[now], added))
        or (was is not None and _overlaps(old[was], deleted))
    ]
    old_cc = (
        _complexities(before_tree, queries, old, {was for was, _ in pairs if was is not None})
        if before_tree is not None
        else {}
    )
    new_cc = (
        _complexities(after_tree, queries, new, {now for _, now in pairs if now is not None})
        if after_tree is not None
        else {}
    )
    changed = []
    for was, now in pairs:
        shown = new[now] if now is not None else old[was or 0]
        changed.append(
            FunctionChange(
                shown.name,
                shown.node.start_point.row + 1,
                old_cc[was] if was is not None else None,
                new_cc[now] if now is not None else None,
            )
        )
    comments, blanks = (
        _comment_and_blank_lines(new_structure.comments, after_lines, added)
        if new_structure is not None and after_lines is not None
        else (0, 0)
    )
    return FileCodeMetrics(tuple(changed), comments, blanks)
