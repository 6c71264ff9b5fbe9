"""Code metrics per changed file: hand-counted complexities, function matching, comment lines."""

from __future__ import annotations

import difflib
import random
import time
from textwrap import dedent

import pytest
import tree_sitter as ts

from teamlens.features.code_metrics import (
    FileCodeMetrics,
    FunctionChange,
    complexity,
    cyclomatic_complexity,
    file_code_metrics,
    grammar,
    line_edits,
    naming,
)
from teamlens.mining.syntax import parser_for


def source(text: str) -> bytes:
    return dedent(text).lstrip("\n").encode()


def all_lines(text: bytes) -> list[int]:
    return list(range(1, text.count(b"\n") + 1))


def new_file(path: str, text: bytes) -> dict[str, int | None]:
    """Complexity of every function of a file added whole, by name."""
    metrics = file_code_metrics(path, None, text, [], all_lines(text))
    assert metrics is not None
    return {f.name: f.complexity_after for f in metrics.functions_changed}


def walked(path: str, text: bytes) -> dict[str, int]:
    """The same through the public one-node function (a Python walk, not a query)."""
    parser = parser_for(path)
    assert parser is not None and parser.language is not None
    structure = naming._structure(parser.parse(text), grammar._queries(parser.language))
    return {f.name: cyclomatic_complexity(f.node) for f in structure.functions}


def diff_lines(before: bytes, after: bytes) -> tuple[list[int], list[int]]:
    """Deleted (in before) and added (in after) 1-based line numbers, like `git diff -U0`."""
    # Lines keep their newline: a last line without one differs from the same text with
    # one, as git shows with "\\ No newline at end of file".
    old, new = before.splitlines(keepends=True), after.splitlines(keepends=True)
    deleted: list[int] = []
    added: list[int] = []
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag != "equal":
            deleted.extend(range(i1 + 1, i2 + 1))
            added.extend(range(j1 + 1, j2 + 1))
    return deleted, added


def changed(path: str, before: bytes, after: bytes) -> FileCodeMetrics:
    metrics = file_code_metrics(path, before, after, *diff_lines(before, after))
    assert metrics is not None
    return metrics


# --- One hand-counted function per language ---------------------------------------------

PYTHON = source("""
    class Shop:
        def price(self, items, member, lock):
            total = 0
            for item in items:
                if item.free:
                    continue
                elif item.discount and member:
                    total += item.price * 0.9
                else:
                    total += item.price
            names = [i.name for i in items if i.name]
            key = lambda i: i.a or i.b
            with lock:
                assert total >= 0
            match member:
                case "gold":
                    total -= 1
                case _:
                    pass
            try:
                tax = rate()
            except KeyError:
                tax = 0
            finally:
                pass
            return total if total > 0 else 0
""")
# 1 + for + if + elif + and + comprehension for + comprehension if + lambda's or
#   + case "gold" + except + conditional expression = 11
# (else, with, assert, `case _`, finally and the lambda itself add nothing)

JAVA = source("""
    class Shop {
        int price(int[] items, boolean member) {
            int total = 0;
            for (int item : items) {
                if (item < 0) {
                    continue;
                } else if (item > 100 && member) {
                    total += item / 2;
                }
            }
            switch (total) {
                case 0: return 0;
                case 1: case 2: return 1;
                default: break;
            }
            try { check(total); } catch (IllegalStateException e) { return -1; } finally { }
            Runnable r = () -> { if (member) { log(); } };
            return total > 10 ? total : 10;
        }
    }
""")
# 1 + enhanced for + if + else if + && + case 0 + case 1 + case 2 + catch + lambda's if
#   + ternary = 11 (default and finally add nothing; a lambda is not a function here)

JAVASCRIPT = source("""
    function price(items, member) {
      let total = 0;
      for (const item of items) {
        if (item.free) continue;
        total += item.price ?? 0;
      }
      while (total > 100 && !member) {
        total -= 10;
      }
      do { total--; } while (total > 1000);
      member ||= "none";
      switch (member) { case "gold": total *= 0.9; break; default: break; }
      try { audit(total); } catch (e) { total = 0; }
      return total > 0 ? total : 0;
    }
""")
# 1 + for-of + if + ?? + while + && + do + ||= + case + catch + ternary = 11

