"""Scrubbing identities from stored text, and the language of a path."""

from __future__ import annotations

import pytest

from teamlens.mining.languages import language_of
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


FIRST_NAMES = [
    ("Judy Hopps", "jhopps@zootopia.test"),
    ("Jean-Luc Picard", "jl@e.test"),
    ("Al Capone", "scarface@e.test"),
    ("The G.I.O.I", "gioi@e.test"),
    ("Deleted user", "ghost@github.com"),
    ("dependabot[bot]", "49699333+dependabot[bot]@users.noreply.github.com"),
]


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Thanks Judy for the review", "Thanks <person> for the review"),
        ("thanks JUDY, and judy's cat", "thanks <person>, and <person>'s cat"),
        ("judyism and Judy2 stay", "judyism and Judy2 stay"),
        ("Jean-Luc fixed it; jean luc too", "<person> fixed it; <person> too"),
        ("Jean alone is not a first name here", "Jean alone is not a first name here"),
        (
            "Al is too short; Capone is not a first name",
            "Al is too short; Capone is not a first name",
        ),
        (
            "Read the docs; deleted the user; bump dependabot",
            "Read the docs; deleted the user; bump dependabot",
        ),
    ],
)
def test_first_names_are_scrubbed(subject: str, expected: str) -> None:
    assert Scrubber(FIRST_NAMES)(subject) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "See https://github.com/Stranger6667/pytest/pull/3",
            "See https://github.com/<person>/pytest/pull/3",
        ),
        ("Merge main into jonozzz/features", "Merge main into <person>/features"),
        ("branch octo-dan-fix by OCTO-DAN", "branch <person>-fix by <person>"),
        (
            "stranger66670 and xjonozzz are other words",
            "stranger66670 and xjonozzz are other words",
        ),
        ("no logins here", "no logins here"),
    ],
)
def test_logins_are_scrubbed_as_whole_words(text: str, expected: str) -> None:
    scrub = Scrubber([], logins=["Stranger6667", "jonozzz", "octo-dan", "ab"])
    assert scrub(text) == expected


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


def test_the_login_of_a_github_noreply_address_is_scrubbed_on_its_own() -> None:
    scrub = Scrubber([("Arnie Example", "113178590+arnie-ex@users.noreply.github.com")])
    assert (
        scrub("Merge branch 'fix' of https://github.com/arnie-ex/pytest into fix")
        == "Merge branch 'fix' of https://github.com/<person>/pytest into fix"
    )
