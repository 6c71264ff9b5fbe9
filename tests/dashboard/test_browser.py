"""The team trends report and the served page, loaded in a real headless Chromium.

(a) the HTML file that :func:`dashboard.report.render_html` writes, opened from disk
through a ``file://`` URL; (b) the page a real uvicorn serves, fetched with the bearer
token. For both: the page loads, every ``svg.chart`` is there, visible and drawn, the
console has no error, no request leaves this machine, and a screenshot is saved.
Skipped without Chromium or Playwright, failed then under CI (see tests/browser.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict

import pyarrow as pa
import pytest

from teamlens.aggregates import SCHEMA
from teamlens.dashboard.report import render_html
from teamlens.dashboard.serve import create_app
from tests.browser import Tab, UnsafePageError, launch_chromium, open_page
from tests.dashboard.test_serve import (
    SHOWN_TEAMS,
    TOKEN,
    K,
    auth,
    running_server,
    team_period_rows,
    write_team_period,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser

#: Teams with a section of three charts (rate, changes, mean risk): the shown ones.
CHARTS_PER_TEAM = 3

#: For each element an SVG chart draws with: its tag, class and bounding box.
_SHAPES_JS = """
svg => Array.from(svg.querySelectorAll('path, rect, line, polyline')).map(el => {
  const box = el.getBBox();
  return {tag: el.tagName, css: el.getAttribute('class') || '', width: box.width,
          height: box.height};
})
"""


class Shape(TypedDict):
    tag: str
    css: str
    width: float
    height: float


def _drawn(shape: Shape) -> bool:
    """Non-empty geometry: a rect needs an area, a path or line a length."""
    if shape["tag"] == "rect":
        return shape["width"] > 0 and shape["height"] > 0
    return shape["width"] > 0 or shape["height"] > 0


def check_charts(tab: Tab, expected: int) -> None:
    """Every ``svg.chart`` is visible, has a box, and draws data (not only its grid)."""
    charts = tab.page.locator("svg.chart")
    assert charts.count() == expected
    for index in range(expected):
        chart = charts.nth(index)
        chart.scroll_into_view_if_needed()
        assert chart.is_visible(), f"chart {index} is not visible"
        box = chart.bounding_box()
        assert box is not None and box["width"] > 0 and box["height"] > 0, (index, box)
        shapes: list[Shape] = chart.evaluate(_SHAPES_JS)
        drawn = [s for s in shapes if _drawn(s)]
        assert drawn, f"chart {index} draws nothing: {shapes}"
        data = [s for s in drawn if "grid" not in s["css"].split()]
        assert data, f"chart {index} draws only its grid"


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with launch_chromium() as browser:
        yield browser


def test_the_report_file_renders_its_charts(chromium: Browser, tmp_path: Path) -> None:
    table = pa.Table.from_pylist(team_period_rows(with_weeks=False), schema=SCHEMA)
    page_html = render_html(table, period="month", k=K, generated="2024-05-02 08:00 UTC")
    report = tmp_path / "report.html"
    report.write_text(page_html, encoding="utf-8")
    teams_with_charts = len(SHOWN_TEAMS) + 1  # and the all-teams row
    with open_page(chromium, "report-file", allowed_files=[report]) as tab:
        response = tab.page.goto(report.as_uri(), wait_until="load")
        assert response is None or response.ok
        assert tab.page.title()
        check_charts(tab, CHARTS_PER_TEAM * teams_with_charts)
        shot = tab.screenshot()
        assert shot.stat().st_size > 1000
        tab.assert_clean()
        assert tab.log.requests == [report.as_uri()]


def test_the_served_page_renders_its_charts(chromium: Browser, tmp_path: Path) -> None:
    write_team_period(tmp_path, team_period_rows())
    app = create_app(tmp_path, k=K, token=TOKEN)
    with running_server(app) as url, open_page(chromium, "served", extra_headers=auth()) as tab:
        response = tab.page.goto(f"{url}/", wait_until="load")
        assert response is not None and response.status == 200
        assert response.headers["content-security-policy"].startswith("default-src 'self'")
        check_charts(tab, CHARTS_PER_TEAM * (len(SHOWN_TEAMS) + 1))
        assert tab.screenshot().stat().st_size > 1000

        response = tab.page.goto(f"{url}/?team=payments&period=month", wait_until="load")
        assert response is not None and response.status == 200
        check_charts(tab, CHARTS_PER_TEAM)
        tab.screenshot("payments")
        tab.assert_clean()
        assert tab.log.requests
        assert all(u.startswith(f"{url}/") for u in tab.log.requests), tab.log.requests


def test_the_served_page_without_the_token_shows_nothing(chromium: Browser, tmp_path: Path) -> None:
    write_team_period(tmp_path, team_period_rows())
    with (
        running_server(create_app(tmp_path, k=K, token=TOKEN)) as url,
        open_page(chromium, "served-no-token") as tab,
    ):
        response = tab.page.goto(f"{url}/", wait_until="load")
        assert response is not None and response.status == 401
        assert tab.page.locator("svg.chart").count() == 0


def test_the_guard_blocks_and_reports_a_request_to_another_host(chromium: Browser) -> None:
    """The helper itself: a page that asks another host gets nothing, and it shows.

    The other host is 127.0.0.2 (loopback, but not an allowed name), so even a broken
    guard would send nothing off this machine.
    """
    with open_page(chromium, "guard") as tab:
        tab.page.set_content(
            '<img src="http://127.0.0.2:9/tracker.png" alt=""><p>a page that phones home</p>',
            wait_until="load",
        )
        assert tab.log.violations == ["http://127.0.0.2:9/tracker.png"]
        with pytest.raises(UnsafePageError, match=r"127\.0\.0\.2"):
            tab.assert_clean()