TYPESCRIPT = source("""
    type Big<T> = T extends string ? "s" : "n";
    class Cart {
      total(items: Item[], code?: string): number {
        let sum = 0;
        for (let i = 0; i < items.length; i++) {
          sum += items[i].price;
        }
        if (code && code.length > 0) {
          sum *= 0.9;
        } else if (sum > 100 || items.length > 3) {
          sum -= 5;
        }
        const n = code?.length;
        const label = sum > 50 ? "big" : "small";
        return sum;
      }
    }
""")
# 1 + for + if + && + else if + || + ternary = 7
# (optional chaining adds nothing; the conditional type is outside any function)

GO = source("""
    package shop

    func (s *Shop) Price(items []Item, member bool) int {
        total := 0
        for _, item := range items {
            if item.Free {
                continue
            } else if item.Discount && member {
                total += item.Price / 2
            }
        }
        switch {
        case total > 100:
            total -= 10
        case total > 50, total < 0:
            total -= 5
        default:
        }
        var x interface{} = total
        switch x.(type) {
        case int:
        case string:
        }
        select {
        case <-s.done:
            return 0
        default:
        }
        return total
    }
""")
# 1 + range for + if + else if + && + case + case (one clause, two values)
#   + type case int + type case string + communication case = 10

TSX = source("""
    export function Badge({ user }: { user?: User }) {
      if (!user) return null;
      return <span>{user.admin ? <b>admin</b> : user.name}{user.vip && <i>vip</i>}</span>;
    }
""")
# 1 + if + ternary + && = 4

KNOWN = [
    ("shop.py", PYTHON, "Shop.price", 11),
    ("Shop.java", JAVA, "Shop.price", 11),
    ("price.js", JAVASCRIPT, "price", 11),
    ("cart.ts", TYPESCRIPT, "Cart.total", 7),
    ("shop.go", GO, "Shop.Price", 10),
    ("badge.tsx", TSX, "Badge", 4),
]


@pytest.mark.parametrize(("path", "text", "name", "expected"), KNOWN, ids=[k[0] for k in KNOWN])
def test_hand_counted_complexity(path: str, text: bytes, name: str, expected: int) -> None:
    assert new_file(path, text) == {name: expected}
    assert walked(path, text) == {name: expected}


def test_lizard_agrees_where_the_rules_agree() -> None:
    lizard = pytest.importorskip("lizard")
    # lizard also counts Python `finally` and `case _` (11 + 2) and the `?` of the
    # optional TypeScript parameter `user?` (4 + 1); the rest it counts the same.
    expected = {"shop.py": 13, "badge.tsx": 5}
    for path, text, _, ours in KNOWN:
        found = lizard.analyze_file.analyze_source_code(path, text.decode()).function_list
        assert [f.cyclomatic_complexity for f in found] == [expected.get(path, ours)], path


# --- Complexity before and after -----------------------------------------------------

JUMPS = [
    (
        "grade.py",
        'def grade(score):\n    return "pass"\n',
        'def grade(score):\n    if score > 90 or score == 0:\n        return "top"\n'
        '    return "pass"\n',
        [],
        [2, 3],
        FunctionChange("grade", 1, 1, 3),  # if + or
    ),
    (
        "G.java",
        'class G {\n    String grade(int s) {\n        return "pass";\n    }\n}\n',
        "class G {\n    String grade(int s) {\n        if (s > 90 || s == 0) {\n"
        '            return "top";\n        }\n        return "pass";\n    }\n}\n',
        [],
        [3, 4, 5],
        FunctionChange("G.grade", 2, 1, 3),  # if + ||
    ),
    (
        "grade.js",
        'const grade = (s) => {\n  return "pass";\n};\n',
        'const grade = (s) => {\n  if (s > 90 || s === 0) {\n    return "top";\n  }\n'
        '  return "pass";\n};\n',
        [],
        [2, 3, 4],
        FunctionChange("grade", 1, 1, 3),  # if + ||
    ),
    (
        "grade.ts",
        'class G {\n  grade(s: number): string {\n    return "pass";\n  }\n}\n',
        "class G {\n  grade(s: number): string {\n"
        '    return s > 90 ? "top" : s < 10 ? "low" : "pass";\n  }\n}\n',
        [3],
        [3],
        FunctionChange("G.grade", 2, 1, 3),  # two ternaries
    ),
    (
        "grade.go",
        'package g\n\nfunc Grade(s int) string {\n\treturn "pass"\n}\n',
        "package g\n\nfunc Grade(s int) string {\n\tif s > 90 || s == 0 {\n"
        '\t\treturn "top"\n\t}\n\treturn "pass"\n}\n',
        [],
        [4, 5, 6],
        FunctionChange("Grade", 3, 1, 3),  # if + ||
    ),
]


