"""Code tokens of added and removed lines: the tokenizer, hashed bags, token facts, privacy."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import teamlens.features.code_tokens as code_tokens
from teamlens.features.code_tokens import (
    BUCKETS,
    TOKEN_FEATURES,
    FileCodeTokens,
    change_code_tokens,
    comment_style,
    file_code_tokens,
)
from teamlens.features.diffs import iter_diffs
from teamlens.mining.blobs import BlobReader
from tests.features.test_code_metrics import all_lines, diff_lines
from tests.features.test_code_structure import MOVES, SAMPLES
from tests.gitrepo import ALICE, BOB, EVERYONE, RepoBuilder


def added(path: str, text: bytes, lines: list[int] | None = None) -> FileCodeTokens:
    result = file_code_tokens(path, None, text, [], all_lines(text) if lines is None else lines)
    assert result is not None
    return result


def facts(result: FileCodeTokens) -> tuple[int, int, int, int]:
    return (
        result.tokens_added,
        result.distinct_tokens_added,
        result.identifiers_added,
        result.new_identifiers_added,
    )


# --- The tokenizer, one hand-counted line per language -------------------------------------


@pytest.mark.parametrize(
    ("path", "text", "expected"),
    [
        # def add ( a , b ) : return a + b; the comment is dropped.
        # Distinct: def add ( a , b ) : return + = 10; words: def add a b return a b.
        ("a.py", b"def add(a, b):\n    return a + b  # sum\n", (12, 10, 7, 7)),
        # int add ( int a , int b ) { return a + b ; } = 16; distinct 12; words 9.
        ("A.java", b"int add(int a, int b) { return a + b; } // sum\n", (16, 12, 9, 9)),
        # const s = <str> + <str> ; (the template's ${y} is inside the string) = 7.
        ("a.js", b"const s = `x ${y}` + 'q'; /* c */\n", (7, 6, 2, 2)),
        # let n : number = <num> ?? <num> ; = 9; distinct 8; words let n number.
        ("a.ts", b"let n: number = 0x1F ?? 2;\n", (9, 8, 3, 3)),
        # x := <str> (a raw string over two lines) then y := <num> = 6; distinct 5.
        ("a.go", b"x := `raw\nstring` // c\ny := 3\n", (6, 5, 2, 2)),
    ],
)
def test_tokens_of_a_new_file(path: str, text: bytes, expected: tuple[int, ...]) -> None:
    result = added(path, text)
    assert facts(result) == expected
    assert sum(result.added_buckets) == result.tokens_added
    assert result.removed_buckets == (0,) * BUCKETS and result.tokens_removed == 0


def test_identifiers_split_on_humps_and_underscores() -> None:
    pieces = code_tokens._pieces
    assert pieces("parseHTTPResponse") == ("parse", "http", "response")
    assert pieces("snake_case_name") == ("snake", "case", "name")
    assert pieces("__init__") == ("init",)
    assert pieces("XMLHttpRequest2") == ("xml", "http", "request", "2")
    assert pieces("Zoë_Ümlaut") == ("zoë", "ümlaut")
    assert pieces("0x1F") == ("<num>",) and pieces("==") == ("==",)


def test_lines_inside_multi_line_strings_and_comments_have_no_tokens() -> None:
    python = b'x = """first\nsecond line of a docstring\n"""\ny = 1\n'
    assert added("a.py", python, [2]).tokens_added == 0
    assert added("a.py", python, [4]).tokens_added == 3  # y = <num>
    java = b"/* a block\n   comment line */ int z = 2;\n"
    assert added("A.java", java, [2]).tokens_added == 5  # int z = <num> ;
    assert added("A.java", java, [1]).tokens_added == 0
    # A `#` is an operator outside `#`-commented languages, and `//` one in Python.
    assert added("a.c", b"#define N 2\n").tokens_added == 4  # # define n <num>
    assert added("a.py", b"q = a // b\n").tokens_added == 5


def test_only_source_files_have_tokens() -> None:
    assert comment_style("src/app.py") == "#" and comment_style("lib/Main.JAVA") == "//"
    assert comment_style("web/app.tsx") == "//" and comment_style("tool.rs") == "//"
    for path in ("README.md", "setup.cfg", "data.json", "Makefile", ".py"):
        assert comment_style(path) is None
        assert file_code_tokens(path, None, b"alice = 1\n", [], [1]) is None


# --- Edited, deleted and moved code in every language --------------------------------------

EDITS = {
    # - return a + b / + return a - bobCount: removed return a + b (4); added return a -
    # bob count (5), of whose 4 words `bob` and `count` are new to the file.
    "a.py": (
        b"def add(a, b):\n    return a + b\n",
        b"def add(a, b):\n    return a - bobCount\n",
    ),
    "A.java": (
        b"class A {\n    int add(int a, int b) {\n        return a + b;\n    }\n}\n",
        b"class A {\n    int add(int a, int b) {\n        return a - bobCount;\n    }\n}\n",
    ),
    "a.js": (
        b"function add(a, b) {\n  return a + b\n}\n",
        b"function add(a, b) {\n  return a - bob_count\n}\n",
    ),
    "a.ts": (
        b"function add(a: number, b: number) {\n  return a + b\n}\n",
        b"function add(a: number, b: number) {\n  return a - BobCount\n}\n",
    ),
    "a.go": (
        b"func add(a, b int) int {\n\treturn a + b\n}\n",
        b"func add(a, b int) int {\n\treturn a - bobCount\n}\n",
    ),
}


@pytest.mark.parametrize("path", EDITS)
def test_edited_function(path: str) -> None:
    before, after = EDITS[path]
    deleted, added_lines = diff_lines(before, after)
    result = file_code_tokens(path, before, after, deleted, added_lines)
    assert result is not None
    semicolon = 1 if path.endswith(".java") else 0
    assert result.tokens_removed == 4 + semicolon  # return a + b (;)
    assert result.tokens_added == 5 + semicolon  # return a - bob count (;)
    assert (result.identifiers_added, result.new_identifiers_added) == (4, 2)
    assert change_code_tokens([result])["new_token_share_added"] == 0.5
    # `return` and `a` land in the same buckets on both sides.
    both = [min(p, m) for p, m in zip(result.added_buckets, result.removed_buckets, strict=True)]
    assert sum(both) >= 2


@pytest.mark.parametrize("path", SAMPLES)
def test_deleted_file_is_all_removed_tokens(path: str) -> None:
    text = SAMPLES[path][0]
    new = added(path, text)
    gone = file_code_tokens(path, text, None, all_lines(text), [])
    assert gone is not None
    assert gone.removed_buckets == new.added_buckets
    assert gone.tokens_removed == new.tokens_added > 50
    assert gone.tokens_added == gone.identifiers_added == 0
    assert new.new_identifiers_added == new.identifiers_added  # a new file: all new


@pytest.mark.parametrize("path", MOVES)
def test_moved_code_adds_what_it_removes_and_no_new_words(path: str) -> None:
    parts = MOVES[path]
    head, a, b, tail = parts if len(parts) == 4 else ("", *parts, "")
    before = (head + a + b + tail).encode()
    after = (head + b + "\n" + a.rstrip("\n") + "\n" + tail).encode()
    deleted, added_lines = diff_lines(before, after)
    result = file_code_tokens(path, before, after, deleted, added_lines)
    assert result is not None
    assert result.tokens_added > 0
    assert result.added_buckets == result.removed_buckets
    assert result.new_identifiers_added == 0
    assert change_code_tokens([result])["new_token_share_added"] == 0.0


# --- Per change ----------------------------------------------------------------------------


def test_change_features_sum_files() -> None:
    one = added("a.py", b"def add(a, b):\n    return a + b\n")
    before, after = EDITS["a.go"]
    two = file_code_tokens("a.go", before, after, *diff_lines(before, after))
    assert two is not None
    features = change_code_tokens([one, two])
    assert list(features) == list(TOKEN_FEATURES)
    assert len(TOKEN_FEATURES) == 4 + 2 * BUCKETS
    assert all(isinstance(value, float) for value in features.values())
    assert features["tokens_added"] == 12 + 5
    assert features["tokens_removed"] == 4
    assert features["distinct_tokens_added"] == 10 + 5
    # words added: 7 (all new, a new file) and 4 (2 new)
    assert features["new_token_share_added"] == pytest.approx(9 / 11)
    added_bag = [features[f"token_added_{i:02d}"] for i in range(BUCKETS)]
    assert sum(added_bag) == 17
    assert change_code_tokens([]) == dict.fromkeys(TOKEN_FEATURES, 0.0)


def test_buckets_are_a_stable_hash() -> None:
    # CRC-32 of the UTF-8 bytes modulo 32: the same on every machine, run and version,
    # so a model's token columns keep their meaning. Pinned values.
    bucket = code_tokens._bucket
    assert [bucket(t) for t in ("return", "(", "<str>", "<num>", "parse")] == [15, 23, 27, 16, 8]


def test_every_feature_is_defined_in_the_module_docstring() -> None:
    doc = code_tokens.__doc__ or ""
    for name in TOKEN_FEATURES:
        if not name.startswith("token_"):
            assert f"``{name}``" in doc, name
    assert "``token_added_00``" in doc and "``token_removed_31``" in doc


# --- Privacy: no token text, no name ---------------------------------------------------------


def _name_parts() -> set[str]:
    """Every name, e-mail and their word pieces of the test repositories' people."""
    parts: set[str] = set()
    for person in EVERYONE:
        for value in (person.name, person.email):
            parts.add(value.lower())
            parts.update(p for p in re.split(r"[^\w]+", value.lower()) if len(p) > 3)
    return parts - {"test", "example"}


