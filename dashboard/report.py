"""The team trends report: one self-contained HTML file, and the same numbers as CSV.

Everything here reads the k-suppressed ``team_period`` table (:mod:`teamlens.aggregates`) and
nothing else, so it can only show what that table already allows: team and code
figures, never a person. The HTML file needs no network at all (no scripts, fonts,
images or style sheets from elsewhere; a Content-Security-Policy says so to the
browser): charts are inline SVG drawn here, styles are inline.

One formatting function, :func:`format_figure`, prints every figure for both the HTML
page and the CSV files, so the CSV files carry exactly the numbers the page shows:
rates, shares and risks with 3 decimals, hours with 1, counts as integers, flags as
``yes``/``no``. A suppressed row has no figures: the page prints "hidden (< k people)"
(or the reason it was hidden) and the CSV files leave the cells empty and give the
reason.

Teams are shown in this order: ``(all teams)`` first, then the teams by name, then
``(no team)``.

The parts: ``report_rows`` (the rows and :func:`format_figure`), ``charts`` (SVG),
``team_section`` (a team's charts and table), ``page`` (:func:`render_html`; its style
sheet is ``report.css``, package data), ``report_csv`` (the CSV files and atomic writes).
This module writes them all (:func:`write_report`) and names the public parts.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from teamlens.dashboard.charts import Point, Scale, Span, nice_ceiling, svg_chart
from teamlens.dashboard.page import render_html
from teamlens.dashboard.report_csv import csv_texts, write_atomic, write_csv
from teamlens.dashboard.report_rows import (
    DECIMALS,
    DEFAULT_TITLE,
    HOTSPOT_SEPARATOR,
    LATEST_COLUMNS,
    LATEST_CSV,
    LATEST_FIGURES,
    PERIODS,
    TEAM_PERIOD_COLUMNS,
    TEAM_PERIOD_CSV,
    Latest,
    Row,
    Value,
    format_figure,
    latest_rows,
    period_end,
    period_label,
    read_rows,
)

__all__ = [
    "DECIMALS",
    "DEFAULT_TITLE",
    "HOTSPOT_SEPARATOR",
    "LATEST_COLUMNS",
    "LATEST_CSV",
    "LATEST_FIGURES",
    "PERIODS",
    "TEAM_PERIOD_COLUMNS",
    "TEAM_PERIOD_CSV",
    "Latest",
    "Point",
    "Row",
    "Scale",
    "Span",
    "Value",
    "csv_texts",
    "format_figure",
    "latest_rows",
    "nice_ceiling",
    "period_end",
    "period_label",
    "read_rows",
    "render_html",
    "svg_chart",
    "write_atomic",
    "write_csv",
    "write_report",
]


def write_report(
    table: pa.Table,
    out: Path,
    csv_dir: Path | None,
    *,
    period: str,
    k: int,
    generated: str,
    title: str = DEFAULT_TITLE,
) -> None:
    """Render the page (and the CSV files into ``csv_dir``) and write them atomically.

    Everything is rendered before anything is written, and each file goes to a
    temporary file first: a failure leaves the previous files as they were.
    """
    page = render_html(table, period=period, k=k, generated=generated, title=title)
    texts = csv_texts(table, period, k) if csv_dir is not None else {}
    if csv_dir is not None:
        for name, text in texts.items():
            write_atomic(csv_dir / name, text)
    write_atomic(out, page)
