"""The report page: one self-contained HTML document.

The latest period of every team, a section per shown team (:mod:`.team_section`),
hotspots, notes and how to read the figures. The style sheet is ``report.css`` (package
data), inlined in a ``<style>`` element: the page needs no network at all.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from importlib import resources

import pyarrow as pa

from teamlens.aggregates import ALL_TEAMS, UNOWNED
from teamlens.dashboard.charts import _e, _x_ticks
from teamlens.dashboard.notes import notes_section
from teamlens.dashboard.report_rows import (
    DEFAULT_TITLE,
    PERIODS,
    Latest,
    Row,
    latest_rows,
    read_rows,
)
from teamlens.dashboard.team_section import (
    _LATEST_HEADERS,
    _cell,
    _Context,
    _hidden_text,
    _period_cell,
    _table_head,
    _team_section,
)
from teamlens.dashboard.windows import AUTO, window_name


@functools.cache
def _css() -> str:
    """The page's style sheet, ``report.css`` (package data), to inline in every page."""
    return resources.files("teamlens.dashboard").joinpath("report.css").read_text(encoding="utf-8")


_HOW_TO_READ = (
    (
        "About teams and code, never about a person",
        "Every figure counts the changes (non-merge commits) that touch code a team owns, "
        "according to the ownership rules (path globs or CODEOWNERS). A change touching "
        "several teams' code counts for each of them; changes to code nobody owns count "
        "for {unowned}. {all_teams} counts every change once. Nothing here measures, ranks "
        "or names an engineer, and the report must not be used to judge anyone.",
    ),
    (
        "k = {k}: hidden figures",
        "A team's figures for a period are shown only when at least {k} different people "
        "contributed to its changes; otherwise the whole row is hidden (\u201chidden (< {k} "
        "people)\u201d, a grey column in the charts) and never shown as zero. With weekly "
        "periods, a week below {k} is rolled up into its month when the month reaches "
        "{k} (an orange level across the month). A figure can also be hidden so that "
        "totals minus the shown teams cannot reveal a smaller team.",
    ),
    (
        "Changes, churn",
        "Non-merge changes in the period, and their lines added plus deleted.",
    ),
    (
        "Defect-inducing rate, 95 % interval",
        "The share of the period's changes that a later fix traced back to (SZZ), over the "
        "changes whose label is mature. The interval (Wilson score, the shaded band) shows "
        "how uncertain that share is: small periods have wide bands, and a difference "
        "between two periods whose bands overlap may be noise.",
    ),
    (
        "Provisional",
        "Some changes of the period are too young for a mature label: a fix may still come. "
        "The rate is over the mature ones only and will change; provisional periods are "
        "drawn dashed and lighter.",
    ),
    (
        "Mean risk, high-risk share",
        "The current model's predicted risk of the period's changes (0 to 1), and the share "
        "of changes at the high risk level. A risk is an estimate for a change, not a "
        "judgement of whoever wrote it.",
    ),
    (
        "Review coverage, median hours to first review",
        "Over changes merged through a pull request: the share that was reviewed, and the "
        "median time from opening the pull request to its first review.",
    ),
    (
        "Hotspots",
        "Up to three files the team's changes touched that had the most fix commits in the "
        "period: code that may deserve attention, tests or a refactoring.",
    ),
    (
        "Numbers",
        "Rates, shares and risks are rounded to 3 decimals, hours to 1. The CSV files next "
        "to this page carry exactly these numbers. n/a: no data for that figure (e.g. no "
        "pull requests, or no mature label yet).",
    ),
)


def _labelled(cell: str, label: str) -> str:
    """A ``<td>`` with ``data-label``: on a phone each row is a card naming its figures."""
    return cell.replace("<td", f'<td data-label="{_e(label)}"', 1)


def _latest_section(latest: Latest, k: int) -> str:
    if latest.start is None:
        return '<section id="latest"><h2>Latest period</h2><p>No data.</p></section>'
    body = []
    for row in latest.rows:
        period = _labelled(_period_cell(row, latest.period), "Period")
        head = f'<th scope="row">{_e(row.team)}</th>{period}'
        if row.suppressed:
            hidden = _e(_hidden_text(row.reason, k))
            cells = "".join(
                f'<td class="hidden" data-label="{_e(name)}">{hidden}</td>'
                for _, name in _LATEST_HEADERS
            )
        else:
            cells = "".join(_labelled(_cell(row, column), name) for column, name in _LATEST_HEADERS)
        body.append(f"<tr>{head}{cells}</tr>")
    start = latest.start.isoformat()
    which = (
        "Each team's latest shown window (its latest window if none is shown)"
        if latest.period == AUTO
        else f"Latest {latest.period}: {_e(latest.label)} (from {start})"
    )
    caption = f"{which}. Teams without changes in it are not listed."
    if any(r.rolled_up for r in latest.rows):
        caption += " A rolled-up month stands in for a team's week below k."
    return (
        '<section id="latest"><h2>Latest period</h2><div class="scroll">'
        f'<table class="latest"><caption class="muted">{caption}</caption>'
        f"{_table_head('Team', _LATEST_HEADERS)}<tbody>{''.join(body)}</tbody></table>"
        "</div></section>"
    )


def _legend(k: int) -> str:
    items = (
        ("s-line", "defect-inducing rate"),
        ("s-band", "95 % interval"),
        ("s-prov", "provisional (labels not mature yet)"),
        ("s-month", "a month of rolled-up weeks"),
        ("s-rolled", "week rolled up into its month"),
        ("s-hidden", f"hidden: fewer than {k} contributors"),
    )
    entries = "".join(
        f'<li><span class="swatch {css}" aria-hidden="true"></span>{_e(text)}</li>'
        for css, text in items
    )
    return f'<ul class="legend">{entries}</ul>'


