"""Code tokens of the added and removed lines, as hashed bags and a few token facts.

After JITLine (Pornprasit and Tantithamthavorn, MSR 2021): the words a change adds and
removes say what kind of change it is (locking, parsing, retries, ...), and a model can
learn per repository which words go with defects. The tokenizer knows no grammar, so
it covers every source language by file suffix, tree-sitter or not:

* string literals become the one token ``<str>`` and number literals ``<num>``;
  comments are dropped. Strings and comments are found from the top of the file, so a line
  inside a multi-line string or block comment has no tokens of its own (Python and
  shell-like languages comment with ``#``, the C family with ``//`` and ``/* */``).
* identifiers and keywords are split at ``snake_case`` underscores and ``camelCase``
  humps and lower-cased: ``parseHTTPResponse`` gives ``parse``, ``http``,
  ``response``; ``__init__`` gives ``init``.
* operators (``==``, ``&&``, ``->``, ``+=``, ...) and punctuation are tokens as written.

Files of other kinds (docs, data, configuration) have no code tokens:
:func:`file_code_tokens` returns None for them.

Privacy: identifiers can hold names (``aliceFix``), so no token text leaves this
module. A token only counts towards one of :data:`BUCKETS` buckets chosen by a stable
hash (CRC-32 of its UTF-8 bytes, the same on every machine and run; never Python's
``hash()``), and the token facts are counts. Thirty-two counts cannot be read back into
words.

Per-change features (:func:`change_code_tokens`; counts summed over the change's source
files, except the share). How each reads to a reviewer follows the dash.

``tokens_added``, ``tokens_removed``
    Code tokens on the added (deleted) lines -- "adds 1,204 code tokens".
``distinct_tokens_added``
    Distinct tokens on the added lines of each file, summed over the files -- "uses 157
    distinct tokens".
``new_token_share_added``
    Share (0 to 1) of the word pieces (identifiers and keywords, split as above) on
    added lines that occur nowhere in the file's text before the change, its comments
    and strings included; 1 for a new file, 0 when no word was added -- "62 % of the
    words it adds are new to their files".
``token_added_00`` ... ``token_added_31``, ``token_removed_00`` ... ``token_removed_31``
    How many added (deleted) tokens fall in each hash bucket: a hashed bag of tokens for
    the model; not meant as a reason (it would read "adds 40 tokens of hash bucket 07").
"""

from __future__ import annotations

import functools
import re
import zlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

#: Hash buckets of each bag of tokens.
BUCKETS = 32

_HASH_COMMENTS = frozenset(
    {".py", ".pyi", ".pyx", ".rb", ".sh", ".bash", ".zsh", ".pl", ".pm", ".r", ".jl"}
    | {".ex", ".exs", ".cr", ".nim", ".tcl", ".ps1", ".coffee"}
)
_C_COMMENTS = frozenset(
    {".java", ".js", ".mjs", ".cjs", ".jsx", ".ts", ".mts", ".cts", ".tsx", ".go"}
    | {".c", ".h", ".cc", ".cpp", ".cxx", ".hpp", ".hh", ".hxx", ".cs", ".kt", ".kts"}
    | {".scala", ".sc", ".swift", ".rs", ".php", ".dart", ".groovy", ".gradle", ".m"}
    | {".mm", ".zig", ".v", ".sol", ".proto", ".fs"}
)

