"""Synthetic source code for the demo company: modules of functions in Python, Go and
JavaScript that tree-sitter parses, with statements a later fix can change.

A module is a list of functions; a function is a list of statement blocks; a block is a
list of :class:`Line`. Lines are edited in place as the history goes on, and a line can
carry the id of the bug it holds: the fix commit rewrites exactly that line, so SZZ's
``git blame`` finds the commit that wrote it.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from enum import StrEnum


class Language(StrEnum):
    PYTHON = "python"
    GO = "go"
    JAVASCRIPT = "javascript"


EXTENSIONS = {Language.PYTHON: ".py", Language.GO: ".go", Language.JAVASCRIPT: ".js"}

VERBS = (
    "compute",
    "check",
    "merge",
    "apply",
    "build",
    "load",
    "split",
    "rank",
    "limit",
    "round",
    "resolve",
    "estimate",
)


@dataclass(eq=False)  # compared by identity: two lines may read the same
class Line:
    """One source line; ``bug`` is the id of the defect it holds, if any (mutable)."""

    text: str
    bug: int | None = None


@dataclass
class Function:
    name: str  # snake_case; rendered per language
    params: tuple[str, str]
    blocks: list[list[Line]]
    locals_made: int = 0

    def lines(self) -> list[Line]:
        return [line for block in self.blocks for line in block]


@dataclass
class Module:
    path: str
    language: Language
    title: str
    functions: list[Function] = field(default_factory=list)
    tests_for: str | None = None  # a test module: the source module it tests

    def render(self) -> str:
        return render_module(self)

    def functions_lines(self) -> list[Line]:
        return [line for function in self.functions for line in function.lines()]


def camel(name: str, upper: bool) -> str:
    head, *rest = name.split("_")
    joined = (head.capitalize() if upper else head) + "".join(p.capitalize() for p in rest)
    return joined


def function_name(language: Language, name: str) -> str:
    if language is Language.GO:
        return camel(name, upper=True)
    if language is Language.JAVASCRIPT:
        return camel(name, upper=False)
    return name


class Writer:
    """Writes statements of one language with a seeded random source."""

    def __init__(self, language: Language, rng: random.Random, nouns: tuple[str, ...]) -> None:
        self.language = language
        self.rng = rng
        self.nouns = nouns

    # -- pieces ---------------------------------------------------------------------
    def _indent(self, depth: int) -> str:
        return "\t" * depth if self.language is Language.GO else "    " * depth

    def _var(self, function: Function) -> str:
        function.locals_made += 1
        noun = self.rng.choice(self.nouns)
        return (
            f"{noun}_{function.locals_made}"
            if self.language is Language.PYTHON
            else (camel(f"{noun}_{function.locals_made}", upper=False))
        )

    def _param(self, function: Function) -> str:
        p = self.rng.choice(function.params)
        return p if self.language is Language.PYTHON else camel(p, upper=False)

    def _assign(self, target: str, expr: str, depth: int) -> Line:
        ind = self._indent(depth)
        if self.language is Language.GO:
            return Line(f"{ind}{target} := {expr}")
        if self.language is Language.JAVASCRIPT:
            return Line(f"{ind}const {target} = {expr};")
        return Line(f"{ind}{target} = {expr}")

    def _arith(self, function: Function) -> str:
        a, b = self._param(function), self._param(function)
        n = self.rng.randint(2, 97)
        op = self.rng.choice(("*", "+", "-", "//" if self.language is Language.PYTHON else "/"))
        if self.rng.random() < 0.5:
            return f"{a} {op} {n}"
        return f"({a} + {b}) {op} {n}"

    def _condition(self, function: Function) -> str:
        a, b = self._param(function), self._param(function)
        op = self.rng.choice((">", "<", ">=", "<=", "=="))
        if a == b or self.rng.random() < 0.4:
            return f"{a} {op} {self.rng.randint(0, 500)}"
        return f"{a} {op} {b}"

    def _ret(self, expr: str, depth: int) -> Line:
        end = ";" if self.language is Language.JAVASCRIPT else ""
        return Line(f"{self._indent(depth)}return {expr}{end}")

    def _if(self, cond: str, depth: int) -> Line:
        ind = self._indent(depth)
        if self.language is Language.PYTHON:
            return Line(f"{ind}if {cond}:")
        if self.language is Language.GO:
            return Line(f"{ind}if {cond} {{")
        return Line(f"{ind}if ({cond}) {{")

    def _close(self, depth: int) -> list[Line]:
        if self.language is Language.PYTHON:
            return []
        return [Line(f"{self._indent(depth)}}}")]

    # -- statements -----------------------------------------------------------------
    def block(self, function: Function, complexity: int = 1) -> list[Line]:
        """One top-level statement block; higher ``complexity`` nests decisions."""
        kind = self.rng.random()
        if complexity <= 1 and kind < 0.45:
            return [self._assign(self._var(function), self._arith(function), 1)]
        if complexity <= 1 and kind < 0.6:
            name = function_name(
                self.language, f"{self.rng.choice(VERBS)}_{self.rng.choice(self.nouns)}"
            )
            args = f"{self._param(function)}, {self.rng.randint(1, 9)}"
            return [self._assign(self._var(function), f"{name}({args})", 1)]
        lines = [self._if(self._condition(function), 1)]
        depth = 2
        for _ in range(max(0, complexity - 1)):
            lines.append(self._if(self._condition(function), depth))
            depth += 1
        lines.append(self._ret(self._arith(function), depth))
        for level in range(depth - 1, 0, -1):
            lines.extend(self._close(level))
        return lines

    def function(self, name: str, nouns: tuple[str, str], size: int, complexity: int) -> Function:
        function = Function(name, nouns, [])
        for _ in range(size):
            function.blocks.append(self.block(function, self.rng.randint(1, complexity)))
        return function

    def final_return(self, function: Function) -> list[Line]:
        return [self._ret(self._arith(function), 1)]


FIXABLE = re.compile(r"(>=|<=|==|>|<|\b\d+\b)")
_FLIP = {">": ">=", "<": "<=", ">=": ">", "<=": "<", "==": ">="}


def fixable(line: Line) -> bool:
    """A line a bug can sit in (a condition or a computed value), not a brace or header."""
    text = line.text.strip()
    return bool(FIXABLE.search(text)) and not text.startswith(("func ", "def ", "export "))


def fixed_text(text: str, rng: random.Random) -> str:
    """The corrected line: a comparison flipped or a constant changed (never the same)."""
    found = list(FIXABLE.finditer(text))
    match = rng.choice(found)
    token = match.group(0)
    new = _FLIP[token] if token in _FLIP else str(int(token) + rng.randint(1, 7))
    return text[: match.start()] + new + text[match.end() :]


def _signature(module: Module, function: Function) -> str:
    name = function_name(module.language, function.name)
    if module.language is Language.PYTHON:
        return f"def {name}({', '.join(function.params)}):"
    params = [camel(p, upper=False) for p in function.params]
    if module.language is Language.GO:
        return f"func {name}({', '.join(params)} int) int {{"
    return f"export function {name}({', '.join(params)}) {{"


def render_function(module: Module, function: Function) -> list[str]:
    out = [_signature(module, function)]
    if module.language is Language.PYTHON:
        out.append(f'    """{function.name.replace("_", " ").capitalize()}."""')
    out.extend(line.text for line in function.lines())
    if module.language is not Language.PYTHON:
        out.append("}")
    return out


def render_test_function(module: Module, function: Function, expected: int) -> list[str]:
    """A test of `function` (which lives in the module `module` tests)."""
    name = function_name(module.language, function.name)
    if module.language is Language.PYTHON:
        return [f"def test_{function.name}():", f"    assert {name}(2, 3) == {expected}"]
    if module.language is Language.GO:
        return [
            f"func Test{name}(t *testing.T) {{",
            f"\tif got := {name}(2, 3); got != {expected} {{",
            '\t\tt.Fatalf("got %d", got)',
            "\t}",
            "}",
        ]
    return [f"test('{name}', () => {{", f"  expect({name}(2, 3)).toBe({expected});", "});"]


def render_module(module: Module) -> str:
    lang = module.language
    if lang is Language.PYTHON:
        head = [f'"""{module.title}."""', "", "from __future__ import annotations", ""]
        sep = ["", ""]
    elif lang is Language.GO:
        package = module.path.split("/")[-2] if "/" in module.path else "main"
        head = [f"// Package {package}: {module.title.lower()}.", f"package {package}", ""]
        if module.tests_for is not None:
            head += ['import "testing"', ""]
        sep = [""]
    else:
        head = [f"// {module.title}.", "'use strict';", ""]
        sep = [""]
    body: list[str] = []
    for index, function in enumerate(module.functions):
        if index:
            body.extend(sep)
        if module.tests_for is not None:
            body.extend(render_test_function(module, function, function.locals_made * 7 % 100))
        else:
            body.extend(render_function(module, function))
    if lang is Language.PYTHON and module.tests_for is None and not body:
        body = ["VERSION = 1"]
    return "\n".join([*head, *([""] if lang is Language.PYTHON and body else []), *body]) + "\n"
