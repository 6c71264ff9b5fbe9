"""The team trends report: self-contained HTML, k-suppression shown as hidden, CSV = page."""

from __future__ import annotations

import csv
import datetime as dt
import os
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from teamlens.aggregates import ALL_TEAMS, FIGURES, SCHEMA
from teamlens.dashboard import report
from teamlens.dashboard.report import (
    LATEST_CSV,
    LATEST_FIGURES,
    TEAM_PERIOD_CSV,
    format_figure,
    render_html,
    write_csv,
    write_report,
)
from teamlens.dashboard.report_csv import HEADLINES_CSV

K = 5
WEEKS = [dt.date(2024, 4, 1) + dt.timedelta(weeks=i) for i in range(8)]  # W14 .. W21
PROVISIONAL_FROM = dt.date(2024, 5, 6)  # W19, W20, W21
HIDDEN = f"hidden (< {K} people)"
NUMBER = re.compile(r"\d+(?:\.\d+)?")


def _row(team: str, period: str, start: dt.date, **values: Any) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(SCHEMA.names)
    row.update(team=team, period=period, period_start=start, suppressed=False, rolled_up=False)
    row.update(values)
    return row


def _figures(seed: int, start: dt.date, team: str) -> dict[str, Any]:
    """Distinct, awkward values (more decimals than printed) per row."""
    changes = 20 + seed
    labelled = changes - (3 if start >= PROVISIONAL_FROM else 0)
    inducing = 2 + seed % 4
    rate = inducing / labelled
    return {
        "changes": changes,
        "churn": 1000 + 37 * seed,
        "labelled_changes": labelled,
        "defect_inducing": inducing,
        "defect_rate": rate,
        "defect_rate_low": rate / 2.0001,
        "defect_rate_high": min(1.0, rate * 1.9876),
        "provisional": start >= PROVISIONAL_FROM,
        "mean_risk": 0.2 + seed / 1000.0 + 0.000123,
        "high_risk_share": 0.05 + seed / 997.0,
        "review_coverage": 0.8 + seed / 1013.0,
        "median_hours_to_first_review": 3.26 + seed,
        "hotspots": [f"{team}/src/file{seed}.py", f"{team}/lib/util.py"],
    }


def _hide(team: str, start: dt.date, reason: str) -> dict[str, Any]:
    return _row(team, "week", start, suppressed=True, reason=reason)


def team_period(shown: str = "alpha", rolled: str = "beta", hidden: str = "gamma") -> pa.Table:
    """(all teams) and ``shown`` every week; ``rolled``'s April weeks are rolled up into
    April, its May weeks shown; ``hidden`` has fewer than k contributors every week."""
    rows = []
    below = f"fewer than {K} contributors"
    for i, week in enumerate(WEEKS):
        rows.append(_row(ALL_TEAMS, "week", week, **_figures(40 + i, week, "all")))
        rows.append(_row(shown, "week", week, **_figures(i, week, shown)))
        rows.append(_hide(hidden, week, below))
        if week.month == 4:
            rows.append(_hide(rolled, week, f"{below}; shown in its month"))
        else:
            rows.append(_row(rolled, "week", week, **_figures(20 + i, week, rolled)))
    april = dt.date(2024, 4, 1)
    rows.append(_row(rolled, "month", april, rolled_up=True, **_figures(30, april, rolled)))
    return pa.Table.from_pylist(rows, schema=SCHEMA)


def render(table: pa.Table | None = None, period: str = "week") -> str:
    return render_html(
        team_period() if table is None else table, period=period, k=K, generated="2024-05-27"
    )


