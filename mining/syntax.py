"""Code structure with tree-sitter (offline grammar wheels): comments, blank lines, tokens.

Used by the SZZ labeller to tell comment-only and whitespace-only lines and cosmetic
commits from real code changes, and by the code metrics (features). Supported: Python,
Java, JavaScript, TypeScript (and TSX) and Go; other files get ``None`` answers and the
callers fall back to treating every non-blank line as code.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import tree_sitter as ts

_COMMENT_TYPES = frozenset({"comment", "line_comment", "block_comment"})


def _grammars() -> dict[str, Callable[[], object]]:
    import tree_sitter_go
    import tree_sitter_java
    import tree_sitter_javascript
    import tree_sitter_python
    import tree_sitter_typescript

    return {
        ".py": tree_sitter_python.language,
        ".pyi": tree_sitter_python.language,
        ".java": tree_sitter_java.language,
        ".js": tree_sitter_javascript.language,
        ".mjs": tree_sitter_javascript.language,
        ".cjs": tree_sitter_javascript.language,
        ".jsx": tree_sitter_javascript.language,
        ".ts": tree_sitter_typescript.language_typescript,
        ".mts": tree_sitter_typescript.language_typescript,
        ".cts": tree_sitter_typescript.language_typescript,
        ".tsx": tree_sitter_typescript.language_tsx,
        ".go": tree_sitter_go.language,
    }


@functools.cache
def _parser(suffix: str) -> ts.Parser | None:
    make = _grammars().get(suffix)
    return ts.Parser(ts.Language(make())) if make is not None else None


def parser_for(path: str) -> ts.Parser | None:
    """A parser for the file's language, or None when tree-sitter does not cover it."""
    name = path.rpartition("/")[2]
    stem, dot, suffix = name.rpartition(".")
    if not dot or not stem:
        return None
    return _parser("." + suffix.lower())


@dataclass(frozen=True)
class Token:
    """A leaf of the syntax tree that is not a comment, with its depth (structure)."""

    depth: int
    kind: str
    text: bytes


def _walk(tree: ts.Tree) -> tuple[list[tuple[int, int]], list[Token]]:
    """Byte ranges of comments, and the code tokens, in one pass."""
    comments: list[tuple[int, int]] = []
    tokens: list[Token] = []
    stack: list[tuple[ts.Node, int]] = [(tree.root_node, 0)]
    while stack:
        node, depth = stack.pop()
        if node.type in _COMMENT_TYPES:
            comments.append((node.start_byte, node.end_byte))
            continue
        if node.child_count == 0:
            tokens.append(Token(depth, node.type, node.text or b""))
            continue
        stack.extend((child, depth + 1) for child in reversed(node.children))
    return comments, tokens


def comment_or_blank_lines(source: bytes, path: str) -> set[int] | None:
    """1-based numbers of the lines that hold only whitespace and comments, or None.

    A line is code when any code token (a syntax-tree leaf that is not a comment,
    multi-line strings included) lies on it; every other line is comment or blank.
    """
    parser = parser_for(path)
    if parser is None:
        return None
    tree = parser.parse(source)
    code_rows: set[int] = set()
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.type in _COMMENT_TYPES:
            continue
        if node.child_count == 0:
            if node.end_byte > node.start_byte:
                code_rows.update(range(node.start_point[0], node.end_point[0] + 1))
            continue
        stack.extend(node.children)
    n_lines = source.count(b"\n") + 1
    return {row + 1 for row in range(n_lines) if row not in code_rows}


def code_tokens(source: bytes, path: str) -> list[Token] | None:
    """The file's code as tokens without comments or layout, or None when unsupported.

    Two versions of a file with equal tokens differ only in comments and whitespace
    (a change of indentation that moves code between blocks changes the depths).
    """
    parser = parser_for(path)
    if parser is None:
        return None
    return _walk(parser.parse(source))[1]