@pytest.mark.parametrize(
    ("path", "before", "after", "deleted", "added", "expected"), JUMPS, ids=[j[0] for j in JUMPS]
)
def test_complexity_jumps(
    path: str,
    before: str,
    after: str,
    deleted: list[int],
    added: list[int],
    expected: FunctionChange,
) -> None:
    assert diff_lines(before.encode(), after.encode()) == (deleted, added)
    metrics = file_code_metrics(path, before.encode(), after.encode(), deleted, added)
    assert metrics == FileCodeMetrics((expected,), 0, 0)


TWO = source("""
    def keep(x):
        return x


    def drop(x):
        if x:
            return 1
        return 0
""")


def test_added_function_has_no_complexity_before() -> None:
    after = TWO + b"\n\ndef fresh(xs):\n    return [x for x in xs if x]\n"
    metrics = file_code_metrics("m.py", TWO, after, [], [9, 10, 11, 12])
    # 1 + comprehension for + comprehension if = 3; `keep` and `drop` are untouched
    assert metrics == FileCodeMetrics((FunctionChange("fresh", 11, None, 3),), 0, 2)


def test_deleted_function_has_no_complexity_after() -> None:
    after = source("""
        def keep(x):
            return x
    """)
    metrics = file_code_metrics("m.py", TWO, after, [3, 4, 5, 6, 7, 8], [])
    assert metrics == FileCodeMetrics((FunctionChange("drop", 5, 2, None),), 0, 0)


def test_added_and_deleted_files() -> None:
    added = file_code_metrics("m.py", None, TWO, [], all_lines(TWO))
    deleted = file_code_metrics("m.py", TWO, None, all_lines(TWO), [])
    assert added == FileCodeMetrics(
        (FunctionChange("keep", 1, None, 1), FunctionChange("drop", 5, None, 2)), 0, 2
    )
    assert deleted == FileCodeMetrics(
        (FunctionChange("keep", 1, 1, None), FunctionChange("drop", 5, 2, None)), 0, 0
    )


def test_renamed_function_is_one_deleted_and_one_new() -> None:
    after = TWO.replace(b"def drop(", b"def discard(")
    assert changed("m.py", TWO, after).functions_changed == (
        FunctionChange("discard", 5, None, 2),
        FunctionChange("drop", 5, 2, None),
    )


def test_duplicate_names_match_by_occurrence() -> None:
    before = source("""
        class P:
            @property
            def v(self):
                return self._v

            @v.setter
            def v(self, value):
                self._v = value
    """)
    after = before.replace(b"= value\n", b"= value if value > 0 else 0\n")
    # the setter is the second `P.v`; its `def` is on line 7 (the decorator on line 6)
    assert changed("p.py", before, after).functions_changed == (FunctionChange("P.v", 7, 1, 2),)


def test_inserted_callback_does_not_shift_the_others() -> None:
    before = source("""
        describe("a", () => {
          it("x", () => { check(1); });
          it("y", () => { if (a) check(2); });
        });
    """)
    after = before.replace(b'  it("x"', b'  it("w", () => { check(0 || 1); });\n  it("x"')
    # the old callbacks keep their unchanged first lines, so only the new one is new
    assert changed("t.js", before, after).functions_changed == (
        FunctionChange("<anonymous>", 1, 1, 1),
        FunctionChange("<anonymous>.<anonymous>", 2, None, 2),
    )


def test_decorator_lines_belong_to_the_function() -> None:
    before = b"def f():\n    return 1\n"
    after = b"@cache\ndef f():\n    return 1\n"
    metrics = file_code_metrics("f.py", before, after, [], [1])
    assert metrics == FileCodeMetrics((FunctionChange("f", 2, 1, 1),), 0, 0)


