"""The ``team_period`` table: team-level quality figures per week or month, published.

Part of the spine because the published zone is: ``teamlens query`` (teamlens.store)
offers this table, and the report, its CSV files and the served page read it and nothing
else. The privacy rules are applied once, when it is built (teamlens.dashboard.team_period,
docs/privacy.md). A row is one team (or ``ALL_TEAMS``) and one period:

* a **shown** row carries figures, each group of them with at least k people behind its
  changes and nothing smaller derivable from it;
* a **suppressed** row (``suppressed = true``) carries no figures at all (every figure
  column null) and a ``reason``; it is never shown as zero.

``period`` is the kind of window: ``week``, ``month`` (the weeks whose Monday falls in
it), ``quarter``, ``half`` or ``year`` (the months they span); with ``--period auto``
each team has its own kind (teamlens.dashboard.windows).
With ``--period week``, a team-week that fails is rolled up into its month (a ``month``
row, ``rolled_up = true``) when the month passes; otherwise that week is suppressed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import pyarrow as pa

ALL_TEAMS = "(all teams)"
UNOWNED = "(no team)"
TEAM_PERIOD_FILE = Path("aggregates") / "team_period.parquet"  # under data_dir

SCHEMA = pa.schema(
    [
        ("team", pa.string()),
        ("period", pa.string()),  # "week", "month", "quarter", "half" or "year"
        ("period_start", pa.date32()),  # Monday of the week, or the 1st of the month
        ("suppressed", pa.bool_()),
        ("reason", pa.string()),  # why suppressed; null when shown
        ("rolled_up", pa.bool_()),  # a month row standing in for weeks below k
        ("changes", pa.int64()),
        ("churn", pa.int64()),  # lines added + deleted
        ("labelled_changes", pa.int64()),  # changes with a mature label
        ("defect_inducing", pa.int64()),
        ("defect_rate", pa.float64()),  # defect_inducing / labelled_changes
        ("defect_rate_low", pa.float64()),  # Wilson 95 % interval
        ("defect_rate_high", pa.float64()),
        ("provisional", pa.bool_()),  # some changes of the period are still unlabelled
        ("mean_risk", pa.float64()),  # mean predicted risk (current model)
        ("high_risk_share", pa.float64()),  # share of changes at the high risk level
        ("review_coverage", pa.float64()),  # share of PR-merged changes that were reviewed
        ("median_hours_to_first_review", pa.float64()),
        ("hotspots", pa.list_(pa.string())),  # up to 3 files with the most fixes
    ]
)

#: Columns that are figures: null in a suppressed row.
FIGURES: tuple[str, ...] = tuple(
    name
    for name in SCHEMA.names
    if name not in ("team", "period", "period_start", "suppressed", "reason", "rolled_up")
)


@dataclass(frozen=True)
class TeamPeriodRow:
    """One row of ``team_period``, typed (the columns of :data:`SCHEMA`, in its order)."""

    team: str
    period: str
    period_start: dt.date
    suppressed: bool = False
    reason: str | None = None
    rolled_up: bool = False
    changes: int | None = None
    churn: int | None = None
    labelled_changes: int | None = None
    defect_inducing: int | None = None
    defect_rate: float | None = None
    defect_rate_low: float | None = None
    defect_rate_high: float | None = None
    provisional: bool | None = None
    mean_risk: float | None = None
    high_risk_share: float | None = None
    review_coverage: float | None = None
    median_hours_to_first_review: float | None = None
    hotspots: tuple[str, ...] | None = None

    def hidden(self, reason: str) -> TeamPeriodRow:
        """The row suppressed: no figure at all, and why."""
        nothing: dict[str, Any] = dict.fromkeys(FIGURES)
        return replace(self, suppressed=True, reason=reason, **nothing)

    def with_figures(self, figures: Mapping[str, Any]) -> TeamPeriodRow:
        """The row with some figure columns set (names of :data:`FIGURES` only)."""
        unknown = set(figures) - set(FIGURES)
        if unknown:
            raise ValueError(f"not figure columns of team_period: {sorted(unknown)}")
        values: dict[str, Any] = {
            k: tuple(v) if k == "hotspots" and v is not None else v for k, v in figures.items()
        }
        return replace(self, **values)

    def as_dict(self) -> dict[str, Any]:
        """The row as pyarrow writes it (:data:`SCHEMA`'s column names)."""
        row = {f.name: getattr(self, f.name) for f in fields(self)}
        if row["hotspots"] is not None:
            row["hotspots"] = list(row["hotspots"])
        return row
