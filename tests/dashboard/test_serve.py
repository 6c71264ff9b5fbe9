"""The team trends server, served by a real uvicorn on 127.0.0.1 and driven over HTTP.

The ``team_period`` file is written by hand with :data:`teamlens.aggregates.SCHEMA`: two
shown teams, one team suppressed (below k), the all-teams row, and the unowned changes
suppressed too (two hidden groups, so the all-teams total does not give one away; see
``dashboard.team_period``'s differencing rule).
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import requests
import uvicorn
from fastapi import FastAPI

from teamlens.aggregates import ALL_TEAMS, FIGURES, SCHEMA, TEAM_PERIOD_FILE, UNOWNED
from teamlens.dashboard.serve import SECURITY_HEADERS, ServeConfigError, create_app, serve
from teamlens.dashboard.session import COOKIE, FailedAttempts, session_value

TOKEN = "tl-serve-test-token-5b2f9c1e"
K = 5
SHOWN_TEAMS = ("payments", "search")
HIDDEN_TEAM = "infra"
MONTHS = tuple(dt.date(2024, month, 1) for month in (1, 2, 3, 4))
WEEKS = (dt.date(2024, 4, 1), dt.date(2024, 4, 8))


def _shown(team: str, period: str, start: dt.date, seed: int) -> dict[str, Any]:
    labelled = 0 if seed == 3 else 20 + seed  # one fresh month: nothing labelled yet
    defects = 0 if labelled == 0 else 2 + seed % 4
    rate = None if labelled == 0 else defects / labelled
    return {
        "team": team,
        "period": period,
        "period_start": start,
        "suppressed": False,
        "reason": None,
        "rolled_up": False,
        "changes": 30 + 7 * seed,
        "churn": 1200 + 150 * seed,
        "labelled_changes": labelled,
        "defect_inducing": defects,
        "defect_rate": rate,
        # NaN, as dashboard.team_period's Wilson interval of zero trials gives
        "defect_rate_low": math.nan if rate is None else max(0.0, rate - 0.05),
        "defect_rate_high": math.nan if rate is None else min(1.0, rate + 0.08),
        "provisional": labelled == 0,
        "mean_risk": 0.2 + 0.03 * (seed % 5),
        "high_risk_share": 0.1 + 0.02 * (seed % 4),
        "review_coverage": 0.6 + 0.05 * (seed % 6),
        "median_hours_to_first_review": 3.0 + seed,
        "hotspots": [f"src/{team}/core.py", f"src/{team}/api.py"],
    }


def _hidden(team: str, period: str, start: dt.date) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(SCHEMA.names)
    row.update(
        team=team,
        period=period,
        period_start=start,
        suppressed=True,
        reason=f"fewer than {K} contributors",
        rolled_up=False,
    )
    return row


def team_period_rows(*, with_weeks: bool = True, changes_bump: int = 0) -> list[dict[str, Any]]:
    """The hand-made rows: months for every group, and two weeks of one team."""
    rows: list[dict[str, Any]] = []
    for index, start in enumerate(MONTHS):
        for offset, team in enumerate((*SHOWN_TEAMS, ALL_TEAMS)):
            row = _shown(team, "month", start, index + 2 * offset)
            row["changes"] += changes_bump
            rows.append(row)
        rows.append(_hidden(HIDDEN_TEAM, "month", start))
        rows.append(_hidden(UNOWNED, "month", start))
    if with_weeks:
        rows.extend(_shown(SHOWN_TEAMS[0], "week", start, 4 + i) for i, start in enumerate(WEEKS))
    return rows


def write_team_period(data_dir: Path, rows: list[dict[str, Any]]) -> Path:
    """Write the rows where the server reads them; returns the file's path."""
    path = data_dir / TEAM_PERIOD_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=SCHEMA), path)
    return path


def as_json(row: dict[str, Any]) -> dict[str, Any]:
    """A file row as the API sends it: ISO dates, NaN as null."""
    out: dict[str, Any] = {}
    for name, value in row.items():
        if isinstance(value, dt.date):
            value = value.isoformat()
        elif isinstance(value, float) and math.isnan(value):
            value = None
        out[name] = value
    return out