def test_no_changed_lines_is_empty_not_none() -> None:
    assert file_code_metrics("m.py", TWO, TWO, [], []) == FileCodeMetrics((), 0, 0)


# --- Nested functions ----------------------------------------------------------------


NESTED = source("""
    def outer(xs):
        def inner(x):
            for y in x:
                while y:
                    y -= 1
            return x
        if xs:
            return [inner(x) for x in xs]
        return []
""")


def test_nested_functions_are_counted_separately() -> None:
    # outer: 1 + if + comprehension for = 3; inner: 1 + for + while = 3
    assert new_file("n.py", NESTED) == {"outer": 3, "outer.inner": 3}
    assert walked("n.py", NESTED) == {"outer": 3, "outer.inner": 3}


def test_change_inside_nested_function_touches_both() -> None:
    after = NESTED.replace(b"y -= 1", b"y -= 1 if y > 0 else 2")
    assert changed("n.py", NESTED, after).functions_changed == (
        FunctionChange("outer", 1, 3, 3),
        FunctionChange("outer.inner", 2, 3, 4),
    )


@pytest.mark.parametrize(
    ("path", "text", "expected"),
    [
        (
            "n.js",
            b"function outer(a) {\n  return a.map((x) => x > 0 ? x : 0) || [];\n}\n",
            {"outer": 2, "outer.<anonymous>": 2},  # || ; ternary
        ),
        (
            "n.go",
            b"package n\n\nfunc Outer(a []int) {\n\tf := func(x int) bool {\n"
            b"\t\treturn x > 0 && x < 9\n\t}\n\tif f(a[0]) {\n\t}\n}\n",
            {"Outer": 2, "Outer.f": 2},  # if ; &&
        ),
        (
            "N.java",
            b"class N {\n  void run() {\n    new Thread() {\n      public void run() {\n"
            b"        if (a || b) {}\n      }\n    }.start();\n  }\n}\n",
            {"N.run": 1, "N.run.run": 3},  # method of an anonymous class: if + ||
        ),
    ],
)
def test_nested_functions_in_other_languages(
    path: str, text: bytes, expected: dict[str, int]
) -> None:
    assert new_file(path, text) == expected
    assert walked(path, text) == expected


def test_function_names() -> None:
    js = source("""
        const a = function () {};
        const b = async () => {};
        const c = function own() {};
        obj.d = () => {};
        const o = { e: () => 1, "f": function () {}, g() {} };
        class K { h() {} static i() {} #j() {} k = () => {}; }
        function* gen() {}
        [1].map(() => 0);
    """)
    assert list(walked("n.js", js)) == [
        "a", "b", "own", "obj.d", "e", "f", "g", "K.h", "K.i", "K.#j", "K.k", "gen", "<anonymous>",
    ]  # fmt: skip
    go = b"package p\n\nfunc (s *S) A() {}\nfunc (l List[T]) B() {}\nfunc C[T any]() {}\n"
    assert list(walked("n.go", go)) == ["S.A", "List.B", "C"]
    java = b"interface I { void m(); default void n() {} }\nrecord R(int a) { R { } }\n"
    assert list(walked("N.java", java)) == ["I.n", "R.R"]  # bodiless `m` is no function


# --- Comment-only and blank lines ------------------------------------------------------


def test_comment_and_blank_lines_python() -> None:
    after = source('''
        def f(x):
            # explain

            y = x  # trailing comment: code line
            \t
            s = """
            # inside a string: not a comment
            """
            return y
    ''')
    metrics = file_code_metrics("c.py", None, after, [], all_lines(after))
    assert metrics is not None
    assert (metrics.comment_lines_added, metrics.whitespace_lines_added) == (1, 2)


def test_comment_and_blank_lines_crlf() -> None:
    after = b"def f(x):\r\n    # explain\r\n\r\n    return x  # trailing\r\n"
    metrics = file_code_metrics("c.py", None, after, [], all_lines(after))
    assert metrics == FileCodeMetrics((FunctionChange("f", 1, None, 1),), 1, 1)


