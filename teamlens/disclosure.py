"""Disclosure control for published figures: primary, dominance and secondary suppression.

Every figure teamlens publishes (a team's changes, churn, defect rate, mean risk, …) is a
sum over a set of changes. Whoever can read two such figures can subtract them; whoever
kept an earlier copy can subtract that too. Statistical agencies protect tables in three
steps, and so does this module:

* **primary**: a figure needs at least k distinct people behind the changes it sums
  (:func:`too_few`), and no single person may make more than ``dominance`` of them
  (:func:`dominated`);
* **secondary**: no *derivable* set of changes (any combination of shown figures, and of
  figures published earlier, that adds up to exactly one set of changes) may have fewer
  than k people behind it or be dominated by one person (:func:`find_disclosure`,
  :func:`protect`).

A figure is modelled as a :class:`Statistic`: the set of changes it sums. Sets are
partitioned into *atoms* (changes that belong to exactly the same statistics); a set of
atoms is derivable when its indicator vector lies in the row space of the
statistics × atoms matrix. Finding the smallest derivable set is hard in general; the
candidates checked are the ones differencing attacks use: every single atom, every
difference of two nested statistics (a team inside a larger team, a week inside its
month, an earlier publication of the same cell), and every statistic minus all the
statistics it contains (the total minus its shown teams, a month minus its shown weeks),
and the same over families of statistics, over the whole component and inside each
calendar window a statistic covers (a team's weeks add up to its month; the total's
months minus the teams' quarters leave the rest of a quarter).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

#: Default dominance threshold: no one person may make more than half of a figure's
#: changes (the (1, 50 %) rule).
DEFAULT_DOMINANCE = 0.5
_TOLERANCE = 1e-8


@dataclass(frozen=True)
class Statistic:
    """One published (or about to be published) figure: the set of changes it sums.

    ``known`` statistics were published already (an earlier report, the served page's
    earlier answers) and cannot be taken back; the others are candidates that
    :func:`protect` may hold back.
    """

    key: Hashable
    members: frozenset[str]
    known: bool = False
    #: Statistics of one family tile time (one team's weeks, months, earlier versions):
    #: their union is a figure too, whoever adds them up.
    family: str = ""
    #: What showing it is worth: protect holds back the least valuable first (the larger
    #: among equals).
    value: float = 1.0
    #: The time it covers, [start, end) as day numbers, when it is a calendar window:
    #: the statistics of one family inside a window add up to a figure of that window.
    span: tuple[int, int] | None = None


@dataclass(frozen=True)
class Disclosure:
    """A set of changes that shown figures reveal, with too few people (or one dominant)."""

    members: frozenset[str]
    people: int
    via: tuple[Hashable, ...]  # the statistics the set is derived from

    def describe(self) -> str:
        return f"{len(self.members)} change(s) of {self.people} person(s) derivable from " + (
            " and ".join(str(k) for k in self.via)
        )


def people_behind(members: Iterable[str], person_of: Mapping[str, str]) -> Counter[str]:
    """Changes per person among ``members``; a change with no known person counts as one
    unknown person (a change since removed: at least one person stands behind it)."""
    return Counter(person_of.get(m, "?") for m in members)


def too_few(members: Iterable[str], person_of: Mapping[str, str], k: int) -> bool:
    """Fewer than k distinct people behind a non-empty set."""
    counts = people_behind(members, person_of)
    return 0 < len(counts) < k


def dominated(members: Iterable[str], person_of: Mapping[str, str], dominance: float) -> bool:
    """One person makes more than ``dominance`` of the set's changes."""
    counts = people_behind(members, person_of)
    total = sum(counts.values())
    return total > 0 and max(counts.values()) > dominance * total


def unsafe(members: Iterable[str], person_of: Mapping[str, str], k: int, dominance: float) -> bool:
    members = list(members)
    return too_few(members, person_of, k) or dominated(members, person_of, dominance)


