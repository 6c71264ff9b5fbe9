"""The demo company: teams, the code each owns, and clearly synthetic people.

Every person is "Demo Person NN <personNN@demo.invalid>" (login ``demo-person-NN``):
nobody could take the demo for real people's data. ``.invalid`` is reserved (RFC 2606),
so no address can reach anyone.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from enum import StrEnum

from teamlens.demo.code import Language


class DemoSize(StrEnum):
    """How much history the demo builds: ``full`` for people, ``small`` for tests."""

    FULL = "full"
    SMALL = "small"


@dataclass(frozen=True)
class Team:
    name: str
    folder: str  # the team owns <folder>/**
    languages: tuple[Language, ...]
    nouns: tuple[str, ...]
    size: int
    #: How defect-prone the team's changes are at the start and at the end of the history
    #: (a planted trend: worse, better or flat), before the change's own risk factors.
    bug_start: float
    bug_end: float


@dataclass(frozen=True)
class Person:
    number: int
    team: str  # home team
    other_team: str | None  # some people also work on a second team's code
    utc_offset_minutes: int
    activity: float  # relative share of the team's changes (no one dominates)

    @property
    def name(self) -> str:
        return f"Demo Person {self.number:02d}"

    @property
    def email(self) -> str:
        return f"person{self.number:02d}@demo.invalid"

    @property
    def login(self) -> str:
        return f"demo-person-{self.number:02d}"


@dataclass(frozen=True)
class Company:
    teams: tuple[Team, ...]
    people: tuple[Person, ...]
    years: float
    changes_per_person_week: float
    #: Pull requests (with reviews) for the changes of this many last days.
    github_days: int

    def team(self, name: str) -> Team:
        return next(t for t in self.teams if t.name == name)

    def members(self, team: str) -> list[Person]:
        return [p for p in self.people if p.team == team]

    def visitors(self, team: str) -> list[Person]:
        return [p for p in self.people if p.other_team == team]


_TEAMS = (
    Team(
        "payments",
        "payments",
        (Language.PYTHON,),
        ("amount", "fee", "refund", "invoice", "balance", "currency", "charge", "ledger"),
        9,
        0.45,
        0.10,
    ),
    Team(
        "search",
        "search",
        (Language.GO,),
        ("query", "shard", "score", "token", "index", "weight", "posting", "boost"),
        7,
        0.28,
        0.28,
    ),
    Team(
        "web",
        "web",
        (Language.JAVASCRIPT,),
        ("cart", "view", "session", "route", "button", "price", "banner", "filter"),
        11,
        0.14,
        0.75,
    ),
    Team(
        "platform",
        "platform",
        (Language.GO, Language.PYTHON),
        ("job", "queue", "worker", "retry", "lease", "batch", "quota", "node"),
        6,
        0.28,
        0.28,
    ),
)

_OFFSETS = (0, 60, 60, 120, -300, -240, 330, 540)


def build_company(size: DemoSize, rng: random.Random) -> Company:
    """The teams and people of the demo (a smaller company and history for ``small``)."""
    teams: tuple[Team, ...] = _TEAMS
    if size is DemoSize.SMALL:
        teams = tuple(
            Team(t.name, t.folder, t.languages, t.nouns, 6, t.bug_start, t.bug_end) for t in _TEAMS
        )
    people: list[Person] = []
    number = 1
    names = [t.name for t in teams]
    for team in teams:
        for index in range(team.size):
            other = None
            if index == team.size - 1:  # one person per team also works on the next team's code
                other = names[(names.index(team.name) + 1) % len(names)]
            people.append(
                Person(
                    number,
                    team.name,
                    other,
                    rng.choice(_OFFSETS),
                    activity=round(rng.uniform(0.6, 1.6), 2),
                )
            )
            number += 1
    if size is DemoSize.SMALL:
        return Company(teams, tuple(people), 1.4, 0.45, 60)
    return Company(teams, tuple(people), 3.0, 0.55, 120)
