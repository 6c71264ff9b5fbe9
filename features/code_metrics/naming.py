"""Finding and naming functions: every function with a body, its qualified name and its
lines (decorators included), and every comment, in one query pass over a tree."""

from __future__ import annotations

from dataclasses import dataclass

import tree_sitter as ts

from teamlens.features.code_metrics.grammar import _DECORATOR_PARENTS, _Queries


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
