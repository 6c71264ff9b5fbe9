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

Structure of added and removed code
-----------------------------------
:func:`file_code_structure` counts what the added lines bring and the deleted lines take
away (decision points, functions, nesting, calls, returns, raises, handlers, literals,
lines of new and deleted files); :func:`change_code_structure` sums a change's files
into features with stable names (:data:`STRUCTURE_FEATURES`). The ``structure`` module
docstring defines each one. :func:`file_code_analysis` gives the metrics and the
structure of a file from one parse.

The modules: ``grammar`` (node types and per-language queries), ``naming`` (finding
and naming functions), ``complexity``, ``line_edits`` (the diff as line ranges, incremental
parsing, comment lines), ``file_metrics`` (:func:`file_code_metrics`), ``structure``
(:func:`file_code_structure`) and ``analysis`` (:func:`file_code_analysis`).
"""

from teamlens.features.code_metrics.analysis import FileCodeAnalysis, file_code_analysis
from teamlens.features.code_metrics.complexity import cyclomatic_complexity
from teamlens.features.code_metrics.file_metrics import (
    FileCodeMetrics,
    FunctionChange,
    file_code_metrics,
)
from teamlens.features.code_metrics.structure import (
    STRUCTURE_FEATURES,
    FileCodeStructure,
    change_code_structure,
    file_code_structure,
)

__all__ = [
    "STRUCTURE_FEATURES",
    "FileCodeAnalysis",
    "FileCodeMetrics",
    "FileCodeStructure",
    "FunctionChange",
    "change_code_structure",
    "cyclomatic_complexity",
    "file_code_analysis",
    "file_code_metrics",
    "file_code_structure",
]