class _Component:
    """Statistics that share changes, as a statistics × atoms matrix."""

    def __init__(self, stats: Sequence[Statistic]) -> None:
        self.stats = list(stats)
        signature: dict[str, list[int]] = {}
        for i, stat in enumerate(self.stats):
            for member in stat.members:
                signature.setdefault(member, []).append(i)
        atoms: dict[tuple[int, ...], list[str]] = {}
        for member, in_rows in signature.items():
            atoms.setdefault(tuple(in_rows), []).append(member)
        self.atom_rows = list(atoms)
        self.atom_members = [frozenset(atoms[rows]) for rows in self.atom_rows]
        self.atoms_of = [set[int]() for _ in self.stats]
        for a, atom_rows in enumerate(self.atom_rows):
            for i in atom_rows:
                self.atoms_of[i].add(a)
        matrix = np.zeros((len(self.stats), len(self.atom_rows)))
        for a, atom_rows in enumerate(self.atom_rows):
            matrix[list(atom_rows), a] = 1.0
        self.matrix = matrix
        if matrix.size:
            _, singular, vt = np.linalg.svd(matrix, full_matrices=False)
            rank = int((singular > _TOLERANCE * max(1.0, singular[0])).sum())
            self.basis = vt[:rank]
        else:
            self.basis = np.zeros((0, 0))

    def derivable(self, atoms: set[int]) -> bool:
        vector = np.zeros(len(self.atom_rows))
        vector[list(atoms)] = 1.0
        if not len(self.basis):
            return False
        residual = vector - self.basis.T @ (self.basis @ vector)
        return float(np.abs(residual).max()) < 1e-6

    def combination(self, atoms: set[int]) -> tuple[Hashable, ...]:
        """The statistics a derivable set is added up from (nonzero coefficients)."""
        vector = np.zeros(len(self.atom_rows))
        vector[list(atoms)] = 1.0
        coefficients = np.linalg.lstsq(self.matrix.T, vector, rcond=None)[0]
        return tuple(self.stats[i].key for i in np.flatnonzero(np.abs(coefficients) > 1e-9))

    def members(self, atoms: Iterable[int]) -> frozenset[str]:
        return frozenset().union(*(self.atom_members[a] for a in atoms))

    def candidates(self) -> Iterable[tuple[set[int], tuple[Hashable, ...], bool]]:
        """(atoms, via, needs a derivability test) for each attack the module lists."""
        for a, atom_rows in enumerate(self.atom_rows):
            yield {a}, tuple(self.stats[i].key for i in atom_rows), True
        for i, outer in enumerate(self.atoms_of):
            inner = [j for j, atoms in enumerate(self.atoms_of) if j != i and atoms < outer]
            for j in inner:
                yield outer - self.atoms_of[j], (self.stats[i].key, self.stats[j].key), False
            others = [j for j in inner if self.stats[j].family != self.stats[i].family]
            if others:
                covered = set().union(*(self.atoms_of[j] for j in others))
                via = (self.stats[i].key, *(self.stats[j].key for j in others))
                yield outer - covered, via, True
        # The same over families: a team's weeks add up to its month, the total's weeks
        # to the total's month.
        families: dict[str, set[int]] = {}
        members: dict[str, list[int]] = {}
        for i, stat in enumerate(self.stats):
            families.setdefault(stat.family, set()).update(self.atoms_of[i])
            members.setdefault(stat.family, []).append(i)
        for name, union in families.items():
            nested = [g for g, atoms in families.items() if g != name and atoms < union]
            for g in nested:
                yield union - families[g], self._via(members, name, g), True
            if len(nested) > 1:
                covered = set().union(*(families[g] for g in nested))
                yield union - covered, self._via(members, name, *nested), True

        yield from self._windowed()

    def _windowed(self) -> Iterable[tuple[set[int], tuple[Hashable, ...], bool]]:
        """The family differences again, inside each window a statistic spans: a team's
        weeks add up to its quarter, the total's months to the total's quarter, and that
        quarter minus the teams' quarters is what the other teams did in it (a family
        union over the whole component would be a year, and miss the quarter)."""
        spans = sorted({s.span for s in self.stats if s.span is not None})
        for low, high in spans:
            inside: dict[str, set[int]] = {}
            members: dict[str, list[int]] = {}
            for i, stat in enumerate(self.stats):
                if stat.span is not None and low <= stat.span[0] and stat.span[1] <= high:
                    inside.setdefault(stat.family, set()).update(self.atoms_of[i])
                    members.setdefault(stat.family, []).append(i)
            if len(inside) < 2:
                continue
            for name, union in inside.items():
                nested = [g for g, atoms in inside.items() if g != name and atoms < union]
                for g in nested:
                    yield union - inside[g], self._via(members, name, g), True
                if len(nested) > 1:
                    covered = set().union(*(inside[g] for g in nested))
                    yield union - covered, self._via(members, name, *nested), True

    def _via(self, members: Mapping[str, list[int]], *names: str) -> tuple[Hashable, ...]:
        return tuple(self.stats[i].key for name in names for i in members[name])