@contextmanager
def running_server(app: FastAPI, *, log_level: str = "warning") -> Iterator[str]:
    """Run the app on a real uvicorn at 127.0.0.1 (a free port); yields the base URL."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level=log_level, log_config=None)
    )
    thread = threading.Thread(target=server.run, name="uvicorn-dashboard-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive(), "uvicorn stopped during startup"
        assert time.monotonic() < deadline, "uvicorn did not start in 10 s"
        time.sleep(0.01)
    port = int(server.servers[0].sockets[0].getsockname()[1])
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
    assert not thread.is_alive(), "uvicorn did not shut down"


def auth(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def team_period_dir(tmp_path: Path) -> Path:
    data_dir = tmp_path / "data"
    write_team_period(data_dir, team_period_rows())
    return data_dir


@pytest.fixture
def base_url(team_period_dir: Path) -> Iterator[str]:
    """A server with a token over the hand-made table."""
    with running_server(create_app(team_period_dir, k=K, token=TOKEN)) as url:
        yield url


def get_rows(base_url: str, **params: str) -> list[dict[str, Any]]:
    response = requests.get(
        f"{base_url}/api/team_period", params=params, headers=auth(), timeout=10
    )
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()["rows"]
    return rows


# ---------------------------------------------------------------------------------------


def test_json_rows_match_the_file(base_url: str, team_period_dir: Path) -> None:
    response = requests.get(f"{base_url}/api/team_period", headers=auth(), timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["k"] == K
    assert body["filters"] == {"team": None, "period": None}
    on_disk = pq.read_table(team_period_dir / TEAM_PERIOD_FILE).to_pylist()
    assert body["rows"] == [as_json(row) for row in on_disk]
    assert len(body["rows"]) == len(MONTHS) * 5 + len(WEEKS)
    # the NaN interval of the month with nothing labelled comes out as null
    fresh = [r for r in body["rows"] if r["labelled_changes"] == 0]
    assert fresh
    assert all(r["defect_rate_low"] is None and r["provisional"] for r in fresh)


def test_suppressed_rows_have_null_figures(base_url: str) -> None:
    rows = get_rows(base_url)
    hidden = [r for r in rows if r["suppressed"]]
    assert {r["team"] for r in hidden} == {HIDDEN_TEAM, UNOWNED}
    for row in hidden:
        assert all(row[name] is None for name in FIGURES), row
        assert row["reason"] == f"fewer than {K} contributors"
    shown = [r for r in rows if not r["suppressed"]]
    assert {r["team"] for r in shown} == {*SHOWN_TEAMS, ALL_TEAMS}
    assert all(r["changes"] is not None and r["reason"] is None for r in shown)


def test_a_suppressed_row_with_figures_in_the_file_is_served_without_them(
    tmp_path: Path,
) -> None:
    """Should a broken builder leave figures in a suppressed (or unmarked) row, the
    server blanks them rather than pass them on."""
    rows = team_period_rows(with_weeks=False)
    leaky = _shown(HIDDEN_TEAM, "month", MONTHS[0], 1)
    leaky.update(suppressed=True, reason="fewer than 5 contributors")
    unmarked = _shown(UNOWNED, "month", MONTHS[1], 2)
    unmarked["suppressed"] = None
    write_team_period(tmp_path, [*rows, leaky, unmarked])
    with running_server(create_app(tmp_path, k=K, token=None)) as url:
        body = requests.get(f"{url}/api/team_period", timeout=10).json()
    served = body["rows"][-2:]
    for row in served:
        assert row["suppressed"] is True
        assert all(row[name] is None for name in FIGURES), row


def test_filters_select_whole_rows(base_url: str) -> None:
    payments = get_rows(base_url, team="payments")
    assert len(payments) == len(MONTHS) + len(WEEKS)
    assert {r["team"] for r in payments} == {"payments"}

    weeks = get_rows(base_url, period="week")
    assert [r["period_start"] for r in weeks] == [w.isoformat() for w in WEEKS]
    assert {r["period"] for r in weeks} == {"week"}

    months = get_rows(base_url, team="payments", period="month")
    assert [r["period_start"] for r in months] == [m.isoformat() for m in MONTHS]

    everyone = get_rows(base_url, team=ALL_TEAMS)
    assert len(everyone) == len(MONTHS)
    assert all(r["team"] == ALL_TEAMS and not r["suppressed"] for r in everyone)

    hidden = get_rows(base_url, team=HIDDEN_TEAM)
    assert len(hidden) == len(MONTHS)
    assert all(r["suppressed"] and r["changes"] is None for r in hidden)

    unknown = requests.get(
        f"{base_url}/api/team_period", params={"team": "no-such-team"}, headers=auth(), timeout=10
    )
    assert unknown.status_code == 404  # tests/dashboard/test_pickers.py has more
    assert "rows" not in unknown.json()

    response = requests.get(
        f"{base_url}/api/team_period",
        params={"team": "payments"},
        headers=auth(),
        timeout=10,
    )
    assert response.json()["filters"] == {"team": "payments", "period": None}


@pytest.mark.parametrize(
    "query",
    [
        "author=x",
        "team=payments&author=x",
        "email=alice%40example.com",
        "person=alice",
        "k=1",
        "period=week&period=month",
        f"team={'x' * 201}",
    ],
)
def test_bad_query_parameters_are_refused(base_url: str, query: str) -> None:
    for path in ("/api/team_period", "/"):
        response = requests.get(f"{base_url}{path}?{query}", headers=auth(), timeout=10)
        assert response.status_code == 400, (path, query, response.text)
        assert "rows" not in response.json()
    response = requests.get(f"{base_url}/health?author=x", timeout=10)
    assert response.status_code == 400


def test_the_token_is_required_except_for_health(base_url: str) -> None:
    for path in ("/", "/api/team_period", "/api/team_period?team=payments", "/nope"):
        missing = requests.get(f"{base_url}{path}", timeout=10)
        assert missing.status_code == 401, path
        assert missing.headers["www-authenticate"] == "Bearer"
        assert "rows" not in missing.text
        for headers in (
            auth("tl-serve-test-token-5b2f9c1X"),
            auth(TOKEN[:-1]),
            auth(TOKEN + "x"),
            {"Authorization": f"Basic {TOKEN}"},
            {"Authorization": TOKEN},
            {"Authorization": "Bearer"},
            auth("tökén-not-ascii-0123456789"),
        ):
            wrong = requests.get(f"{base_url}{path}", headers=headers, timeout=10)
            assert wrong.status_code == 401, (path, headers)
    assert requests.get(f"{base_url}/api/team_period", headers=auth(), timeout=10).ok
    lower = {"authorization": f"bearer {TOKEN}"}
    assert requests.get(f"{base_url}/api/team_period", headers=lower, timeout=10).ok
    health = requests.get(f"{base_url}/health", timeout=10)
    assert health.status_code == 200
    assert health.json() == {"status": "ok"}


def test_security_headers_on_every_response(base_url: str) -> None:
    responses = [
        requests.get(f"{base_url}/health", timeout=10),
        requests.get(f"{base_url}/api/team_period", timeout=10),  # 401
        requests.get(f"{base_url}/api/team_period", headers=auth(), timeout=10),
        requests.get(f"{base_url}/api/team_period?author=x", headers=auth(), timeout=10),
    ]
    for response in responses:
        for name, value in SECURITY_HEADERS.items():
            assert response.headers[name] == value, (response.url, name)
    csp = SECURITY_HEADERS["Content-Security-Policy"]
    assert "http" not in csp and "*" not in csp
    assert "script-src 'none'" in csp
    assert "frame-ancestors 'none'" in csp


def test_the_page_is_the_report_of_the_selected_rows(base_url: str) -> None:
    response = requests.get(f"{base_url}/", headers=auth(), timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert 'class="chart' in response.text
    assert "payments" in response.text
    only = requests.get(f"{base_url}/?team=search", headers=auth(), timeout=10)
    assert only.status_code == 200
    assert "search" in only.text


def test_a_rewritten_file_is_read_again(base_url: str, team_period_dir: Path) -> None:
    before = get_rows(base_url, team="payments", period="month")
    path = write_team_period(team_period_dir, team_period_rows(changes_bump=1000))
    stat = path.stat()  # a coarse clock could leave mtime alone: move it on
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 2_000_000_000))
    after = get_rows(base_url, team="payments", period="month")
    assert [r["changes"] for r in after] == [r["changes"] + 1000 for r in before]


def test_a_missing_file_answers_503_until_it_exists(tmp_path: Path) -> None:
    with running_server(create_app(tmp_path, k=K, token=TOKEN)) as url:
        for path in ("/", "/api/team_period"):
            response = requests.get(f"{url}{path}", headers=auth(), timeout=10)
            assert response.status_code == 503
            assert "teamlens report" in response.json()["error"]
        assert requests.get(f"{url}/health", timeout=10).status_code == 200
        write_team_period(tmp_path, team_period_rows())
        assert len(get_rows(url)) == len(team_period_rows())


def test_without_a_token_only_loopback_host_names_are_answered(team_period_dir: Path) -> None:
    with running_server(create_app(team_period_dir, k=K, token=None)) as url:
        assert requests.get(f"{url}/api/team_period", timeout=10).ok
        port = url.rsplit(":", 1)[1]
        for host in (f"localhost:{port}", f"[::1]:{port}", "127.0.0.1"):
            ok = requests.get(f"{url}/api/team_period", headers={"Host": host}, timeout=10)
            assert ok.status_code == 200, host
        for host in (f"evil.example:{port}", "evil.example", f"192.0.2.1:{port}"):
            rebound = requests.get(f"{url}/api/team_period", headers={"Host": host}, timeout=10)
            assert rebound.status_code == 400, host
            assert "rows" not in rebound.json()


def test_the_token_is_never_logged(team_period_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    app = create_app(team_period_dir, k=K, token=TOKEN)
    with running_server(app, log_level="debug") as url:
        requests.get(f"{url}/api/team_period", headers=auth(), timeout=10)
        requests.get(f"{url}/api/team_period", headers=auth(TOKEN + "x"), timeout=10)
        requests.get(f"{url}/", headers=auth(), timeout=10)
    assert "GET /api/team_period" in caplog.text  # the access log, without the token
    assert TOKEN not in caplog.text


@pytest.mark.parametrize(
    "host",
    ["0.0.0.0", "::", "192.0.2.10", "example.com", ""],  # noqa: S104 (refused, never bound)
)
def test_serve_refuses_a_public_bind_without_a_token(tmp_path: Path, host: str) -> None:
    with pytest.raises(ServeConfigError, match="without a token"):
        serve(tmp_path, k=K, host=host, port=0, token=None)


@pytest.mark.parametrize(
    ("k", "token"),
    [(0, TOKEN), (-1, None), (K, "short"), (K, ""), (K, "has a space in it 0123"), (K, "ü" * 20)],
)
def test_bad_settings_are_refused(tmp_path: Path, k: int, token: str | None) -> None:
    with pytest.raises(ServeConfigError):
        create_app(tmp_path, k=k, token=token)
    with pytest.raises(ServeConfigError):
        serve(tmp_path, k=k, host="127.0.0.1", port=0, token=token)


def test_serve_refuses_a_bad_port(tmp_path: Path) -> None:
    with pytest.raises(ServeConfigError, match="port"):
        serve(tmp_path, k=K, port=70000, token=None)


def test_wrong_tokens_are_refused_after_a_few_even_before_the_right_one(
    team_period_dir: Path,
) -> None:
    with running_server(create_app(team_period_dir, k=K, token=TOKEN, max_failures=3)) as url:
        for _ in range(3):
            wrong = requests.get(f"{url}/api/team_period", headers=auth(TOKEN + "x"), timeout=10)
            assert wrong.status_code == 401
        form = {"token": TOKEN, "next": "/"}
        for response in (
            requests.get(f"{url}/api/team_period", headers=auth(), timeout=10),
            requests.post(f"{url}/login", data=form, allow_redirects=False, timeout=10),
        ):
            assert response.status_code == 429, response.text
            assert 1 <= int(response.headers["retry-after"]) <= 60
            assert TOKEN not in response.text
        # a browser's session cookie is no guess: it still works
        cookie = {COOKIE: session_value(TOKEN.encode())}
        assert requests.get(f"{url}/api/team_period", cookies=cookie, timeout=10).ok


def test_failed_attempts_fall_out_of_the_window() -> None:
    now = [0.0]
    attempts = FailedAttempts(limit=2, window=60.0, clock=lambda: now[0])
    attempts.failed("10.0.0.1")
    now[0] = 30.0
    attempts.failed("10.0.0.1")
    assert attempts.retry_after("10.0.0.1") == 30
    assert attempts.retry_after("10.0.0.2") == 0  # per address
    now[0] = 60.0
    assert attempts.retry_after("10.0.0.1") == 0  # the first failure is a minute old
