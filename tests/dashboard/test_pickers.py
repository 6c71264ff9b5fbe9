"""The served page's team and window pickers, and its 404s, on a real store.

The store is the synthetic company's (tests/dashboard/conftest.py), served by a real
uvicorn on 127.0.0.1. The pickers are a GET form: chosen in headless Chromium they load
the chosen team and window with the token still sent; an unknown team or period is a
404 whose page says so in one line. The period choices are the code's
(:data:`teamlens.dashboard.windows.PERIOD_CHOICES`), not a list in this test. No name
or e-mail of the company's people appears in any page.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from teamlens.aggregates import ALL_TEAMS
from teamlens.dashboard.serve import create_app
from teamlens.dashboard.windows import AUTO, PERIOD_CHOICES
from tests.browser import launch_chromium, open_page
from tests.dashboard.conftest import CompanyTrends
from tests.dashboard.layout import check_layout, check_png
from tests.dashboard.test_serve import TOKEN, auth, running_server

if TYPE_CHECKING:
    from playwright.sync_api import Browser

K = 5


class _Form(HTMLParser):
    """The pickers form of a page: its attributes and each select's options."""

    def __init__(self) -> None:
        super().__init__()
        self.form: dict[str, str | None] = {}
        self.options: dict[str, list[dict[str, str | None]]] = {}
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "form" and "pickers" in (found.get("class") or ""):
            self.form = found
        elif tag == "select":
            self._select = found.get("name") or ""
            self.options[self._select] = []
        elif tag == "option" and self._select is not None:
            self.options[self._select].append(found)

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None


def _form(html: str) -> _Form:
    parser = _Form()
    parser.feed(html)
    return parser


@pytest.fixture(scope="module")
def served(company_trends: CompanyTrends) -> Iterator[str]:
    with running_server(create_app(company_trends.data_dir, k=K, token=TOKEN)) as url:
        yield url


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with launch_chromium() as browser:
        yield browser


def _rows(url: str) -> list[dict[str, Any]]:
    body = requests.get(f"{url}/api/team_period", headers=auth(), timeout=10).json()
    rows: list[dict[str, Any]] = body["rows"]
    return rows


def _get(url: str, query: str = "") -> requests.Response:
    return requests.get(f"{url}/{query}", headers=auth(), timeout=10)


def test_the_page_offers_every_team_and_every_period_the_code_knows(
    served: str, company_trends: CompanyTrends
) -> None:
    response = _get(served)
    assert response.status_code == 200
    company_trends.assert_no_identity(response.text)
    form = _form(response.text)
    assert form.form.get("method") == "get" and form.form.get("action") == "/"
    teams = sorted({r["team"] for r in _rows(served)})
    offered = [o["value"] or "" for o in form.options["team"]]
    assert offered[0] == "" and sorted(offered[1:]) == teams
    assert offered[1] == ALL_TEAMS
    periods = form.options["period"]
    assert [o["value"] for o in periods] == list(PERIOD_CHOICES)
    assert [o["value"] for o in periods if "selected" in o] == [AUTO]
    built = {r["period"] for r in _rows(served) if not r["rolled_up"]}
    enabled = {o["value"] for o in periods if "disabled" not in o}
    assert enabled == {AUTO, *built}
    # the page's policy lets the form go to the page's own origin, and nowhere else
    assert "form-action 'self'" in response.headers["content-security-policy"]


def test_an_empty_choice_is_no_filter(served: str) -> None:
    everything = _get(served)
    chosen = _get(served, f"?team=&period={AUTO}")
    assert chosen.status_code == 200
    sections = re.findall(r'<section class="team" id="([^"]+)"', chosen.text)
    assert sections and sections == re.findall(
        r'<section class="team" id="([^"]+)"', everything.text
    )


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("?team=nosuch", "unknown team 'nosuch'"),
        ("?team=core&period=fortnight", "unknown period 'fortnight'"),
        ("?period=fortnight", "unknown period 'fortnight'"),
        ("?team=%3Cb%3Ebold%3C/b%3E", "unknown team '<b>bold</b>'"),
    ],
)
def test_an_unknown_team_or_period_is_a_404_that_says_so(
    served: str, company_trends: CompanyTrends, query: str, message: str
) -> None:
    page = _get(served, query)
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    company_trends.assert_no_identity(page.text)
    errors = re.findall(r'<p class="notice" role="alert" id="error">([^<]*)</p>', page.text)
    assert len(errors) == 1 and message in html.unescape(errors[0]), errors
    assert "<b>" not in page.text  # escaped
    assert "<svg" not in page.text and "<table" not in page.text  # no figures at all
    assert _form(page.text).options["period"], "the 404 page offers the pickers again"
    api = requests.get(f"{served}/api/team_period{query}", headers=auth(), timeout=10)
    assert api.status_code == 404
    assert api.json() == {"error": api.json()["error"]} and "unknown" in api.json()["error"]


def test_a_known_period_the_table_lacks_is_explained(served: str) -> None:
    built = {r["period"] for r in _rows(served) if not r["rolled_up"]}
    missing = [p for p in PERIOD_CHOICES if p != AUTO and p not in built]
    assert missing, "the company's table holds every kind of window"
    page = _get(served, f"?period={missing[0]}")
    assert page.status_code == 200
    assert f"teamlens report --period {missing[0]}" in page.text
    assert "No data." in page.text or "No team has a shown period." in page.text


