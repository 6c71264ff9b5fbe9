"""The server's state (stores, ids, clock), its users, and helpers every resource shares."""

from __future__ import annotations

import html
import math
import re
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlencode

from tests.github_server.protocol import _HttpError, _positive_int, _req, _validation_failed
from tests.github_server.records import (
    API_PREFIX,
    BODY_LIMIT,
    DEFAULT_TIME,
    CheckRun,
    CommitStatus,
    IssueComment,
    Json,
    PullRequest,
    Reaction,
    RecordedRequest,
    Repository,
    Review,
    ReviewComment,
    Timestamp,
    User,
    UserType,
    iso,
)

if TYPE_CHECKING:
    from tests.github_server.plumbing import _HTTPServer


def _render_markdown(text: str) -> str:
    paragraphs = [p for p in re.split(r"\n\s*\n", text.strip()) if p]
    return "\n".join(
        f'<p dir="auto">{html.escape(p).replace(chr(10), "<br>" + chr(10))}</p>' for p in paragraphs
    )


class _Core:
    """The state of a fake GitHub, its users (every record names some), and shared helpers."""

    def __init__(
        self,
        token: str | None = "test-token",  # noqa: S107 - a test token
        *,
        login: str = "octo-miner",
        rate_limit: int = 5000,
        default_per_page: int = 30,
        max_per_page: int = 100,
        installation_token: str | None = None,
        app_id: int = 90210,
        installation_id: int = 4242,
        app_slug: str = "octo-review",
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.token = token
        self.login = login
        self.default_per_page = default_per_page
        self.max_per_page = max_per_page
        self.installation_token = installation_token
        self.app_id = app_id
        self.installation_id = installation_id
        self.app_slug = app_slug
        self.clock: Callable[[], datetime] = clock or (lambda: datetime.now(UTC))
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._ids: dict[str, int] = {
            "user": 1000,
            "repo": 5000,
            "pull": 1_000_000,
            "review": 2_000_000,
            "comment": 3_000_000,
            "issue": 4_000_000,
            "issue_comment": 5_000_000,
            "status": 6_000_000,
            "check_run": 7_000_000,
            "check_suite": 8_000_000,
            "reaction": 9_000_000,
        }
        self._users: dict[str, User] = {}
        self._repos: dict[str, Repository] = {}  # by lower-case full name
        self._pulls: dict[tuple[str, int], PullRequest] = {}
        self._reviews: dict[int, Review] = {}
        self._comments: dict[int, ReviewComment] = {}
        self._issue_ids: dict[tuple[str, int], int] = {}
        self._issue_comments: dict[int, IssueComment] = {}
        self._statuses: dict[int, CommitStatus] = {}
        self._check_runs: dict[int, CheckRun] = {}
        self._check_suites: dict[tuple[str, str], int] = {}  # (repo, head sha) -> suite id
        self._reactions: dict[int, Reaction] = {}
        self._past_heads: dict[tuple[str, int], list[str]] = {}  # head SHAs before a push
        self._faults: list[list[Any]] = []  # [Fault, times left or None]
        self._requests: list[RecordedRequest] = []
        self._request_counter = 0
        self.errors: list[BaseException] = []
        self._limit = rate_limit
        self._remaining = rate_limit
        self._reset_at = int(time.time()) + 3600
        self.add_user(login)
        if installation_token is not None:
            self.add_user(self.bot_login, type="Bot")

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("the server is not running")
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``: give it to ``github3.GitHubEnterprise``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return self.url + API_PREFIX

    def _next_id(self, kind: str) -> int:
        self._ids[kind] += 1
        return self._ids[kind]

    def add_user(
        self,
        login: str,
        *,
        type: UserType = "User",
        name: str | None = None,
        email: str | None = None,
        created_at: Timestamp = DEFAULT_TIME,
        site_admin: bool = False,
    ) -> User:
        with self._lock:
            old = self._users.get(login)
            user = User(
                id=old.id if old else self._next_id("user"),
                login=login,
                type=type,
                name=name,
                email=email,
                created_at=iso(created_at),
                site_admin=site_admin,
            )
            self._users[login] = user
            return user

    def user(self, login: str) -> User:
        with self._lock:
            try:
                return self._users[login]
            except KeyError:
                raise KeyError(f"unknown user {login!r}: add_user() it first") from None

    @property
    def bot_login(self) -> str:
        """The GitHub App's bot user, who acts with the installation token: ``<slug>[bot]``."""
        return f"{self.app_slug}[bot]"

    def now(self) -> str:
        """The server's clock (``clock=``) in GitHub's form: the time of every write."""
        return iso(self.clock())

    def _page(
        self, items: list[Any], pairs: list[tuple[str, str]], link_base: str
    ) -> tuple[list[Any], str | None]:
        query = dict(pairs)
        per_page = _positive_int(query.get("per_page")) or self.default_per_page
        per_page = min(per_page, self.max_per_page)
        page = _positive_int(query.get("page")) or 1
        last = max(1, math.ceil(len(items) / per_page))
        chunk = items[(page - 1) * per_page : page * per_page]

        def href(target: int) -> str:
            kept = [(k, v) for k, v in pairs if k != "page"]
            if any(k == "page" for k, _ in pairs):
                kept = [(k, str(target) if k == "page" else v) for k, v in pairs]
            else:
                kept.append(("page", str(target)))
            return f"<{link_base}?{urlencode(kept)}>"

        links: list[str] = []
        if page > 1:
            links.append(f'{href(min(page - 1, last))}; rel="prev"')
        if page < last:
            links.append(f'{href(page + 1)}; rel="next"')
            links.append(f'{href(last)}; rel="last"')
        if page > 1:
            links.append(f'{href(1)}; rel="first"')
        return chunk, ", ".join(links) or None

    def _bodies(self, doc: Json, body: str | None, media: str) -> None:
        """Add body / body_html / body_text as the requested media type asks (GitHub's rule)."""
        if media in ("", "raw", "full"):
            doc["body"] = body
        if media in ("html", "full"):
            doc["body_html"] = None if body is None else _render_markdown(body)
        if media in ("text", "full"):
            doc["body_text"] = body

    def _comment_body(self, data: Json, resource: str, docs: str) -> str:
        body = cast(str, _req(data, "body", str, docs))
        if not body.strip():
            raise _validation_failed(resource, "body", "missing_field", docs)
        if len(body) > BODY_LIMIT:
            raise _validation_failed(
                resource,
                "body",
                "custom",
                docs,
                message=f"body is too long (maximum is {BODY_LIMIT} characters)",
            )
        return body

    def _may_edit(self, repo: Repository, author: str, viewer: str, docs: str) -> None:
        """Only a comment's author (or the repository's owner) edits or deletes it."""
        if viewer not in (author, repo.owner):
            message = (
                "Resource not accessible by integration"
                if viewer == self.bot_login
                else "Must have admin rights to Repository."
            )
            raise _HttpError(403, message, documentation_url=docs)
