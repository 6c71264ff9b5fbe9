"""The tree-sitter node types that make functions, scopes, comments and decision points
in the five grammars, and the per-language queries that find them."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass

import tree_sitter as ts

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


# What the structure of added and removed code counts besides decision points: capture
# name -> node types (a union over the five grammars, as above).
_FACT_TYPES: dict[str, frozenset[str]] = {
    "call": frozenset(
        {
            "call",  # Python
            "call_expression",  # JavaScript/TypeScript, Go
            "new_expression",  # JavaScript/TypeScript
            "method_invocation",  # Java
            "object_creation_expression",  # Java
        }
    ),
    "return": frozenset({"return_statement"}),
    "raise": frozenset({"raise_statement", "throw_statement"}),
    "handler": frozenset({"except_clause", "catch_clause"}),
    "number": frozenset(
        {
            "integer",  # Python
            "float",
            "number",  # JavaScript/TypeScript
            "decimal_integer_literal",  # Java
            "hex_integer_literal",
            "octal_integer_literal",
            "binary_integer_literal",
            "decimal_floating_point_literal",
            "hex_floating_point_literal",
            "int_literal",  # Go
            "float_literal",
            "imaginary_literal",
        }
    ),
    "string": frozenset(
        {
            "string",  # Python, JavaScript/TypeScript
            "template_string",
            "string_literal",  # Java
            "character_literal",
            "interpreted_string_literal",  # Go
            "raw_string_literal",
            "rune_literal",
        }
    ),
}
# Statements that nest the code inside them (an `else if` is not nested again).
_NESTING_TYPES = frozenset(
    {
        "if_statement",
        "for_statement",
        "enhanced_for_statement",
        "for_in_statement",
        "while_statement",
        "do_statement",
        "try_statement",
        "try_with_resources_statement",
        "with_statement",
        "switch_statement",
        "switch_expression",
        "match_statement",
        "expression_switch_statement",
        "type_switch_statement",
        "select_statement",
    }
)


@dataclass(frozen=True)
class _Queries:
    structure: ts.Query  # functions, scopes and comments
    decisions: ts.Query  # candidate decision points (filtered by _is_decision)
    facts: ts.Query  # decision points and _FACT_TYPES, one capture name each (structure)


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
    facts = [f"[{' '.join(decisions)}] @decision"]
    facts.extend(alternation(types, capture) for capture, types in _FACT_TYPES.items())
    return _Queries(
        structure=ts.Query(language, structure),
        decisions=ts.Query(language, f"[{' '.join(decisions)}] @decision"),
        facts=ts.Query(language, " ".join(facts)),
    )
