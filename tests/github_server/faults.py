"""Faults, the request log and the rate limit: how the fake GitHub misbehaves on purpose."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, cast

from tests.github_server.core import _Core
from tests.github_server.protocol import _error_body, _Response
from tests.github_server.records import RATE_DOCS, Json, RecordedRequest


@dataclass(frozen=True)
class Fault:
    """An answer that replaces the API's for requests whose target matches ``path_pattern``."""

    path_pattern: str
    status: int | None = None  # default 500, or 200 with ``malformed``
    headers: Mapping[str, str] = field(default_factory=dict)
    body: Any = None  # JSON-able; default GitHub's error body for the status
    times: int | None = 1  # None: every matching request
    drop: bool = False
    malformed: bool = False
    delay: float = 0.0


def secondary_rate_limit(
    path_pattern: str = ".*", *, retry_after: int | None = 60, status: int = 403, times: int = 1
) -> Fault:
    """GitHub's secondary (abuse) rate-limit answer: 403 (or 429) with Retry-After."""
    message = (
        "You have exceeded a secondary rate limit. Please wait a few minutes before you try "
        "again. If you reach out to GitHub Support for help, please include the request ID "
        "C0DE:1D5:5EC0:4D47:65A1B2C3."
    )
    headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
    body = _error_body(status, message, RATE_DOCS + "#about-secondary-rate-limits")
    return Fault(path_pattern, status=status, headers=headers, body=body, times=times)


def primary_rate_limit(
    path_pattern: str = ".*",
    *,
    reset_at: int | None = None,
    limit: int = 5000,
    user_id: int = 1,
    status: int = 403,
    times: int = 1,
) -> Fault:
    """GitHub's primary rate-limit answer: 403 with X-RateLimit-Remaining 0 and the reset time."""
    reset = reset_at if reset_at is not None else int(time.time()) + 60
    headers = {
        "X-RateLimit-Limit": str(limit),
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Used": str(limit),
        "X-RateLimit-Reset": str(reset),
    }
    body = _error_body(
        status,
        f"API rate limit exceeded for user ID {user_id}.",
        RATE_DOCS + "#about-the-primary-rate-limit",
    )
    return Fault(path_pattern, status=status, headers=headers, body=body, times=times)


def server_error(path_pattern: str = ".*", *, status: int = 500, times: int = 1) -> Fault:
    """A 5xx as GitHub's front end sends it (500 "Server Error", 502 "Bad Gateway", ...)."""
    message = "Server Error" if status == 500 else HTTPStatus(status).phrase
    return Fault(path_pattern, status=status, body={"message": message}, times=times)


class _Traffic(_Core):
    """The request log, injected faults, the primary rate limit and the headers that report it."""

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def reset_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    def inject(self, fault: Fault) -> None:
        re.compile(fault.path_pattern)
        with self._lock:
            self._faults.append([fault, fault.times])

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    @property
    def pending_faults(self) -> list[Fault]:
        with self._lock:
            return [f for f, _ in self._faults]

    def set_rate_limit(
        self, *, limit: int | None = None, remaining: int | None = None, reset_at: int | None = None
    ) -> None:
        with self._lock:
            if limit is not None:
                self._limit = limit
                self._remaining = min(self._remaining, limit)
            if remaining is not None:
                self._remaining = remaining
            if reset_at is not None:
                self._reset_at = reset_at

    @property
    def rate_limit_remaining(self) -> int:
        with self._lock:
            return self._remaining

    def _take_fault(self, target: str) -> Fault | None:
        for entry in self._faults:
            fault, left = cast(Fault, entry[0]), cast("int | None", entry[1])
            if re.search(fault.path_pattern, target):
                if left is not None:
                    if left <= 1:
                        self._faults.remove(entry)
                    else:
                        entry[1] = left - 1
                return fault
        return None

    def _fault_response(self, fault: Fault) -> _Response:
        headers = self._base_headers()
        headers.update(fault.headers)
        if fault.drop:
            return _Response(0, headers, drop=True, delay=fault.delay)
        status = fault.status or 500
        body = fault.body if fault.body is not None else _error_body(status)
        return _Response(status, headers, self._dump(body), delay=fault.delay)

    @staticmethod
    def _dump(payload: Any) -> bytes:
        return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()

    def _roll_rate_window(self) -> None:
        now = int(time.time())
        if now >= self._reset_at:
            self._remaining = self._limit
            self._reset_at = now + 3600

    def _base_headers(self, media: str = "github.v3; format=json") -> dict[str, str]:
        return {
            "Content-Type": "application/json; charset=utf-8",
            "X-GitHub-Media-Type": media,
            "X-GitHub-Api-Version-Selected": "2022-11-28",
            "X-GitHub-Request-Id": f"C0DE:{self._request_counter:04X}:5EC0:4D47:65A1B2C3",
            "X-RateLimit-Limit": str(self._limit),
            "X-RateLimit-Remaining": str(self._remaining),
            "X-RateLimit-Reset": str(self._reset_at),
            "X-RateLimit-Used": str(self._limit - self._remaining),
            "X-RateLimit-Resource": "core",
            "Cache-Control": "private, max-age=60, s-maxage=60",
            "Vary": "Accept, Authorization, Cookie, X-GitHub-OTP",
            "X-OAuth-Scopes": "repo, read:org",
            "X-Accepted-OAuth-Scopes": "repo",
        }

    def _rate_limit_json(self) -> Json:
        core = {
            "limit": self._limit,
            "used": self._limit - self._remaining,
            "remaining": self._remaining,
            "reset": self._reset_at,
        }
        other = {"used": 0, "reset": self._reset_at}
        return {
            "resources": {
                "core": core,
                "search": {"limit": 30, "remaining": 30, **other},
                "graphql": {"limit": 5000, "remaining": 5000, **other},
                "integration_manifest": {"limit": 5000, "remaining": 5000, **other},
                "source_import": {"limit": 100, "remaining": 100, **other},
                "code_scanning_upload": {"limit": 1000, "remaining": 1000, **other},
                "actions_runner_registration": {"limit": 10000, "remaining": 10000, **other},
                "scim": {"limit": 15000, "remaining": 15000, **other},
                "code_search": {"limit": 10, "remaining": 10, **other},
            },
            "rate": core,
        }
