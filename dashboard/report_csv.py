"""The report's CSV files, ``team_period.csv`` (every row), ``latest.csv`` and
``headlines.csv`` (one row per team, dashboard.headlines), with the numbers the page
shows (:func:`format_figure`); and atomic file writes.
"""

from __future__ import annotations

import csv
import io
import os
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path

import pyarrow as pa

from teamlens.dashboard.headlines import Headline, headline, window_kind
from teamlens.dashboard.report_rows import (
    LATEST_COLUMNS,
    LATEST_CSV,
    TEAM_PERIOD_COLUMNS,
    TEAM_PERIOD_CSV,
    Row,
    format_figure,
    latest_rows,
    read_rows,
)
from teamlens.dashboard.windows import AUTO


def _csv_record(row: Row, columns: Sequence[str]) -> list[str]:
    keys: dict[str, str] = {
        "team": row.team,
        "period": row.period,
        "period_start": row.start.isoformat(),
        "label": row.label,
        "suppressed": format_figure("suppressed", row.suppressed),
        "reason": row.reason or "",
        "rolled_up": format_figure("rolled_up", row.rolled_up),
    }
    return [keys[c] if c in keys else row.text(c) for c in columns]


def _csv_text(rows: Iterable[Row], columns: Sequence[str]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(_csv_record(row, columns) for row in rows)
    return buffer.getvalue()


#: The file of the teams' headlines, and its columns.
HEADLINES_CSV = "headlines.csv"
HEADLINE_COLUMNS: tuple[str, ...] = (
    "team",
    "window",
    "verdict",
    "recent",
    "recent_labelled",
    "recent_inducing",
    "recent_rate",
    "earlier",
    "earlier_labelled",
    "earlier_inducing",
    "earlier_rate",
    "difference",
    "difference_low",
    "difference_high",
    "headline",
)


def _headline_record(found: Headline, window: str) -> list[str]:
    recent, earlier = found.recent, found.earlier

    def rate(value: float | None) -> str:
        return format_figure("defect_rate", value)

    return [
        found.team,
        window,
        found.verdict.value,
        recent.span if recent else "",
        str(recent.labelled) if recent else "",
        str(recent.inducing) if recent else "",
        rate(recent.rate) if recent else "",
        earlier.span if earlier else "",
        str(earlier.labelled) if earlier else "",
        str(earlier.inducing) if earlier else "",
        rate(earlier.rate) if earlier else "",
        rate(found.difference),
        rate(found.low),
        rate(found.high),
        found.text,
    ]


def _headlines_text(rows: Sequence[Row], k: int) -> str:
    by_team: dict[str, list[Row]] = {}
    for row in rows:
        by_team.setdefault(row.team, []).append(row)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(HEADLINE_COLUMNS)
    for team, team_rows in by_team.items():
        writer.writerow(_headline_record(headline(team, team_rows, k), window_kind(team_rows)))
    return buffer.getvalue()


def csv_texts(table: pa.Table, period: str | None = None, k: int = 5) -> dict[str, str]:
    """The CSV files by name: ``team_period.csv`` (every row), ``latest.csv`` and
    ``headlines.csv``.

    ``period`` picks the latest period's kind; by default the table's own (``week`` if
    it has any week row, ``month`` if it has only months, else each team's own). ``k``
    is the minimum number of people behind a figure, as the headlines say it.
    """
    rows = read_rows(table)
    kinds = {r.period for r in rows if not r.rolled_up}
    if period is None:
        period = "week" if "week" in kinds else "month" if kinds <= {"month"} else AUTO
    elif kinds - {period}:
        period = AUTO  # windows chosen per team: each team's latest
    latest = latest_rows(rows, period)
    return {
        TEAM_PERIOD_CSV: _csv_text(rows, TEAM_PERIOD_COLUMNS),
        LATEST_CSV: _csv_text(latest.rows, LATEST_COLUMNS),
        HEADLINES_CSV: _headlines_text(rows, k),
    }


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file and os.replace (never half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.tmp")
    try:
        with open(tmp, "x", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_csv(table: pa.Table, folder: Path, period: str | None = None, k: int = 5) -> list[Path]:
    """Write ``team_period.csv``, ``latest.csv`` and ``headlines.csv`` into ``folder``;
    their paths.

    The numbers are those of the HTML page (:func:`format_figure`); suppressed rows have
    empty figure cells and their reason.
    """
    paths = []
    for name, text in csv_texts(table, period, k).items():
        write_atomic(folder / name, text)
        paths.append(folder / name)
    return paths
