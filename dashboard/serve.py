"""Serve the team trends page and its ``team_period`` rows over HTTP.

The server reads one file, ``<data_dir>/aggregates/team_period.parquet``, and nothing
else: every row in it is already k-suppressed (see :mod:`teamlens.aggregates`), so the
filters below only *select* rows and can never slice a group below k. There is no
parameter that names a person, and any query parameter the server does not know is
refused with 400, so ``?author=`` gets nowhere.

Endpoints (all ``GET``):

``/``
    the HTML report (:func:`dashboard.report.render_html`) of the selected rows;
``/api/team_period``
    the selected rows as JSON;
``/health``
    liveness; the only endpoint that never needs the token.

Filters, on ``/`` and ``/api/team_period``: ``team`` (a team's name, or
:data:`teamlens.aggregates.ALL_TEAMS`) and ``period`` (a ``--period`` choice of
:mod:`teamlens.dashboard.windows`: ``auto`` shows each team in the window the table was
built with, a kind of window shows that kind's rows). An empty value is no filter. A
team the table does not hold, or a period teamlens does not know, is a 404 with a
one-line message (on ``/`` an HTML page that offers the pickers again). The page carries
the pickers (:mod:`teamlens.dashboard.pickers`): a ``GET`` form that needs no script.

With a token, every endpoint but ``/health`` wants ``Authorization: Bearer <token>``
(compared in constant time), or the session cookie a browser gets by giving the token
to the sign-in form that ``/`` shows without one (:mod:`teamlens.dashboard.session`).
Without a token the server binds only to a loopback address and answers only requests
whose ``Host`` is a loopback name, so a web page elsewhere
cannot read it through DNS rebinding. Off loopback the token must not cross the network
in the clear: the server speaks TLS (a certificate and key) or is told that a proxy in
front of it does (:class:`teamlens.serving.Transport`). The file is read again whenever
its modification time (or size) changes, so a rebuilt table shows up without a restart.
"""

from __future__ import annotations

import datetime as dt
import hmac
import logging
import math
import threading
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.responses import Response

from teamlens.aggregates import FIGURES, SCHEMA, TEAM_PERIOD_FILE
from teamlens.dashboard.pickers import Pickers, not_found_html, notice_html, pickers_html
from teamlens.dashboard.report import DEFAULT_TITLE, render_html
from teamlens.dashboard.report_rows import _team_key
from teamlens.dashboard.session import (
    COOKIE,
    LOGIN_PATH,
    MAX_FAILURES,
    MAX_FORM_BYTES,
    FailedAttempts,
    login_html,
    parse_form,
    set_cookie_header,
    valid_session,
)
from teamlens.dashboard.windows import AUTO, PERIOD_CHOICES, window_name
from teamlens.errors import TeamlensError
from teamlens.serving import LOOPBACK_HOSTS, Transport

__all__ = [
    "FILTERS",
    "LOOPBACK_HOSTS",
    "PERIODS",
    "SECURITY_HEADERS",
    "ServeConfigError",
    "TeamPeriodUnavailableError",
    "create_app",
    "make_server",
    "serve",
]

logger = logging.getLogger(__name__)

#: The query parameters ``/`` and ``/api/team_period`` take; anything else is a 400.
FILTERS: Final = ("team", "period")
#: What ``period`` may be: ``auto`` or a kind of window (dashboard.windows).
PERIODS: Final = PERIOD_CHOICES
#: Sent with every response, errors included.
SECURITY_HEADERS: Final[Mapping[str, str]] = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'none'; object-src 'none'; "
        "style-src 'self' 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}
MIN_TOKEN_LENGTH: Final = 16
_MAX_FILTER_LENGTH: Final = 200
_UNAUTHENTICATED: Final = frozenset({"/health", LOGIN_PATH})


class ServeConfigError(TeamlensError):
    """The server was asked for something unsafe or impossible (e.g. a public bind
    without a token or without TLS, a too-short token, k below 1)."""


class TeamPeriodUnavailableError(RuntimeError):
    """The ``team_period`` file is missing or cannot be read as that table."""


class _BadQueryError(ValueError):
    """A request's query string names an unknown parameter or an invalid value."""


