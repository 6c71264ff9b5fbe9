"""Headless Chromium for tests: Debian's ``chromium`` driven through Playwright for Python.

Usage::

    @pytest.fixture(scope="module")
    def chromium() -> Iterator[Browser]:
        with launch_chromium() as browser:
            yield browser

    def test_page(chromium: Browser) -> None:
        with open_page(chromium, "my-page") as tab:
            tab.page.goto("http://127.0.0.1:8000/")
            ...
            tab.screenshot()
            tab.assert_clean()

Every page records the console messages of type ``error``, uncaught page errors and the
URL of every request. A route handler lets through only requests to 127.0.0.1,
localhost and [::1] (and the ``file://`` URLs a test names); anything else is aborted
before it leaves the browser and recorded as a violation. Screenshots go to
``$TEAMLENS_ARTIFACTS`` or ``<repo>/test-artifacts/``.

Playwright's own browser download does not work everywhere, so the browser is Debian's
(``apt-get install chromium``; ``$TEAMLENS_CHROMIUM`` names another binary). When
Playwright or the binary is missing the tests using it are skipped with the reason, or
fail when ``CI`` is set (CI installs both: see ``.ci/run``).
"""

from __future__ import annotations

import importlib.util
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Final
from urllib.parse import urlsplit

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, Page, Route, WebSocket

__all__ = [
    "ARTIFACTS_ENV",
    "CHROMIUM_ENV",
    "DEFAULT_CHROMIUM",
    "LOCAL_HOSTS",
    "BrowserUnavailableError",
    "PageLog",
    "Tab",
    "UnsafePageError",
    "artifacts_dir",
    "chromium_path",
    "in_ci",
    "launch_chromium",
    "open_page",
    "require_browser",
]

DEFAULT_CHROMIUM: Final = Path("/usr/bin/chromium")  # Debian's package puts it here
CHROMIUM_ENV: Final = "TEAMLENS_CHROMIUM"
ARTIFACTS_ENV: Final = "TEAMLENS_ARTIFACTS"
LOCAL_HOSTS: Final = frozenset({"127.0.0.1", "localhost", "::1"})
#: URL schemes that never reach the network (not routed, but seen as requests).
_INERT_SCHEMES: Final = frozenset({"data", "about", "blob"})
_REPO: Final = Path(__file__).resolve().parents[1]
_TIMEOUT_MS: Final = 15_000


class BrowserUnavailableError(RuntimeError):
    """Playwright for Python or the Chromium binary is not installed."""


class UnsafePageError(AssertionError):
    """A page logged an error, threw, or tried to reach a host other than this one."""


def in_ci() -> bool:
    """True when the ``CI`` environment variable is set (and not ``0``/``false``)."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def chromium_path() -> Path:
    """The Chromium binary: ``$TEAMLENS_CHROMIUM`` or Debian's ``/usr/bin/chromium``.

    Raises:
        BrowserUnavailableError: Playwright is not importable or the binary is missing.
    """
    if importlib.util.find_spec("playwright") is None:
        raise BrowserUnavailableError(
            "Playwright for Python is not installed (pip install playwright; it is in the "
            "dev extra)"
        )
    override = os.environ.get(CHROMIUM_ENV, "").strip()
    path = Path(override) if override else DEFAULT_CHROMIUM
    if not (path.is_file() and os.access(path, os.X_OK)):
        hint = f"${CHROMIUM_ENV}" if override else "apt-get install chromium"
        raise BrowserUnavailableError(f"no Chromium binary at {path} ({hint})")
    return path


def require_browser() -> Path:
    """The Chromium binary, or skip the calling test (fail it when ``CI`` is set)."""
    try:
        return chromium_path()
    except BrowserUnavailableError as exc:
        if in_ci():
            pytest.fail(f"{exc}; CI must have it (.ci/run installs it)", pytrace=False)
        pytest.skip(str(exc))


def artifacts_dir() -> Path:
    """Where screenshots go: ``$TEAMLENS_ARTIFACTS`` or ``<repo>/test-artifacts``."""
    configured = os.environ.get(ARTIFACTS_ENV, "").strip()
    folder = Path(configured) if configured else _REPO / "test-artifacts"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@contextmanager
def launch_chromium() -> Iterator[Browser]:
    """A headless Chromium (skips or fails as :func:`require_browser` does)."""
    executable = require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(executable), args=["--no-sandbox"], headless=True
        )
        try:
            yield browser
        finally:
            browser.close()


@dataclass(frozen=True)
class PageLog:
    """What a page did: filled in by the handlers :func:`open_page` installs."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Guard:
    """Decides which URLs a page may load."""

    allowed_files: frozenset[str]

    def allows(self, url: str) -> bool:
        parts = urlsplit(url)
        if parts.scheme in _INERT_SCHEMES:
            return True
        if parts.scheme == "file":
            return Path(parts.path).resolve().as_uri() in self.allowed_files
        if parts.scheme in ("http", "https", "ws", "wss"):
            return parts.hostname in LOCAL_HOSTS
        return False


