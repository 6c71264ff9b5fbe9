"""Similar past review comments: BM25 over the token bags of diff hunks.

A past review comment sits on a diff hunk (GitHub's ``diff_hunk``: the hunk up to the
commented line). For a hunk of the change under review, the comments whose hunks look
most alike are worth showing ("a reviewer said this about similar code before").

Tokens. A hunk's diff markers (``+``, ``-``, space) are stripped, its ``@@`` header and
``\\ No newline`` lines dropped and the rest dedented; when tree-sitter covers the path's
language (:func:`mining.syntax.code_tokens`; it tolerates partial code) its code tokens are
used, which leaves out comments, else a regex finds the words. Either way every token is
reduced to its words: lower-cased, pure punctuation dropped, and an identifier such as
``readFileSync`` or ``read_file`` also gives its parts (``read``, ``file``, ``sync``) as
extra tokens, so that ``read_file`` and ``readFile`` meet.

Ranking. Okapi BM25 with k1 = 1.2, b = 0.75 and the non-negative IDF
``ln(1 + (N - n + 0.5) / (n + 0.5))`` (as Lucene), summed over the *distinct* tokens of the
query hunk (a token repeated in the query counts once; repeats in a past hunk count through
BM25's saturating term frequency). A comment on the same path as the query gets its score
multiplied by :data:`SAME_FILE_BOOST`; the boost only reorders: ``min_score`` is compared
with the plain BM25 score, so it never lets an otherwise too weak match through.

BM25 scores are not normalised: they grow with the number of shared rare tokens and depend
on the corpus. :data:`DEFAULT_MIN_SCORE` is a rough "several distinctive tokens in common".
Comments with an empty body (retention removed the text) are left out of the index.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import textwrap
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from teamlens.bot.domain import ChangedFile
from teamlens.mining.syntax import code_tokens

K1 = 1.2
B = 0.75
#: Multiplier of the BM25 score of a past comment on the same path as the query hunk.
SAME_FILE_BOOST = 1.1
DEFAULT_K = 2
DEFAULT_MIN_SCORE = 5.0

_WORD = re.compile(r"\w+")
_CAMEL_PART = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")


@dataclass(frozen=True)
class PastComment:
    """A review comment from the history, with the hunk it was made on (no author)."""

    comment_id: int
    path: str
    diff_hunk: str
    body: str | None  # None or empty once retention removed the text
    url: str | None = None
    created_at: dt.datetime | None = None


@dataclass(frozen=True)
class Match:
    """A past comment and how alike its hunk is to the query hunk.

    ``score`` ranks the matches: the BM25 score, times :data:`SAME_FILE_BOOST` when
    ``same_file``; ``bm25`` is the plain score that ``min_score`` was compared with.
    """

    comment: PastComment
    score: float
    bm25: float
    same_file: bool


def word_tokens(text: str) -> list[str]:
    """The words of a text, lower-cased, with the parts of compound identifiers added.

    ``readFileSync`` gives ``readfilesync``, ``read``, ``file``, ``sync``; ``max_retries``
    gives ``max_retries``, ``max``, ``retries``; punctuation gives nothing.
    """
    tokens: list[str] = []
    for word in _WORD.findall(text):
        parts = [p.lower() for piece in word.split("_") if piece for p in _word_parts(piece)]
        if not parts:  # only underscores
            continue
        whole = word.lower()
        tokens.append(whole)
        if parts != [whole]:
            tokens.extend(parts)
    return tokens


def _word_parts(piece: str) -> list[str]:
    """camelCase parts of an ASCII identifier piece; other scripts stay whole."""
    return _CAMEL_PART.findall(piece) if piece.isascii() else [piece]


def hunk_code(hunk: str) -> str:
    """The code of a diff hunk: markers stripped, headers dropped, dedented.

    Both sides are kept (removed and added lines): the bag of tokens is what matters.
    """
    lines: list[str] = []
    for line in hunk.splitlines():
        if line.startswith(("@@", "\\")):
            continue
        if line.startswith(("+", "-", " ")):
            line = line[1:]
        lines.append(line)
    return textwrap.dedent("\n".join(lines))


def hunk_tokens(hunk: str, path: str) -> list[str]:
    """The tokens of a diff hunk: tree-sitter code tokens when supported, else words."""
    code = hunk_code(hunk)
    syntax = code_tokens(code.encode("utf-8"), path)
    if syntax is None:
        return word_tokens(code)
    return [
        token
        for leaf in syntax
        for token in word_tokens(leaf.text.decode("utf-8", errors="replace"))
    ]


def idf(n_docs: int, doc_freq: int) -> float:
    """BM25's inverse document frequency, never negative."""
    return math.log(1.0 + (n_docs - doc_freq + 0.5) / (doc_freq + 0.5))


