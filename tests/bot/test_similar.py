from __future__ import annotations

import datetime as dt
import math

import pytest

from teamlens.bot.domain import ChangedFile
from teamlens.bot.similar import (
    DEFAULT_MIN_SCORE,
    SAME_FILE_BOOST,
    CommentIndex,
    PastComment,
    hunk_code,
    hunk_tokens,
    similar_for_files,
    word_tokens,
)
from teamlens.mining.domain import ChangeType

WHEN = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)


def comment(comment_id: int, path: str, hunk: str, body: str | None) -> PastComment:
    return PastComment(
        comment_id=comment_id,
        path=path,
        diff_hunk=hunk,
        body=body,
        url=f"https://example.invalid/pr/1#discussion_r{comment_id}",
        created_at=WHEN,
    )


FILE_HANDLE = comment(
    3,
    "app/loader.py",
    "@@ -10,4 +10,6 @@ def load_config(path):\n"
    "     settings = {}\n"
    '+    handle = open(config_path, "r")\n'
    "+    settings = json.load(handle)\n"
    "     return settings",
    "This never closes the file handle: use `with open(...) as handle:`.",
)

PLANTED = (
    comment(
        1,
        "app/models.py",
        "@@ -1,3 +1,5 @@\n class User:\n+    def __init__(self, name):\n+        self.name = name",
        "Please add type hints to the constructor.",
    ),
    comment(
        2,
        "app/http.py",
        "@@ -20,3 +20,4 @@\n"
        "     try:\n"
        "-        response = session.get(url)\n"
        "+        response = session.get(url, timeout=30)\n"
        "     except RequestException:",
        "Make the timeout configurable.",
    ),
    FILE_HANDLE,
    comment(
        4,
        "app/db.py",
        '@@ -5,2 +5,4 @@\n+    cursor.execute(f"SELECT * FROM users WHERE id = {user_id}")\n'
        "+    rows = cursor.fetchall()",
        "SQL injection: pass the parameters to execute().",
    ),
    comment(
        5,
        "web/static/app.js",
        "@@ -1,2 +1,3 @@\n+const items = data.map((x) => x.value);\n+console.log(items);",
        "Leftover console.log.",
    ),
    comment(
        6,
        "app/retry.py",
        "@@ -8,3 +8,6 @@\n+    for attempt in range(max_retries):\n"
        "+        time.sleep(2 ** attempt)\n+        result = call()",
        "Add jitter to the backoff.",
    ),
    comment(
        7,
        "app/loader.py",
        '@@ -1,2 +1,3 @@\n+    log_file = open(log_path, "a")\n+    log_file.write(line)',
        None,  # retention removed the text; same kind of code, must not be found
    ),
    comment(
        8,
        "app/loader.py",
        '@@ -1,2 +1,3 @@\n+    out = open(out_path, "w")\n+    out.write(text)',
        "   ",  # an empty body
    ),
    comment(
        9,
        "docs/README.md",
        "@@ -3,2 +3,3 @@\n # Setup\n+Run `make install` before the tests.",
        "Mention the Python version too.",
    ),
    comment(
        10,
        "app/cache.py",
        "@@ -12,2 +12,4 @@\n+    cache = {}\n+    def get(key):\n+        return cache.get(key)",
        "Use functools.lru_cache instead.",
    ),
)

NEW_HANDLE_HUNK = (
    "@@ -30,3 +30,6 @@ def read_rules(rules_path):\n"
    "     rules = []\n"
    '+    handle = open(rules_path, "r")\n'
    "+    rules = json.load(handle)\n"
    "     return rules\n"
)


def test_the_relevant_comment_ranks_first() -> None:
    index = CommentIndex.build(PLANTED)
    matches = index.search(NEW_HANDLE_HUNK, "app/rules.py")
    assert matches, "the file-handle comment should be found"
    assert matches[0].comment == FILE_HANDLE
    assert matches[0].bm25 >= DEFAULT_MIN_SCORE
    assert len(matches) <= 2
    assert all(m.comment.body for m in matches)


def test_an_unrelated_hunk_finds_nothing() -> None:
    index = CommentIndex.build(PLANTED)
    hunk = (
        "@@ -1,2 +1,4 @@\n"
        "+def area(width: float, height: float) -> float:\n"
        "+    return width * height\n"
    )
    assert index.search(hunk, "geometry/shapes.py") == []


def test_comments_without_a_body_are_not_indexed() -> None:
    index = CommentIndex.build(PLANTED)
    assert len(index) == len(PLANTED) - 2
    ids = {m.comment.comment_id for m in index.search(NEW_HANDLE_HUNK, "app/loader.py", k=10)}
    assert not ids & {7, 8}


def test_same_file_boost_only_reorders() -> None:
    index = CommentIndex.build(PLANTED)
    other = index.search(NEW_HANDLE_HUNK, "app/rules.py", k=1)[0]
    same = index.search(NEW_HANDLE_HUNK, "app/loader.py", k=1)[0]
    assert not other.same_file and other.score == other.bm25
    assert same.same_file
    assert same.bm25 == pytest.approx(other.bm25)
    assert same.score == pytest.approx(other.bm25 * SAME_FILE_BOOST)
    # the boost does not let a too weak match through
    assert index.search(NEW_HANDLE_HUNK, "app/loader.py", min_score=same.bm25 * 1.05) == []


