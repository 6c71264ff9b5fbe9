"""Structure of added and removed code: hand-counted files in every supported language.

Each language has one file whose facts are counted by hand in the comment above it; it
is then added whole, deleted whole, edited inside a function and rearranged (moved
code), and the per-change features sum what the files say.
"""

from __future__ import annotations

import dataclasses
from textwrap import dedent

import pytest

import teamlens.features.code_metrics.structure as structure_module
from teamlens.features.code_metrics import (
    STRUCTURE_FEATURES,
    FileCodeStructure,
    change_code_structure,
    file_code_analysis,
    file_code_metrics,
    file_code_structure,
)
from teamlens.features.code_metrics.structure import _is_magic
from tests.features.test_code_metrics import all_lines, diff_lines


def source(text: str) -> bytes:
    return dedent(text).lstrip("\n").encode()


def counts(result: FileCodeStructure | None) -> dict[str, object]:
    assert result is not None
    return dataclasses.asdict(result)


# --- One hand-counted file per language ---------------------------------------------------

# 16 lines, 14 of code (2 blank); decisions: for, if, elif, `and`, except = 5; `price`;
# deepest: the `try` body and the `raise` sit in try < if < for = 3 (elif is no level);
# calls: RuntimeError(...) = 1; literals 0, 0.9, "bad", 42 (docstrings are not) = 4;
# magic numbers 0.9, 42 = 2.
PYTHON = source('''
    """Prices."""
    import os


    def price(items, member):
        """Sum the prices."""
        total = 0  # running
        for item in items:
            if item.free:
                continue
            elif item.discount and member:
                try:
                    total += item.price * 0.9
                except ValueError:
                    raise RuntimeError("bad")
        return total + 42
''')

# 23 lines, 19 of code (2 blank, the Javadoc and a comment); decisions: for, if,
# else-if, &&, catch = 5; `price`; deepest: the `try` body, the catch's `}` and the
# `throw` in try < if < for = 3 (an else-if is no level); calls: free(), discount(),
# price(), new RuntimeException = 4; literals 0, 90, 100, "bad", 1 = 5; magic 90, 100.
JAVA = source("""
    package shop;

    import java.util.List;

    /** Prices. */
    public class Shop {
        // the member discount
        static int price(List<Item> items, boolean member) {
            int total = 0;
            for (Item item : items) {
                if (item.free()) {
                    continue;
                } else if (item.discount() && member) {
                    try {
                        total += item.price() * 90 / 100;
                    } catch (IllegalStateException e) {
                        throw new RuntimeException("bad", e);
                    }
                }
            }
            return total + 1;
        }
    }
""")

# 19 lines, 17 of code; decisions: for-of, if, else-if, &&, catch = 5; `price`; deepest
# 3 (try < if < for); calls: log(...), new Error = 2; literals 0, 0.9, the template,
# "bad" = 4 (the import path is not one); magic 0.9.
JAVASCRIPT = source("""
    import { log } from "./log.js";

    // prices
    export function price(items, member) {
      let total = 0;
      for (const item of items) {
        if (item.free) {
          continue;
        } else if (item.discount && member) {
          try {
            total += item.price * 0.9;
          } catch (err) {
            log(`bad ${err}`);
            throw new Error("bad");
          }
        }
      }
      return total;
    }
""")

# 18 lines, 17 of code; decisions: two ternaries, `case 0`, `case 10` = 4 (the optional
# parameter's `?` is none); functions `Shop.price` and its arrow callback = 2; deepest:
# the returns inside `switch` = 1; calls: forEach = 1; returns 3; literals 0, 0, 0, 1
# (of -1), 10, 0.5, 3 = 7; magic 10, 0.5, 3.
TYPESCRIPT = source("""
    interface Item { free: boolean; price: number }

    export class Shop {
      price(items: Item[], member?: boolean): number {
        let total = 0;
        items.forEach((item) => {
          total += item.free ? 0 : item.price;
        });
        switch (items.length) {
          case 0:
            return -1;
          case 10:
            return total * 0.5;
          default:
            return member ? total - 3 : total;
        }
      }
    }
""")

