"""Retries with backoff for GitHub requests, at one seam: a requests transport adapter.

github3.py has no backoff of its own. Every request it makes goes through its session's
transport adapter, so :class:`BackoffAdapter`, mounted there, sees them all:

* **secondary rate limits** (403 or 429 with ``Retry-After``): wait that long;
* **primary rate limit** exhausted (403 or 429 with ``X-RateLimit-Remaining: 0``): wait
  until ``X-RateLimit-Reset``;
* **server errors** (500, 502, 503, 504) and **dropped connections**: wait 1, 2, 4, …
  seconds, at most :data:`MAX_ATTEMPTS` tries.

All waits of a run draw on one :class:`WaitBudget`. When GitHub asks for a wait (a rate
limit) that would exceed what is left, :class:`RateLimitStop` is raised instead of
sleeping: the caller stops cleanly with what it has, and the next run resumes. When
GitHub is failing or unreachable, retries stop as soon as the next one would exceed the
budget (or after :data:`MAX_ATTEMPTS`): the last 5xx answer stands, or
:class:`ConnectionGaveUp` is raised, and the caller reports an error.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

from teamlens.errors import TeamlensError

MAX_ATTEMPTS = 5
RETRY_STATUSES = frozenset({500, 502, 503, 504})


class RateLimitStop(TeamlensError):
    """Waiting any longer would exceed the run's wait budget."""

    def __init__(self, wait: float, reason: str) -> None:
        super().__init__(f"GitHub asks to wait {wait:.0f}s ({reason}); stopping for now")
        self.wait = wait
        self.reason = reason


@dataclass
class WaitBudget:
    """The seconds a run may still spend waiting, and how it sleeps (tests pass a fake)."""

    seconds: float
    sleep: Callable[[float], None] = time.sleep
    now: Callable[[], float] = time.time
    waited: float = 0.0
    waits: list[tuple[float, str]] = field(default_factory=list)

    def allows(self, seconds: float) -> bool:
        """Whether a wait of `seconds` still fits in the budget."""
        return self.waited + max(seconds, 0.0) <= self.seconds

    def wait(self, seconds: float, reason: str) -> None:
        seconds = max(seconds, 0.0)
        if self.waited + seconds > self.seconds:
            raise RateLimitStop(seconds, reason)
        self.waits.append((seconds, reason))
        self.waited += seconds
        self.sleep(seconds)


class ConnectionGaveUp(requests.ConnectionError):
    """Connections to GitHub kept failing; no more retries (attempts, or the wait budget)."""

    def __init__(
        self, problem: str, attempts: int, request: requests.PreparedRequest | None = None
    ) -> None:
        super().__init__(f"{problem} ({attempts} attempts)", request=request)
        self.problem = problem
        self.attempts = attempts
        self.host = urlsplit(request.url or "").netloc if request is not None else ""


def connection_problem(exc: BaseException) -> str:
    """What went wrong with a connection, in a few words (not urllib3's nested repr)."""
    if isinstance(exc, requests.Timeout):
        return "no answer within the timeout"
    text = str(exc)
    for needle, problem in (
        ("Connection refused", "connection refused"),
        ("RemoteDisconnected", "connection closed without an answer"),
        ("Connection aborted", "connection closed without an answer"),
        ("Connection reset", "connection reset"),
        ("NameResolution", "the host name does not resolve"),
        ("Name or service not known", "the host name does not resolve"),
        ("Network is unreachable", "network unreachable"),
    ):
        if needle in text:
            return problem
    return type(exc).__name__


def _retry_after(headers: Mapping[str, str], now: float) -> float | None:
    value = headers.get("Retry-After")
    if value is None:
        return None
    if value.strip().isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None
    return max(when - now, 0.0)


def wait_for(response: requests.Response, now: float) -> tuple[float, str] | None:
    """How long to wait before retrying `response`, and why; None to accept it."""
    status = response.status_code
    if status in (403, 429):
        after = _retry_after(response.headers, now)
        if after is not None:
            return after, f"secondary rate limit ({status}, Retry-After)"
        if response.headers.get("X-RateLimit-Remaining") == "0":
            reset = float(response.headers.get("X-RateLimit-Reset", now))
            return max(reset - now, 0.0) + 1, f"primary rate limit ({status}) until reset"
        return None
    if status in RETRY_STATUSES:
        return -1.0, f"server error {status}"
    return None


class BackoffAdapter(HTTPAdapter):
    """An HTTPAdapter that retries rate-limited, failed and dropped requests."""

    def __init__(self, budget: WaitBudget, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.budget = budget
        self.attempts = 0  # every request sent, retries included (for tests and reports)

    def send(  # type: ignore[override]
        self, request: requests.PreparedRequest, **kwargs: Any
    ) -> requests.Response:
        failures = 0
        while True:
            self.attempts += 1
            try:
                response = super().send(request, **kwargs)
            except (requests.ConnectionError, requests.Timeout) as exc:
                failures += 1
                pause = 2.0 ** (failures - 1)
                if failures >= MAX_ATTEMPTS or not self.budget.allows(pause):
                    raise ConnectionGaveUp(connection_problem(exc), failures, request) from exc
                self.budget.wait(pause, f"connection failed ({type(exc).__name__})")
                continue
            decision = wait_for(response, self.budget.now())
            if decision is None:
                return response
            seconds, reason = decision
            failures += 1
            if seconds < 0:  # server error: exponential backoff, bounded attempts and waits
                seconds = 2.0 ** (failures - 1)
                if failures >= MAX_ATTEMPTS or not self.budget.allows(seconds):
                    return response
            response.close()
            self.budget.wait(seconds, reason)