class _NotFoundError(LookupError):
    """A filter names a team the table does not hold, or a period teamlens does not know."""


@dataclass(frozen=True)
class _Filters:
    team: str | None
    period: str | None

    def as_dict(self) -> dict[str, str | None]:
        return {"team": self.team, "period": self.period}


@dataclass(frozen=True)
class _Snapshot:
    """One read of the file: the table and the stat fields that identify that read."""

    stamp: tuple[int, int, int]  # mtime_ns, size, inode
    table: pa.Table
    generated: str  # the file's modification time, UTC


class _TeamPeriodSource:
    """The ``team_period`` file, read again whenever its stat stamp changes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._snapshot: _Snapshot | None = None

    def current(self) -> _Snapshot:
        """The table as the file holds it now.

        Raises:
            TeamPeriodUnavailableError: the file is missing or not a team_period table.
        """
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            raise TeamPeriodUnavailableError(
                "the team_period table does not exist yet; run `teamlens report` first"
            ) from None
        except OSError as exc:
            raise TeamPeriodUnavailableError(
                f"cannot read the team_period table ({exc.strerror})"
            ) from exc
        stamp = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        with self._lock:
            if self._snapshot is not None and self._snapshot.stamp == stamp:
                return self._snapshot
            table = _read_table(self.path)
            when = dt.datetime.fromtimestamp(stat.st_mtime_ns / 1e9, tz=dt.UTC)
            snapshot = _Snapshot(stamp, table, when.strftime("%Y-%m-%d %H:%M UTC"))
            self._snapshot = snapshot
            logger.info("read %d team_period rows", table.num_rows)
            return snapshot


def _read_table(path: Path) -> pa.Table:
    """Read the file, keep exactly the schema's columns and blank any figure that a
    suppressed row (or a row whose ``suppressed`` is null) should not carry."""
    try:
        raw = pq.read_table(path)
    except (OSError, pa.ArrowException) as exc:
        raise TeamPeriodUnavailableError(f"cannot read the team_period table: {exc}") from exc
    missing = [name for name in SCHEMA.names if name not in raw.column_names]
    if missing:
        raise TeamPeriodUnavailableError(
            f"the team_period table lacks the columns {', '.join(missing)}"
        )
    try:
        table = raw.select(SCHEMA.names).cast(SCHEMA)
    except (pa.ArrowException, ValueError) as exc:
        raise TeamPeriodUnavailableError(f"the team_period table has wrong types: {exc}") from exc
    return _enforce_suppression(table)


def _enforce_suppression(table: pa.Table) -> pa.Table:
    """Belt and braces: the builder already blanks suppressed rows; a row is shown only
    when ``suppressed`` is false, and every other row loses its figures here."""
    shown = pc.fill_null(pc.equal(table["suppressed"], False), False)
    if table.num_rows == 0 or pc.all(shown).as_py():
        return table
    for name in FIGURES:
        index = table.schema.get_field_index(name)
        column = table[name]
        blank = pa.nulls(table.num_rows, type=column.type)
        table = table.set_column(index, name, pc.if_else(shown, column, blank))
    index = table.schema.get_field_index("suppressed")
    return table.set_column(index, "suppressed", pc.invert(shown))


def _parse_query(request: Request, allowed: tuple[str, ...]) -> _Filters:
    """The filters of a query string; unknown, repeated or invalid parameters raise
    :class:`_BadQueryError`, an unknown period :class:`_NotFoundError`. An empty value
    (what the pickers send for "every team") is no filter."""
    seen: dict[str, str] = {}
    for name, value in request.query_params.multi_items():
        if name not in allowed:
            raise _BadQueryError(
                f"unknown query parameter {name[:40]!r}; this endpoint takes "
                + (", ".join(allowed) if allowed else "none")
            )
        if name in seen:
            raise _BadQueryError(f"query parameter {name!r} given twice")
        if len(value) > _MAX_FILTER_LENGTH:
            raise _BadQueryError(f"query parameter {name!r} is too long")
        seen[name] = value
    period = seen.get("period") or None
    if period is not None and period not in PERIODS:
        raise _NotFoundError(f"unknown period {period[:40]!r} (choose one of {', '.join(PERIODS)})")
    return _Filters(team=seen.get("team") or None, period=period)


def _teams(table: pa.Table) -> list[str]:
    """The table's teams in report order: all teams, the teams by name, no team."""
    names = {str(t) for t in table["team"].to_pylist()} if table.num_rows else set()
    return sorted(names, key=_team_key)


