"""Signing in to the served page from a browser, with the token and no script.

A browser cannot send an ``Authorization`` header by itself, and a token in the URL
would end up in the history and the access log. So a page request without credentials
gets a small form (``POST /login``, the token in the body); the right token sets a
session cookie (``HttpOnly``, ``SameSite=Strict``, ``Secure`` off loopback) and
redirects back. The cookie holds an HMAC of the token, never the token, and the
browser sends it with every request the page's pickers make: choosing keeps the token.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Final
from urllib.parse import parse_qs, urlsplit

from teamlens.dashboard.charts import _e
from teamlens.dashboard.page import _css

COOKIE: Final = "teamlens_session"
LOGIN_PATH: Final = "/login"
#: The largest login form body read (bytes): a token and where to go next.
MAX_FORM_BYTES: Final = 4096
_CONTEXT: Final = b"teamlens serve session v1"
#: Wrong tokens a client may present within FAILURE_WINDOW seconds before it is refused.
MAX_FAILURES: Final = 20
FAILURE_WINDOW: Final = 60.0


class FailedAttempts:
    """Wrong tokens per client address, over a sliding window: after `limit` of them
    within `window` seconds the client is refused (``429``) until the oldest falls out,
    so a token cannot be guessed at the server's speed. Kept in memory only.

    Behind a proxy every client has the proxy's address: one guesser then holds everyone
    off for a minute, which is the price of not trusting a forwarded header."""

    def __init__(
        self,
        limit: int = MAX_FAILURES,
        window: float = FAILURE_WINDOW,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, client: str, now: float) -> deque[float]:
        times = self._failures.setdefault(client, deque())
        while times and now - times[0] >= self.window:
            times.popleft()
        return times

    def retry_after(self, client: str) -> int:
        """Seconds until `client` may try again; 0 when it may now."""
        with self._lock:
            now = self._clock()
            times = self._recent(client, now)
            if len(times) < self.limit:
                if not times:
                    self._failures.pop(client, None)
                return 0
            return max(1, int(times[0] + self.window - now + 0.999))

    def failed(self, client: str) -> None:
        with self._lock:
            now = self._clock()
            self._recent(client, now).append(now)


def session_value(token: bytes) -> str:
    """The cookie's value for ``token``: HMAC-SHA256(token, a fixed context), hex."""
    return hmac.new(token, _CONTEXT, hashlib.sha256).hexdigest()


def valid_session(cookie: str | None, token: bytes) -> bool:
    """True when ``cookie`` is the session value of ``token`` (constant-time)."""
    if not cookie:
        return False
    return hmac.compare_digest(cookie.encode("ascii", "replace"), session_value(token).encode())


def set_cookie_header(token: bytes, *, secure: bool) -> str:
    """The ``Set-Cookie`` header value of a new session."""
    flags = "; Secure" if secure else ""
    return f"{COOKIE}={session_value(token)}; Path=/; HttpOnly; SameSite=Strict{flags}"


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path on this server, else ``/``."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return "/"
    return target


def parse_form(body: bytes) -> tuple[bytes, str]:
    """The token and the ``next`` path of a login form body (urlencoded)."""
    fields = parse_qs(body.decode("utf-8", "replace"), max_num_fields=4)
    token = (fields.get("token") or [""])[0].strip()
    return token.encode("utf-8", "surrogateescape"), safe_next((fields.get("next") or [""])[0])


def login_html(title: str, next_path: str, message: str | None = None) -> str:
    """The sign-in page: one password field for the token, and ``message`` if any."""
    csp = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'"
    alert = f'<p class="notice" role="alert" id="error">{_e(message)}</p>' if message else ""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{csp}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="referrer" content="no-referrer">'
        f"<title>Sign in: {_e(title)}</title><style>\n{_css()}</style></head><body>"
        f"<header><h1>{_e(title)}</h1></header><main>{alert}"
        "<p>This page needs the server's token ($TEAMLENS_SERVE_TOKEN where it runs).</p>"
        f'<form class="pickers" method="post" action="{LOGIN_PATH}">'
        f'<input type="hidden" name="next" value="{_e(next_path)}">'
        '<label>Token<input type="password" name="token" autocomplete="current-password" '
        'required></label><button type="submit">Sign in</button></form></main></body></html>\n'
    )
