"""Ordinary words: a one-word name or e-mail local part spelled like one ("mark",
"main", "code") is not looked for on its own, since the word turns up in any text.

The dictionary is GCIDE's word list (through the ``english-words`` package, MIT
licence; 114,000 lower-case words), plus the vocabulary of code and of teamlens's own
outputs that a dictionary lacks. Loaded once, on first use (about 0.3 s).
"""

from __future__ import annotations

import functools

#: Words of code, configuration and reports that are not in an English dictionary.
CODE_WORDS: frozenset[str] = frozenset(
    {
        "api", "app", "args", "async", "auth", "avg", "bool", "cfg", "ci", "cli", "cmd",
        "conf", "config", "css", "csv", "ctx", "db", "dev", "dict", "dir", "docs", "env",
        "err", "exe", "func", "html", "http", "https", "init", "int", "io", "js", "json",
        "kwargs", "lib", "log", "max", "md", "min", "msg", "num", "obj", "ok", "os", "pkg",
        "py", "pypi", "pytest", "repo", "repos", "req", "src", "std", "str", "sys", "tmp",
        "toml", "tox", "ui", "url", "util", "utils", "var", "www", "xml", "yaml", "yml",
    }
)  # fmt: skip


@functools.cache
def common_words() -> frozenset[str]:
    """Every ordinary lower-case word (dictionary and code vocabulary)."""
    from english_words import get_english_words_set

    return frozenset(get_english_words_set(["gcide"], lower=True, alpha=True)) | CODE_WORDS