# A Python prefix (f"", rb"") stays a name token before the string's token. Strings and
# comments that span lines may run to the end of the text: it is cut after the last
# line wanted (the rest cannot change what is string or comment above).
_STRING = (
    r'(?:"{3}[\s\S]*?(?:"{3}|\Z)' + r"|'{3}[\s\S]*?(?:'{3}|\Z)"  # triple quotes
    r'|"(?:\\.|[^"\\\n])*"' + r"|'(?:\\.|[^'\\\n])*'"  # quotes: one line
    r"|`(?:\\[\s\S]|[^`\\])*(?:`|\Z))"  # JavaScript templates, Go raw strings
)
# The lookahead lets the regex engine skip to the next candidate character (3x faster).
_HIDDEN = {
    "#": re.compile(rf"(?=[#\"'`])(?:(?P<c>#[^\n]*)|(?P<s>{_STRING}))"),
    "//": re.compile(rf"(?=[/\"'`])(?:(?P<c>//[^\n]*|/\*[\s\S]*?(?:\*/|\Z))|(?P<s>{_STRING}))"),
}
_WORD = re.compile(r"[^\W\d]\w*")
# What strings become: one character no source uses as code, a token of its own.
_STRING_MARK = "\x01"
_TOKEN = re.compile(
    r"[^\W\d]\w*"  # identifiers and keywords (any script)
    r"|\d[\w.]*"  # numbers: 42, 0x1F, 3.14, 1e-9 (the sign and exponent sign apart)
    r"|\x01"  # a string
    r"|>>>=|<<=|>>=|\*\*=|//=|\.\.\.|===|!==|>>>"
    r"|->|=>|::|==|!=|<=|>=|&&|\|\||\?\?|\+\+|--|<<|>>|\+=|-=|\*=|/=|%=|&=|\|=|\^=|:=|\*\*|//"
    r"|[^\s\w]"  # any other single character: operators and punctuation
)
_IDENTIFIER_START = re.compile(r"[^\W\d]")
# camelCase humps: an upper-case run before a capitalised word, a word, an upper-case run
# or digits; letters outside ASCII count as lower case.
_PIECES = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[^\W\dA-Z_]+|[A-Z]+|\d+")


@dataclass(frozen=True)
class FileCodeTokens:
    """Counts of the code tokens one change added to and removed from one file.

    Holds no token text: only bucket counts and totals (module docstring).
    """

    added_buckets: tuple[int, ...]  # BUCKETS counts
    removed_buckets: tuple[int, ...]
    tokens_added: int
    tokens_removed: int
    distinct_tokens_added: int
    identifiers_added: int  # word pieces (identifiers, keywords) among the added tokens
    new_identifiers_added: int  # of those, pieces nowhere in the before version


#: The per-change feature names of :func:`change_code_tokens`, in a stable order.
TOKEN_FEATURES = (
    "tokens_added",
    "tokens_removed",
    "distinct_tokens_added",
    "new_token_share_added",
    *(f"token_added_{i:02d}" for i in range(BUCKETS)),
    *(f"token_removed_{i:02d}" for i in range(BUCKETS)),
)


def comment_style(path: str) -> str | None:
    """``"#"`` or ``"//"`` for a source file by its suffix; None for other files."""
    name = path.rpartition("/")[2]
    stem, dot, suffix = name.rpartition(".")
    if not dot or not stem:
        return None
    suffix = "." + suffix.lower()
    if suffix in _HASH_COMMENTS:
        return "#"
    if suffix in _C_COMMENTS:
        return "//"
    return None


def _hidden_lines(lines: list[str], style: str, numbers: Sequence[int]) -> list[str]:
    """The lines up to the last of ``numbers`` with comments removed and each string
    replaced by one mark (a string keeps its line breaks, so line numbers still hold).

    Only the text above the last wanted line decides what is string and comment there.
    """

    def replace(match: re.Match[str]) -> str:
        breaks = "\n" * match.group().count("\n")
        return breaks if match.group("c") is not None else _STRING_MARK + breaks

    last = max(numbers, default=0)
    return _HIDDEN[style].sub(replace, "\n".join(lines[:last])).split("\n")


@functools.lru_cache(maxsize=1 << 16)
def _pieces(token: str) -> tuple[str, ...]:
    """What one raw token counts as: identifier pieces, ``<num>``, ``<str>`` or itself."""
    if token == _STRING_MARK:
        return ("<str>",)
    if token[0].isdigit():
        return ("<num>",)
    if _IDENTIFIER_START.match(token):
        return tuple(piece.lower() for piece in _PIECES.findall(token))
    return (token,)