NAMED_CODE = b'''"""Written by Alice Liddell <alice@example.com>."""


def alice_liddell_fix(bob_builder):
    carolDanvers = "carol@marvel.test"  # ask Zoe Umlaut
    return bob_builder + carolDanvers
'''


def _no_names(text: str) -> None:
    lowered = text.lower()
    for part in _name_parts():
        assert part not in lowered, part


def test_results_hold_counts_only() -> None:
    result = added("named.py", NAMED_CODE)
    assert result.tokens_added > 0
    for value in vars(result).values():
        assert isinstance(value, int) or all(isinstance(v, int) for v in value)
    _no_names(repr(result))
    features = change_code_tokens([result])
    assert set(features) == set(TOKEN_FEATURES)
    _no_names(json.dumps(features))


def test_a_real_repository_leaks_no_name(repo_builder: RepoBuilder) -> None:
    """Changes read from git as the pipeline reads them: names in identifiers, strings,
    comments and the authors of the commits appear in no feature."""
    repo = repo_builder
    (repo.path / "app").mkdir()
    (repo.path / "app" / "named.py").write_bytes(NAMED_CODE)
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "Add named module", person=ALICE)
    edited = NAMED_CODE.replace(b"return bob_builder", b"return aliceLiddell(bob_builder)")
    (repo.path / "app" / "named.py").write_bytes(edited)
    repo.git("commit", "-q", "-am", "Call alice", person=BOB)
    shas = repo.git("rev-list", "--reverse", "HEAD").split()
    rows = []
    with BlobReader.open(Path(repo.path)) as blobs:
        for sha, diffs in iter_diffs(Path(repo.path), shas):
            files = []
            for diff in diffs:
                path = diff.new_path or diff.old_path
                assert path is not None
                before = blobs.read(f"{sha}^", diff.old_path, 10**6) if diff.old_path else None
                after = blobs.read(sha, diff.new_path, 10**6) if diff.new_path else None
                result = file_code_tokens(path, before, after, diff.deleted, diff.added)
                assert result is not None
                files.append(result)
            rows.append(change_code_tokens(files))
    first, second = rows
    assert first["tokens_added"] == added("named.py", NAMED_CODE).tokens_added
    assert first["new_token_share_added"] == 1.0
    # return alice liddell ( bob builder ) + carol danvers: 10 in, 6 out; the words
    # `alice` and `liddell` were in the file already (its docstring and a name).
    assert (second["tokens_added"], second["tokens_removed"]) == (10, 6)
    assert second["new_token_share_added"] == 0.0
    _no_names(json.dumps(rows))


def test_crlf_and_undecodable_bytes() -> None:
    text = b"def add(a, b):\n    return a + b  # sum\n"
    assert facts(added("a.py", text.replace(b"\n", b"\r\n"))) == facts(added("a.py", text))
    # Bytes that are not UTF-8 become U+FFFD: an operator token, never an error.
    assert added("a.py", b"x = \xff\n").tokens_added == 3