class Page(HTMLParser):
    """Sections by id, their SVG elements' attributes, and the cells of every body row."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.section: str | None = None
        self.sections: dict[str, list[tuple[str, dict[str, str]]]] = {}
        self.table_class: str | None = None
        self.tables: dict[str, list[list[str]]] = {}
        self.in_body = False
        self.cell: list[str] | None = None
        self.in_svg_title = False
        self.svg_titles: list[str] = []
        self.last_tag = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {k: v or "" for k, v in attrs}
        if tag == "section" and attributes.get("id", "").startswith("team-"):
            self.section = attributes["id"]
            self.sections[self.section] = []
        if self.section is not None and tag in ("svg", "path", "circle", "rect", "title"):
            self.sections[self.section].append((tag, attributes))
        if tag == "title" and self.last_tag == "svg":
            self.in_svg_title = True
            self.svg_titles.append("")
        if tag == "table":
            self.table_class = attributes.get("class", "")
            self.tables.setdefault(self.table_class, [])
        if tag == "tbody":
            self.in_body = True
        if tag == "tr" and self.table_class is not None and self.in_body:
            self.tables[self.table_class].append([])
        if tag in ("td", "th") and self.table_class is not None and self.in_body:
            self.cell = []
        self.last_tag = tag

    def handle_endtag(self, tag: str) -> None:
        if tag == "section":
            self.section = None
        if tag == "title":
            self.in_svg_title = False
        if tag in ("td", "th") and self.cell is not None and self.table_class is not None:
            self.tables[self.table_class][-1].append("".join(self.cell).strip())
            self.cell = None
        if tag == "tbody":
            self.in_body = False
        if tag == "table":
            self.table_class = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)
        if self.in_svg_title:
            self.svg_titles[-1] += data


def parse(page: str) -> Page:
    parser = Page()
    parser.feed(page)
    parser.close()
    return parser


def test_the_page_needs_no_network() -> None:
    page = render()
    assert "http://" not in page and "https://" not in page
    assert not re.search(r"\bsrc\s*=", page, re.IGNORECASE)
    hrefs = re.findall(r"\bhref\s*=\s*[\"']?([^\"'\s>]*)", page, re.IGNORECASE)
    assert hrefs and all(h.startswith("#") for h in hrefs)
    for external in ("<script", "<link", "<img", "<iframe", "@import", "url(", "//"):
        assert external not in page.lower()
    assert "default-src 'none'" in page


def test_one_section_with_charts_per_shown_team() -> None:
    parsed = parse(render())
    assert set(parsed.sections) == {"team-all-teams", "team-alpha", "team-beta"}
    for section, elements in parsed.sections.items():
        svgs = [a for tag, a in elements if tag == "svg"]
        assert len(svgs) == 3, section
        for svg in svgs:
            assert "chart" in svg["class"].split()
            assert svg["role"] == "img" and svg["aria-label"]
        drawn = [
            a["d"]
            for tag, a in elements
            if tag == "path" and {"line", "step"} & set(a.get("class", "").split())
        ]
        assert drawn and all(re.fullmatch(r"M[\d.]+,[\d.]+( L[\d.]+,[\d.]+)+", d) for d in drawn)
    assert len(parsed.svg_titles) == 9 and all(parsed.svg_titles)
    assert parsed.svg_titles[0] == "Defect-inducing rate per week: (all teams)"


def test_a_team_below_k_is_only_ever_hidden() -> None:
    page = render()
    assert "hidden (&lt; 5 people)" in page
    assert 'id="team-gamma"' not in page
    for match in re.finditer("gamma", page):
        around = page[max(0, match.start() - 300) : match.end() + 300]
        assert "hidden" in around, around
    latest = {row[0]: row for row in parse(page).tables["latest"] if row}
    gamma = latest["gamma"]
    assert gamma[1] == "2024-W21"
    assert gamma[2:] == [HIDDEN] * (len(gamma) - 2)
    assert not any(NUMBER.search(cell.replace(f"< {K}", "")) for cell in gamma[2:])


def test_suppressed_rows_never_print_figures_they_should_not_have() -> None:
    rows = team_period().to_pylist()
    for row in rows:
        if row["suppressed"]:
            row.update({name: 987654 for name in FIGURES if name.endswith("changes")})
            row["hotspots"] = ["secret/path.py"]
    table = pa.Table.from_pylist(rows, schema=SCHEMA)
    page = render(table)
    assert "987654" not in page and "secret/path.py" not in page


def test_rolled_up_weeks_and_hidden_weeks_are_gaps_not_zeros() -> None:
    parsed = parse(render())
    beta = parsed.sections["team-beta"]
    rate_svg = [i for i, (tag, _) in enumerate(beta) if tag == "svg"][:2]
    rate_chart = beta[rate_svg[0] : rate_svg[1]]
    rolled = [a for tag, a in rate_chart if tag == "rect" and a["class"] == "rolled-period"]
    assert len(rolled) == 5  # the five weeks starting in April
    steps = [a for tag, a in rate_chart if tag == "path" and "step" in a["class"].split()]
    assert len(steps) == 1  # the April month across the month
    dots = [a for tag, a in rate_chart if tag == "circle"]
    assert len(dots) == 3  # the three May weeks, none for the hidden ones
    alpha = parsed.sections["team-alpha"]
    assert not [a for tag, a in alpha if tag == "rect"]


def test_provisional_periods_are_dashed() -> None:
    parsed = parse(render())
    classes = [a["class"] for tag, a in parsed.sections["team-alpha"] if tag == "path"]
    assert "line provisional" in classes and "line" in classes
    assert "band provisional" in classes and "band" in classes


def test_notes_and_how_to_read() -> None:
    page = render()
    notes = page[page.index('id="notes"') : page.index('id="how-to-read"')]
    # beta's April weeks are shown in their month: only gamma's eight weeks are hidden
    assert "8 of 32 team windows hidden (25%)" in notes
    assert "gamma: weeks; 0 of 8 shown; hidden: 8 \u00d7 fewer than 5 contributors" in notes
    assert "Provisional (some changes too young for a mature label): 2024-W19 to 2024-W21" in notes
    assert "Weeks rolled up into their month" in notes and "2024-W14 to 2024-W18" in notes
    assert "Teams hidden in every window" in notes and "gamma." in notes
    # one summary line per team; the rest is collapsed
    assert notes.count("<details>") == 4 and notes.count("<summary>") == 4
    # 3 changes of each of the three provisional weeks have no mature label
    assert "9 of the 508 changes in shown windows have no mature label yet" in notes
    assert "every label is mature" not in notes
    guide = page[page.index('id="how-to-read"') :]
    assert "never about a person" in page and "k = 5" in guide
    assert "Provisional" in guide and "hidden" in guide


def test_tables_have_header_scopes() -> None:
    page = render()
    assert '<th scope="col"' in page and '<th scope="row"' in page
    assert not re.search(r"<th(?=[\s>])(?![^>]*\bscope=)", page)


def test_latest_csv_numbers_are_those_of_the_page(tmp_path: Path) -> None:
    table = team_period()
    page = render(table)
    paths = write_csv(table, tmp_path)
    assert paths == [tmp_path / TEAM_PERIOD_CSV, tmp_path / LATEST_CSV, tmp_path / HEADLINES_CSV]
    with (tmp_path / LATEST_CSV).open(encoding="utf-8", newline="") as fh:
        latest_csv = list(csv.DictReader(fh))
    html_rows = {row[0]: row for row in parse(page).tables["latest"] if row}
    assert [r["team"] for r in latest_csv] == list(html_rows)
    assert [r["team"] for r in latest_csv] == [ALL_TEAMS, "alpha", "beta", "gamma"]
    checked = 0
    for record in latest_csv:
        cells = html_rows[record["team"]]
        assert cells[1].startswith(record["label"])
        shown = NUMBER.findall(" ".join(cells[2:]))
        for column in LATEST_FIGURES:
            value = record[column]
            if record["suppressed"] == "yes":
                assert value == ""
                continue
            if NUMBER.fullmatch(value):
                assert value in shown, (record["team"], column, value, shown)
                checked += 1
        if record["suppressed"] == "yes":
            assert record["reason"] and set(cells[2:]) == {HIDDEN}
    assert checked == 3 * 9  # three shown teams, nine numeric figures each


def test_team_period_csv_has_every_row(tmp_path: Path) -> None:
    table = team_period()
    write_csv(table, tmp_path)
    with (tmp_path / TEAM_PERIOD_CSV).open(encoding="utf-8", newline="") as fh:
        records = list(csv.DictReader(fh))
    assert len(records) == table.num_rows
    page = render(table)
    for record in records:
        if record["suppressed"] == "yes":
            assert record["reason"] and all(record[name] == "" for name in FIGURES)
            continue
        for name in ("changes", "churn", "defect_rate", "mean_risk"):
            assert record[name] in page
    alpha = [r for r in records if r["team"] == "alpha"]
    assert alpha[0]["defect_rate"] == format_figure("defect_rate", 2 / 20)
    assert alpha[0]["median_hours_to_first_review"] == "3.3"
    assert alpha[0]["hotspots"] == "alpha/src/file0.py; alpha/lib/util.py"


def test_format_figure() -> None:
    assert format_figure("defect_rate", 0.12345) == "0.123"
    assert format_figure("median_hours_to_first_review", 12.26) == "12.3"
    assert format_figure("changes", 12) == "12"
    assert format_figure("provisional", True) == "yes"
    assert format_figure("mean_risk", None) == ""
    assert format_figure("mean_risk", float("nan")) == ""
    assert format_figure("hotspots", ["a.py", "b.py"]) == "a.py; b.py"


def test_strings_from_the_table_are_escaped() -> None:
    evil = "<script>alert('x')</script>"
    rows = team_period(shown=evil).to_pylist()
    for row in rows:
        if row["team"] == evil and row["hotspots"]:
            row["hotspots"] = ['"><img src=x onerror=alert(1)>.py']
    page = render(pa.Table.from_pylist(rows, schema=SCHEMA))
    assert "<script" not in page and "<img" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;.py" in page
    assert 'id="team-script-alert-x-script"' in page


def test_monthly_report() -> None:
    rows = [
        _row(team, "month", dt.date(2024, m, 1), **_figures(m, dt.date(2024, m, 1), team))
        for team in (ALL_TEAMS, "alpha")
        for m in range(1, 7)
    ]
    page = render(pa.Table.from_pylist(rows, schema=SCHEMA), period="month")
    assert "Latest month: 2024-06" in page
    assert "0 of 12 team windows hidden" in page and "Weeks rolled up" not in page


def test_bad_period_is_refused() -> None:
    with pytest.raises(ValueError, match="week or month"):
        render(period="day")


def test_write_report_writes_the_page_and_the_csv_files(tmp_path: Path) -> None:
    out = tmp_path / "site" / "report.html"
    write_report(team_period(), out, tmp_path / "csv", period="week", k=K, generated="now")
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    written = sorted(p.name for p in (tmp_path / "csv").iterdir())
    assert written == [HEADLINES_CSV, LATEST_CSV, TEAM_PERIOD_CSV]
    assert sorted(p.name for p in out.parent.iterdir()) == ["report.html"]


def test_write_report_leaves_nothing_when_rendering_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> str:
        raise RuntimeError("render failed")

    monkeypatch.setattr(report, "render_html", broken)
    with pytest.raises(RuntimeError):
        write_report(team_period(), tmp_path / "r.html", tmp_path, period="week", k=K, generated="")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("step", ["fsync", "replace"])
def test_write_report_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, step: str) -> None:
    """A failure half-way through writing keeps the old page and leaves no temporary file."""
    out = tmp_path / "report.html"
    out.write_text("old page", encoding="utf-8")

    def broken(*args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, step, broken)
    with pytest.raises(OSError, match="disk full"):
        write_report(team_period(), out, None, period="week", k=K, generated="now")
    monkeypatch.undo()
    assert out.read_text(encoding="utf-8") == "old page"
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


@pytest.mark.parametrize("week_row", ["hidden", "absent"])
def test_a_rolled_up_month_stands_in_for_the_latest_week(week_row: str) -> None:
    """Whether the table keeps the team's hidden weeks or drops them for the month."""
    rows = [r for r in team_period().to_pylist() if r["team"] != "beta" or r["rolled_up"]]
    may = dt.date(2024, 5, 1)
    rows.append(_row("beta", "month", may, rolled_up=True, **_figures(31, WEEKS[-1], "beta")))
    if week_row == "hidden":
        rows.append(_hide("beta", WEEKS[-1], "fewer than 5 contributors; shown in its month"))
    page = render(pa.Table.from_pylist(rows, schema=SCHEMA))
    latest = {row[0]: row for row in parse(page).tables["latest"]}
    assert latest["beta"][1] == "2024-05 (month, rolled up)"
    assert latest["beta"][2] == "51"  # the month's changes