# 20 lines, 17 of code (2 blank, a comment); decisions: for, if, else-if, &&, `case` = 5;
# `Price`; deepest: the `+=` in if < for = 2; calls: errors.New = 1; returns 2;
# literals 0, 9, 10, 0, 0, "negative" = 6 (the import path is not one); magic 9, 10.
GO = source("""
    package shop

    import "errors"

    // Price sums the items.
    func Price(items []Item, member bool) (int, error) {
    \ttotal := 0
    \tfor _, item := range items {
    \t\tif item.Free {
    \t\t\tcontinue
    \t\t} else if item.Discount && member {
    \t\t\ttotal += item.Cost * 9 / 10
    \t\t}
    \t}
    \tswitch {
    \tcase total < 0:
    \t\treturn 0, errors.New("negative")
    \t}
    \treturn total, nil
    }
""")

SAMPLES = {
    "shop.py": (
        PYTHON,
        {"lines": 16, "code": 14, "decisions": 5, "functions": 1, "nesting": 3, "calls": 1}
        | {"returns": 1, "raises": 1, "handlers": 1, "literals": 4, "magic": 2},
    ),
    "Shop.java": (
        JAVA,
        {"lines": 23, "code": 19, "decisions": 5, "functions": 1, "nesting": 3, "calls": 4}
        | {"returns": 1, "raises": 1, "handlers": 1, "literals": 5, "magic": 2},
    ),
    "shop.js": (
        JAVASCRIPT,
        {"lines": 19, "code": 17, "decisions": 5, "functions": 1, "nesting": 3, "calls": 2}
        | {"returns": 1, "raises": 1, "handlers": 1, "literals": 4, "magic": 1},
    ),
    "shop.ts": (
        TYPESCRIPT,
        {"lines": 18, "code": 17, "decisions": 4, "functions": 2, "nesting": 1, "calls": 1}
        | {"returns": 3, "raises": 0, "handlers": 0, "literals": 7, "magic": 3},
    ),
    "shop.go": (
        GO,
        {"lines": 20, "code": 17, "decisions": 5, "functions": 1, "nesting": 2, "calls": 1}
        | {"returns": 2, "raises": 0, "handlers": 0, "literals": 6, "magic": 2},
    ),
}


@pytest.mark.parametrize("path", SAMPLES)
def test_new_file_counts_all_its_code(path: str) -> None:
    text, want = SAMPLES[path]
    assert counts(file_code_structure(path, None, text, [], all_lines(text))) == {
        "new_file_lines": want["lines"],
        "deleted_file_lines": 0,
        "code_lines_added": want["code"],
        "code_lines_removed": 0,
        "decisions_added": want["decisions"],
        "decisions_removed": 0,
        "functions_added": want["functions"],
        "functions_removed": 0,
        "max_nesting_added": want["nesting"],
        "calls_added": want["calls"],
        "returns_added": want["returns"],
        "raises_added": want["raises"],
        "handlers_added": want["handlers"],
        "literals_added": want["literals"],
        "magic_numbers_added": want["magic"],
        "is_new": True,
        "is_deleted": False,
    }


@pytest.mark.parametrize("path", SAMPLES)
def test_deleted_file_counts_all_its_code_as_removed(path: str) -> None:
    text, want = SAMPLES[path]
    removed = counts(file_code_structure(path, text, None, all_lines(text), []))
    assert removed == {name: 0 for name in removed if name not in ("is_new", "is_deleted")} | {
        "deleted_file_lines": want["lines"],
        "code_lines_removed": want["code"],
        "decisions_removed": want["decisions"],
        "functions_removed": want["functions"],
        "is_new": False,
        "is_deleted": True,
    }


# --- An edited function per language: a guard with a call and an early exit ---------------

