"""Facts about each added line of code of one changed file, for ranking lines by risk.

Per added line that holds code (not blank, not only a comment): the function around it
(the innermost, qualified as in the package docstring) with its cyclomatic complexity
after and before the change, the line's nesting depth (as ``max_nesting_added`` counts
it), and what starts on the line: decision points, calls, returns and raises, exception
handlers. Also how many code tokens it has and how many of its words the file did not
have before (a new name is new behaviour; JITLine's insight at the scale of one line).

No text leaves this module except the function's name, which the bot shows anyway.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from teamlens.features.code_metrics.complexity import _complexities, _is_decision
from teamlens.features.code_metrics.file_metrics import _parse_versions, _Versions
from teamlens.features.code_metrics.grammar import _NESTING_TYPES
from teamlens.features.code_metrics.structure import _is_else_if, _Side

_TOKEN = re.compile(rb"[^\W\d]\w*|\d[\w.]*|\S")
_WORD = re.compile(rb"[^\W\d]\w*")


@dataclass(frozen=True)
class AddedLine:
    """One added line of code and its surroundings in the after version of its file."""

    line: int  # 1-based, after the change
    function: str | None  # qualified name of the innermost function; None: outside any
    function_start: int | None  # the function's first line (decorators included)
    complexity: int | None  # the function's cyclomatic complexity after the change
    complexity_before: int | None  # before; None for a new function or outside any
    nesting: int  # enclosing statements (if, loops, try, with, switch ...), else-if flat
    decisions: int  # decision points starting on the line (package docstring)
    calls: int
    exits: int  # returns and raises/throws
    handlers: int  # except/catch clauses
    tokens: int  # code tokens on the line (words, numbers, operators, punctuation)
    new_words: int  # words (identifiers, keywords) the file did not have before


def added_line_facts(
    path: str,
    before: bytes | None,
    after: bytes | None,
    deleted_lines: Sequence[int],
    added_lines: Sequence[int],
    parse_before: bool = True,
) -> list[AddedLine] | None:
    """Facts of every added line of code of one file, in line order; None for a language
    tree-sitter does not cover here.

    Arguments as :func:`~teamlens.features.code_metrics.file_code_metrics`. Without
    `parse_before` only the after version is parsed (half the work) and every
    ``complexity_before`` is None: for a caller that has the functions' complexity
    before from elsewhere (the review has it from the change's code metrics).
    """
    if parse_before:
        versions = _parse_versions(path, before, after, deleted_lines, added_lines)
    else:
        versions = _parse_versions(path, None, after, (), added_lines)
    if versions is None:
        return None
    return _facts(versions, before)


def _facts(versions: _Versions, before: bytes | None) -> list[AddedLine]:
    after = versions.after_lines
    tree = versions.after_tree
    if after is None or tree is None or versions.new is None or not versions.added:
        return []
    side = _Side(tree, after, versions.added, versions.new, versions.queries)
    code = side.code_lines()
    if not code:
        return []
    new = versions.new.functions
    old = versions.old.functions if versions.old is not None else []
    # The innermost function of each line: functions come enclosing before enclosed.
    inner: dict[int, int] = {}
    for number in code:
        for position, candidate in enumerate(new):
            if candidate.first_line <= number <= candidate.last_line:
                inner[number] = position
    wanted = set(inner.values())
    after_cc = _complexities(tree, versions.queries, new, wanted) if wanted else {}
    partner = {now: was for was, now in versions.pairs if now is not None and was is not None}
    old_wanted = {partner[i] for i in wanted if i in partner}
    before_cc = (
        _complexities(versions.before_tree, versions.queries, old, old_wanted)
        if versions.before_tree is not None and old_wanted
        else {}
    )
    per_row: dict[str, Counter[int]] = {}
    for name, nodes in side.facts().items():
        kept = [n for n in nodes if name != "decision" or _is_decision(n)]
        per_row[name] = Counter(n.start_point.row for n in kept)
    known = set(_WORD.findall(before)) if before is not None else set()
    found = []
    for number in code:
        text = after.lines[number - 1]
        index = inner.get(number)
        function = new[index] if index is not None else None
        was = partner.get(index) if index is not None else None
        row = number - 1
        found.append(
            AddedLine(
                line=number,
                function=function.name if function is not None else None,
                function_start=function.first_line if function is not None else None,
                complexity=after_cc.get(index) if index is not None else None,
                complexity_before=before_cc.get(was) if was is not None else None,
                nesting=_nesting(versions, number),
                decisions=per_row.get("decision", Counter())[row],
                calls=per_row.get("call", Counter())[row],
                exits=per_row.get("return", Counter())[row] + per_row.get("raise", Counter())[row],
                handlers=per_row.get("handler", Counter())[row],
                tokens=len(_TOKEN.findall(text)),
                new_words=len({w for w in _WORD.findall(text) if w not in known}),
            )
        )
    return found


def _nesting(versions: _Versions, number: int) -> int:
    """Statements around the line's first code byte that began on an earlier line."""
    after, tree = versions.after_lines, versions.after_tree
    if after is None or tree is None:
        return 0
    line = after.lines[number - 1]
    byte = after.starts[number - 1] + len(line) - len(line.lstrip())
    node = tree.root_node.descendant_for_byte_range(byte, byte)
    row = number - 1
    depth = 0
    while node is not None:
        if node.type in _NESTING_TYPES and node.start_point.row < row and not _is_else_if(node):
            depth += 1
        node = node.parent
    return depth