def test_comment_lines_java() -> None:
    after = source("""
        class A {
            /* one */ /* two */
            /**
             * Javadoc
             */
            int x = 1; // trailing
            /* lead */ int y = 2;
            // line
        }
    """)
    metrics = file_code_metrics("A.java", None, after, [], [2, 3, 4, 5, 6, 7, 8])
    assert metrics == FileCodeMetrics((), 5, 0)  # lines 2, 3, 4, 5 and 8


def test_line_added_inside_an_old_block_comment() -> None:
    before = b"/*\n * a\n */\nf();\n"
    after = b"/*\n * a\n * b\n */\nf();\n"
    assert changed("c.js", before, after) == FileCodeMetrics((), 1, 0)


def test_comment_lines_go_and_only_added_lines_count() -> None:
    before = b"package c\n\n// old comment\nfunc F() {\n\tx := 1\n}\n"
    after = b"package c\n\n// old comment\nfunc F() {\n\t// new\n\n\tx := 1 // t\n}\n"
    assert changed("c.go", before, after) == FileCodeMetrics((FunctionChange("F", 4, 1, 1),), 1, 1)


# --- Robustness ------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["README.md", "Makefile", "lib.rb", "a.c"])
def test_unsupported_language_is_none(path: str) -> None:
    assert file_code_metrics(path, b"a\n", b"b\n", [1], [1]) is None


def test_syntax_error_still_gives_metrics() -> None:
    broken = (
        b"def f(x):\n    if x >\n        return 1\n    return 2\n\ndef g(y):\n    return y or 1\n"
    )
    metrics = file_code_metrics("e.py", None, broken, [], all_lines(broken))
    assert metrics is not None
    functions = {f.name: f.complexity_after for f in metrics.functions_changed}
    assert set(functions) == {"f", "g"}
    assert functions["g"] == 2  # the intact function is unaffected
    js = b"function f(x) {\n  if (x > {\n}\nfunction g(y) { return y || 1; }\n"
    assert file_code_metrics("e.js", None, js, [], all_lines(js)) is not None


def test_line_numbers_that_do_not_fit_the_sources() -> None:
    before = b"def f(x):\n    return x\n"
    after = b"def f(x):\n    return x\n\n\ndef g(x):\n    return x and 1\n"
    # a wrong diff (line 1 "changed"): the after tree must still be the after source
    metrics = file_code_metrics("w.py", before, after, [1], [1, 99])
    assert metrics == FileCodeMetrics((FunctionChange("f", 1, 1, 1),), 0, 0)
    assert new_file("w.py", after) == {"f": 1, "g": 2}


# --- The fast paths agree with the plain ones ------------------------------------------

SNIPPETS = [
    "    if a and b or c: pass\n",
    "    x = [i for i in y if i]\n",
    "    def inner(q):\n        return q if q else None\n",
    "    while x:\n        x -= 1\n",
    "    try:\n        pass\n    except E:\n        pass\n",
    "    # a comment\n",
    "\n",
    "    return x\n",
]


def random_module(rng: random.Random, functions: int) -> bytes:
    parts = []
    for n in range(functions):
        body = "".join(rng.choice(SNIPPETS) for _ in range(rng.randint(1, 6)))
        parts.append(f"def f{n}(x, y, a, b, c):\n{body}    pass\n\n")
    return "".join(parts).encode()


def mutate(rng: random.Random, text: bytes) -> bytes:
    lines = text.split(b"\n")
    for _ in range(rng.randint(1, 8)):
        at = rng.randrange(len(lines))
        action = rng.random()
        if action < 0.4:
            del lines[at]
        elif action < 0.8:
            lines.insert(at, rng.choice(SNIPPETS).rstrip("\n").encode())
        else:
            lines[at] = lines[at] + b"  # touched"
    return b"\n".join(lines)


def test_line_edits_and_line_map() -> None:
    before = line_edits._Lines(b"a\nb\nc\nd\ne\n")
    after = line_edits._Lines(b"a\nB\nc\nx\ny\nd\n")  # b -> B, x y inserted, e deleted
    edits = line_edits._line_edits(before, after, [2, 5], [2, 4, 5])
    assert edits == [(1, 2, 1, 2), (3, 3, 3, 5), (4, 5, 6, 6)]
    line_map = line_edits._LineMap(edits)
    assert [line_map(row) for row in range(5)] == [0, None, 2, 5, None]
    # line numbers that do not fit the sources: no edits, parse from scratch
    assert line_edits._line_edits(before, after, [2], [2]) is None
    assert line_edits._line_edits(before, after, [3, 5], [3, 4, 5]) is None


