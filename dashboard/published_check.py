"""Recompute the disclosure control of the published team figures (for `teamlens privacy`).

The builder (dashboard.team_period) applies the rules; this module checks the result
from the outside, from the store and the ledger, so that a table written by another
version, edited by hand or built from a store that changed since is caught:

* figures that still include changes the store no longer holds (someone opted out
  since) are **stale**: the report must be rebuilt;
* every shown row's groups of figures are matched to the ledger version that published
  them; a shown figure the ledger does not know is an **unrecorded** publication and is
  checked with the changes the store gives for its cell today;
* **primary**: each shown group has at least k people behind its changes and no one
  person above the dominance share;
* **republication**: consecutive publications of a cell moved with fewer than k people
  (or one dominant) behind the move;
* **secondary**: no set of changes derivable from everything published (ledger and
  shown rows together) fails the primary rule (teamlens.disclosure.find_disclosures).
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Any

import pyarrow.parquet as pq

from teamlens.aggregates import TEAM_PERIOD_FILE
from teamlens.config import Config
from teamlens.dashboard.ledger import Entry, Ledger, change_tokens
from teamlens.dashboard.team_period import (
    GROUP_FIGURES,
    Group,
    cell_changes,
    change_frame,
    group_members,
    prepare,
)
from teamlens.dashboard.windows import WINDOWS
from teamlens.disclosure import Statistic, dominated, find_disclosures, people_behind, too_few

SMALL_GROUP = "small-group"
DOMINANCE = "dominance"
DIFFERENCING = "differencing"
REPUBLICATION = "republication"
UNRECORDED = "unrecorded-publication"
STALE = "stale-publication"


@dataclass(frozen=True)
class Problem:
    rule: str
    where: str
    detail: str


def _same(published: Any, recorded: Any) -> bool:
    if isinstance(published, float) and isinstance(recorded, float | int):
        return math.isclose(published, float(recorded), rel_tol=1e-9, abs_tol=1e-12)
    if isinstance(published, list | tuple):
        return list(published) == list(recorded or [])
    return bool(published == recorded)


def _matching(
    row: Mapping[str, Any], versions: list[Entry], names: tuple[str, ...]
) -> Entry | None:
    for entry in reversed(versions):
        if all(_same(row[n], entry.figures.get(n)) for n in names if row[n] is not None):
            return entry
    return None


def _primary(members: frozenset[str], person_of: Mapping[str, str], k: int, dominance: float,
             where: str) -> list[Problem]:  # fmt: skip
    counts = people_behind(members, person_of)
    if too_few(members, person_of, k):
        return [Problem(SMALL_GROUP, where, f"shown with {len(counts)} people behind it (k = {k})")]
    if dominated(members, person_of, dominance):
        share = max(counts.values()) / sum(counts.values())
        return [Problem(DOMINANCE, where, f"one person made {share:.0%} of its changes")]
    return []


def check_published(config: Config, key: bytes | None) -> tuple[list[Problem], list[str]]:
    """Problems of the published ``team_period`` table and its ledger, and notes on what
    could not be checked. ``key`` (the pseudonymisation key) reads the ledger's tokens."""
    path = config.data_dir / TEAM_PERIOD_FILE
    if not path.exists():
        return [], []
    place = TEAM_PERIOD_FILE.as_posix()
    if key is None:
        return [], [f"{place}: no key, so the ledger of earlier publications cannot be read"]
    k, dominance, high = config.privacy.k, config.privacy.dominance, config.review.high
    frame = prepare(change_frame(config))
    person_of = dict(zip(frame["member"], frame["people"], strict=True))
    ledger = Ledger.load(config.data_dir, change_tokens(key))
    ledger.forget_except(set(person_of))
    problems: list[Problem] = []
    notes: list[str] = []
    extra: dict[str, list[Statistic]] = {g.value: [] for g in Group}
    for row in pq.read_table(path).to_pylist():
        if row["suppressed"] is True:
            continue
        team, period, start = row["team"], row["period"], row["period_start"]
        if period not in WINDOWS or not isinstance(start, dt.date):
            notes.append(f"{place}, team {team!r}: period {period!r} of {start!r} is unknown")
            continue
        where = f"{place}, team {team!r}, {period} of {start.isoformat()}"
        part = cell_changes(frame, team, period, start)
        for group in Group:
            names = GROUP_FIGURES[group]
            if all(row.get(n) is None for n in names):
                continue
            versions = ledger.versions(group.value, (team, period, start))
            entry = _matching(row, versions, names)
            if entry is None:
                members = frozenset(group_members(part, group, high)["member"])
                problems.append(
                    Problem(
                        UNRECORDED,
                        f"{where}, {group.value} figures",
                        "shown figures that no recorded publication holds (built by another "
                        "version or edited); checked with the store's changes of today",
                    )
                )
                shown_key: Hashable = ("shown", team, period, start)
                extra[group.value].append(Statistic(shown_key, members, True, team))
            else:
                members = entry.members
                if not members <= person_of.keys():
                    problems.append(
                        Problem(
                            STALE,
                            f"{where}, {group.value} figures",
                            "shown figures include changes no longer stored (an opt-out or a "
                            "rewritten branch); rebuild the report",
                        )
                    )
            problems += _primary(members, person_of, k, dominance, f"{where}, {group.value}")
    for group in Group:
        stats = [*ledger.statistics(group.value), *extra[group.value]]
        for disclosure in find_disclosures(stats, person_of, k, dominance):
            problems.append(
                Problem(
                    DIFFERENCING,
                    f"{place} and earlier publications, {group.value} figures",
                    disclosure.describe(),
                )
            )
        problems += _republication(ledger, group, person_of, k, dominance, place)
    return problems, notes


def _republication(ledger: Ledger, group: Group, person_of: Mapping[str, str], k: int,
                   dominance: float, place: str) -> list[Problem]:  # fmt: skip
    problems = []
    for key, versions in ledger.history(group.value).items():
        for before, after in itertools.pairwise(versions):
            moved = set(before.members ^ after.members) | {
                m
                for m in before.members & after.members
                if abs(before.values[m] - after.values[m]) > 1e-9
            }
            if too_few(moved, person_of, k) or dominated(moved, person_of, dominance):
                team, period, start = key
                problems.append(
                    Problem(
                        REPUBLICATION,
                        f"{place}, team {team!r}, {period} of {start.isoformat()}, "
                        f"{group.value} figures",
                        f"publication {after.version} moved from {before.version} with "
                        f"{len(people_behind(moved, person_of))} people behind the move",
                    )
                )
    return problems
