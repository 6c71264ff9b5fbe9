"""The report is readable on a 1400 px screen and on a 390 px phone, in headless Chromium.

At both widths, for the report file and the served page of a real store (the synthetic
company of tests/privacy/company.py): the document is no wider than the window (wide
tables scroll in their own box or become cards), no visible text is drawn below 12 CSS
px (chart text at its drawn size), every chart fits the window, and the full-page
screenshot (test-artifacts/) is as wide as the window and not blank. A table with long
team names and long file paths checks the phone width at its worst. No name or e-mail
of the company's people appears in any page.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pytest

from teamlens.aggregates import ALL_TEAMS, SCHEMA
from teamlens.dashboard.page import render_html
from teamlens.dashboard.serve import create_app
from tests.browser import launch_chromium, open_page
from tests.dashboard.conftest import CompanyTrends
from tests.dashboard.layout import HEIGHTS, WIDTHS, check_layout, check_png
from tests.dashboard.test_serve import TOKEN, auth, running_server

if TYPE_CHECKING:
    from playwright.sync_api import Browser

K = 5


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with launch_chromium() as browser:
        yield browser


@pytest.mark.parametrize("width", WIDTHS)
def test_the_report_file_fits_the_screen(
    chromium: Browser, company_trends: CompanyTrends, width: int
) -> None:
    report = company_trends.report
    company_trends.assert_no_identity(report.read_text(encoding="utf-8"))
    name = f"layout-report-{width}"
    viewport = (width, HEIGHTS[width])
    with open_page(chromium, name, allowed_files=[report], viewport=viewport) as tab:
        tab.page.goto(report.as_uri(), wait_until="load")
        layout = check_layout(tab, width)
        assert layout["charts"], "the company's report shows no chart"
        check_png(tab.screenshot(), width, min_height=HEIGHTS[width])
        tab.assert_clean()


@pytest.mark.parametrize("width", WIDTHS)
def test_the_served_page_fits_the_screen(
    chromium: Browser, company_trends: CompanyTrends, width: int
) -> None:
    app = create_app(company_trends.data_dir, k=K, token=TOKEN)
    name = f"layout-served-{width}"
    viewport = (width, HEIGHTS[width])
    with (
        running_server(app) as url,
        open_page(chromium, name, extra_headers=auth(), viewport=viewport) as tab,
    ):
        response = tab.page.goto(f"{url}/", wait_until="load")
        assert response is not None and response.status == 200
        company_trends.assert_no_identity(tab.page.content())
        layout = check_layout(tab, width)
        assert layout["charts"]
        check_png(tab.screenshot(), width, min_height=HEIGHTS[width])
        tab.assert_clean()


def test_the_charts_sit_side_by_side_on_a_wide_screen_and_stack_on_a_phone(
    chromium: Browser, company_trends: CompanyTrends
) -> None:
    report = company_trends.report
    rows: dict[int, int] = {}
    for width in WIDTHS:
        with open_page(
            chromium, f"layout-rows-{width}", allowed_files=[report], viewport=(width, 900)
        ) as tab:
            tab.page.goto(report.as_uri(), wait_until="load")
            section = tab.page.locator("section.team").first
            tops = section.locator("svg.chart").evaluate_all(
                "charts => charts.map(c => Math.round(c.getBoundingClientRect().top))"
            )
            assert len(tops) == 3
            rows[width] = len(set(tops))
    assert rows == {1400: 1, 390: 3}


def _long_rows() -> list[dict[str, Any]]:
    """Three years of months for teams with long names and long hotspot paths."""
    teams = ("platform-infrastructure-and-developer-experience", "payments", ALL_TEAMS)
    rows: list[dict[str, Any]] = []
    for index in range(36):
        start = dt.date(2022 + index // 12, index % 12 + 1, 1)
        for offset, team in enumerate(teams):
            row: dict[str, Any] = dict.fromkeys(SCHEMA.names)
            row.update(team=team, period="month", period_start=start, rolled_up=False)
            if (index + offset) % 7 == 0:
                row.update(suppressed=True, reason=f"fewer than {K} contributors")
            else:
                rate = 0.05 + (index % 9) / 100
                row.update(
                    suppressed=False,
                    changes=1000 + 40 * index,
                    churn=123_456 + index,
                    labelled_changes=900,
                    defect_inducing=int(900 * rate),
                    defect_rate=rate,
                    defect_rate_low=rate - 0.02,
                    defect_rate_high=rate + 0.03,
                    provisional=index > 33,
                    mean_risk=0.123,
                    high_risk_share=0.045,
                    review_coverage=0.876,
                    median_hours_to_first_review=12.5,
                    hotspots=[
                        "src/platform/infrastructure/very/deeply/nested/module/"
                        "configuration_loader_with_a_long_name.py",
                        "src/platform/a_file_name_without_any_break_opportunity_at_all.py",
                    ],
                )
            rows.append(row)
    return rows


def test_long_names_and_paths_fit_a_phone(chromium: Browser, tmp_path: Path) -> None:
    table = pa.Table.from_pylist(_long_rows(), schema=SCHEMA)
    report = tmp_path / "long.html"
    report.write_text(
        render_html(table, period="month", k=K, generated="2025-01-02 08:00 UTC"),
        encoding="utf-8",
    )
    with open_page(chromium, "layout-long-390", allowed_files=[report], viewport=(390, 844)) as tab:
        tab.page.goto(report.as_uri(), wait_until="load")
        for summary in tab.page.locator("details > summary").all():
            summary.click()  # open every table: they must scroll in their own box
        check_layout(tab, 390, charts=3 * 3)
        check_png(tab.screenshot(), 390, min_height=844)
        tab.assert_clean()