EDGE_CASES = [
    (b"", b"def f(x):\n    return x or 1\n"),
    (b"def f(x):\n    return x", b"def f(x):\n    return x and 1"),
    (b"def f(x):\n    return x", b"def f(x):\n    return x\n\ndef g():\n    pass\n"),
    (b"def f(x):\n    return x\n", b"def f(x):\n    return x if x else 0"),
    (b"def f(x):\n    return x\n\ndef g():\n    pass\n", b"def g():\n    pass\n"),
]


def shape(tree: ts.Tree) -> list[tuple[str, int, int, int, int, int, int]]:
    """Every node with its position: two trees of one source must agree exactly."""
    found = []
    cursor = tree.walk()
    while True:
        node = cursor.node
        assert node is not None
        found.append(
            (node.type, node.start_byte, node.end_byte, *node.start_point, *node.end_point)
        )
        if cursor.goto_first_child():
            continue
        while not cursor.goto_next_sibling():
            if not cursor.goto_parent():
                return found


def test_reused_before_tree_gives_the_same_tree_and_metrics(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    parser = parser_for("r.py")
    assert parser is not None
    rng = random.Random(7)
    pairs = [*EDGE_CASES]
    for _ in range(25):
        before = random_module(rng, 12)
        pairs.append((before, mutate(rng, before)))
    for before, after in pairs:
        deleted, added = diff_lines(before, after)
        lines = line_edits._Lines(before), line_edits._Lines(after)
        edits = line_edits._line_edits(*lines, deleted, added)
        assert edits is not None  # the before tree is reused
        reused = line_edits._parse_after(parser, parser.parse(before), *lines, edits)
        assert shape(reused) == shape(parser.parse(after))
        metrics = file_code_metrics("r.py", before, after, deleted, added)
        with monkeypatch.context() as patch:
            patch.setattr(line_edits, "_MAX_EDITS", -1)  # always parse from scratch
            assert file_code_metrics("r.py", before, after, deleted, added) == metrics


def test_query_complexity_matches_the_walk() -> None:
    texts = [(path, text) for path, text, _, _ in KNOWN] + [
        ("r.py", random_module(random.Random(3), 40)),
        ("n.py", NESTED),
    ]
    for path, text in texts:
        parser = parser_for(path)
        assert parser is not None and parser.language is not None
        queries = grammar._queries(parser.language)
        tree = parser.parse(text)
        functions = naming._structure(tree, queries).functions
        fast = complexity._complexities(tree, queries, functions, set(range(len(functions))))
        assert fast == {i: cyclomatic_complexity(f.node) for i, f in enumerate(functions)}


def test_large_file_is_fast() -> None:
    text = random_module(random.Random(5), 580)
    assert 4500 < text.count(b"\n") < 5500
    lines = text.split(b"\n")
    lines[2000] += b"  # touched"
    after = b"\n".join(lines)
    start = time.perf_counter()
    metrics = file_code_metrics("big.py", text, after, [2001], [2001])
    whole = file_code_metrics("big.py", None, text, [], all_lines(text))
    elapsed = time.perf_counter() - start
    assert metrics is not None and len(metrics.functions_changed) == 1
    assert whole is not None and len(whole.functions_changed) > 580
    assert elapsed < 2.0  # a loose guard against quadratic slips; typically 0.1-0.2 s


def test_tree_sitter_types_exist() -> None:
    """Every node type named in the tables exists in at least one grammar."""
    languages = [
        parser.language
        for parser in (parser_for(p) for p in ("a.py", "A.java", "a.js", "a.ts", "a.tsx", "a.go"))
        if parser is not None and parser.language is not None
    ]
    tables = (
        grammar._FUNCTION_TYPES
        | grammar._SCOPE_TYPES
        | grammar._COMMENT_TYPES
        | grammar._DECISION_TYPES
    )
    missing = {
        kind
        for kind in tables
        if all(language.id_for_node_kind(kind, True) is None for language in languages)
    }
    assert missing == set()
    assert isinstance(languages[0], ts.Language)
