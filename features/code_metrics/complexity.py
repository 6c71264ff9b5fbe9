"""Cyclomatic complexity (McCabe 1976): 1 + the decision points of a function; see the
package docstring for what counts in each language."""

from __future__ import annotations

import operator

import tree_sitter as ts

from teamlens.features.code_metrics.grammar import (
    _ALWAYS_DECISIONS,
    _DECISION_TYPES,
    _FUNCTION_TYPES,
    _OPERATOR_DECISIONS,
    _Queries,
)
from teamlens.features.code_metrics.naming import _Function


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
