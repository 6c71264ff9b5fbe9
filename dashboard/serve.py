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
:data:`teamlens.aggregates.ALL_TEAMS`) and ``period`` (``week`` or ``month``).

With a token, every endpoint but ``/health`` wants ``Authorization: Bearer <token>``
(compared in constant time). Without one the server binds only to a loopback address
and answers only requests whose ``Host`` is a loopback name, so a web page elsewhere
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
from teamlens.dashboard.report import DEFAULT_TITLE, render_html
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
PERIODS: Final = ("week", "month")
#: Sent with every response, errors included.
SECURITY_HEADERS: Final[Mapping[str, str]] = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'none'; object-src 'none'; "
        "style-src 'self' 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}
MIN_TOKEN_LENGTH: Final = 16
_MAX_FILTER_LENGTH: Final = 200
_UNAUTHENTICATED: Final = frozenset({"/health"})


class ServeConfigError(TeamlensError):
    """The server was asked for something unsafe or impossible (e.g. a public bind
    without a token or without TLS, a too-short token, k below 1)."""


class TeamPeriodUnavailableError(RuntimeError):
    """The ``team_period`` file is missing or cannot be read as that table."""


class _BadQueryError(ValueError):
    """A request's query string names an unknown parameter or an invalid value."""


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
    """The filters of a query string; unknown, repeated or invalid parameters raise."""
    seen: dict[str, str] = {}
    for name, value in request.query_params.multi_items():
        if name not in allowed:
            raise _BadQueryError(
                f"unknown query parameter {name[:40]!r}; this endpoint takes "
                + (", ".join(allowed) if allowed else "none")
            )
        if name in seen:
            raise _BadQueryError(f"query parameter {name!r} given twice")
        if not value or len(value) > _MAX_FILTER_LENGTH:
            raise _BadQueryError(f"query parameter {name!r} is empty or too long")
        seen[name] = value
    period = seen.get("period")
    if period is not None and period not in PERIODS:
        raise _BadQueryError(f"period must be one of {', '.join(PERIODS)}")
    return _Filters(team=seen.get("team"), period=period)


def _select(table: pa.Table, filters: _Filters) -> pa.Table:
    """The rows matching the filters (rows are only selected, never split)."""
    if filters.team is not None:
        table = table.filter(pc.equal(table["team"], filters.team))
    if filters.period is not None:
        table = table.filter(pc.equal(table["period"], filters.period))
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
    """The period the page is about: the filter's, else week when the table has weeks."""
    if filters.period is not None:
        return filters.period
    has_weeks = table.num_rows > 0 and pc.any(pc.equal(table["period"], "week")).as_py()
    return "week" if has_weeks else "month"


def _error(status: int, message: str, headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=dict(headers or {}))


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


def create_app(data_dir: Path, *, k: int, token: str | None) -> FastAPI:
    """The FastAPI application serving ``<data_dir>/aggregates/team_period.parquet``.

    Args:
        data_dir: the teamlens data folder.
        k: the minimum group size the table was built with (shown on the page).
        token: when set, the bearer token every endpoint but ``/health`` requires.

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
        if presented is None or not hmac.compare_digest(presented, expected):
            return _error(401, "a valid bearer token is required", {"WWW-Authenticate": "Bearer"})
        return None

    def _selected(request: Request) -> tuple[_Snapshot, _Filters, pa.Table] | Response:
        try:
            filters = _parse_query(request, FILTERS)
        except _BadQueryError as exc:
            return _error(400, str(exc))
        try:
            snapshot = source.current()
        except TeamPeriodUnavailableError as exc:
            logger.warning("%s", exc)
            return _error(503, str(exc))
        return snapshot, filters, _select(snapshot.table, filters)

    @app.get("/health")
    def health(request: Request) -> Response:
        try:
            _parse_query(request, ())
        except _BadQueryError as exc:
            return _error(400, str(exc))
        return JSONResponse({"status": "ok"})

    @app.get("/api/team_period")
    def team_period(request: Request) -> Response:
        selected = _selected(request)
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
        selected = _selected(request)
        if isinstance(selected, Response):
            return selected
        snapshot, filters, table = selected
        title = DEFAULT_TITLE if filters.team is None else f"{DEFAULT_TITLE}: {filters.team}"
        html = render_html(
            table,
            period=_page_period(table, filters),
            k=k,
            generated=snapshot.generated,
            title=title,
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
    app = create_app(data_dir, k=k, token=token)
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