def bm25_term(tf: int, doc_len: int, avg_len: float, term_idf: float) -> float:
    """One query term's share of a document's BM25 score."""
    norm = K1 * (1.0 - B + B * doc_len / avg_len) if avg_len > 0 else K1
    return term_idf * tf * (K1 + 1.0) / (tf + norm)


@dataclass(frozen=True)
class _Doc:
    comment: PastComment
    counts: Mapping[str, int]
    length: int


def _doc(comment: PastComment) -> _Doc:
    counts = Counter(hunk_tokens(comment.diff_hunk, comment.path))
    return _Doc(comment, counts, sum(counts.values()))


@dataclass(frozen=True)
class CommentIndex:
    """Past review comments indexed by the tokens of their diff hunks."""

    docs: tuple[_Doc, ...]
    doc_freq: Mapping[str, int]
    avg_len: float

    @classmethod
    def build(cls, comments: Iterable[PastComment]) -> CommentIndex:
        """Index the comments that still have a body (the others cannot help anyone)."""
        docs = tuple(_doc(c) for c in comments if c.body is not None and c.body.strip())
        doc_freq: Counter[str] = Counter()
        for doc in docs:
            doc_freq.update(doc.counts.keys())
        avg_len = sum(d.length for d in docs) / len(docs) if docs else 0.0
        return cls(docs, dict(doc_freq), avg_len)

    def __len__(self) -> int:
        return len(self.docs)

    def scores(self, terms: Iterable[str]) -> list[float]:
        """The BM25 score of every indexed comment for the distinct query terms."""
        query = set(terms)
        n_docs = len(self.docs)
        weights = {t: idf(n_docs, self.doc_freq[t]) for t in query if t in self.doc_freq}
        return [
            sum(
                bm25_term(doc.counts[t], doc.length, self.avg_len, w)
                for t, w in weights.items()
                if t in doc.counts
            )
            for doc in self.docs
        ]

    def search(
        self,
        hunk_text: str,
        path: str,
        k: int = DEFAULT_K,
        min_score: float = DEFAULT_MIN_SCORE,
    ) -> list[Match]:
        """The best ``k`` past comments for a hunk of ``path`` with BM25 >= ``min_score``."""
        if k <= 0 or not self.docs:
            return []
        raw = self.scores(hunk_tokens(hunk_text, path))
        matches = [
            _match(doc.comment, score, doc.comment.path == path)
            for doc, score in zip(self.docs, raw, strict=True)
            if score > 0.0 and score >= min_score
        ]
        matches.sort(key=lambda m: (-m.score, m.comment.comment_id))
        return matches[:k]


def _match(comment: PastComment, bm25: float, same_file: bool) -> Match:
    score = bm25 * SAME_FILE_BOOST if same_file else bm25
    return Match(comment, score, bm25, same_file)


def similar_for_files(
    index: CommentIndex,
    files: Iterable[ChangedFile],
    k: int = DEFAULT_K,
    min_score: float = DEFAULT_MIN_SCORE,
) -> list[Match]:
    """The best ``k`` past comments over every hunk of the change's files.

    A comment that matches several hunks appears once, with its best score.
    """
    best: dict[int, Match] = {}
    for changed in files:
        for hunk in changed.hunks:
            for match in index.search(hunk, changed.path, k, min_score):
                known = best.get(match.comment.comment_id)
                if known is None or match.score > known.score:
                    best[match.comment.comment_id] = match
    ranked = sorted(best.values(), key=lambda m: (-m.score, m.comment.comment_id))
    return ranked[:k]
