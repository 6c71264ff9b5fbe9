"""The report's CSV files, ``team_period.csv`` (every row) and ``latest.csv``, with the
numbers the page shows (:func:`format_figure`); and atomic file writes.
"""

from __future__ import annotations

import csv
import io
import os
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path

import pyarrow as pa

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


def csv_texts(table: pa.Table, period: str | None = None) -> dict[str, str]:
    """The CSV files by name: ``team_period.csv`` (every row) and ``latest.csv``.

    ``period`` picks the latest period's kind; by default the table's own (``week`` if
    it has any week row, else ``month``).
    """
    rows = read_rows(table)
    if period is None:
        period = "week" if any(r.period == "week" for r in rows) else "month"
    latest = latest_rows(rows, period)
    return {
        TEAM_PERIOD_CSV: _csv_text(rows, TEAM_PERIOD_COLUMNS),
        LATEST_CSV: _csv_text(latest.rows, LATEST_COLUMNS),
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


def write_csv(table: pa.Table, folder: Path, period: str | None = None) -> list[Path]:
    """Write ``team_period.csv`` and ``latest.csv`` into ``folder``; their paths.

    The numbers are those of the HTML page (:func:`format_figure`); suppressed rows have
    empty figure cells and their reason.
    """
    paths = []
    for name, text in csv_texts(table, period).items():
        write_atomic(folder / name, text)
        paths.append(folder / name)
    return paths
