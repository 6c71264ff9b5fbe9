"""teamlens.disclosure: which sets of changes published sums reveal, and what protect holds."""

from __future__ import annotations

from teamlens.disclosure import Statistic, dominated, find_disclosures, protect, too_few


def _people(*groups: tuple[str, int, int]) -> tuple[dict[str, frozenset[str]], dict[str, str]]:
    """(name, changes, people) -> the changes of each group and each change's person."""
    sets: dict[str, frozenset[str]] = {}
    person_of: dict[str, str] = {}
    for name, changes, people in groups:
        ids = [f"{name}{i}" for i in range(changes)]
        sets[name] = frozenset(ids)
        person_of.update({c: f"{name}-person{i % people}" for i, c in enumerate(ids)})
    return sets, person_of


def test_primary_rules() -> None:
    sets, person_of = _people(("a", 10, 5), ("b", 10, 4), ("c", 12, 6))
    assert not too_few(sets["a"], person_of, 5) and too_few(sets["b"], person_of, 5)
    assert not too_few(frozenset(), person_of, 5)  # nothing is not a small group
    lopsided = sets["c"] | {f"x{i}" for i in range(13)}
    person_of.update({f"x{i}": "x" for i in range(13)})
    assert dominated(lopsided, person_of, 0.5) and not dominated(sets["c"], person_of, 0.5)


def test_the_total_minus_the_shown_teams_reveals_the_hidden_one() -> None:
    sets, person_of = _people(("big", 12, 6), ("mid", 10, 5), ("tiny", 3, 2))
    total = sets["big"] | sets["mid"] | sets["tiny"]
    stats = [Statistic("big", sets["big"]), Statistic("mid", sets["mid"]), Statistic("all", total)]
    (found,) = find_disclosures(stats, person_of, 5)
    assert found.members == sets["tiny"] and found.people == 2
    assert protect(stats, person_of, 5) == {"all"}  # the largest statistic behind it


def test_nested_teams_difference_to_their_outside() -> None:
    sets, person_of = _people(("core", 20, 7), ("examples", 4, 1))
    stats = [
        Statistic("core", sets["core"]),
        Statistic("core-and-examples", sets["core"] | sets["examples"]),
    ]
    assert [d.members for d in find_disclosures(stats, person_of, 5)] == [sets["examples"]]
    assert protect(stats, person_of, 5) == {"core-and-examples"}


def test_overlapping_teams_without_nesting_reveal_nothing() -> None:
    sets, person_of = _people(("ab", 10, 5), ("a", 2, 1), ("b", 2, 1))
    stats = [
        Statistic("one", sets["ab"] | sets["a"]),
        Statistic("two", sets["ab"] | sets["b"]),
    ]
    # one - two = a - b: a mixture of two people, not one person's figures.
    assert find_disclosures(stats, person_of, 5) == []


def test_a_known_publication_and_fresh_weeks_isolate_a_week() -> None:
    # A month published earlier (known) holds weeks 1-3; fresh weekly figures for weeks
    # 2 and 3 would leave week 1, one person's work. protect holds a fresh week: the
    # month can no longer be taken back.
    sets, person_of = _people(("w1", 3, 1), ("w2", 8, 6), ("w3", 9, 6))
    month = Statistic("month", sets["w1"] | sets["w2"] | sets["w3"], known=True, family="t")
    weeks = [Statistic(w, sets[w], family="t") for w in ("w2", "w3")]
    (found,) = find_disclosures([month, *weeks], person_of, 5)
    assert found.members == sets["w1"] and set(found.via) == {"month", "w2", "w3"}
    held = protect([month, *weeks], person_of, 5)
    assert len(held) == 1 and held <= {"w2", "w3"}
    assert find_disclosures([s for s in [month, *weeks] if s.key not in held], person_of, 5) == []


def test_what_known_statistics_reveal_alone_is_left_to_the_audit() -> None:
    sets, person_of = _people(("big", 12, 6), ("tiny", 2, 1))
    stats = [
        Statistic("big", sets["big"], known=True),
        Statistic("all", sets["big"] | sets["tiny"], known=True),
    ]
    assert len(find_disclosures(stats, person_of, 5)) == 1
    assert protect(stats, person_of, 5) == set()