def _components(stats: Sequence[Statistic]) -> list[list[Statistic]]:
    parent = list(range(len(stats)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first: dict[str, int] = {}
    for i, stat in enumerate(stats):
        for member in stat.members:
            j = first.setdefault(member, i)
            if j != i:
                parent[find(i)] = find(j)
    groups: dict[int, list[Statistic]] = {}
    for i, stat in enumerate(stats):
        if stat.members:
            groups.setdefault(find(i), []).append(stat)
    return list(groups.values())


def find_disclosures(
    stats: Sequence[Statistic],
    person_of: Mapping[str, str],
    k: int,
    dominance: float = DEFAULT_DOMINANCE,
    first_only: bool = False,
) -> list[Disclosure]:
    """Sets of changes the statistics reveal with fewer than k people or one dominant.

    A disclosure that involves known statistics only (published before) is reported too:
    the audit needs it; :func:`protect` skips what it cannot repair.
    """
    found: list[Disclosure] = []
    for group in _components(stats):
        component = _Component(group)
        seen: set[frozenset[int]] = set()
        for atoms, via, test in component.candidates():
            frozen = frozenset(atoms)
            if not atoms or frozen in seen:
                continue
            seen.add(frozen)
            members = component.members(atoms)
            if not unsafe(members, person_of, k, dominance):
                continue
            if test:
                if not component.derivable(atoms):
                    continue
                via = component.combination(atoms)
            counts = people_behind(members, person_of)
            found.append(Disclosure(members, len(counts), via))
            if first_only:
                return found
    return found


def protect(
    stats: Sequence[Statistic],
    person_of: Mapping[str, str],
    k: int,
    dominance: float = DEFAULT_DOMINANCE,
) -> set[Hashable]:
    """Keys of the candidate statistics to hold back so that nothing small is derivable.

    Greedy secondary suppression: while some derivable set is unsafe, hold back one of
    the candidate statistics it is added up from: the least valuable, and the largest
    among equals (the total before a team, the larger of two nested teams). Disclosures
    made by known statistics alone cannot be repaired and are left to the audit.
    """
    held: set[Hashable] = set()
    unrepairable: set[frozenset[str]] = set()
    # A candidate equal to something published already tells nothing new: never hold it.
    published = {s.members for s in stats if s.known}
    stats = [s if s.known or s.members not in published else replace(s, known=True) for s in stats]
    while True:
        live = [s for s in stats if s.key not in held]
        disclosures = [
            d
            for d in find_disclosures(live, person_of, k, dominance)
            if d.members not in unrepairable
        ]
        if not disclosures:
            return held
        disclosure = disclosures[0]
        involved = [s for s in live if not s.known and s.key in disclosure.via] or [
            s for s in live if not s.known and s.members & disclosure.members
        ]
        if not involved:
            unrepairable.add(disclosure.members)
            continue
        victim = min(involved, key=lambda s: (s.value, -len(s.members), str(s.key)))
        held.add(victim.key)