def test_k_limits_and_orders_the_matches() -> None:
    index = CommentIndex.build(PLANTED)
    matches = index.search(NEW_HANDLE_HUNK, "app/rules.py", k=10, min_score=0.0)
    scores = [m.score for m in matches]
    assert scores == sorted(scores, reverse=True)
    assert all(score > 0 for score in scores)
    assert index.search(NEW_HANDLE_HUNK, "app/rules.py", k=0) == []


def test_empty_index_finds_nothing() -> None:
    assert CommentIndex.build([]).search(NEW_HANDLE_HUNK, "a.py", min_score=0.0) == []


def test_camel_and_snake_case_are_split() -> None:
    assert word_tokens("readFileSync") == ["readfilesync", "read", "file", "sync"]
    assert word_tokens("HTTPServer max_retries") == [
        "httpserver",
        "http",
        "server",
        "max_retries",
        "max",
        "retries",
    ]
    assert word_tokens("x = (a + b); // -> ...") == ["x", "a", "b"]
    assert word_tokens("__init__") == ["__init__", "init"]


def test_camel_case_meets_snake_case() -> None:
    js = comment(
        1,
        "src/io.js",
        "@@ -1 +1,2 @@\n+const text = readFileSync(configPath);",
        "Use the async readFile here.",
    )
    other = comment(2, "src/math.js", "@@ -1 +1,2 @@\n+const total = sum(values);", "Fine.")
    index = CommentIndex.build([js, other])
    hunk = "@@ -1 +1,2 @@\n+    text = read_file(config_path)\n"
    matches = index.search(hunk, "tool/io.py", k=2, min_score=0.5)
    assert [m.comment for m in matches] == [js]


def test_hunk_code_strips_markers_and_headers() -> None:
    hunk = (
        "@@ -1,3 +1,3 @@ def f():\n     a = 1\n-    b = 2\n+    b = 3\n\\ No newline at end of file"
    )
    assert hunk_code(hunk) == "a = 1\nb = 2\nb = 3"


def test_tree_sitter_tokens_leave_out_comments() -> None:
    hunk = "@@ -1 +1 @@\n+x = compute(value)  # TODO remember this\n"
    assert hunk_tokens(hunk, "m.py") == ["x", "compute", "value"]
    # unsupported language: the words of the text, comment included
    assert "remember" in hunk_tokens(hunk, "m.unknown")


def test_bm25_by_hand_on_a_toy_corpus() -> None:
    # Three documents (a .txt path: plain words), N = 3, lengths 2, 3, 1, avgdl = 2.
    #   d1 "apple banana", d2 "apple cherry cherry", d3 "durian"
    # Query "apple cherry"; k1 = 1.2, b = 0.75; idf(t) = ln(1 + (N - n + 0.5) / (n + 0.5)):
    #   idf(apple)  n = 2: ln(1 + 1.5 / 2.5) = ln(1.6)   = 0.470004
    #   idf(cherry) n = 1: ln(1 + 2.5 / 1.5) = ln(8 / 3) = 0.980829
    # Length norm K = k1 * (1 - b + b * dl / avgdl):
    #   d1 (dl 2): 1.2 * (0.25 + 0.75)  = 1.2
    #   d2 (dl 3): 1.2 * (0.25 + 1.125) = 1.65
    # Term score idf * tf * (k1 + 1) / (tf + K):
    #   d1: apple  0.470004 * 1 * 2.2 / (1 + 1.2)  = 0.470004
    #   d2: apple  0.470004 * 1 * 2.2 / (1 + 1.65) = 0.390192
    #       cherry 0.980829 * 2 * 2.2 / (2 + 1.65) = 1.182369   -> d2 = 1.572561
    #   d3: no query term -> 0
    docs = [
        comment(1, "a.txt", "apple banana", "one"),
        comment(2, "b.txt", "apple cherry cherry", "two"),
        comment(3, "c.txt", "durian", "three"),
    ]
    index = CommentIndex.build(docs)
    assert index.avg_len == 2.0
    scores = index.scores(["apple", "cherry", "cherry"])  # a repeated query term counts once
    expected_d1 = math.log(1.6)
    expected_d2 = math.log(1.6) * 2.2 / 2.65 + math.log(8 / 3) * 4.4 / 3.65
    assert scores == pytest.approx([expected_d1, expected_d2, 0.0])
    assert scores == pytest.approx([0.470004, 1.572561, 0.0], abs=1e-6)
    matches = index.search("apple cherry", "z.txt", k=3, min_score=0.0)
    assert [m.comment.comment_id for m in matches] == [2, 1]


def test_similar_for_files_merges_hunks_and_dedupes() -> None:
    index = CommentIndex.build(PLANTED)
    changed = ChangedFile(
        path="app/rules.py",
        old_path="app/rules.py",
        status=ChangeType.MODIFIED,
        added=2,
        deleted=0,
        hunks=(NEW_HANDLE_HUNK, NEW_HANDLE_HUNK),
    )
    matches = similar_for_files(index, [changed], k=2)
    assert matches[0].comment == FILE_HANDLE
    assert len({m.comment.comment_id for m in matches}) == len(matches)