def _slugs(teams: Sequence[str]) -> dict[str, str]:
    """A unique ``team-<slug>`` id per team."""
    used: set[str] = set()
    out: dict[str, str] = {}
    for team in teams:
        base = re.sub(r"[^a-z0-9]+", "-", team.lower()).strip("-") or "team"
        slug, n = base, 2
        while slug in used:
            slug, n = f"{base}-{n}", n + 1
        used.add(slug)
        out[team] = f"team-{slug}"
    return out


def _hotspots_section(by_team: Mapping[str, Sequence[Row]], period: str) -> str:
    body = []
    for team, rows in by_team.items():
        shown = [r for r in rows if not r.suppressed]
        if not shown:
            continue
        row = max(shown, key=lambda r: (r.end, -PERIODS.index(r.period)))
        files = row.hotspots
        listing = (
            "<ol>" + "".join(f"<li><code>{_e(path)}</code></li>" for path in files) + "</ol>"
            if files
            else '<span class="muted">no file touched by a fix</span>'
        )
        body.append(
            f'<tr><th scope="row">{_e(team)}</th>{_period_cell(row, period)}'
            f'<td class="text">{listing}</td></tr>'
        )
    return (
        '<section id="hotspots"><h2>Hotspots</h2><p class="muted">Per team, in its latest '
        "shown period: the touched files with the most fix commits.</p>"
        '<div class="scroll"><table class="hotspots"><thead><tr>'
        '<th scope="col" class="text">Team</th>'
        '<th scope="col" class="text">Period</th><th scope="col" class="text">Files</th>'
        f"</tr></thead><tbody>{''.join(body)}</tbody></table></div></section>"
    )


def _how_to_read(k: int) -> str:
    entries = "".join(
        f"<dt>{_e(term.format(k=k))}</dt><dd>"
        f"{_e(text.format(k=k, unowned=UNOWNED, all_teams=ALL_TEAMS))}</dd>"
        for term, text in _HOW_TO_READ
    )
    return f'<section id="how-to-read"><h2>How to read this</h2><dl>{entries}</dl></section>'


def render_html(
    table: pa.Table,
    *,
    period: str,
    k: int,
    generated: str,
    title: str = DEFAULT_TITLE,
    controls: str = "",
) -> str:
    """The report as one self-contained HTML page (no network needed, no scripts).

    ``controls`` is HTML put under the title: the served page's pickers (a ``GET`` form
    to the page's own origin, which the page's policy then allows).

    ``period`` is the report's period (``week`` or ``month``), ``k`` the minimum number
    of contributors behind a shown figure and ``generated`` the time of the report, as
    it should be printed. Every string from the table is escaped.
    """
    if period not in (*PERIODS, AUTO):
        raise ValueError(f"period must be week or month, got {period!r}")
    rows = read_rows(table)
    if any(r.period != period and not r.rolled_up for r in rows):
        period = AUTO  # windows chosen per team (or mixed kinds): each team's own
    by_team: dict[str, list[Row]] = {}
    for row in rows:
        by_team.setdefault(row.team, []).append(row)
    shown_teams = [
        t for t, team_rows in by_team.items() if any(not r.suppressed for r in team_rows)
    ]
    slugs = _slugs(shown_teams)
    sections: list[str] = []
    if rows:
        first = min(r.start for r in rows)
        last = max(r.end for r in rows)
        ctx = _Context(
            period=period,
            k=k,
            first=first,
            last=last,
            # every chart is CHART_WIDTH wide: the same few labels on each
            ticks=tuple(_x_ticks(first, last)),
            small_ticks=tuple(_x_ticks(first, last)),
            months_shown=frozenset(
                (r.team, r.start) for r in rows if r.rolled_up and not r.suppressed
            ),
        )
        sections = [_team_section(t, slugs[t], by_team[t], ctx) for t in shown_teams]
    latest = latest_rows(rows, period)
    nav = "".join(f'<li><a href="#{_e(slugs[t])}">{_e(t)}</a></li>' for t in shown_teams)
    form_action = "'self'" if controls else "'none'"
    csp = f"default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action {form_action}"
    periods_word = "chosen per team" if period == AUTO else f"{window_name(period)}s"
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{csp}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="referrer" content="no-referrer">'
        f"<title>{_e(title)}</title><style>\n{_css()}</style></head><body>"
        f"<header><h1>{_e(title)}</h1>"
        f'<p class="meta">Generated {_e(generated)} \u00b7 periods: {periods_word} \u00b7 '
        f"k = {k} \u00b7 {len(shown_teams)} team{'' if len(shown_teams) == 1 else 's'} shown. "
        "Figures are about teams and code, "
        'never about a person (see <a href="#how-to-read">How to read this</a>).</p>'
        f'{controls}<nav aria-label="Sections"><ul><li><a href="#latest">Latest period</a></li>'
        f'{nav}<li><a href="#hotspots">Hotspots</a></li><li><a href="#notes">Notes</a>'
        '</li><li><a href="#how-to-read">How to read this</a></li></ul></nav></header>'
        f"<main>{_latest_section(latest, k)}"
        f'<section id="trends"><h2>Trends per team</h2>{_legend(k)}{"".join(sections)}'
        f"{'' if sections else '<p>No team has a shown period.</p>'}</section>"
        f"{_hotspots_section(by_team, period)}{notes_section(rows, by_team, k)}"
        f"{_how_to_read(k)}</main></body></html>\n"
    )