EDITS = {
    # + `if not items or len(items) > 100:` (if, `or`: 2; a call; magic 100) and
    # + `raise ValueError("too many")` (a raise, a call, a string), nested 1 in the if.
    "shop.py": (
        "def price(items, member):\n",
        "def price(items, member):\n"
        "    if not items or len(items) > 100:\n"
        '        raise ValueError("too many")\n',
        {"decisions": 2, "calls": 2, "raises": 1, "returns": 0, "literals": 2, "magic": 1},
    ),
    # + `if (items.size() > 100) {` + `return -1;` + `}`: 1 decision, 1 call, a return,
    # literals 100 and 1 (magic: 100); the return nested 1 deeper than the method body.
    "Shop.java": (
        "        int total = 0;\n",
        "        if (items.size() > 100) {\n"
        "            return -1;\n"
        "        }\n"
        "        int total = 0;\n",
        {"decisions": 1, "calls": 1, "raises": 0, "returns": 1, "literals": 2, "magic": 1},
    ),
    # + `if (!items || items.length > 100) throw new Error("too many");` on one line:
    # if and || (2), new Error (1 call), throw, literals 100 and the string; nesting 0.
    "shop.js": (
        "  let total = 0;\n",
        '  if (!items || items.length > 100) throw new Error("too many");\n  let total = 0;\n',
        {"decisions": 2, "calls": 1, "raises": 1, "returns": 0, "literals": 2, "magic": 1},
    ),
    # + `if (items.length === 0) {` + `return 0;` + `}`: 1 decision, returns 1, two 0s.
    "shop.ts": (
        "    let total = 0;\n",
        "    if (items.length === 0) {\n      return 0;\n    }\n    let total = 0;\n",
        {"decisions": 1, "calls": 0, "raises": 0, "returns": 1, "literals": 2, "magic": 0},
    ),
    # + `if len(items) > 100 {` + `return 0, errors.New("too many")` + `}`: 1 decision,
    # calls len and errors.New, a return, literals 100, 0, the string (magic: 100).
    "shop.go": (
        "\ttotal := 0\n",
        '\tif len(items) > 100 {\n\t\treturn 0, errors.New("too many")\n\t}\n\ttotal := 0\n',
        {"decisions": 1, "calls": 2, "raises": 0, "returns": 1, "literals": 3, "magic": 1},
    ),
}


@pytest.mark.parametrize("path", EDITS)
def test_edited_function(path: str) -> None:
    before = SAMPLES[path][0]
    old, new, want = EDITS[path]
    assert before.count(old.encode()) == 1
    after = before.replace(old.encode(), new.encode())
    deleted, added = diff_lines(before, after)
    result = counts(file_code_structure(path, before, after, deleted, added))
    assert result == {
        "new_file_lines": 0,
        "deleted_file_lines": 0,
        "code_lines_added": len(added),
        "code_lines_removed": len(deleted),
        "decisions_added": want["decisions"],
        "decisions_removed": 0,
        "functions_added": 0,
        "functions_removed": 0,
        "max_nesting_added": 1 if len(added) > 1 else 0,
        "calls_added": want["calls"],
        "returns_added": want["returns"],
        "raises_added": want["raises"],
        "handlers_added": 0,
        "literals_added": want["literals"],
        "magic_numbers_added": want["magic"],
        "is_new": False,
        "is_deleted": False,
    }


# --- Moved code: two functions swap places ------------------------------------------------

MOVES = {
    "m.py": (
        "def a(x):\n    return x\n\n\n",
        "def b(y):\n    if y and y > 3:\n        return f(y)\n    return 2\n",
    ),
    "M.java": (
        "class M {\n",
        "    int a(int x) {\n        return x;\n    }\n\n",
        "    int b(int y) {\n        if (y > 3 && y < 9) {\n            return f(y);\n"
        "        }\n        return 2;\n    }\n",
        "}\n",
    ),
    "m.js": (
        "function a(x) {\n  return x;\n}\n\n",
        "function b(y) {\n  if (y && y > 3) {\n    return f(y);\n  }\n  return 2;\n}\n",
    ),
    "m.ts": (
        "function a(x: number): number {\n  return x;\n}\n\n",
        "function b(y: number): number {\n  if (y && y > 3) {\n    return f(y);\n  }\n"
        "  return 2;\n}\n",
    ),
    "m.go": (
        "package m\n\n",
        "func a(x int) int {\n\treturn x\n}\n\n",
        "func b(y int) int {\n\tif y > 3 && y < 9 {\n\t\treturn f(y)\n\t}\n\treturn 2\n}\n",
        "",
    ),
}