@functools.lru_cache(maxsize=1 << 16)
def _bucket(token: str) -> int:
    return zlib.crc32(token.encode("utf-8", errors="surrogatepass")) % BUCKETS


def _raw_tokens(hidden_lines: list[str], numbers: Sequence[int]) -> list[str]:
    """Raw tokens of the given 1-based lines of a hidden text."""
    chosen = "\n".join(hidden_lines[n - 1] for n in numbers if 0 < n <= len(hidden_lines))
    return _TOKEN.findall(chosen)


def _bag(raw: list[str]) -> tuple[Counter[str], tuple[int, ...]]:
    """Tokens (pieces) with their counts, and the bucket counts."""
    counts: Counter[str] = Counter()
    for token, times in Counter(raw).items():
        for piece in _pieces(token):
            counts[piece] += times
    buckets = [0] * BUCKETS
    for piece, times in counts.items():
        buckets[_bucket(piece)] += times
    return counts, tuple(buckets)


def _identifier_pieces(text: str) -> set[str]:
    """Every identifier piece of a text, comments and strings included."""
    found: set[str] = set()
    for word in set(_WORD.findall(text)):
        found.update(_pieces(word))
    return found


def _decode(source: bytes) -> str:
    return source.decode("utf-8", errors="replace")


def file_code_tokens(
    path: str,
    before: bytes | None,
    after: bytes | None,
    deleted_lines: Sequence[int],
    added_lines: Sequence[int],
) -> FileCodeTokens | None:
    """Token counts of one file's added and deleted lines; None for a file that is not
    source code (by suffix).

    ``before`` is None for an added file and ``after`` for a deleted one;
    ``deleted_lines`` are 1-based line numbers in ``before`` and ``added_lines`` in
    ``after``, as in ``git diff -U0`` hunks.
    """
    style = comment_style(path)
    if style is None:
        return None
    if before is None:
        deleted_lines = ()
    if after is None:
        added_lines = ()
    added_raw: list[str] = []
    removed_raw: list[str] = []
    known: set[str] = set()
    if before is not None and (deleted_lines or added_lines):
        text = _decode(before)
        if deleted_lines:
            hidden = _hidden_lines(text.split("\n"), style, deleted_lines)
            removed_raw = _raw_tokens(hidden, deleted_lines)
        if added_lines:  # what the file already had, to tell new words
            known = _identifier_pieces(text)
    if after is not None and added_lines:
        hidden = _hidden_lines(_decode(after).split("\n"), style, added_lines)
        added_raw = _raw_tokens(hidden, added_lines)
    added, added_buckets = _bag(added_raw)
    removed, removed_buckets = _bag(removed_raw)
    identifiers = {piece: times for piece, times in added.items() if _IDENTIFIER_START.match(piece)}
    return FileCodeTokens(
        added_buckets=added_buckets,
        removed_buckets=removed_buckets,
        tokens_added=sum(added.values()),
        tokens_removed=sum(removed.values()),
        distinct_tokens_added=len(added),
        identifiers_added=sum(identifiers.values()),
        new_identifiers_added=sum(t for piece, t in identifiers.items() if piece not in known),
    )


def change_code_tokens(files: Iterable[FileCodeTokens]) -> dict[str, float]:
    """The per-change features (names: :data:`TOKEN_FEATURES`) of a change's files."""
    totals = dict.fromkeys(TOKEN_FEATURES, 0.0)
    identifiers = new = 0
    for file in files:
        totals["tokens_added"] += file.tokens_added
        totals["tokens_removed"] += file.tokens_removed
        totals["distinct_tokens_added"] += file.distinct_tokens_added
        identifiers += file.identifiers_added
        new += file.new_identifiers_added
        for i, (plus, minus) in enumerate(
            zip(file.added_buckets, file.removed_buckets, strict=True)
        ):
            totals[f"token_added_{i:02d}"] += plus
            totals[f"token_removed_{i:02d}"] += minus
    totals["new_token_share_added"] = new / identifiers if identifiers else 0.0
    return totals