def _kinds(table: pa.Table) -> frozenset[str]:
    """The kinds of window the table holds rows of (rolled-up months count as weeks')."""
    if table.num_rows == 0:
        return frozenset()
    own = table.filter(pc.invert(pc.fill_null(table["rolled_up"], False)))
    return frozenset(str(p) for p in pc.unique(own["period"]).to_pylist())


def _check_team(table: pa.Table, filters: _Filters) -> None:
    if filters.team is not None and filters.team not in _teams(table):
        raise _NotFoundError(
            f"unknown team {filters.team[:40]!r} (the published table has no such team)"
        )


def _select(table: pa.Table, filters: _Filters) -> pa.Table:
    """The rows matching the filters (rows are only selected, never split). A kind of
    window selects its rows, and with weeks the rolled-up months that stand in for
    weeks below k; ``auto`` selects every row (each team in the window it was built in).
    """
    if filters.team is not None:
        table = table.filter(pc.equal(table["team"], filters.team))
    if filters.period is not None and filters.period != AUTO:
        chosen = pc.equal(table["period"], filters.period)
        if filters.period == "week":
            rolled = pc.fill_null(table["rolled_up"], False)
            chosen = pc.or_(chosen, pc.and_(rolled, pc.equal(table["period"], "month")))
        table = table.filter(chosen)
    return table


def _json_value(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None  # the Wilson interval of zero trials is NaN; JSON has no NaN
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list):
        return [_json_value(item) for item in value]
    return value


def _json_rows(table: pa.Table) -> list[dict[str, Any]]:
    return [{name: _json_value(value) for name, value in row.items()} for row in table.to_pylist()]


def _page_period(table: pa.Table, filters: _Filters) -> str:
    """The period the page is about: the filter's kind of window, else the one kind the
    selected rows hold, else ``auto`` (each team in its own)."""
    if filters.period is not None and filters.period != AUTO:
        return filters.period
    kinds = _kinds(table)
    return next(iter(kinds)) if len(kinds) == 1 else AUTO


def _error(status: int, message: str, headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=dict(headers or {}))


def _client(request: Request) -> str:
    """The address of the connection (not a forwarded header, which anyone can send)."""
    return request.client.host if request.client is not None else ""


def _host_name(host_header: str) -> str:
    """The name part of a ``Host`` header (``[::1]:8000`` → ``::1``)."""
    host = host_header.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _bearer(authorization: str | None) -> bytes | None:
    if authorization is None:
        return None
    scheme, _, credentials = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        return None
    return credentials.strip().encode("utf-8", "surrogateescape")


def _check_settings(k: int, token: str | None) -> None:
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ServeConfigError(f"k must be a positive integer, got {k!r}")
    if token is None:
        return
    if len(token) < MIN_TOKEN_LENGTH:
        raise ServeConfigError(f"the token must have at least {MIN_TOKEN_LENGTH} characters")
    if not token.isascii() or not token.isprintable() or any(c.isspace() for c in token):
        raise ServeConfigError("the token must be printable ASCII without spaces")


