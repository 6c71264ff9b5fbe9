"""Scrubbing identities from stored text, and the language of a path."""

from __future__ import annotations

import pytest

from mining.languages import language_of
from teamlens.privacy import Scrubber, normalise_identity

PEOPLE = [
    ("Alice Liddell", "alice@example.com"),
    ("Bo", "bo@x.test"),
    ("Jean-Luc Picard", "jl@e.test"),
]


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Merge branch 'alice/fix-parser'", "Merge branch '<person>/fix-parser'"),
        ("Revert work by ALICE LIDDELL", "Revert work by <person>"),
        ("Thanks alice.liddell and Jean-Luc  Picard", "Thanks <person> and <person>"),
        ("Mail someone@else.org about it", "Mail <person> about it"),
        ("Bo is too short to scrub; bob stays", "Bo is too short to scrub; bob stays"),
        ("malice is not alice", "malice is not <person>"),
        ("nothing to see", "nothing to see"),
        ("thanks @octo-dan and @acme/core", "thanks @<person> and @<person>"),
        (
            "Merge pull request #12 from octo-dan/fix-parser",
            "Merge pull request #12 from <person>/fix-parser",
        ),
    ],
)
def test_scrubber(subject: str, expected: str) -> None:
    assert Scrubber(PEOPLE)(subject) == expected


def test_empty_scrubber_still_removes_addresses() -> None:
    assert Scrubber([])("by a@b.co") == "by <person>"


def test_identity_is_the_lower_cased_email_or_else_the_name() -> None:
    assert normalise_identity("Alice", " Alice@Example.COM ") == "alice@example.com"
    assert normalise_identity("  Alice   Liddell ", "") == "name:alice liddell"


@pytest.mark.parametrize(
    ("path", "language"),
    [
        ("src/a.py", "Python"),
        ("X.JAVA", "Java"),
        ("web/app.test.tsx", "TypeScript"),
        ("cmd/main.go", "Go"),
        (".py", None),
        ("Makefile", None),
        ("docs.d/readme", None),
        ("README.md", None),
    ],
)
def test_language_of(path: str, language: str | None) -> None:
    assert language_of(path) == language