@pytest.mark.parametrize("path", MOVES)
def test_moved_function_is_removed_and_added_but_not_new(path: str) -> None:
    # `b` (the longer) moves above `a`: the diff keeps `b` and moves `a` below it, so
    # what is added and removed is `a`'s code (one return, no decisions); neither
    # function is new or gone.
    parts = MOVES[path]
    head, a, b, tail = parts if len(parts) == 4 else ("", *parts, "")
    b_last = b if b.endswith("\n\n") else b + "\n"
    before = (head + a + b + tail).encode()
    after = (head + b_last + a.rstrip("\n") + "\n" + tail).encode()
    deleted, added = diff_lines(before, after)
    moved = counts(file_code_structure(path, before, after, deleted, added))
    assert moved["functions_added"] == moved["functions_removed"] == 0
    assert moved["decisions_added"] == moved["decisions_removed"] == 0
    assert moved["returns_added"] == 1
    code_lines = 2 if path.endswith(".py") else 3  # `a` and its closing brace
    assert moved["code_lines_added"] == moved["code_lines_removed"] == code_lines
    assert moved["calls_added"] == 0
    # Moved back, neither function is new or gone either.
    back = counts(file_code_structure(path, after, before, added, deleted))
    assert back["functions_added"] == back["functions_removed"] == 0
    assert back["decisions_added"] == back["decisions_removed"] == 0


def test_moved_with_a_longer_function_moves_its_decisions() -> None:
    a = "def a(x):\n    x += 1\n    x *= x\n    return x\n\n\n"
    b = "def b(y):\n    if y and y > 3:\n        return f(y)\n    return 2\n\n\n"
    c = "def c(z):\n    z += 1\n    z *= z\n    return z\n"
    before, after = (a + b + c).encode(), (b + a + c).encode()
    deleted, added = diff_lines(before, after)
    moved = counts(file_code_structure("m.py", before, after, deleted, added))
    # The diff keeps `a` and `c` (longer together) and moves `b`: its if and
    # `and` (2 decisions), f(y) (a call) and two returns are removed and added again.
    assert (moved["decisions_added"], moved["decisions_removed"]) == (2, 2)
    assert (moved["functions_added"], moved["functions_removed"]) == (0, 0)
    assert (moved["calls_added"], moved["returns_added"]) == (1, 2)
    assert (moved["code_lines_added"], moved["code_lines_removed"]) == (4, 4)
    assert moved["max_nesting_added"] == 1


# --- Rules in detail ---------------------------------------------------------------------


def test_renamed_function_is_added_and_removed_but_renamed_class_adds_none() -> None:
    before = source("""
        class Cart:
            def total(self):
                return 1
    """)
    method = before.replace(b"def total", b"def amount")
    result = counts(file_code_structure("c.py", before, method, [2], [2]))
    assert (result["functions_added"], result["functions_removed"]) == (1, 1)
    klass = before.replace(b"class Cart", b"class Basket")
    result = counts(file_code_structure("c.py", before, klass, [1], [1]))
    assert (result["functions_added"], result["functions_removed"]) == (0, 0)


def test_else_if_chains_are_one_level_and_comment_lines_have_no_depth() -> None:
    text = source("""
        function grade(s) {
          if (s > 90) {
            return "a";
          } else if (s > 80) {
            return "b";
          } else if (s > 70) {
            if (s % 2) {
              // deep comment, ignored
              return "c";
            }
          }
        }
    """)
    result = counts(file_code_structure("g.js", None, text, [], all_lines(text)))
    # `return "c"` sits in the inner `if` and the chain's first `if`: 2 levels.
    assert result["max_nesting_added"] == 2
    assert result["decisions_added"] == 4
    assert result["code_lines_added"] == 11


def test_node_starting_on_an_unchanged_line_is_not_added() -> None:
    before = source("""
        def f(x):
            return g(
                x,
            )
    """)
    after = before.replace(b"        x,", b"        x, 7 if x else 0,")
    result = counts(file_code_structure("f.py", before, after, [3], [3]))
    # g(...) and the return start on line 2: not added; the conditional and 7, 0 are.
    assert (result["calls_added"], result["returns_added"]) == (0, 0)
    assert (result["decisions_added"], result["literals_added"]) == (1, 2)
    assert result["magic_numbers_added"] == 1


def test_unsupported_language_and_pure_rename() -> None:
    assert file_code_structure("notes.md", None, b"# x\n", [], [1]) is None
    same = counts(file_code_structure("a.py", PYTHON, PYTHON, [], []))
    assert all(value == 0 or value is False for value in same.values())