@dataclass(frozen=True)
class Tab:
    """An open page, its log and where its screenshots go."""

    page: Page
    log: PageLog
    name: str
    guard: _Guard

    def screenshot(self, label: str | None = None) -> Path:
        """Save a full-page PNG as ``<name>[-<label>].png`` in :func:`artifacts_dir`."""
        stem = self.name if label is None else f"{self.name}-{label}"
        path = artifacts_dir() / f"{re.sub(r'[^A-Za-z0-9._-]+', '-', stem)}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def problems(self) -> list[str]:
        """Every console error, page error and request that was, or should have been,
        blocked (the route does not see every scheme, so the request log is checked too).
        """
        blocked = [*self.log.violations]
        blocked += [u for u in self.log.requests if not self.guard.allows(u) and u not in blocked]
        return [
            *(f"console error: {text}" for text in self.log.console_errors),
            *(f"page error: {text}" for text in self.log.page_errors),
            *(f"off-host request: {url}" for url in blocked),
        ]

    def assert_clean(self) -> None:
        """Raise :class:`UnsafePageError` listing every problem the page had."""
        problems = self.problems()
        if problems:
            raise UnsafePageError(f"{self.name}: " + "; ".join(problems))


@contextmanager
def open_page(
    browser: Browser,
    name: str,
    *,
    allowed_files: Iterable[Path] = (),
    extra_headers: Mapping[str, str] | None = None,
    viewport: tuple[int, int] = (1280, 900),
) -> Iterator[Tab]:
    """A page in a fresh context with the recorders and the host guard installed.

    Args:
        browser: from :func:`launch_chromium`.
        name: names the screenshots.
        allowed_files: local files the page may load through ``file://`` URLs.
        extra_headers: sent with every request (e.g. ``Authorization``).
        viewport: width and height in CSS pixels.

    A screenshot ``<name>-failed.png`` is saved when the block raises.
    """
    guard = _Guard(frozenset(path.resolve().as_uri() for path in allowed_files))
    log = PageLog()
    context = browser.new_context(
        viewport={"width": viewport[0], "height": viewport[1]},
        extra_http_headers=dict(extra_headers or {}),
        service_workers="block",
        java_script_enabled=True,
    )
    context.set_default_timeout(_TIMEOUT_MS)

    def route(route: Route) -> None:
        url = route.request.url
        if guard.allows(url):
            route.continue_()
        else:
            log.violations.append(url)
            route.abort("blockedbyclient")

    def console(message: ConsoleMessage) -> None:
        if message.type == "error":
            where = message.location.get("url", "")
            log.console_errors.append(f"{message.text} ({where})" if where else message.text)

    def websocket(socket: WebSocket) -> None:
        if not guard.allows(socket.url):
            log.violations.append(socket.url)

    try:
        context.route("**/*", route)
        context.on("request", lambda request: log.requests.append(request.url))
        page = context.new_page()
        page.on("console", console)
        page.on("pageerror", lambda error: log.page_errors.append(str(error)))
        page.on("websocket", websocket)
        tab = Tab(page, log, name, guard)
        try:
            yield tab
        except BaseException:
            with suppress(Exception):  # the original failure matters more
                tab.screenshot("failed")
            raise
    finally:
        context.close()