def test_the_pickers_work_in_a_browser_and_keep_the_token(
    chromium: Browser, served: str, company_trends: CompanyTrends
) -> None:
    rows = _rows(served)
    team = next(r["team"] for r in rows if r["team"] != ALL_TEAMS and not r["suppressed"])
    kind = next(r["period"] for r in rows if r["team"] == team and not r["suppressed"])
    with open_page(chromium, "pickers-390", extra_headers=auth(), viewport=(390, 844)) as tab:
        assert tab.page.goto(f"{served}/", wait_until="load") is not None
        tab.page.select_option("select[name=team]", team)
        tab.page.select_option("select[name=period]", kind)
        with tab.page.expect_navigation(wait_until="load") as navigation:
            tab.page.click("form.pickers button[type=submit]")
        response = navigation.value
        assert response is not None and response.status == 200
        query = parse_qs(urlsplit(tab.page.url).query, keep_blank_values=True)
        assert query == {"team": [team], "period": [kind]}
        sections = tab.page.locator("section.team h3").all_inner_texts()
        assert sections == [team]
        assert tab.page.locator("select[name=team]").input_value() == team
        assert tab.page.locator("select[name=period]").input_value() == kind
        company_trends.assert_no_identity(tab.page.content())
        check_layout(tab, 390)
        check_png(tab.screenshot(), 390, min_height=844)
        tab.assert_clean()  # a form blocked by the page's policy would log an error

        missing = tab.page.goto(f"{served}/?team=nosuch", wait_until="load")
        assert missing is not None and missing.status == 404
        assert tab.page.locator("#error").inner_text().startswith("Not found: unknown team")
        check_png(tab.screenshot("404"), 390, min_height=400)
        problems = tab.problems()  # the browser logs the 404 itself, and nothing else
        assert len(problems) == 1 and "status of 404" in problems[0], problems


def test_a_browser_signs_in_with_the_token_and_the_pickers_keep_it(
    chromium: Browser, served: str, company_trends: CompanyTrends
) -> None:
    """No header: the page asks for the token (POST, never in a URL), sets an HttpOnly
    SameSite=Strict cookie holding no token, and every picked page loads with it."""
    rows = _rows(served)
    team = next(r["team"] for r in rows if r["team"] != ALL_TEAMS and not r["suppressed"])
    with open_page(chromium, "sign-in-390", viewport=(390, 844)) as tab:
        first = tab.page.goto(f"{served}/?team={team}", wait_until="load")
        assert first is not None and first.status == 401
        assert tab.page.locator("svg.chart").count() == 0
        company_trends.assert_no_identity(tab.page.content())
        tab.page.fill("input[name=token]", TOKEN + "x")
        with tab.page.expect_navigation(wait_until="load") as wrong:
            tab.page.click("button[type=submit]")
        assert wrong.value is not None and wrong.value.status == 401
        assert "not the server's token" in tab.page.locator("#error").inner_text()
        assert not tab.page.context.cookies()

        tab.page.fill("input[name=token]", TOKEN)
        with tab.page.expect_navigation(wait_until="load") as signed:
            tab.page.click("button[type=submit]")
        assert signed.value is not None and signed.value.status == 200
        assert urlsplit(tab.page.url).query == f"team={team}"  # back where it started
        assert tab.page.locator("section.team h3").all_inner_texts() == [team]
        (cookie,) = tab.page.context.cookies()
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
        assert TOKEN not in cookie["value"]
        assert all(TOKEN not in url for url in tab.log.requests)

        tab.page.select_option("select[name=team]", "")
        with tab.page.expect_navigation(wait_until="load") as picked:
            tab.page.click("form.pickers button[type=submit]")
        assert picked.value is not None and picked.value.status == 200
        assert len(tab.page.locator("section.team").all()) > 1
        company_trends.assert_no_identity(tab.page.content())
        check_png(tab.screenshot(), 390, min_height=844)
        problems = tab.problems()  # the two 401s the browser logs, nothing else
        assert all("status of 401" in p for p in problems), problems


def test_the_sign_in_form_refuses_another_origin_and_a_wrong_token(served: str) -> None:
    good = {"token": TOKEN, "next": "/"}
    other = requests.post(
        f"{served}/login",
        data=good,
        headers={"Origin": "http://evil.test"},
        timeout=10,
        allow_redirects=False,
    )
    assert other.status_code == 403 and "set-cookie" not in other.headers
    wrong = requests.post(
        f"{served}/login", data={"token": "nope"}, timeout=10, allow_redirects=False
    )
    assert wrong.status_code == 401 and "set-cookie" not in wrong.headers
    away = requests.post(
        f"{served}/login",
        data={**good, "next": "//evil.test/x"},
        timeout=10,
        allow_redirects=False,
    )
    assert away.status_code == 303 and away.headers["location"] == "/"
    cookie = away.cookies.get("teamlens_session")
    assert cookie and TOKEN not in cookie
    api = requests.get(
        f"{served}/api/team_period", cookies={"teamlens_session": cookie}, timeout=10
    )
    assert api.status_code == 200 and api.json()["rows"]
    huge = requests.post(
        f"{served}/login", data={"token": "x" * 10_000}, timeout=10, allow_redirects=False
    )
    assert huge.status_code == 413 and "set-cookie" not in huge.headers
    forged = requests.get(
        f"{served}/api/team_period", cookies={"teamlens_session": "0" * 64}, timeout=10
    )
    assert forged.status_code == 401