@pytest.mark.parametrize(
    ("literal", "magic"),
    [
        (b"0", False),
        (b"1", False),
        (b"2", False),
        (b"2.0f", False),  # Java float suffix
        (b"1L", False),
        (b"0x2", False),
        (b"0b10", False),
        (b"2n", False),  # JavaScript BigInt
        (b"00", False),
        (b"3", True),
        (b"0x1F", True),
        (b"1_000", True),
        (b"1e3", True),
        (b"0.5", True),
        (b"0o17", True),
        (b"0x1p-2", True),  # unreadable here: counted
    ],
)
def test_magic_numbers(literal: bytes, magic: bool) -> None:
    assert _is_magic(literal) is magic


# --- Per change ------------------------------------------------------------------------------


def test_change_features_sum_files_and_take_the_deepest_nesting() -> None:
    new = file_code_structure("shop.py", None, PYTHON, [], all_lines(PYTHON))
    gone = file_code_structure("shop.go", GO, None, all_lines(GO), [])
    edit_old, edit_new, _ = EDITS["shop.ts"]
    after = TYPESCRIPT.replace(edit_old.encode(), edit_new.encode())
    edited = file_code_structure("shop.ts", TYPESCRIPT, after, *diff_lines(TYPESCRIPT, after))
    assert new is not None and gone is not None and edited is not None
    features = change_code_structure([new, gone, edited])
    assert list(features) == list(STRUCTURE_FEATURES)
    assert all(isinstance(value, float) for value in features.values())
    assert features["new_source_files"] == 1 and features["new_source_lines"] == 16
    assert features["deleted_source_files"] == 1 and features["deleted_source_lines"] == 20
    assert features["decisions_added"] == 5 + 1  # the new Python file, the TypeScript guard
    assert features["decisions_removed"] == 5  # the Go file
    assert features["functions_added"] == 1 and features["functions_removed"] == 1
    assert features["code_lines_added"] == 14 + 3 and features["code_lines_removed"] == 17
    assert features["max_nesting_added"] == 3  # the Python file's deepest line
    assert features["returns_added"] == 1 + 1
    assert features["magic_numbers_added"] == 2


def test_no_files_gives_zeros() -> None:
    assert change_code_structure([]) == dict.fromkeys(STRUCTURE_FEATURES, 0.0)


def test_every_feature_is_defined_in_the_module_docstring() -> None:
    doc = structure_module.__doc__ or ""
    for name in STRUCTURE_FEATURES:
        assert f"``{name}``" in doc, name


@pytest.mark.parametrize("path", SAMPLES)
def test_one_parse_gives_what_the_two_functions_give(path: str) -> None:
    before = SAMPLES[path][0]
    old, new, _ = EDITS[path]
    after = before.replace(old.encode(), new.encode())
    lines = diff_lines(before, after)
    both = file_code_analysis(path, before, after, *lines)
    assert both is not None
    assert both.metrics == file_code_metrics(path, before, after, *lines)
    assert both.structure == file_code_structure(path, before, after, *lines)
    assert file_code_analysis("a.txt", b"", b"x\n", [], [1]) is None


def test_crlf_lines_broken_code_and_stray_line_numbers() -> None:
    crlf = PYTHON.replace(b"\n", b"\r\n")
    assert file_code_structure("shop.py", None, crlf, [], all_lines(crlf)) == (
        file_code_structure("shop.py", None, PYTHON, [], all_lines(PYTHON))
    )
    # Line numbers outside the file are ignored, as file_code_metrics ignores them.
    stray = counts(file_code_structure("shop.py", None, PYTHON, [], [*all_lines(PYTHON), 99]))
    assert stray["code_lines_added"] == 14
    # Broken code still counts what tree-sitter recovered: the intact function.
    broken = b"def f(x):\n    if x > 5:\n        return g(x)\n\n\ndef h(:\n"
    result = counts(file_code_structure("f.py", None, broken, [], all_lines(broken)))
    found = [result[name] for name in ("decisions_added", "calls_added", "returns_added")]
    assert found == [1, 1, 1]
    assert result["code_lines_added"] == 4