def test_a_row_hidden_against_differencing_says_so() -> None:
    rows = team_period().to_pylist()
    for row in rows:
        if row["team"] == "alpha" and row["period_start"] == WEEKS[-1]:
            row.update(dict.fromkeys(FIGURES))
            row.update(suppressed=True, reason="hidden so that totals do not reveal a smaller team")
    page = render(pa.Table.from_pylist(rows, schema=SCHEMA))
    latest = {row[0]: row for row in parse(page).tables["latest"]}
    assert set(latest["alpha"][2:]) == {"hidden so that totals do not reveal a smaller team"}


def test_an_empty_table_gives_a_page_and_header_only_csv(tmp_path: Path) -> None:
    page = render(SCHEMA.empty_table())
    assert "No data." in page and "No team has a shown period." in page
    write_csv(SCHEMA.empty_table(), tmp_path)
    assert (tmp_path / LATEST_CSV).read_text(encoding="utf-8").count("\n") == 1


def test_figures_left_out_of_a_shown_row_are_explained_in_the_notes() -> None:
    rows = team_period().to_pylist()
    note = "labels figures hidden: fewer than 5 contributors"
    for row in rows:
        if row["team"] == "alpha" and not row["suppressed"]:
            row.update(labelled_changes=None, defect_inducing=None, defect_rate=None)
            row.update(defect_rate_low=None, defect_rate_high=None, reason=note)
    shown = sum(1 for r in rows if r["team"] == "alpha" and not r["suppressed"])
    page = render(pa.Table.from_pylist(rows, schema=SCHEMA))
    assert f"{shown} shown windows: {note}" in page
