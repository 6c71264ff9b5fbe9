"""What `teamlens report` prints after writing the report: how many team windows are
hidden, and each team's headline (read from the published ``team_period`` table)."""

from __future__ import annotations

from pathlib import Path

from teamlens.dashboard.headlines import headline, window_kind
from teamlens.dashboard.report_rows import Row, coverage, read_rows
from teamlens.dashboard.team_period import read_team_period
from teamlens.dashboard.windows import window_name


def summary_lines(data_dir: Path, k: int) -> list[str]:
    """The lines: the hidden share (all windows, the last three years), then per team its
    kind of window and headline."""
    rows = read_rows(read_team_period(data_dir))
    everything, recent = coverage(rows), coverage(rows, recent=True)
    lines = [
        f"{everything.describe()}; last three years: {recent.hidden} of {recent.total} "
        f"({recent.hidden_share:.0%})"
    ]
    by_team: dict[str, list[Row]] = {}
    for row in rows:
        by_team.setdefault(row.team, []).append(row)
    for team, team_rows in by_team.items():
        found = headline(team, team_rows, k)
        lines.append(f"{team} ({window_name(window_kind(team_rows))}s): {found.text}")
    return lines
