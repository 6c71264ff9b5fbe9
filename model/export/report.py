"""What an export did to privacy: the linkability measurements and the per-repository
and overall results (the datasheet and `teamlens export` report them)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Linkability:
    """How many rows the attacker's candidate count singles out."""

    rows: int
    unique: int  # rows consistent with exactly one commit
    under_k: int  # rows consistent with fewer than k commits
    under_k_people: int  # rows whose candidate commits have fewer than k distinct authors

    def share(self, count: int) -> float:
        return count / self.rows if self.rows else 0.0


@dataclass(frozen=True)
class RepoPrivacy:
    """What generalisation and suppression did to one repository's rows."""

    repo: str
    changes: int  # rows before suppression
    classes: int  # equivalence classes written
    suppressed_small: int  # the repository has fewer than k rows or people
    suppressed_linked: int  # a class the history matches with fewer than k commits or people
    exact: Linkability  # the measurement on day-level dates and exact values, all rows
    published: Linkability  # the measurement on what was written

    @property
    def suppressed(self) -> int:
        return self.suppressed_small + self.suppressed_linked


@dataclass(frozen=True)
class ExportReport:
    folder: Path
    rows: int
    labelled: int
    defect_inducing: int
    suppressed: int
    exact: Linkability
    published: Linkability
    repos: tuple[RepoPrivacy, ...]


def _total(parts: Sequence[Linkability]) -> Linkability:
    return Linkability(
        sum(p.rows for p in parts),
        sum(p.unique for p in parts),
        sum(p.under_k for p in parts),
        sum(p.under_k_people for p in parts),
    )