def create_app(
    data_dir: Path,
    *,
    k: int,
    token: str | None,
    secure_cookies: bool = False,
    max_failures: int = MAX_FAILURES,
) -> FastAPI:
    """The FastAPI application serving ``<data_dir>/aggregates/team_period.parquet``.

    Args:
        data_dir: the teamlens data folder.
        k: the minimum group size the table was built with (shown on the page).
        token: when set, the bearer token every endpoint but ``/health`` requires (or
            the session cookie a browser gets from ``POST /login`` with it:
            :mod:`teamlens.dashboard.session`).
        secure_cookies: mark the session cookie ``Secure`` (served over TLS, directly or
            behind a proxy).
        max_failures: wrong tokens a client may present in a minute before it is refused
            with 429 (:class:`teamlens.dashboard.session.FailedAttempts`).

    Raises:
        ServeConfigError: k below 1, or a token that is too short or not plain ASCII.
    """
    _check_settings(k, token)
    source = _TeamPeriodSource(Path(data_dir) / TEAM_PERIOD_FILE)
    expected = token.encode("ascii") if token is not None else None
    app = FastAPI(title="teamlens team trends", docs_url=None, redoc_url=None, openapi_url=None)

    @app.middleware("http")
    async def guard(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = _refuse(request) or await call_next(request)
        response.headers.update(SECURITY_HEADERS)
        return response

    attempts = FailedAttempts(max_failures)

    def _too_many(request: Request) -> Response | None:
        wait = attempts.retry_after(_client(request))
        if wait == 0:
            return None
        return _error(
            429, f"too many wrong tokens: try again in {wait} s", {"Retry-After": str(wait)}
        )

    def _refuse(request: Request) -> Response | None:
        if expected is None:
            # No token means loopback only: a page on another site that rebinds its
            # name to 127.0.0.1 sends its own name as Host and is turned away.
            if _host_name(request.headers.get("host", "")) not in LOOPBACK_HOSTS:
                return _error(400, "this server answers only to a loopback host name")
            return None
        if request.url.path in _UNAUTHENTICATED:
            return None
        presented = _bearer(request.headers.get("authorization"))
        if presented is not None:
            refused = _too_many(request)
            if refused is not None:
                return refused
        if presented is not None and hmac.compare_digest(presented, expected):
            return None
        if presented is not None:
            attempts.failed(_client(request))
        if presented is None and valid_session(request.cookies.get(COOKIE), expected):
            return None
        challenge = {"WWW-Authenticate": "Bearer"}
        if request.url.path == "/" and request.method == "GET" and presented is None:
            # A browser: the sign-in form, which comes back to this very page.
            here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return HTMLResponse(login_html(DEFAULT_TITLE, here), 401, headers=challenge)
        return _error(401, "a valid bearer token is required", challenge)

    def _selected(
        request: Request, *, html: bool
    ) -> tuple[_Snapshot, _Filters, pa.Table] | Response:
        """The snapshot, the filters and the rows they select, or the error response:
        400 for a bad query, 404 for an unknown team or period (on the page: an HTML
        page with the message and the pickers), 503 without a readable table."""
        missing: _NotFoundError | None = None
        try:
            filters = _parse_query(request, FILTERS)
        except _BadQueryError as exc:
            return _error(400, str(exc))
        except _NotFoundError as exc:
            missing, filters = exc, _Filters(team=None, period=None)
        try:
            snapshot = source.current()
        except TeamPeriodUnavailableError as exc:
            logger.warning("%s", exc)
            return _error(503, str(exc))
        try:
            if missing is not None:
                raise missing
            _check_team(snapshot.table, filters)
        except _NotFoundError as exc:
            if not html:
                return _error(404, str(exc))
            pickers = Pickers(_teams(snapshot.table), _kinds(snapshot.table))
            return HTMLResponse(not_found_html(str(exc), pickers, DEFAULT_TITLE), status_code=404)
        return snapshot, filters, _select(snapshot.table, filters)

    if expected is not None:

        @app.post(LOGIN_PATH)
        async def login(request: Request) -> Response:
            origin = request.headers.get("origin")
            if origin not in (None, "null") and _host_name(
                origin.split("://", 1)[-1]
            ) != _host_name(request.headers.get("host", "")):
                return _error(403, "sign in from this server's own page")
            # Read at most MAX_FORM_BYTES: anyone may post here, before any token.
            length = request.headers.get("content-length", "0")
            if not length.isdigit() or int(length) > MAX_FORM_BYTES:
                return _error(413, "the sign-in form is too large")
            body = b""
            async for chunk in request.stream():
                body += chunk
                if len(body) > MAX_FORM_BYTES:
                    return _error(413, "the sign-in form is too large")
            presented, next_path = parse_form(body)
            refused = _too_many(request)
            if refused is not None:
                return refused
            if not presented or not hmac.compare_digest(presented, expected):
                attempts.failed(_client(request))
                page = login_html(DEFAULT_TITLE, next_path, "That is not the server's token.")
                return HTMLResponse(page, 401, headers={"WWW-Authenticate": "Bearer"})
            cookie = set_cookie_header(expected, secure=secure_cookies)
            return Response(status_code=303, headers={"Location": next_path, "Set-Cookie": cookie})

    @app.get("/health")
    def health(request: Request) -> Response:
        try:
            _parse_query(request, ())
        except _BadQueryError as exc:
            return _error(400, str(exc))
        return JSONResponse({"status": "ok"})

    @app.get("/api/team_period")
    def team_period(request: Request) -> Response:
        selected = _selected(request, html=False)
        if isinstance(selected, Response):
            return selected
        snapshot, filters, table = selected
        return JSONResponse(
            {
                "k": k,
                "generated": snapshot.generated,
                "filters": filters.as_dict(),
                "rows": _json_rows(table),
            }
        )

    @app.get("/")
    def page(request: Request) -> Response:
        selected = _selected(request, html=True)
        if isinstance(selected, Response):
            return selected
        snapshot, filters, table = selected
        title = DEFAULT_TITLE if filters.team is None else f"{DEFAULT_TITLE}: {filters.team}"
        kinds = _kinds(snapshot.table)
        pickers = Pickers(_teams(snapshot.table), kinds, filters.team, filters.period)
        controls = pickers_html(pickers)
        if filters.period not in (None, AUTO, *kinds):
            built = ", ".join(window_name(kind) for kind in sorted(kinds)) or "nothing yet"
            controls += notice_html(
                f"The published table holds no {window_name(filters.period or '')} windows "
                f"(it holds: {built}); `teamlens report --period {filters.period}` builds them."
            )
        html = render_html(
            table,
            period=_page_period(table, filters),
            k=k,
            generated=snapshot.generated,
            title=title,
            controls=controls,
        )
        return HTMLResponse(html)

    return app


def serve(
    data_dir: Path,
    *,
    k: int,
    host: str = "127.0.0.1",
    port: int = 8000,
    token: str | None,
    transport: Transport | None = None,
) -> None:
    """Serve the team trends page until interrupted (SIGINT or SIGTERM); blocks.

    Raises:
        ServeConfigError: ``host`` is not a loopback address and there is no token, or
            the port, k or token is invalid. Nothing is bound then.
        TransportError: off loopback without TLS or ``behind_proxy``, or a certificate
            that does not load. Nothing is bound then.
    """
    make_server(data_dir, k=k, host=host, port=port, token=token, transport=transport).run()


def make_server(
    data_dir: Path,
    *,
    k: int,
    host: str = "127.0.0.1",
    port: int = 8000,
    token: str | None,
    transport: Transport | None = None,
) -> uvicorn.Server:
    """The checked, configured (not yet started) server :func:`serve` runs."""
    transport = transport or Transport()
    if token is None and host.strip().lower() not in LOOPBACK_HOSTS:
        raise ServeConfigError(
            f"refusing to serve on {host!r} without a token: bind to 127.0.0.1, localhost "
            "or ::1, or set a bearer token"
        )
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise ServeConfigError(f"port must be 0 to 65535, got {port!r}")
    transport.check(host, "teamlens serve")
    app = create_app(
        data_dir, k=k, token=token, secure_cookies=transport.tls or transport.behind_proxy
    )
    path = Path(data_dir) / TEAM_PERIOD_FILE
    if not path.is_file():
        logger.warning("%s does not exist yet: the page answers 503 until it does", path)
    # Uvicorn's log level stays at info: "trace" would log request headers, the
    # Authorization header among them. The token itself is never logged.
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="info",
        proxy_headers=False,
        server_header=False,
        timeout_keep_alive=5,
        limit_concurrency=64,
        **transport.uvicorn_options(),  # type: ignore[arg-type]
    )
    logger.info(
        "team trends on %s (bearer token %s)",
        transport.url(host, port),
        "required" if token is not None else "not required, loopback only",
    )
    return uvicorn.Server(config)
