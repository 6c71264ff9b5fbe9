"""A real GitHub-compatible REST v3 server on 127.0.0.1, for tests (no mocks).

The server speaks HTTP/1.1 from a stdlib ``ThreadingHTTPServer`` in a background thread and
lays its API out like GitHub Enterprise, so the real github3.py client talks to it with
``github3.GitHubEnterprise(server.url, token=...)``: the API lives under ``<url>/api/v3`` and the
web pages (``html_url``) under ``<url>/<owner>/<repo>/...``. Every URL in the JSON points back at
the server itself; only ``documentation_url`` in error bodies names GitHub's docs, as GitHub does.
The JSON documents follow GitHub's REST v3 examples, with every key github3.py's models demand.

Start and stop::

    with FakeGitHub(token="t") as server:          # port 0: the OS picks one
        gh = github3.GitHubEnterprise(server.url, token="t")

    @pytest.fixture
    def github() -> Iterator[FakeGitHub]:
        with FakeGitHub(token="t") as server:
            yield server

``server.url`` is ``http://127.0.0.1:PORT``, ``server.api_url`` that plus ``/api/v3``,
``server.port`` the port. ``start()`` (returns the server) and ``stop()`` do the same by hand;
``stop()`` closes idle keep-alive connections and joins every handler thread, so no thread
outlives the server.

Data (all methods thread-safe; records are frozen dataclasses; times are ``str`` in GitHub's
``"2024-01-02T03:04:05Z"`` form or timezone-aware ``datetime``; ids are assigned by the server)::

    add_user(login, *, type="User"|"Bot"|"Organization", name=None, email=None,
             created_at=..., site_admin=False) -> User          (adding a known login replaces it)
    add_repo("owner/name", *, description=None, default_branch="main", private=False,
             language="Python", created_at=..., members=()) -> Repository
    add_pull("owner/name", *, author, title, created_at, number=None, body=None, state=None,
             updated_at=None, closed_at=None, merged_at=None, merged_by=None,
             merge_commit_sha=None, base_ref="main", base_sha=None, head_ref=None, head_sha=None,
             fork=None, fork_deleted=False, draft=False, locked=False, files=(), comments=0,
             commits=1, labels=(), requested_reviewers=()) -> PullRequest
    update_pull("owner/name", number, **fields) -> PullRequest      (any PullRequest field)
    close_pull("owner/name", number, *, at, merged=False, merged_by=None) -> PullRequest
    add_review("owner/name", number, *, user, state, submitted_at, body="", commit_id=None,
               touch=True) -> Review
    add_review_comment("owner/name", number, *, user, body, created_at, path=None, line=None,
                       side="RIGHT", start_line=None, start_side=None, in_reply_to=None,
                       review_id=None, updated_at=None, commit_id=None,
                       original_commit_id=None, outdated=False, touch=True) -> ReviewComment
    add_issue_comment("owner/name", number, *, user, body, created_at, updated_at=None,
                      touch=True) -> IssueComment           (adds 1 to the PR's ``comments``)
    add_status("owner/name", sha, *, state, context="default", description=None,
               target_url=None, creator=None, created_at=None) -> CommitStatus
    add_reaction(kind="issue_comment"|"review_comment", comment_id, *, user, content,
                 created_at=None) -> Reaction    (content "+1", "-1", "laugh", "confused",
                                                  "heart", "hooray", "rocket" or "eyes")
    user(login), repo("owner/name"), pull(repo, number), pulls(repo), reviews(repo, number),
    review_comments(repo, number), issue_comments(repo, number), statuses(repo, sha),
    check_runs(repo, head_sha=None), reactions(kind, comment_id)   (read back the records,
                                                                    oldest first)
    now() -> str                 (the clock, ``FakeGitHub(clock=...)``, that stamps every write)

``FileChange(filename, status="modified", patch=None, additions=None, deletions=None,
previous_filename=None)`` describes a changed file; additions and deletions are counted from the
patch when not given, and the PR's additions, deletions and changed_files are their sums.
``touch=True`` moves the PR's ``updated_at`` forward to the review's or comment's time, as
GitHub does, which is what incremental mining (``sort=updated``) sees. A review comment without
``review_id`` gets its own review (state COMMENTED, empty body), as a single comment does on
GitHub; a reply takes path, lines and diff hunk from the thread's first comment, and its
``in_reply_to_id`` names that first comment. ``diff_hunk`` and ``position`` are computed from the
file's patch, so a comment's line must be in the diff. PENDING reviews are listed only to
their author, like GitHub does.

Endpoints (GET and HEAD, and the writes below; anything else answers 404), under ``/api/v3``;
``/repos/{owner}/{repo}`` (owner and name match case-insensitively) and ``/repositories/{id}``
are interchangeable::

    /repos/{o}/{r}                                 /rate_limit (free: never counted or refused)
    /repos/{o}/{r}/pulls?state=&sort=&direction=&base=&head=&per_page=&page=
    /repos/{o}/{r}/pulls/{n}                       /repos/{o}/{r}/pulls/{n}/files
    /repos/{o}/{r}/pulls/{n}/reviews               /repos/{o}/{r}/pulls/{n}/reviews/{id}
    /repos/{o}/{r}/pulls/{n}/reviews/{id}/comments
    /repos/{o}/{r}/pulls/{n}/comments?sort=&direction=&since=
    /repos/{o}/{r}/pulls/comments?sort=&direction=&since=
    /repos/{o}/{r}/pulls/comments/{id}
    /users/{login}                                 /user (the token's user, ``login=``)
    /repos/{o}/{r}/issues/{n}                      (a PR seen as an issue)
    /repos/{o}/{r}/issues/{n}/comments?since=      /repos/{o}/{r}/issues/comments?sort=&since=
    /repos/{o}/{r}/issues/comments/{id}            /repos/{o}/{r}/issues/comments/{id}/reactions
    /repos/{o}/{r}/pulls/comments/{id}/reactions   (reactions take ?content=)
    /repos/{o}/{r}/commits/{ref}                   (a PR's head, merge or base commit, or the
                                                    head of a PR's branch by name)
    /repos/{o}/{r}/commits/{ref}/statuses          (newest first; also /statuses/{ref})
    /repos/{o}/{r}/commits/{ref}/status            (combined: the newest status per context)
    /repos/{o}/{r}/commits/{ref}/check-runs?check_name=&status=&filter=latest|all
    /repos/{o}/{r}/check-runs/{id}                 /repos/{o}/{r}/check-runs/{id}/annotations

Writes (JSON bodies; the acting user is the token's, or the App's bot ``<app_slug>[bot]`` with
the installation token; every write is stamped with ``now()``)::

    POST   /repos/{o}/{r}/issues/{n}/comments {body}                       201 IssueComment
    PATCH  /repos/{o}/{r}/issues/comments/{id} {body}                      200 (updated_at moves)
    DELETE /repos/{o}/{r}/issues/comments/{id}                             204
    POST   /repos/{o}/{r}/pulls/{n}/reviews {body, commit_id, event, comments: [{path, line,
           side, start_line, start_side, body} or {path, position, body}]}  200 Review
    POST   /repos/{o}/{r}/pulls/{n}/reviews/{id}/events {body, event}      200 (submit PENDING)
    POST   /repos/{o}/{r}/pulls/{n}/comments {body, commit_id, path, line, side, start_line,
           start_side | position | subject_type="file"} or {body, in_reply_to}  201
    POST   /repos/{o}/{r}/pulls/{n}/comments/{id}/replies {body}           201
    PATCH  /repos/{o}/{r}/pulls/comments/{id} {body}                       200
    DELETE /repos/{o}/{r}/pulls/comments/{id}                              204
    POST   /repos/{o}/{r}/issues/comments/{id}/reactions {content}         201 (200 if had)
    POST   /repos/{o}/{r}/pulls/comments/{id}/reactions {content}          201 (200 if had)
    POST   /repos/{o}/{r}/statuses/{sha} {state, target_url, description, context}  201
    POST   /repos/{o}/{r}/check-runs {name, head_sha, status, conclusion, started_at,
           completed_at, details_url, external_id, output: {title, summary, text,
           annotations}}                                       201 (installation token only)
    PATCH  /repos/{o}/{r}/check-runs/{id} {same, all optional}  200 (annotations add up)
    POST   /app/installations/{installation_id}/access_tokens   201 {token, expires_at, ...}
           (Bearer JWT of the App: RS256, iss = app_id, exp in the future and at most 10
           minutes after iat; the signature is not checked)

Write validation, as on GitHub (422 unless said otherwise; a refused write changes nothing):

* A review's inline comment must sit in its file's patch: on side RIGHT an added or context
  line of the new file inside a hunk, on LEFT a removed or context line of the old file;
  ``start_line`` must precede ``line`` in the same hunk; ``position`` is the row index in the
  patch. Otherwise the whole review is refused with ``{"message": "Unprocessable Entity",
  "errors": ["Line could not be resolved"], ...}`` ("Path could not be resolved" for a file not
  in the PR, "Start line could not be resolved"). A single review comment is refused with
  ``"Validation Failed"`` and ``{"field": "pull_request_review_thread.line", "message": "could
  not be resolved"}``. Also: "Review Can not approve your own pull request" (and request
  changes), "Body can't be blank" (REQUEST_CHANGES, or COMMENT without inline comments),
  "User can only have one pending review per pull request" (no ``event``: a PENDING review),
  a ``commit_id`` that is not the PR's head now or before a push (``update_pull(head_sha=)``).
* Bodies: missing or blank, or longer than 65536 characters. Statuses: ``state`` one of error,
  failure, pending, success; ``description`` at most 140 characters; the SHA must be a known
  commit ("No commit found for SHA: ..."). Check runs: ``conclusion`` is required for status
  completed and sets it; user tokens get 403 "You must authenticate via a GitHub App.".
* Only a comment's author or the repository's owner edits or deletes it (403). A locked PR
  takes comments from its owner and members only (403). ``/user`` answers an installation token
  403 "Resource not accessible by integration". Malformed JSON answers 400 "Problems parsing
  JSON". Messages other than "Line could not be resolved", "You must authenticate via a GitHub
  App." and "Resource not accessible by integration" follow GitHub's style, not always its
  exact words.

Behaviour, as on GitHub:

* Lists page with ``per_page`` (default ``default_per_page``=30, capped at ``max_per_page``=100;
  lower the cap to force pagination, since github3.py always asks for ``per_page=100``) and
  ``page``, and a ``Link`` header with rel="prev", "next", "last", "first" in GitHub's order,
  whose URLs use ``/repositories/{id}/...`` for repository lists, as github.com does. No ``Link``
  header when everything fits in one page.
* Pull lists: ``state`` open (default), closed or all; ``sort`` created (default), updated,
  popularity or long-running; ``direction`` defaults to desc for created, else asc; invalid
  values answer 422. Review-comment lists take ``sort`` created or updated, ``direction``
  (default asc) and ``since``. ``body_html`` and ``body_text`` come with the ``full`` media
  type that github3.py asks for (``Accept: application/vnd.github.v3.full+json``), as on GitHub.
* Auth: ``Authorization: token <t>`` or ``Bearer <t>``; a wrong token answers 401 "Bad
  credentials", a missing one 401 "Requires authentication". ``token=None`` turns auth off.
  ``FakeGitHub(installation_token=..., app_id=90210, installation_id=4242,
  app_slug="octo-review")`` adds a GitHub App: its installation token is accepted too and acts
  as the bot user ``octo-review[bot]`` (added as a Bot); github3.py gets it with
  ``gh.login_as_app_installation(pem, str(app_id), installation_id)`` (any RSA key; PyJWT
  2.10+ wants the app id as a string). ``expires_at`` is an hour ahead on the real clock.
* ``ETag`` (weak, a hash of the body) on every 200 and 201; a matching ``If-None-Match`` on a
  GET answers 304 with no body. Rate-limit headers (``X-RateLimit-Limit``, ``-Remaining``,
  ``-Reset``, ``-Used``, ``-Resource``) on every response; each 2xx (not a 304, not an error,
  not the App's token exchange) uses one request. At zero remaining every API call answers
  GitHub's primary-limit 403 until the reset time passes (``set_rate_limit(limit=,
  remaining=, reset_at=)``, ``rate_limit_remaining``).
* Faults: ``inject(Fault(path_pattern, status=, headers=, body=, times=1, drop=, malformed=,
  delay=))``; the first pending fault whose pattern ``re.search``-es the request target (path
  and query as sent, e.g. ``/api/v3/repos/o/r/pulls/2/reviews?per_page=100``) answers instead
  of the API; ``drop`` closes the connection without a response, ``malformed`` sends the real
  answer cut in half (invalid JSON), ``delay`` sleeps first. ``times=None`` fires forever.
  ``secondary_rate_limit(...)``, ``primary_rate_limit(...)`` and ``server_error(...)`` build
  GitHub's own answers. ``pending_faults`` lists the unused ones, ``clear_faults()`` drops them.
* ``requests``: every request as a frozen ``RecordedRequest(method, path, query, status,
  if_none_match, body)`` (status 0 for a dropped connection; ``body`` the parsed JSON a write
  sent); ``reset_requests()`` empties it. Writes use the rate limit like reads; a 201 carries
  ``Location``, a 204 no body.
* Reactions: github3.py 4.0.1 has no reactions API; read them through its session, e.g.
  ``gh.session.get(comment.as_dict()["reactions"]["url"]).json()`` (the comments' ``reactions``
  rollup counts them). No preview media type is needed.
  ``errors`` lists exceptions the server itself raised while answering (should stay empty).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import dataclasses
import hashlib
import html
import json
import math
import re
import socket
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Literal, Self, TypeVar, cast
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

__all__ = [
    "CheckAnnotation",
    "CheckRun",
    "CommitStatus",
    "FakeGitHub",
    "Fault",
    "FileChange",
    "IssueComment",
    "PullRequest",
    "Reaction",
    "RecordedRequest",
    "Repository",
    "Review",
    "ReviewComment",
    "User",
    "iso",
    "primary_rate_limit",
    "secondary_rate_limit",
    "server_error",
]

UserType = Literal["User", "Bot", "Organization"]
PullState = Literal["open", "closed"]
ReviewState = Literal["APPROVED", "CHANGES_REQUESTED", "COMMENTED", "DISMISSED", "PENDING"]
FileStatus = Literal["added", "removed", "modified", "renamed", "copied", "changed", "unchanged"]
Side = Literal["LEFT", "RIGHT"]
StatusState = Literal["error", "failure", "pending", "success"]
CheckStatus = Literal["queued", "in_progress", "completed"]
CheckConclusion = Literal[
    "action_required", "cancelled", "failure", "neutral", "success", "skipped", "timed_out"
]
AnnotationLevel = Literal["notice", "warning", "failure"]
ReactionContent = Literal["+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes"]
ReactionTarget = Literal["issue_comment", "review_comment"]
Timestamp = str | datetime
Json = dict[str, Any]

API_PREFIX = "/api/v3"
DOCS = "https://docs.github.com/rest"
RATE_DOCS = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
DEFAULT_TIME = "2020-01-01T00:00:00Z"
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
_HUNK = re.compile(r"^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@")
BODY_LIMIT = 65536  # characters in a comment or review body
STATUS_DESCRIPTION_LIMIT = 140
ANNOTATIONS_PER_REQUEST = 50
STATUS_STATES: tuple[StatusState, ...] = ("error", "failure", "pending", "success")
CHECK_STATUSES: tuple[CheckStatus, ...] = ("queued", "in_progress", "completed")
CHECK_CONCLUSIONS: tuple[CheckConclusion, ...] = (
    "action_required",
    "cancelled",
    "failure",
    "neutral",
    "success",
    "skipped",
    "timed_out",
)
ANNOTATION_LEVELS: tuple[AnnotationLevel, ...] = ("notice", "warning", "failure")
# in the order of GitHub's reaction rollup object
REACTIONS: tuple[ReactionContent, ...] = (
    "+1",
    "-1",
    "laugh",
    "hooray",
    "confused",
    "heart",
    "rocket",
    "eyes",
)
REVIEW_EVENTS: dict[str, ReviewState] = {
    "APPROVE": "APPROVED",
    "REQUEST_CHANGES": "CHANGES_REQUESTED",
    "COMMENT": "COMMENTED",
}
_DOCS_ISSUE_COMMENTS = DOCS + "/issues/comments"
_DOCS_REVIEWS = DOCS + "/pulls/reviews"
_DOCS_REVIEW_COMMENTS = DOCS + "/pulls/comments"
_DOCS_STATUSES = DOCS + "/commits/statuses#create-a-commit-status"
_DOCS_CHECK_RUNS = DOCS + "/checks/runs"
_DOCS_REACTIONS = DOCS + "/reactions/reactions"
_DOCS_APP_TOKEN = DOCS + "/apps/apps#create-an-installation-access-token-for-an-app"


def iso(value: Timestamp) -> str:
    """GitHub's timestamp form, ``2024-01-02T03:04:05Z``, from such a string or a datetime."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: give it a timezone")
        return value.astimezone(UTC).strftime(_TIME_FORMAT)
    datetime.strptime(value, _TIME_FORMAT)  # raises on any other form
    return value


def _iso_or_none(value: Timestamp | None) -> str | None:
    return None if value is None else iso(value)


def _fake_sha(*parts: object) -> str:
    return hashlib.sha1("\0".join(map(str, parts)).encode(), usedforsecurity=False).hexdigest()


def _node_id(kind: str, ident: int) -> str:
    return base64.b64encode(f"0{len(kind)}:{kind}{ident}".encode()).decode()


# --------------------------------------------------------------------------------------------
# Records


@dataclass(frozen=True)
class User:
    id: int
    login: str
    type: UserType
    name: str | None
    email: str | None
    created_at: str
    site_admin: bool = False


@dataclass(frozen=True)
class Repository:
    id: int
    owner: str
    name: str
    description: str | None
    default_branch: str
    private: bool
    language: str | None
    created_at: str
    members: tuple[str, ...] = ()

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"


@dataclass(frozen=True)
class FileChange:
    """One file of a pull request; counts come from the patch when not given."""

    filename: str
    status: FileStatus = "modified"
    patch: str | None = None
    additions: int | None = None
    deletions: int | None = None
    previous_filename: str | None = None

    def counted(self) -> FileChange:
        if self.status == "renamed" and not self.previous_filename:
            raise ValueError(f"{self.filename}: a renamed file needs previous_filename")
        plus = minus = 0
        for text in (self.patch or "").split("\n"):
            if text.startswith("+"):
                plus += 1
            elif text.startswith("-"):
                minus += 1
        return dataclasses.replace(
            self,
            additions=plus if self.additions is None else self.additions,
            deletions=minus if self.deletions is None else self.deletions,
        )


@dataclass(frozen=True)
class PullRequest:
    repo: str
    number: int
    id: int
    author: str
    title: str
    body: str | None
    state: PullState
    created_at: str
    updated_at: str
    closed_at: str | None
    merged_at: str | None
    merged_by: str | None
    merge_commit_sha: str
    base_ref: str
    base_sha: str
    head_ref: str
    head_sha: str
    head_repo: str | None  # full name of the head repository; None once a fork was deleted
    draft: bool
    locked: bool
    files: tuple[FileChange, ...]
    comments: int  # issue comments (the conversation tab)
    commits: int
    labels: tuple[str, ...] = ()
    requested_reviewers: tuple[str, ...] = ()

    @property
    def merged(self) -> bool:
        return self.merged_at is not None


@dataclass(frozen=True)
class Review:
    id: int
    repo: str
    pull_number: int
    user: str
    state: ReviewState
    body: str
    submitted_at: str | None  # None while PENDING
    commit_id: str


@dataclass(frozen=True)
class ReviewComment:
    id: int
    repo: str
    pull_number: int
    review_id: int
    user: str
    body: str
    created_at: str
    updated_at: str
    path: str
    line: int | None
    original_line: int | None
    start_line: int | None
    original_start_line: int | None
    side: Side | None
    start_side: Side | None
    position: int | None
    original_position: int | None
    diff_hunk: str
    commit_id: str
    original_commit_id: str
    in_reply_to_id: int | None
    subject_type: Literal["line", "file"]


@dataclass(frozen=True)
class IssueComment:
    """A comment in a pull request's conversation (GitHub calls it an issue comment)."""

    id: int
    repo: str
    number: int  # the pull request's (and its issue's) number
    user: str
    body: str
    created_at: str
    updated_at: str


@dataclass(frozen=True)
class CommitStatus:
    id: int
    repo: str
    sha: str
    state: StatusState
    context: str
    description: str | None
    target_url: str | None
    creator: str
    created_at: str
    updated_at: str


@dataclass(frozen=True)
class CheckAnnotation:
    path: str
    start_line: int
    end_line: int
    annotation_level: AnnotationLevel
    message: str
    title: str | None = None
    raw_details: str | None = None
    start_column: int | None = None
    end_column: int | None = None


@dataclass(frozen=True)
class CheckRun:
    id: int
    repo: str
    head_sha: str
    name: str
    status: CheckStatus
    conclusion: CheckConclusion | None
    started_at: str | None
    completed_at: str | None
    details_url: str | None
    external_id: str | None
    title: str | None  # output.title
    summary: str | None  # output.summary
    text: str | None  # output.text
    annotations: tuple[CheckAnnotation, ...]
    check_suite_id: int
    app_id: int


@dataclass(frozen=True)
class Reaction:
    id: int
    kind: ReactionTarget
    comment_id: int
    user: str
    content: ReactionContent
    created_at: str


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str  # as sent, without the query (so it starts with /api/v3 for API calls)
    query: Mapping[str, str]
    status: int  # 0 when the connection was dropped without a response
    if_none_match: str | None
    body: Any = None  # the request's JSON body, parsed (its text if not JSON; None if empty)

    @property
    def api_path(self) -> str:
        """The path below ``/api/v3``."""
        return self.path.removeprefix(API_PREFIX)


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


def _error_body(status: int, message: str | None = None, docs: str = DOCS) -> Json:
    phrase = message if message is not None else HTTPStatus(status).phrase
    return {"message": phrase, "documentation_url": docs, "status": str(status)}


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


# --------------------------------------------------------------------------------------------
# HTTP plumbing


@dataclass
class _Response:
    status: int
    headers: dict[str, str]
    body: bytes = b""
    drop: bool = False
    delay: float = 0.0


class _HttpError(Exception):
    def __init__(self, status: int, message: str | None = None, **extra: Any) -> None:
        super().__init__(status, message)
        self.status = status
        self.body = _error_body(status, message)
        self.body.update(extra)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = False
    block_on_close = True  # server_close() joins the handler threads

    def __init__(self, app: FakeGitHub) -> None:
        self.app = app
        self._conns: set[socket.socket] = set()
        self._conns_lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)

    def get_request(self) -> tuple[Any, Any]:
        conn, addr = super().get_request()
        with self._conns_lock:
            self._conns.add(conn)
        return conn, addr

    def shutdown_request(self, request: Any) -> None:
        with self._conns_lock:
            self._conns.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self._conns_lock:
            conns = list(self._conns)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client going away mid-answer; the server's own errors land in app.errors


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "GitHub.com"
    sys_version = ""
    timeout = 60
    disable_nagle_algorithm = True  # headers and body go out in two writes

    def _app(self) -> FakeGitHub:
        return cast(_HTTPServer, self.server).app

    def do_GET(self) -> None:
        self._answer("GET")

    def do_HEAD(self) -> None:
        self._answer("HEAD")

    def do_POST(self) -> None:
        self._answer("POST")

    def do_PATCH(self) -> None:
        self._answer("PATCH")

    def do_PUT(self) -> None:
        self._answer("PUT")

    def do_DELETE(self) -> None:
        self._answer("DELETE")

    def _answer(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        app = self._app()
        response = app._respond(method, self.path, dict(self.headers.items()), raw)
        if response.delay:
            app._stopping.wait(response.delay)
        if response.drop:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        if response.status != HTTPStatus.NOT_MODIFIED:
            self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if method != "HEAD" and response.status != HTTPStatus.NOT_MODIFIED:
            self.wfile.write(response.body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _etag_matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    bare = etag.removeprefix("W/")
    for candidate in header.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == bare:
            return True
    return False


def _render_markdown(text: str) -> str:
    paragraphs = [p for p in re.split(r"\n\s*\n", text.strip()) if p]
    return "\n".join(
        f'<p dir="auto">{html.escape(p).replace(chr(10), "<br>" + chr(10))}</p>' for p in paragraphs
    )


def _locate(patch: str, line: int, side: Side) -> tuple[str, int] | None:
    """The diff hunk up to ``line`` on ``side`` and GitHub's ``position`` of that line."""
    lines = patch.split("\n")
    old = new = 0
    hunk_start = -1
    for index, text in enumerate(lines):
        header = _HUNK.match(text)
        if header:
            old, new, hunk_start = int(header.group(1)), int(header.group(2)), index
            continue
        if hunk_start < 0 or text.startswith("\\"):
            continue
        here_old: int | None = old
        here_new: int | None = new
        if text.startswith("+"):
            here_old = None
            new += 1
        elif text.startswith("-"):
            here_new = None
            old += 1
        else:
            old += 1
            new += 1
        if (here_new if side == "RIGHT" else here_old) == line:
            return "\n".join(lines[hunk_start : index + 1]), index
    return None


@dataclass(frozen=True)
class _DiffRow:
    index: int  # GitHub's position: the row's index in the patch
    hunk: int  # index of its hunk's @@ header
    old: int | None  # line number in the old file (None for an added line)
    new: int | None  # line number in the new file (None for a removed line)


def _diff_rows(patch: str) -> list[_DiffRow]:
    """The commentable rows of a patch: added, removed and context lines inside hunks."""
    rows: list[_DiffRow] = []
    old = new = 0
    hunk = -1
    for index, text in enumerate(patch.split("\n")):
        header = _HUNK.match(text)
        if header:
            old, new, hunk = int(header.group(1)), int(header.group(2)), index
            continue
        if hunk < 0 or text.startswith("\\"):
            continue
        if text.startswith("+"):
            rows.append(_DiffRow(index, hunk, None, new))
            new += 1
        elif text.startswith("-"):
            rows.append(_DiffRow(index, hunk, old, None))
            old += 1
        else:
            rows.append(_DiffRow(index, hunk, old, new))
            old += 1
            new += 1
    return rows


def _row_at(rows: Sequence[_DiffRow], line: int, side: Side) -> _DiffRow | None:
    return next((r for r in rows if (r.new if side == "RIGHT" else r.old) == line), None)


def _b64url(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def _jwt_claims(token: str) -> Json | None:
    """The claims of a well-formed RS256 JWT (the signature is not checked), else None."""
    parts = token.split(".")
    if len(parts) != 3 or not all(parts):
        return None
    try:
        header = json.loads(_b64url(parts[0]))
        claims = json.loads(_b64url(parts[1]))
        _b64url(parts[2])
    except (ValueError, binascii.Error):
        return None
    if not isinstance(header, dict) or header.get("alg") != "RS256":
        return None
    return claims if isinstance(claims, dict) else None


def _parse_body(raw: bytes) -> tuple[bool, Any]:
    """(parsed, value): the JSON document of a request body, or (False, its text)."""
    if not raw.strip():
        return True, None
    try:
        return True, json.loads(raw)
    except ValueError:
        return False, raw.decode("utf-8", "replace")


def _invalid(detail: str, docs: str) -> _HttpError:
    """GitHub's schema-validation answer: 422 "Invalid request." with the detail."""
    return _HttpError(422, f"Invalid request.\n\n{detail}", documentation_url=docs)


def _validation_failed(resource: str, field: str, code: str, docs: str, **more: Any) -> _HttpError:
    error: Json = {"resource": resource, "code": code, "field": field, **more}
    return _HttpError(422, "Validation Failed", errors=[error], documentation_url=docs)


def _unprocessable(message: str, docs: str) -> _HttpError:
    """GitHub's answer for a review it cannot create: 422 with the reasons as plain strings."""
    return _HttpError(422, "Unprocessable Entity", errors=[message], documentation_url=docs)


def _opt(data: Mapping[str, Any], name: str, kind: type, docs: str) -> Any:
    """``data[name]`` if present and not null, checked to be a ``kind``; else None."""
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        what = {str: "a string", int: "an integer", list: "an array", dict: "an object"}[kind]
        raise _invalid(f"For 'properties/{name}', {json.dumps(value)} is not {what}.", docs)
    return value


def _req(data: Mapping[str, Any], name: str, kind: type, docs: str) -> Any:
    value = _opt(data, name, kind, docs)
    if value is None:
        raise _invalid(f'"{name}" wasn\'t supplied.', docs)
    return value


def _choice(data: Mapping[str, Any], name: str, allowed: Sequence[str], docs: str) -> Any:
    value = _opt(data, name, str, docs)
    if value is not None and value not in allowed:
        choices = json.dumps(list(allowed))
        raise _invalid(
            f"For 'properties/{name}', {json.dumps(value)} is not one of {choices}.", docs
        )
    return value


def _time_field(data: Mapping[str, Any], name: str, docs: str) -> str | None:
    """An ISO 8601 time of a request, in GitHub's form; None if absent."""
    value = _opt(data, name, str, docs)
    if value is None:
        return None
    try:
        when = datetime.fromisoformat(value)
        return iso(when if when.tzinfo else when.replace(tzinfo=UTC))
    except ValueError:
        detail = f"For 'properties/{name}', {json.dumps(value)} is not a timestamp."
        raise _invalid(detail, docs) from None


def _annotation(note: Any, docs: str) -> CheckAnnotation:
    if not isinstance(note, dict):
        raise _invalid(f"For 'items', {json.dumps(note)} is not an object.", docs)
    start, end = _req(note, "start_line", int, docs), _req(note, "end_line", int, docs)
    level = _choice(note, "annotation_level", ANNOTATION_LEVELS, docs)
    if level is None:
        raise _invalid('"annotation_level" wasn\'t supplied.', docs)
    if end < start:
        raise _invalid("end_line must be greater than or equal to start_line.", docs)
    return CheckAnnotation(
        path=_req(note, "path", str, docs),
        start_line=start,
        end_line=end,
        annotation_level=level,
        message=_req(note, "message", str, docs),
        title=_opt(note, "title", str, docs),
        raw_details=_opt(note, "raw_details", str, docs),
        start_column=_opt(note, "start_column", int, docs),
        end_column=_opt(note, "end_column", int, docs),
    )


@dataclass(frozen=True)
class _Call:
    """A write request, routed: its repository, the path's captured parts and its JSON body."""

    repo: Repository
    args: tuple[str, ...]
    data: Json
    media: str
    viewer: str


@dataclass(frozen=True)
class _Thread:
    """A new review comment's place in the diff, resolved."""

    path: str
    line: int | None  # None: a comment on the whole file
    side: Side
    start_line: int | None
    start_side: Side | None
    body: str


# why a review's inline comment was refused (POST .../reviews answers these as plain strings)
_REVIEW_THREAD_ERRORS = {
    "path": "Path could not be resolved",
    "line": "Line could not be resolved",
    "position": "Line could not be resolved",
    "start_line": "Start line could not be resolved",
}
# ... and POST .../pulls/{n}/comments as {"field": "pull_request_review_thread.<key>", ...}
_COMMENT_THREAD_ERRORS = {
    "path": "could not be resolved",
    "line": "could not be resolved",
    "position": "could not be resolved",
    "start_line": "must be part of the same hunk as the line",
}


# --------------------------------------------------------------------------------------------
# The server


class FakeGitHub:
    """A GitHub-compatible REST v3 server; see the module docstring."""

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

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> Self:
        if self._httpd is not None:
            raise RuntimeError("already started")
        self._stopping.clear()
        self._httpd = _HTTPServer(self)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"fake-github-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd, thread = self._httpd, self._thread
        if httpd is None:
            return
        self._stopping.set()
        httpd.shutdown()
        httpd.close_connections()
        httpd.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._httpd = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

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

    # -- request log, faults, rate limit -----------------------------------------------------

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

    # -- data --------------------------------------------------------------------------------

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

    def add_repo(
        self,
        full_name: str,
        *,
        description: str | None = None,
        default_branch: str = "main",
        private: bool = False,
        language: str | None = "Python",
        created_at: Timestamp = DEFAULT_TIME,
        members: Sequence[str] = (),
    ) -> Repository:
        owner, _, name = full_name.partition("/")
        if not owner or not name or "/" in name:
            raise ValueError(f"{full_name!r} is not owner/name")
        with self._lock:
            for login in (owner, *members):
                self.user(login)
            if full_name.lower() in self._repos:
                raise ValueError(f"repository {full_name} exists")
            repo = Repository(
                id=self._next_id("repo"),
                owner=owner,
                name=name,
                description=description,
                default_branch=default_branch,
                private=private,
                language=language,
                created_at=iso(created_at),
                members=tuple(members),
            )
            self._repos[full_name.lower()] = repo
            return repo

    def repo(self, full_name: str) -> Repository:
        with self._lock:
            try:
                return self._repos[full_name.lower()]
            except KeyError:
                raise KeyError(f"unknown repository {full_name!r}: add_repo() it first") from None

    def add_pull(
        self,
        repo: str,
        *,
        author: str,
        title: str,
        created_at: Timestamp,
        number: int | None = None,
        body: str | None = None,
        state: PullState | None = None,
        updated_at: Timestamp | None = None,
        closed_at: Timestamp | None = None,
        merged_at: Timestamp | None = None,
        merged_by: str | None = None,
        merge_commit_sha: str | None = None,
        base_ref: str | None = None,
        base_sha: str | None = None,
        head_ref: str | None = None,
        head_sha: str | None = None,
        fork: str | None = None,
        fork_deleted: bool = False,
        draft: bool = False,
        locked: bool = False,
        files: Iterable[FileChange] = (),
        comments: int = 0,
        commits: int = 1,
        labels: Sequence[str] = (),
        requested_reviewers: Sequence[str] = (),
    ) -> PullRequest:
        """Add a pull request; state follows closed_at/merged_at unless given.

        A merged PR is closed at its merge time unless ``closed_at`` says otherwise and is merged
        by its author unless ``merged_by`` says otherwise; ``merge_commit_sha`` is always set
        (GitHub fills it for open PRs too, with the test merge). ``fork`` names the head
        repository (which must exist); ``fork_deleted`` makes ``head.repo`` null.
        """
        with self._lock:
            base = self.repo(repo)
            if number is None:
                used = [n for (r, n) in self._pulls if r == base.full_name]
                number = max(used, default=0) + 1
            if (base.full_name, number) in self._pulls:
                raise ValueError(f"{base.full_name}#{number} exists")
            head_repo: str | None = base.full_name if fork is None else self.repo(fork).full_name
            if fork_deleted:
                head_repo = None
            merged = _iso_or_none(merged_at)
            closed = _iso_or_none(closed_at) or merged
            pull = PullRequest(
                repo=base.full_name,
                number=number,
                id=self._next_id("pull"),
                author=author,
                title=title,
                body=body,
                state=state or ("closed" if closed else "open"),
                created_at=iso(created_at),
                updated_at=iso(updated_at) if updated_at is not None else "",
                closed_at=closed,
                merged_at=merged,
                merged_by=merged_by if merged_by or not merged else author,
                merge_commit_sha=merge_commit_sha or _fake_sha("merge", base.full_name, number),
                base_ref=base_ref or base.default_branch,
                base_sha=base_sha or _fake_sha("base", base.full_name, number),
                head_ref=head_ref or f"topic-{number}",
                head_sha=head_sha or _fake_sha("head", base.full_name, number),
                head_repo=head_repo,
                draft=draft,
                locked=locked,
                files=tuple(files),
                comments=comments,
                commits=commits,
                labels=tuple(labels),
                requested_reviewers=tuple(requested_reviewers),
            )
            pull = self._checked(pull)
            self._pulls[(pull.repo, pull.number)] = pull
            return pull

    def _checked(self, pull: PullRequest) -> PullRequest:
        for login in (pull.author, pull.merged_by, *pull.requested_reviewers):
            if login is not None:
                self.user(login)
        if pull.state == "open" and (pull.closed_at or pull.merged_at):
            raise ValueError(f"#{pull.number}: an open PR has no closed_at or merged_at")
        if pull.state == "closed" and not pull.closed_at:
            raise ValueError(f"#{pull.number}: a closed PR needs closed_at")
        stamps = [pull.created_at, pull.closed_at or "", pull.merged_at or ""]
        updated = pull.updated_at or max(stamps)
        if updated < max(stamps):
            raise ValueError(f"#{pull.number}: updated_at is before created/closed/merged")
        return dataclasses.replace(
            pull, updated_at=updated, files=tuple(f.counted() for f in pull.files)
        )

    def pull(self, repo: str, number: int) -> PullRequest:
        with self._lock:
            try:
                return self._pulls[(self.repo(repo).full_name, number)]
            except KeyError:
                raise KeyError(f"unknown pull request {repo}#{number}") from None

    def pulls(self, repo: str) -> list[PullRequest]:
        with self._lock:
            name = self.repo(repo).full_name
            return sorted((p for p in self._pulls.values() if p.repo == name), key=_by_number)

    def update_pull(self, repo: str, number: int, **fields: Any) -> PullRequest:
        """Change any PullRequest fields (times as str or datetime); returns the new record."""
        with self._lock:
            old = self.pull(repo, number)
            for fixed in ("repo", "number", "id"):
                if fixed in fields:
                    raise ValueError(f"{fixed} cannot change")
            for key in ("created_at", "updated_at", "closed_at", "merged_at"):
                if fields.get(key) is not None:
                    fields[key] = iso(fields[key])
            if "files" in fields:
                fields["files"] = tuple(fields["files"])
            if "updated_at" not in fields:
                fields["updated_at"] = ""  # recomputed from the other times, never earlier
                stamps = [old.updated_at]
            else:
                stamps = []
            new = dataclasses.replace(old, **fields)
            if not new.updated_at:
                candidates = [*stamps, new.created_at, new.closed_at or "", new.merged_at or ""]
                new = dataclasses.replace(new, updated_at=max(candidates))
            new = self._checked(new)
            if new.head_sha != old.head_sha:
                self._past_heads.setdefault((new.repo, new.number), []).append(old.head_sha)
            self._pulls[(new.repo, new.number)] = new
            return new

    def close_pull(
        self,
        repo: str,
        number: int,
        *,
        at: Timestamp,
        merged: bool = False,
        merged_by: str | None = None,
    ) -> PullRequest:
        when = iso(at)
        old = self.pull(repo, number)
        return self.update_pull(
            repo,
            number,
            state="closed",
            closed_at=when,
            merged_at=when if merged else None,
            merged_by=(merged_by or old.author) if merged else None,
            updated_at=max(old.updated_at, when),
        )

    def _touch(self, pull: PullRequest, when: str) -> None:
        if when > pull.updated_at:
            self._pulls[(pull.repo, pull.number)] = dataclasses.replace(pull, updated_at=when)

    def add_review(
        self,
        repo: str,
        number: int,
        *,
        user: str,
        state: ReviewState,
        submitted_at: Timestamp | None,
        body: str = "",
        commit_id: str | None = None,
        touch: bool = True,
    ) -> Review:
        with self._lock:
            pull = self.pull(repo, number)
            self.user(user)
            if (state == "PENDING") != (submitted_at is None):
                raise ValueError("a PENDING review has no submitted_at; every other one has")
            review = Review(
                id=self._next_id("review"),
                repo=pull.repo,
                pull_number=number,
                user=user,
                state=state,
                body=body,
                submitted_at=_iso_or_none(submitted_at),
                commit_id=commit_id or pull.head_sha,
            )
            self._reviews[review.id] = review
            if touch and review.submitted_at:
                self._touch(pull, review.submitted_at)
            return review

    def reviews(self, repo: str, number: int) -> list[Review]:
        with self._lock:
            pull = self.pull(repo, number)
            return [
                r
                for r in sorted(self._reviews.values(), key=lambda r: r.id)
                if (r.repo, r.pull_number) == (pull.repo, pull.number)
            ]

    def add_review_comment(
        self,
        repo: str,
        number: int,
        *,
        user: str,
        body: str,
        created_at: Timestamp,
        path: str | None = None,
        line: int | None = None,
        side: Side = "RIGHT",
        start_line: int | None = None,
        start_side: Side | None = None,
        in_reply_to: int | None = None,
        review_id: int | None = None,
        updated_at: Timestamp | None = None,
        commit_id: str | None = None,
        original_commit_id: str | None = None,
        outdated: bool = False,
        touch: bool = True,
    ) -> ReviewComment:
        with self._lock:
            pull = self.pull(repo, number)
            self.user(user)
            created = iso(created_at)
            root: ReviewComment | None = None
            if in_reply_to is not None:
                parent = self._comments.get(in_reply_to)
                if parent is None or (parent.repo, parent.pull_number) != (pull.repo, number):
                    raise ValueError(f"no review comment {in_reply_to} on {pull.repo}#{number}")
                root = self._comments[parent.in_reply_to_id] if parent.in_reply_to_id else parent
            if review_id is not None:
                review = self._reviews.get(review_id)
                if review is None or (review.repo, review.pull_number) != (pull.repo, number):
                    raise ValueError(f"no review {review_id} on {pull.repo}#{number}")
            if root is not None:
                comment = dataclasses.replace(
                    root,
                    id=0,
                    review_id=0,
                    user=user,
                    body=body,
                    created_at=created,
                    updated_at=iso(updated_at) if updated_at else created,
                    in_reply_to_id=root.id,
                )
            else:
                comment = self._new_thread(
                    pull,
                    user=user,
                    body=body,
                    created=created,
                    updated=iso(updated_at) if updated_at else created,
                    path=path,
                    line=line,
                    side=side,
                    start_line=start_line,
                    start_side=start_side,
                    commit_id=commit_id,
                    original_commit_id=original_commit_id,
                    outdated=outdated,
                )
            if review_id is None:
                review_id = self.add_review(
                    pull.repo,
                    number,
                    user=user,
                    state="COMMENTED",
                    submitted_at=created,
                    commit_id=comment.original_commit_id,
                    touch=touch,
                ).id
            comment = dataclasses.replace(comment, id=self._next_id("comment"), review_id=review_id)
            self._comments[comment.id] = comment
            if touch:
                self._touch(self.pull(repo, number), max(created, comment.updated_at))
            return comment

    def _new_thread(
        self,
        pull: PullRequest,
        *,
        user: str,
        body: str,
        created: str,
        updated: str,
        path: str | None,
        line: int | None,
        side: Side,
        start_line: int | None,
        start_side: Side | None,
        commit_id: str | None,
        original_commit_id: str | None,
        outdated: bool,
    ) -> ReviewComment:
        if path is None:
            raise ValueError("a review comment that is not a reply needs a path")
        changed = {f.filename: f for f in pull.files}
        if path not in changed:
            raise ValueError(f"{path} is not among the files of {pull.repo}#{pull.number}")
        hunk, position = "", None
        if line is not None:
            found = _locate(changed[path].patch or "", line, side)
            if found is None:
                raise ValueError(f"line {line} ({side}) of {path} is not in the diff")
            hunk, position = found
        original_commit = original_commit_id or commit_id or pull.head_sha
        return ReviewComment(
            id=0,
            repo=pull.repo,
            pull_number=pull.number,
            review_id=0,
            user=user,
            body=body,
            created_at=created,
            updated_at=updated,
            path=path,
            line=None if outdated else line,
            original_line=line,
            start_line=None if outdated else start_line,
            original_start_line=start_line,
            side=side if line is not None else None,
            start_side=(start_side or side) if start_line is not None else None,
            position=None if outdated else position,
            original_position=position,
            diff_hunk=hunk,
            commit_id=commit_id or pull.head_sha,
            original_commit_id=original_commit,
            in_reply_to_id=None,
            subject_type="line" if line is not None else "file",
        )

    def review_comments(self, repo: str, number: int) -> list[ReviewComment]:
        with self._lock:
            pull = self.pull(repo, number)
            return [
                c
                for c in sorted(self._comments.values(), key=lambda c: c.id)
                if (c.repo, c.pull_number) == (pull.repo, pull.number)
            ]

    # -- issue comments, statuses, check runs, reactions --------------------------------------

    @property
    def bot_login(self) -> str:
        """The GitHub App's bot user, who acts with the installation token: ``<slug>[bot]``."""
        return f"{self.app_slug}[bot]"

    def now(self) -> str:
        """The server's clock (``clock=``) in GitHub's form: the time of every write."""
        return iso(self.clock())

    def add_issue_comment(
        self,
        repo: str,
        number: int,
        *,
        user: str,
        body: str,
        created_at: Timestamp,
        updated_at: Timestamp | None = None,
        touch: bool = True,
    ) -> IssueComment:
        """A comment in the PR's conversation; counts in the PR's ``comments``."""
        with self._lock:
            pull = self.pull(repo, number)
            self.user(user)
            created = iso(created_at)
            updated = iso(updated_at) if updated_at is not None else created
            if updated < created:
                raise ValueError("updated_at is before created_at")
            comment = IssueComment(
                id=self._next_id("issue_comment"),
                repo=pull.repo,
                number=pull.number,
                user=user,
                body=body,
                created_at=created,
                updated_at=updated,
            )
            self._issue_comments[comment.id] = comment
            pull = dataclasses.replace(pull, comments=pull.comments + 1)
            self._pulls[(pull.repo, pull.number)] = pull
            if touch:
                self._touch(pull, updated)
            return comment

    def issue_comments(self, repo: str, number: int) -> list[IssueComment]:
        with self._lock:
            pull = self.pull(repo, number)
            return [
                c
                for c in sorted(self._issue_comments.values(), key=lambda c: c.id)
                if (c.repo, c.number) == (pull.repo, pull.number)
            ]

    def _known_commit(self, repo: str, ref: str) -> tuple[str, PullRequest, str] | None:
        """(sha, pull request, role) for a commit the server knows: a PR's head, merge or base
        commit by SHA, or a branch name (the head of the newest open PR from it)."""
        pulls = self.pulls(repo)
        for role in ("head", "merge", "base"):
            for pull in pulls:
                shas = {"head": pull.head_sha, "merge": pull.merge_commit_sha}
                if shas.get(role, pull.base_sha) == ref:
                    return ref, pull, role
        for pull in pulls:
            if ref in self._past_heads.get((pull.repo, pull.number), []):
                return ref, pull, "head"
        branches = sorted(pulls, key=lambda p: (p.state == "open", p.number), reverse=True)
        for pull in branches:
            if pull.head_ref == ref:
                return pull.head_sha, pull, "head"
        return None

    def add_status(
        self,
        repo: str,
        sha: str,
        *,
        state: StatusState,
        context: str = "default",
        description: str | None = None,
        target_url: str | None = None,
        creator: str | None = None,
        created_at: Timestamp | None = None,
    ) -> CommitStatus:
        """A commit status on a known commit (a PR's head, merge or base SHA)."""
        with self._lock:
            name = self.repo(repo).full_name
            if state not in STATUS_STATES:
                raise ValueError(f"state {state!r} is not one of {STATUS_STATES}")
            found = self._known_commit(name, sha)
            if found is None or found[0] != sha:
                raise ValueError(f"no commit {sha} in {name}")
            who = creator or self.login
            self.user(who)
            when = iso(created_at) if created_at is not None else self.now()
            status = CommitStatus(
                id=self._next_id("status"),
                repo=name,
                sha=sha,
                state=state,
                context=context,
                description=description,
                target_url=target_url,
                creator=who,
                created_at=when,
                updated_at=when,
            )
            self._statuses[status.id] = status
            return status

    def statuses(self, repo: str, sha: str) -> list[CommitStatus]:
        """Every status of a commit, oldest first (the API lists them newest first)."""
        with self._lock:
            name = self.repo(repo).full_name
            return [
                s
                for s in sorted(self._statuses.values(), key=lambda s: s.id)
                if (s.repo, s.sha) == (name, sha)
            ]

    def check_runs(self, repo: str, head_sha: str | None = None) -> list[CheckRun]:
        """The check runs of a repository (or of one commit), oldest first."""
        with self._lock:
            name = self.repo(repo).full_name
            return [
                r
                for r in sorted(self._check_runs.values(), key=lambda r: r.id)
                if r.repo == name and head_sha in (None, r.head_sha)
            ]

    def _suite_id(self, repo: str, sha: str) -> int:
        key = (repo, sha)
        if key not in self._check_suites:
            self._check_suites[key] = self._next_id("check_suite")
        return self._check_suites[key]

    def _reaction_subject(self, kind: ReactionTarget, comment_id: int) -> str:
        """The repository of the comment a reaction is on; KeyError for an unknown comment."""
        if kind == "issue_comment":
            if comment_id in self._issue_comments:
                return self._issue_comments[comment_id].repo
        elif kind == "review_comment":
            if comment_id in self._comments:
                return self._comments[comment_id].repo
        else:
            raise ValueError(f"kind {kind!r} is not issue_comment or review_comment")
        raise KeyError(f"no {kind} {comment_id}")

    def add_reaction(
        self,
        kind: ReactionTarget,
        comment_id: int,
        *,
        user: str,
        content: ReactionContent,
        created_at: Timestamp | None = None,
    ) -> Reaction:
        """A reaction on an issue comment or a review comment; a user's second reaction with the
        same content is the first one, as on GitHub."""
        with self._lock:
            self._reaction_subject(kind, comment_id)
            self.user(user)
            if content not in REACTIONS:
                raise ValueError(f"content {content!r} is not one of {REACTIONS}")
            for old in self._reactions.values():
                if (old.kind, old.comment_id, old.user, old.content) == (
                    kind,
                    comment_id,
                    user,
                    content,
                ):
                    return old
            reaction = Reaction(
                id=self._next_id("reaction"),
                kind=kind,
                comment_id=comment_id,
                user=user,
                content=content,
                created_at=iso(created_at) if created_at is not None else self.now(),
            )
            self._reactions[reaction.id] = reaction
            return reaction

    def reactions(self, kind: ReactionTarget, comment_id: int) -> list[Reaction]:
        with self._lock:
            return [
                r
                for r in sorted(self._reactions.values(), key=lambda r: r.id)
                if (r.kind, r.comment_id) == (kind, comment_id)
            ]

    # -- answering ---------------------------------------------------------------------------

    def _respond(
        self, method: str, target: str, headers: Mapping[str, str], raw: bytes = b""
    ) -> _Response:
        split = urlsplit(target)
        pairs = parse_qsl(split.query, keep_blank_values=True)
        lower = {k.lower(): v for k, v in headers.items()}
        inm = lower.get("if-none-match")
        with self._lock:
            self._request_counter += 1
            fault = self._take_fault(target)
            try:
                if fault is not None and not fault.malformed:
                    response = self._fault_response(fault)
                else:
                    response = self._serve(method, split.path, pairs, lower, raw)
                    if fault is not None:
                        response.status = fault.status or 200
                        response.body = response.body[: len(response.body) // 2] or b"{"
                        response.headers.pop("ETag", None)
                        response.headers.update(fault.headers)
                        response.delay = fault.delay
            except Exception as exc:  # the server's own bug: show it to the test
                self.errors.append(exc)
                body = _error_body(500, f"fake server error: {exc!r}")
                response = _Response(500, self._base_headers(), self._dump(body))
            self._requests.append(
                RecordedRequest(
                    method=method,
                    path=split.path,
                    query=dict(pairs),
                    status=0 if response.drop else response.status,
                    if_none_match=inm,
                    body=_parse_body(raw)[1],
                )
            )
            return response

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

    def _serve(
        self,
        method: str,
        path: str,
        pairs: list[tuple[str, str]],
        headers: Mapping[str, str],
        raw: bytes = b"",
    ) -> _Response:
        self._roll_rate_window()
        media = _media_param(headers.get("accept", ""))
        media_header = (
            f"github.v3; param={media}; format=json" if media else "github.v3; format=json"
        )
        status, link, counted = 200, None, True
        payload: Any = None
        try:
            if not path.startswith(API_PREFIX + "/"):
                raise _HttpError(404, "Not Found")
            api_path = path[len(API_PREFIX) :]
            token_path = re.fullmatch(r"/app/installations/(\d+)/access_tokens", api_path)
            if token_path and method == "POST":  # JWT auth, not rate limited like the rest
                payload = self._access_token(headers.get("authorization"), token_path.group(1))
                status, counted = 201, False
            else:
                viewer = self._authenticate(headers.get("authorization"))
                if api_path == "/rate_limit" and method in ("GET", "HEAD"):
                    payload, counted = self._rate_limit_json(), False
                else:
                    if self._remaining <= 0:
                        user = self._users.get(viewer)
                        raise _HttpError(
                            403,
                            f"API rate limit exceeded for user ID {user.id if user else 1}.",
                            documentation_url=RATE_DOCS + "#about-the-primary-rate-limit",
                        )
                    if method in ("GET", "HEAD"):
                        payload, link = self._route(api_path, pairs, media, viewer)
                    else:
                        status, payload = self._write(method, api_path, raw, media, viewer)
        except _HttpError as err:
            return _Response(err.status, self._base_headers(media_header), self._dump(err.body))
        if status == HTTPStatus.NO_CONTENT:
            self._remaining -= 1
            response_headers = self._base_headers(media_header)
            del response_headers["Content-Type"]
            return _Response(status, response_headers)
        body = self._dump(payload)
        etag = 'W/"' + hashlib.sha256(body).hexdigest() + '"'
        if method in ("GET", "HEAD") and _etag_matches(headers.get("if-none-match"), etag):
            response_headers = self._base_headers(media_header)
            response_headers["ETag"] = etag
            return _Response(304, response_headers)  # a 304 is free
        if counted:
            self._remaining -= 1
        response_headers = self._base_headers(media_header)
        response_headers["ETag"] = etag
        if status == HTTPStatus.CREATED and isinstance(payload, dict) and "url" in payload:
            response_headers["Location"] = str(payload["url"])
        if link:
            response_headers["Link"] = link
        return _Response(status, response_headers, body)

    def _authenticate(self, authorization: str | None) -> str:
        """The login acting: the token's user, or the App's bot for the installation token."""
        scheme, _, credential = (authorization or "").partition(" ")
        known_scheme = scheme.lower() in ("token", "bearer")
        if (
            self.installation_token is not None
            and known_scheme
            and credential.strip() == self.installation_token
        ):
            return self.bot_login
        if self.token is None:
            return self.login
        if not authorization:
            raise _HttpError(401, "Requires authentication")
        if not known_scheme or credential.strip() != self.token:
            raise _HttpError(401, "Bad credentials")
        return self.login

    def _access_token(self, authorization: str | None, installation: str) -> Json:
        """POST /app/installations/{id}/access_tokens with the App's JWT (Bearer)."""
        if self.installation_token is None:
            raise _HttpError(404, "Not Found", documentation_url=_DOCS_APP_TOKEN)
        scheme, _, credential = (authorization or "").partition(" ")
        claims = _jwt_claims(credential.strip()) if scheme.lower() == "bearer" else None
        if claims is None or str(claims.get("iss")) != str(self.app_id):
            raise _HttpError(
                401, "A JSON web token could not be decoded", documentation_url=_DOCS_APP_TOKEN
            )
        now = time.time()
        exp, iat = claims.get("exp"), claims.get("iat")
        if not isinstance(exp, int | float) or exp <= now:
            raise _HttpError(
                401,
                "'Expiration time' claim ('exp') must be a numeric value representing the "
                "future time at which the assertion expires.",
                documentation_url=_DOCS_APP_TOKEN,
            )
        if not isinstance(iat, int | float) or iat > now + 60 or exp - iat > 600:
            raise _HttpError(
                401,
                "'Issued at' claim ('iat') must be an Integer representing the time that the "
                "assertion was issued.",
                documentation_url=_DOCS_APP_TOKEN,
            )
        if installation != str(self.installation_id):
            raise _HttpError(404, "Not Found", documentation_url=_DOCS_APP_TOKEN)
        # the real clock, not ``clock``: github3.py refuses a token that expired by its own clock
        expires = datetime.fromtimestamp(int(now) + 3600, UTC)
        return {
            "token": self.installation_token,
            "expires_at": iso(expires),
            "permissions": {
                "checks": "write",
                "contents": "read",
                "issues": "write",
                "metadata": "read",
                "pull_requests": "write",
                "statuses": "write",
            },
            "repository_selection": "all",
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

    # -- routing -----------------------------------------------------------------------------

    def _route(
        self, api_path: str, pairs: list[tuple[str, str]], media: str, viewer: str
    ) -> tuple[Any, str | None]:
        query = dict(pairs)
        if api_path == "/user":
            if viewer != self.login:  # an installation token is no user
                raise _HttpError(
                    403,
                    "Resource not accessible by integration",
                    documentation_url=DOCS + "/users/users#get-the-authenticated-user",
                )
            return self._user_json(self.user(self.login), full=True, private=True), None
        match = re.fullmatch(r"/users/([^/]+)", api_path)
        if match:
            user = self._users.get(unquote(match.group(1)))
            if user is None:
                raise _HttpError(404, "Not Found")
            return self._user_json(user, full=True), None
        match = re.fullmatch(r"/(?:repos/([^/]+)/([^/]+)|repositories/(\d+))(/.*)?", api_path)
        if not match:
            raise _HttpError(404, "Not Found")
        repo = self._find_repo(match.group(1), match.group(2), match.group(3))
        rest = match.group(4) or ""
        link_base = f"{self.api_url}/repositories/{repo.id}{rest}"
        if rest == "":
            return self._repo_json(repo, full=True), None
        if rest == "/pulls":
            pulls = self._list_pulls(repo, query)
            items = [self._pull_json(p, media, full=False) for p in pulls]
            return self._page(items, pairs, link_base)
        if rest.startswith(("/issues", "/commits/", "/statuses/", "/check-runs/")):
            return self._route_more(repo, rest, pairs, media, link_base)
        if rest == "/pulls/comments":
            comments = [
                c
                for c in self._comments.values()
                if c.repo == repo.full_name and self._comment_visible(c, viewer)
            ]
            items = [self._comment_json(c, media) for c in _sort_comments(comments, query)]
            return self._page(items, pairs, link_base)
        match = re.fullmatch(r"/pulls/comments/(\d+)(/reactions)?", rest)
        if match:
            comment = self._comments.get(int(match.group(1)))
            if (
                comment is None
                or comment.repo != repo.full_name
                or not self._comment_visible(comment, viewer)
            ):
                raise _HttpError(404, "Not Found")
            if match.group(2):
                return self._reactions_page("review_comment", comment.id, pairs, link_base)
            return self._comment_json(comment, media), None
        match = re.fullmatch(r"/pulls/(\d+)(/.*)?", rest)
        if not match:
            raise _HttpError(404, "Not Found")
        pull = self._pulls.get((repo.full_name, int(match.group(1))))
        if pull is None:
            raise _HttpError(404, "Not Found")
        sub = match.group(2) or ""
        if sub == "":
            return self._pull_json(pull, media, full=True), None
        if sub == "/files":
            items = [self._file_json(pull, f) for f in pull.files]
            return self._page(items, pairs, link_base)
        if sub == "/comments":
            comments = [
                c
                for c in self._comments.values()
                if (c.repo, c.pull_number) == (pull.repo, pull.number)
                and self._comment_visible(c, viewer)
            ]
            items = [self._comment_json(c, media) for c in _sort_comments(comments, query)]
            return self._page(items, pairs, link_base)
        visible = [r for r in self._reviews_of(pull) if r.state != "PENDING" or r.user == viewer]
        if sub == "/reviews":
            return self._page([self._review_json(r, media) for r in visible], pairs, link_base)
        match = re.fullmatch(r"/reviews/(\d+)(/comments)?", sub)
        if match:
            review = next((r for r in visible if r.id == int(match.group(1))), None)
            if review is None:
                raise _HttpError(404, "Not Found")
            if not match.group(2):
                return self._review_json(review, media), None
            comments = [c for c in self._comments.values() if c.review_id == review.id]
            items = [self._comment_json(c, media) for c in sorted(comments, key=lambda c: c.id)]
            return self._page(items, pairs, link_base)
        raise _HttpError(404, "Not Found")

    def _comment_visible(self, comment: ReviewComment, viewer: str) -> bool:
        """A PENDING review's comments show only to the review's author, as on GitHub."""
        review = self._reviews.get(comment.review_id)
        return review is None or review.state != "PENDING" or review.user == viewer

    def _route_more(
        self,
        repo: Repository,
        rest: str,
        pairs: list[tuple[str, str]],
        media: str,
        link_base: str,
    ) -> tuple[Any, str | None]:
        """GET for issues, issue comments, reactions, commits, statuses and check runs."""
        query = dict(pairs)
        if rest == "/issues/comments":
            listed = [c for c in self._issue_comments.values() if c.repo == repo.full_name]
            ordered = _sort_comments(listed, query, "IssueComment")
            return self._page(
                [self._issue_comment_json(c, media) for c in ordered], pairs, link_base
            )
        match = re.fullmatch(r"/issues/comments/(\d+)(/reactions)?", rest)
        if match:
            comment = self._issue_comment_in(repo, match.group(1))
            if match.group(2):
                return self._reactions_page("issue_comment", comment.id, pairs, link_base)
            return self._issue_comment_json(comment, media), None
        match = re.fullmatch(r"/issues/(\d+)(/comments)?", rest)
        if match:
            pull = self._pull_in(repo, match.group(1))
            if not match.group(2):
                return self._issue_json(pull, media), None
            listed = [
                c
                for c in self._issue_comments.values()
                if (c.repo, c.number) == (pull.repo, pull.number)
            ]
            ordered = _sort_comments(listed, query, "IssueComment")
            return self._page(
                [self._issue_comment_json(c, media) for c in ordered], pairs, link_base
            )
        match = re.fullmatch(
            r"/(?:commits/([^/]+)(/statuses|/status|/check-runs)?|statuses/([^/]+))", rest
        )
        if match:
            ref = unquote(match.group(1) or match.group(3))
            found = self._known_commit(repo.full_name, ref)
            if found is None:
                raise _HttpError(422, f"No commit found for SHA: {ref}")
            sha, pull, role = found
            what = "/statuses" if match.group(3) else match.group(2) or ""
            if what == "":
                return self._commit_json(repo, sha, pull, role), None
            if what == "/statuses":
                listed_statuses = sorted(
                    (
                        s
                        for s in self._statuses.values()
                        if (s.repo, s.sha) == (repo.full_name, sha)
                    ),
                    key=lambda s: s.id,
                    reverse=True,
                )
                items = [self._status_json(s) for s in listed_statuses]
                return self._page(items, pairs, link_base)
            if what == "/status":
                return self._combined_status_json(repo, sha), None
            runs = self._list_check_runs(repo, sha, query)
            chunk, link = self._page([self._check_run_json(r) for r in runs], pairs, link_base)
            return {"total_count": len(runs), "check_runs": chunk}, link
        match = re.fullmatch(r"/check-runs/(\d+)(/annotations)?", rest)
        if match:
            run = self._check_run_in(repo, match.group(1))
            if match.group(2):
                items = [self._annotation_json(run, a) for a in run.annotations]
                return self._page(items, pairs, link_base)
            return self._check_run_json(run), None
        raise _HttpError(404, "Not Found")

    def _pull_in(self, repo: Repository, number: str) -> PullRequest:
        pull = self._pulls.get((repo.full_name, int(number)))
        if pull is None:
            raise _HttpError(404, "Not Found")
        return pull

    def _issue_comment_in(self, repo: Repository, ident: str) -> IssueComment:
        comment = self._issue_comments.get(int(ident))
        if comment is None or comment.repo != repo.full_name:
            raise _HttpError(404, "Not Found")
        return comment

    def _check_run_in(self, repo: Repository, ident: str) -> CheckRun:
        run = self._check_runs.get(int(ident))
        if run is None or run.repo != repo.full_name:
            raise _HttpError(404, "Not Found")
        return run

    def _reactions_page(
        self, kind: ReactionTarget, comment_id: int, pairs: list[tuple[str, str]], link_base: str
    ) -> tuple[list[Any], str | None]:
        content = dict(pairs).get("content")
        if content is not None and content not in REACTIONS:
            raise _validation_failed("Reaction", "content", "invalid", _DOCS_REACTIONS)
        items = [
            self._reaction_json(r)
            for r in self.reactions(kind, comment_id)
            if content in (None, r.content)
        ]
        return self._page(items, pairs, link_base)

    def _list_check_runs(
        self, repo: Repository, sha: str, query: Mapping[str, str]
    ) -> list[CheckRun]:
        runs = self.check_runs(repo.full_name, sha)
        if query.get("filter", "latest") not in ("latest", "all"):
            raise _validation_failed("CheckRun", "filter", "invalid", _DOCS_CHECK_RUNS)
        if query.get("filter", "latest") == "latest":
            newest = {r.name: r for r in runs}  # the last run of each name wins
            runs = sorted(newest.values(), key=lambda r: r.id)
        if "check_name" in query:
            runs = [r for r in runs if r.name == query["check_name"]]
        if "status" in query:
            runs = [r for r in runs if r.status == query["status"]]
        return sorted(runs, key=lambda r: r.id, reverse=True)

    def _find_repo(self, owner: str | None, name: str | None, ident: str | None) -> Repository:
        if ident is not None:
            found = next((r for r in self._repos.values() if r.id == int(ident)), None)
        else:
            found = self._repos.get(f"{unquote(owner or '')}/{unquote(name or '')}".lower())
        if found is None:
            raise _HttpError(404, "Not Found")
        return found

    def _reviews_of(self, pull: PullRequest) -> list[Review]:
        return [
            r
            for r in sorted(self._reviews.values(), key=lambda r: r.id)
            if (r.repo, r.pull_number) == (pull.repo, pull.number)
        ]

    def _list_pulls(self, repo: Repository, query: Mapping[str, str]) -> list[PullRequest]:
        state = query.get("state", "open")
        sort = query.get("sort", "created")
        direction = query.get("direction", "desc" if sort == "created" else "asc")
        for name, value, allowed in (
            ("state", state, ("open", "closed", "all")),
            ("sort", sort, ("created", "updated", "popularity", "long-running")),
            ("direction", direction, ("asc", "desc")),
        ):
            if value not in allowed:
                raise _HttpError(
                    422,
                    "Validation Failed",
                    errors=[{"resource": "PullRequest", "field": name, "code": "invalid"}],
                )
        pulls = [p for p in self._pulls.values() if p.repo == repo.full_name]
        if state != "all":
            pulls = [p for p in pulls if p.state == state]
        if "base" in query:
            pulls = [p for p in pulls if p.base_ref == query["base"]]
        if "head" in query:
            pulls = [p for p in pulls if self._head_label(p) == query["head"]]

        def key(p: PullRequest) -> tuple[Any, int]:
            if sort == "updated":
                return (p.updated_at, p.number)
            if sort == "popularity":
                return (p.comments + self._review_comment_count(p), p.number)
            return (p.created_at, p.number)

        return sorted(pulls, key=key, reverse=direction == "desc")

    def _review_comment_count(self, pull: PullRequest) -> int:
        return sum(
            1
            for c in self._comments.values()
            if (c.repo, c.pull_number) == (pull.repo, pull.number)
        )

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

    # -- writes ------------------------------------------------------------------------------

    def _write(
        self, method: str, api_path: str, raw: bytes, media: str, viewer: str
    ) -> tuple[int, Any]:
        match = re.fullmatch(r"/(?:repos/([^/]+)/([^/]+)|repositories/(\d+))(/.+)", api_path)
        if not match:
            raise _HttpError(404, "Not Found")
        repo = self._find_repo(match.group(1), match.group(2), match.group(3))
        for verb, pattern, handler in self._write_routes():
            found = re.fullmatch(pattern, match.group(4))
            if found is None or verb != method:
                continue
            data: Json = {}
            if method != "DELETE":
                parsed, value = _parse_body(raw)
                if not parsed:
                    raise _HttpError(400, "Problems parsing JSON")
                if value is not None and not isinstance(value, dict):
                    raise _invalid(f"{json.dumps(value)} is not an object.", DOCS)
                data = value or {}
            args = tuple(unquote(g or "") for g in found.groups())
            return handler(_Call(repo, args, data, media, viewer))
        raise _HttpError(404, "Not Found")

    def _write_routes(self) -> list[tuple[str, str, Callable[[_Call], tuple[int, Any]]]]:
        return [
            ("POST", r"/issues/(\d+)/comments", self._post_issue_comment),
            ("PATCH", r"/issues/comments/(\d+)", self._patch_issue_comment),
            ("DELETE", r"/issues/comments/(\d+)", self._delete_issue_comment),
            ("POST", r"/issues/comments/(\d+)/reactions", self._post_issue_reaction),
            ("POST", r"/pulls/(\d+)/reviews", self._post_review),
            ("POST", r"/pulls/(\d+)/reviews/(\d+)/events", self._post_review_event),
            ("POST", r"/pulls/(\d+)/comments", self._post_review_comment),
            ("POST", r"/pulls/(\d+)/comments/(\d+)/replies", self._post_review_reply),
            ("PATCH", r"/pulls/comments/(\d+)", self._patch_review_comment),
            ("DELETE", r"/pulls/comments/(\d+)", self._delete_review_comment),
            ("POST", r"/pulls/comments/(\d+)/reactions", self._post_review_reaction),
            ("POST", r"/statuses/([^/]+)", self._post_status),
            ("POST", r"/check-runs", self._post_check_run),
            ("PATCH", r"/check-runs/(\d+)", self._patch_check_run),
        ]

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

    def _drop_reactions(self, kind: ReactionTarget, comment_id: int) -> None:
        for reaction in list(self._reactions.values()):
            if (reaction.kind, reaction.comment_id) == (kind, comment_id):
                del self._reactions[reaction.id]

    # issue comments

    def _post_issue_comment(self, call: _Call) -> tuple[int, Any]:
        docs = _DOCS_ISSUE_COMMENTS + "#create-an-issue-comment"
        pull = self._pull_in(call.repo, call.args[0])
        body = self._comment_body(call.data, "IssueComment", docs)
        if pull.locked and self._association(pull.repo, call.viewer) not in ("OWNER", "MEMBER"):
            raise _HttpError(
                403, "Unable to create comment because issue is locked.", documentation_url=docs
            )
        comment = self.add_issue_comment(
            pull.repo, pull.number, user=call.viewer, body=body, created_at=self.now()
        )
        return 201, self._issue_comment_json(comment, call.media)

    def _patch_issue_comment(self, call: _Call) -> tuple[int, Any]:
        docs = _DOCS_ISSUE_COMMENTS + "#update-an-issue-comment"
        comment = self._issue_comment_in(call.repo, call.args[0])
        self._may_edit(call.repo, comment.user, call.viewer, docs)
        body = self._comment_body(call.data, "IssueComment", docs)
        comment = dataclasses.replace(
            comment, body=body, updated_at=max(self.now(), comment.created_at)
        )
        self._issue_comments[comment.id] = comment
        return 200, self._issue_comment_json(comment, call.media)

    def _delete_issue_comment(self, call: _Call) -> tuple[int, Any]:
        docs = _DOCS_ISSUE_COMMENTS + "#delete-an-issue-comment"
        comment = self._issue_comment_in(call.repo, call.args[0])
        self._may_edit(call.repo, comment.user, call.viewer, docs)
        del self._issue_comments[comment.id]
        self._drop_reactions("issue_comment", comment.id)
        pull = self._pulls[(comment.repo, comment.number)]
        self._pulls[(pull.repo, pull.number)] = dataclasses.replace(
            pull, comments=max(0, pull.comments - 1)
        )
        return 204, None

    # reactions

    def _post_issue_reaction(self, call: _Call) -> tuple[int, Any]:
        comment = self._issue_comment_in(call.repo, call.args[0])
        docs = _DOCS_REACTIONS + "#create-reaction-for-an-issue-comment"
        return self._post_reaction(call, "issue_comment", comment.id, docs)

    def _post_review_reaction(self, call: _Call) -> tuple[int, Any]:
        comment = self._review_comment_in(call.repo, call.args[0], call.viewer)
        docs = _DOCS_REACTIONS + "#create-reaction-for-a-pull-request-review-comment"
        return self._post_reaction(call, "review_comment", comment.id, docs)

    def _post_reaction(
        self, call: _Call, kind: ReactionTarget, comment_id: int, docs: str
    ) -> tuple[int, Any]:
        content = _req(call.data, "content", str, docs)
        if content not in REACTIONS:
            raise _validation_failed(
                "Reaction",
                "content",
                "custom",
                docs,
                message="content is not included in the list",
            )
        before = len(self._reactions)
        reaction = self.add_reaction(
            kind, comment_id, user=call.viewer, content=cast(ReactionContent, content)
        )
        return (201 if len(self._reactions) > before else 200), self._reaction_json(reaction)

    # reviews and review comments

    def _review_comment_in(self, repo: Repository, ident: str, viewer: str) -> ReviewComment:
        comment = self._comments.get(int(ident))
        if (
            comment is None
            or comment.repo != repo.full_name
            or not self._comment_visible(comment, viewer)
        ):
            raise _HttpError(404, "Not Found")
        return comment

    def _pull_commit(self, pull: PullRequest, sha: str) -> bool:
        """Whether ``sha`` is one of the PR's commits: its head, now or before a push."""
        return sha == pull.head_sha or sha in self._past_heads.get((pull.repo, pull.number), [])

    def _resolve_thread(
        self, pull: PullRequest, data: Json, docs: str, *, file_level: bool
    ) -> _Thread | str:
        """A new thread's place in the diff, or which of its fields could not be resolved."""
        path = cast(str, _req(data, "path", str, docs))
        body = self._comment_body(data, "PullRequestReviewComment", docs)
        position = cast("int | None", _opt(data, "position", int, docs))
        line = cast("int | None", _opt(data, "line", int, docs))
        side = cast(Side, _choice(data, "side", ("LEFT", "RIGHT"), docs) or "RIGHT")
        start_line = cast("int | None", _opt(data, "start_line", int, docs))
        start_side = cast("Side | None", _choice(data, "start_side", ("LEFT", "RIGHT"), docs))
        subject = _choice(data, "subject_type", ("line", "file"), docs)
        change = next((f for f in pull.files if f.filename == path), None)
        if change is None:
            return "path"
        if subject == "file" and file_level:
            return _Thread(path, None, "RIGHT", None, None, body)
        rows = _diff_rows(change.patch or "")
        if position is not None and line is None:
            at = next((r for r in rows if r.index == position), None)
            if at is None:
                return "position"
            line, side = (at.new, "RIGHT") if at.new is not None else (at.old, "LEFT")
        if line is None:
            return "line"
        end = _row_at(rows, line, side)
        if end is None:
            return "line"
        if start_line is not None:
            start_side = start_side or side
            start = _row_at(rows, start_line, start_side)
            if start is None or start.hunk != end.hunk or start.index >= end.index:
                return "start_line"
        else:
            start_side = None
        return _Thread(path, line, side, start_line, start_side, body)

    def _check_review(
        self,
        pull: PullRequest,
        viewer: str,
        event: str | None,
        body: str,
        has_comments: bool,
        docs: str,
    ) -> None:
        if event is None:
            if any(r.state == "PENDING" and r.user == viewer for r in self._reviews_of(pull)):
                raise _unprocessable("User can only have one pending review per pull request", docs)
            return
        if viewer == pull.author and event == "APPROVE":
            raise _unprocessable("Review Can not approve your own pull request", docs)
        if viewer == pull.author and event == "REQUEST_CHANGES":
            raise _unprocessable("Review Can not request changes on your own pull request", docs)
        blank = not body.strip()
        if blank and (event == "REQUEST_CHANGES" or (event == "COMMENT" and not has_comments)):
            raise _unprocessable("Body can't be blank", docs)

    def _post_review(self, call: _Call) -> tuple[int, Any]:
        docs = _DOCS_REVIEWS + "#create-a-review-for-a-pull-request"
        pull = self._pull_in(call.repo, call.args[0])
        data = call.data
        event = cast("str | None", _choice(data, "event", tuple(REVIEW_EVENTS), docs))
        body = cast(str, _opt(data, "body", str, docs) or "")
        commit_id = cast("str | None", _opt(data, "commit_id", str, docs))
        specs = cast(list[Any], _opt(data, "comments", list, docs) or [])
        if len(body) > BODY_LIMIT:
            raise _unprocessable(f"Body is too long (maximum is {BODY_LIMIT} characters)", docs)
        if commit_id is not None and not self._pull_commit(pull, commit_id):
            raise _unprocessable("Commit could not be resolved", docs)
        self._check_review(pull, call.viewer, event, body, bool(specs), docs)
        threads: list[_Thread] = []
        for spec in specs:
            if not isinstance(spec, dict):
                raise _invalid(f"For 'items', {json.dumps(spec)} is not an object.", docs)
            thread = self._resolve_thread(pull, spec, docs, file_level=False)
            if isinstance(thread, str):
                raise _unprocessable(_REVIEW_THREAD_ERRORS[thread], docs)
            threads.append(thread)
        state: ReviewState = REVIEW_EVENTS[event] if event else "PENDING"
        now = self.now()
        review = self.add_review(
            pull.repo,
            pull.number,
            user=call.viewer,
            state=state,
            submitted_at=None if state == "PENDING" else now,
            body=body,
            commit_id=commit_id,
        )
        for thread in threads:
            self.add_review_comment(
                pull.repo,
                pull.number,
                user=call.viewer,
                body=thread.body,
                created_at=now,
                path=thread.path,
                line=thread.line,
                side=thread.side,
                start_line=thread.start_line,
                start_side=thread.start_side,
                review_id=review.id,
                commit_id=commit_id,
                touch=state != "PENDING",
            )
        return 200, self._review_json(review, call.media)

    def _post_review_event(self, call: _Call) -> tuple[int, Any]:
        docs = _DOCS_REVIEWS + "#submit-a-review-for-a-pull-request"
        pull = self._pull_in(call.repo, call.args[0])
        review = self._reviews.get(int(call.args[1]))
        if (
            review is None
            or (review.repo, review.pull_number) != (pull.repo, pull.number)
            or (review.state == "PENDING" and review.user != call.viewer)
        ):
            raise _HttpError(404, "Not Found", documentation_url=docs)
        event = cast(str, _choice(call.data, "event", tuple(REVIEW_EVENTS), docs))
        if event is None:
            raise _invalid('"event" wasn\'t supplied.', docs)
        body = cast("str | None", _opt(call.data, "body", str, docs))
        if review.state != "PENDING":
            raise _unprocessable("Can not submit a review that is not pending", docs)
        text = review.body if body is None else body
        has_comments = any(c.review_id == review.id for c in self._comments.values())
        self._check_review(pull, call.viewer, event, text, has_comments, docs)
        now = self.now()
        review = dataclasses.replace(
            review, state=REVIEW_EVENTS[event], body=text, submitted_at=now
        )
        self._reviews[review.id] = review
        self._touch(pull, now)
        return 200, self._review_json(review, call.media)

    def _post_review_comment(self, call: _Call) -> tuple[int, Any]:
        docs = _DOCS_REVIEW_COMMENTS + "#create-a-review-comment-for-a-pull-request"
        pull = self._pull_in(call.repo, call.args[0])
        reply_to = cast("int | None", _opt(call.data, "in_reply_to", int, docs))
        if reply_to is not None:
            return self._reply(call, pull, reply_to, docs)
        commit_id = cast(str, _req(call.data, "commit_id", str, docs))
        thread = self._resolve_thread(pull, call.data, docs, file_level=True)
        if not self._pull_commit(pull, commit_id):
            raise _validation_failed(
                "PullRequestReviewComment",
                "commit_id",
                "custom",
                docs,
                message="commit_id is not part of the pull request",
            )
        if isinstance(thread, str):
            raise _validation_failed(
                "PullRequestReviewComment",
                f"pull_request_review_thread.{thread}",
                "custom",
                docs,
                message=_COMMENT_THREAD_ERRORS[thread],
            )
        comment = self.add_review_comment(
            pull.repo,
            pull.number,
            user=call.viewer,
            body=thread.body,
            created_at=self.now(),
            path=thread.path,
            line=thread.line,
            side=thread.side,
            start_line=thread.start_line,
            start_side=thread.start_side,
            commit_id=commit_id,
        )
        return 201, self._comment_json(comment, call.media)

    def _post_review_reply(self, call: _Call) -> tuple[int, Any]:
        docs = _DOCS_REVIEW_COMMENTS + "#create-a-reply-for-a-review-comment"
        pull = self._pull_in(call.repo, call.args[0])
        return self._reply(call, pull, int(call.args[1]), docs)

    def _reply(self, call: _Call, pull: PullRequest, parent_id: int, docs: str) -> tuple[int, Any]:
        parent = self._comments.get(parent_id)
        if (
            parent is None
            or (parent.repo, parent.pull_number) != (pull.repo, pull.number)
            or not self._comment_visible(parent, call.viewer)
        ):
            raise _HttpError(404, "Not Found", documentation_url=docs)
        body = self._comment_body(call.data, "PullRequestReviewComment", docs)
        comment = self.add_review_comment(
            pull.repo,
            pull.number,
            user=call.viewer,
            body=body,
            created_at=self.now(),
            in_reply_to=parent_id,
        )
        return 201, self._comment_json(comment, call.media)

    def _patch_review_comment(self, call: _Call) -> tuple[int, Any]:
        docs = _DOCS_REVIEW_COMMENTS + "#update-a-review-comment-for-a-pull-request"
        comment = self._review_comment_in(call.repo, call.args[0], call.viewer)
        self._may_edit(call.repo, comment.user, call.viewer, docs)
        body = self._comment_body(call.data, "PullRequestReviewComment", docs)
        comment = dataclasses.replace(
            comment, body=body, updated_at=max(self.now(), comment.created_at)
        )
        self._comments[comment.id] = comment
        return 200, self._comment_json(comment, call.media)

    def _delete_review_comment(self, call: _Call) -> tuple[int, Any]:
        docs = _DOCS_REVIEW_COMMENTS + "#delete-a-review-comment-for-a-pull-request"
        comment = self._review_comment_in(call.repo, call.args[0], call.viewer)
        self._may_edit(call.repo, comment.user, call.viewer, docs)
        del self._comments[comment.id]
        self._drop_reactions("review_comment", comment.id)
        return 204, None

    # commit statuses

    def _post_status(self, call: _Call) -> tuple[int, Any]:
        docs = _DOCS_STATUSES
        sha = call.args[0]
        state = _req(call.data, "state", str, docs)
        if state not in STATUS_STATES:
            raise _validation_failed(
                "Status", "state", "custom", docs, message="state is not included in the list"
            )
        target_url = cast("str | None", _opt(call.data, "target_url", str, docs))
        description = cast("str | None", _opt(call.data, "description", str, docs))
        context = cast(str, _opt(call.data, "context", str, docs) or "default")
        if description is not None and len(description) > STATUS_DESCRIPTION_LIMIT:
            raise _validation_failed(
                "Status",
                "description",
                "custom",
                docs,
                message=(
                    f"description is too long (maximum is {STATUS_DESCRIPTION_LIMIT} characters)"
                ),
            )
        found = self._known_commit(call.repo.full_name, sha)
        if found is None or found[0] != sha:
            raise _HttpError(422, f"No commit found for SHA: {sha}", documentation_url=docs)
        status = self.add_status(
            call.repo.full_name,
            sha,
            state=cast(StatusState, state),
            context=context,
            description=description,
            target_url=target_url,
            creator=call.viewer,
        )
        return 201, self._status_json(status)

    # check runs

    def _require_app(self, viewer: str, docs: str) -> None:
        if self.installation_token is None or viewer != self.bot_login:
            raise _HttpError(403, "You must authenticate via a GitHub App.", documentation_url=docs)

    def _post_check_run(self, call: _Call) -> tuple[int, Any]:
        docs = _DOCS_CHECK_RUNS + "#create-a-check-run"
        self._require_app(call.viewer, docs)
        name = cast(str, _req(call.data, "name", str, docs))
        head_sha = cast(str, _req(call.data, "head_sha", str, docs))
        found = self._known_commit(call.repo.full_name, head_sha)
        if found is None or found[0] != head_sha:
            raise _HttpError(422, f"No commit found for SHA: {head_sha}", documentation_url=docs)
        run = CheckRun(
            id=0,
            repo=call.repo.full_name,
            head_sha=head_sha,
            name=name,
            status="queued",
            conclusion=None,
            started_at=self.now(),
            completed_at=None,
            details_url=None,
            external_id=None,
            title=None,
            summary=None,
            text=None,
            annotations=(),
            check_suite_id=self._suite_id(call.repo.full_name, head_sha),
            app_id=self.app_id,
        )
        run = self._apply_check_fields(run, call.data, docs)
        run = dataclasses.replace(run, id=self._next_id("check_run"))
        self._check_runs[run.id] = run
        return 201, self._check_run_json(run)

    def _patch_check_run(self, call: _Call) -> tuple[int, Any]:
        docs = _DOCS_CHECK_RUNS + "#update-a-check-run"
        self._require_app(call.viewer, docs)
        run = self._apply_check_fields(self._check_run_in(call.repo, call.args[0]), call.data, docs)
        self._check_runs[run.id] = run
        return 200, self._check_run_json(run)

    def _apply_check_fields(self, run: CheckRun, data: Json, docs: str) -> CheckRun:
        """A check run with the fields of a create or update request; annotations add up."""
        status = cast("CheckStatus | None", _choice(data, "status", CHECK_STATUSES, docs))
        conclusion = cast(
            "CheckConclusion | None", _choice(data, "conclusion", CHECK_CONCLUSIONS, docs)
        )
        if conclusion is not None:
            status = "completed"  # as GitHub does when a conclusion is given
        new_status = status or run.status
        if new_status != "completed":
            conclusion, completed_at = None, None
        else:
            conclusion = conclusion or run.conclusion
            if conclusion is None:
                raise _invalid('"conclusion" wasn\'t supplied.', docs)
            completed_at = _time_field(data, "completed_at", docs) or run.completed_at or self.now()
        output = cast("Json | None", _opt(data, "output", dict, docs))
        title, summary, text = run.title, run.summary, run.text
        annotations = run.annotations
        if output is not None:
            title = cast(str, _req(output, "title", str, docs))
            summary = cast(str, _req(output, "summary", str, docs))
            text = cast("str | None", _opt(output, "text", str, docs))
            notes = cast(list[Any], _opt(output, "annotations", list, docs) or [])
            if len(notes) > ANNOTATIONS_PER_REQUEST:
                raise _invalid(
                    f"Only {ANNOTATIONS_PER_REQUEST} annotations are allowed per request.", docs
                )
            annotations += tuple(_annotation(note, docs) for note in notes)
        return dataclasses.replace(
            run,
            name=cast("str | None", _opt(data, "name", str, docs)) or run.name,
            status=new_status,
            conclusion=conclusion,
            started_at=_time_field(data, "started_at", docs) or run.started_at,
            completed_at=completed_at,
            details_url=_opt(data, "details_url", str, docs) or run.details_url,
            external_id=_opt(data, "external_id", str, docs) or run.external_id,
            title=title,
            summary=summary,
            text=text,
            annotations=annotations,
        )

    # -- JSON documents ----------------------------------------------------------------------

    def _user_json(self, user: User, *, full: bool = False, private: bool = False) -> Json:
        login_q = quote(user.login, safe="")
        api = f"{self.api_url}/users/{login_q}"
        if user.type == "Bot" and user.login.endswith("[bot]"):
            page = f"{self.url}/apps/{quote(user.login.removesuffix('[bot]'), safe='')}"
        else:
            page = f"{self.url}/{login_q}"
        doc: Json = {
            "login": user.login,
            "id": user.id,
            "node_id": _node_id(user.type, user.id),
            "avatar_url": f"{self.url}/avatars/u/{user.id}?v=4",
            "gravatar_id": "",
            "url": api,
            "html_url": page,
            "followers_url": f"{api}/followers",
            "following_url": f"{api}/following{{/other_user}}",
            "gists_url": f"{api}/gists{{/gist_id}}",
            "starred_url": f"{api}/starred{{/owner}}{{/repo}}",
            "subscriptions_url": f"{api}/subscriptions",
            "organizations_url": f"{api}/orgs",
            "repos_url": f"{api}/repos",
            "events_url": f"{api}/events{{/privacy}}",
            "received_events_url": f"{api}/received_events",
            "type": user.type,
            "user_view_type": "public",
            "site_admin": user.site_admin,
        }
        if not full:
            return doc
        owned = [r for r in self._repos.values() if r.owner == user.login]
        doc.update(
            {
                "name": user.name,
                "company": None,
                "blog": "",
                "location": None,
                "email": user.email,
                "hireable": None,
                "bio": None,
                "twitter_username": None,
                "public_repos": sum(1 for r in owned if not r.private),
                "public_gists": 0,
                "followers": 0,
                "following": 0,
                "created_at": user.created_at,
                "updated_at": user.created_at,
            }
        )
        if private:
            doc.update(
                {
                    "private_gists": 0,
                    "total_private_repos": sum(1 for r in owned if r.private),
                    "owned_private_repos": sum(1 for r in owned if r.private),
                    "disk_usage": 0,
                    "collaborators": 0,
                    "two_factor_authentication": True,
                    "plan": {
                        "name": "enterprise",
                        "space": 976562499,
                        "private_repos": 9999,
                        "collaborators": 0,
                    },
                }
            )
        return doc

    def _repo_json(self, repo: Repository, *, full: bool = False) -> Json:
        r = f"{self.api_url}/repos/{repo.full_name}"
        pulls = [p for p in self._pulls.values() if p.repo == repo.full_name]
        stamps = [repo.created_at, *(p.updated_at for p in pulls)]
        open_count = sum(1 for p in pulls if p.state == "open")
        doc: Json = {
            "id": repo.id,
            "node_id": _node_id("Repository", repo.id),
            "name": repo.name,
            "full_name": repo.full_name,
            "private": repo.private,
            "owner": self._user_json(self.user(repo.owner)),
            "html_url": f"{self.url}/{repo.full_name}",
            "description": repo.description,
            "fork": False,
            "url": r,
            "forks_url": f"{r}/forks",
            "keys_url": f"{r}/keys{{/key_id}}",
            "collaborators_url": f"{r}/collaborators{{/collaborator}}",
            "teams_url": f"{r}/teams",
            "hooks_url": f"{r}/hooks",
            "issue_events_url": f"{r}/issues/events{{/number}}",
            "events_url": f"{r}/events",
            "assignees_url": f"{r}/assignees{{/user}}",
            "branches_url": f"{r}/branches{{/branch}}",
            "tags_url": f"{r}/tags",
            "blobs_url": f"{r}/git/blobs{{/sha}}",
            "git_tags_url": f"{r}/git/tags{{/sha}}",
            "git_refs_url": f"{r}/git/refs{{/sha}}",
            "trees_url": f"{r}/git/trees{{/sha}}",
            "statuses_url": f"{r}/statuses/{{sha}}",
            "languages_url": f"{r}/languages",
            "stargazers_url": f"{r}/stargazers",
            "contributors_url": f"{r}/contributors",
            "subscribers_url": f"{r}/subscribers",
            "subscription_url": f"{r}/subscription",
            "commits_url": f"{r}/commits{{/sha}}",
            "git_commits_url": f"{r}/git/commits{{/sha}}",
            "comments_url": f"{r}/comments{{/number}}",
            "issue_comment_url": f"{r}/issues/comments{{/number}}",
            "contents_url": f"{r}/contents/{{+path}}",
            "compare_url": f"{r}/compare/{{base}}...{{head}}",
            "merges_url": f"{r}/merges",
            "archive_url": f"{r}/{{archive_format}}{{/ref}}",
            "downloads_url": f"{r}/downloads",
            "issues_url": f"{r}/issues{{/number}}",
            "pulls_url": f"{r}/pulls{{/number}}",
            "milestones_url": f"{r}/milestones{{/number}}",
            "notifications_url": f"{r}/notifications{{?since,all,participating}}",
            "labels_url": f"{r}/labels{{/name}}",
            "releases_url": f"{r}/releases{{/id}}",
            "deployments_url": f"{r}/deployments",
            "created_at": repo.created_at,
            "updated_at": max(stamps),
            "pushed_at": max(stamps),
            "git_url": f"git://127.0.0.1:{self.port}/{repo.full_name}.git",
            "ssh_url": f"git@127.0.0.1:{repo.full_name}.git",
            "clone_url": f"{self.url}/{repo.full_name}.git",
            "svn_url": f"{self.url}/{repo.full_name}",
            "homepage": None,
            "size": 0,
            "stargazers_count": 0,
            "watchers_count": 0,
            "language": repo.language,
            "has_issues": True,
            "has_projects": True,
            "has_downloads": True,
            "has_wiki": True,
            "has_pages": False,
            "has_discussions": False,
            "forks_count": 0,
            "mirror_url": None,
            "archived": False,
            "disabled": False,
            "open_issues_count": open_count,
            "license": None,
            "allow_forking": True,
            "is_template": False,
            "web_commit_signoff_required": False,
            "topics": [],
            "visibility": "private" if repo.private else "public",
            "forks": 0,
            "open_issues": open_count,
            "watchers": 0,
            "default_branch": repo.default_branch,
        }
        if full:
            doc.update(
                {
                    "permissions": {
                        "admin": False,
                        "maintain": False,
                        "push": False,
                        "triage": False,
                        "pull": True,
                    },
                    "temp_clone_token": "",
                    "allow_squash_merge": True,
                    "allow_merge_commit": True,
                    "allow_rebase_merge": True,
                    "allow_auto_merge": False,
                    "delete_branch_on_merge": False,
                    "network_count": 0,
                    "subscribers_count": 0,
                }
            )
        return doc

    def _association(self, repo_name: str, login: str) -> str:
        repo = self._repos[repo_name.lower()]
        if login == repo.owner:
            return "OWNER"
        if login in repo.members:
            return "MEMBER"
        return "CONTRIBUTOR"

    def _bodies(self, doc: Json, body: str | None, media: str) -> None:
        """Add body / body_html / body_text as the requested media type asks (GitHub's rule)."""
        if media in ("", "raw", "full"):
            doc["body"] = body
        if media in ("html", "full"):
            doc["body_html"] = None if body is None else _render_markdown(body)
        if media in ("text", "full"):
            doc["body_text"] = body

    def _head_label(self, pull: PullRequest) -> str:
        owner = pull.head_repo.partition("/")[0] if pull.head_repo else pull.author
        return f"{owner}:{pull.head_ref}"

    def _pull_json(self, pull: PullRequest, media: str, *, full: bool) -> Json:
        repo = self.repo(pull.repo)
        r = f"{self.api_url}/repos/{repo.full_name}"
        p = f"{r}/pulls/{pull.number}"
        page = f"{self.url}/{repo.full_name}/pull/{pull.number}"
        issue = f"{r}/issues/{pull.number}"
        statuses = f"{r}/statuses/{pull.head_sha}"
        head_owner = pull.head_repo.partition("/")[0] if pull.head_repo else pull.author
        doc: Json = {
            "url": p,
            "id": pull.id,
            "node_id": _node_id("PullRequest", pull.id),
            "html_url": page,
            "diff_url": f"{page}.diff",
            "patch_url": f"{page}.patch",
            "issue_url": issue,
            "number": pull.number,
            "state": pull.state,
            "locked": pull.locked,
            "title": pull.title,
            "user": self._user_json(self.user(pull.author)),
        }
        self._bodies(doc, pull.body, media)
        doc.update(
            {
                "created_at": pull.created_at,
                "updated_at": pull.updated_at,
                "closed_at": pull.closed_at,
                "merged_at": pull.merged_at,
                "merge_commit_sha": pull.merge_commit_sha,
                "assignee": None,
                "assignees": [],
                "requested_reviewers": [
                    self._user_json(self.user(login)) for login in pull.requested_reviewers
                ],
                "requested_teams": [],
                "labels": [self._label_json(repo, name) for name in pull.labels],
                "milestone": None,
                "draft": pull.draft,
                "commits_url": f"{p}/commits",
                "review_comments_url": f"{p}/comments",
                "review_comment_url": f"{r}/pulls/comments{{/number}}",
                "comments_url": f"{issue}/comments",
                "statuses_url": statuses,
                "head": {
                    "label": self._head_label(pull),
                    "ref": pull.head_ref,
                    "sha": pull.head_sha,
                    "user": self._user_json(self.user(head_owner)),
                    "repo": self._repo_json(self.repo(pull.head_repo)) if pull.head_repo else None,
                },
                "base": {
                    "label": f"{repo.owner}:{pull.base_ref}",
                    "ref": pull.base_ref,
                    "sha": pull.base_sha,
                    "user": self._user_json(self.user(repo.owner)),
                    "repo": self._repo_json(repo),
                },
                "_links": {
                    "self": {"href": p},
                    "html": {"href": page},
                    "issue": {"href": issue},
                    "comments": {"href": f"{issue}/comments"},
                    "review_comments": {"href": f"{p}/comments"},
                    "review_comment": {"href": f"{r}/pulls/comments{{/number}}"},
                    "commits": {"href": f"{p}/commits"},
                    "statuses": {"href": statuses},
                },
                "author_association": self._association(repo.full_name, pull.author),
                "auto_merge": None,
                "active_lock_reason": None,
            }
        )
        if full:
            is_open = pull.state == "open"
            mergeable = True if is_open else None
            mergeable_state = "unknown" if not is_open else "draft" if pull.draft else "clean"
            doc.update(
                {
                    "merged": pull.merged,
                    "mergeable": mergeable,
                    "rebaseable": mergeable,
                    "mergeable_state": mergeable_state,
                    "merged_by": (
                        self._user_json(self.user(pull.merged_by)) if pull.merged_by else None
                    ),
                    "comments": pull.comments,
                    "review_comments": self._review_comment_count(pull),
                    "maintainer_can_modify": False,
                    "commits": pull.commits,
                    "additions": sum(f.additions or 0 for f in pull.files),
                    "deletions": sum(f.deletions or 0 for f in pull.files),
                    "changed_files": len(pull.files),
                }
            )
        return doc

    def _label_json(self, repo: Repository, name: str) -> Json:
        ident = int(_fake_sha("label", repo.full_name, name)[:8], 16)
        return {
            "id": ident,
            "node_id": _node_id("Label", ident),
            "url": f"{self.api_url}/repos/{repo.full_name}/labels/{quote(name, safe='')}",
            "name": name,
            "color": _fake_sha("color", name)[:6],
            "default": False,
            "description": None,
        }

    def _file_json(self, pull: PullRequest, change: FileChange) -> Json:
        r = f"{self.api_url}/repos/{pull.repo}"
        name_q = quote(change.filename)
        additions, deletions = change.additions or 0, change.deletions or 0
        doc: Json = {
            "sha": _fake_sha("blob", pull.head_sha, change.filename, change.patch),
            "filename": change.filename,
            "status": change.status,
            "additions": additions,
            "deletions": deletions,
            "changes": additions + deletions,
            "blob_url": f"{self.url}/{pull.repo}/blob/{pull.head_sha}/{name_q}",
            "raw_url": f"{self.url}/{pull.repo}/raw/{pull.head_sha}/{name_q}",
            "contents_url": f"{r}/contents/{name_q}?ref={pull.head_sha}",
        }
        if change.patch is not None:
            doc["patch"] = change.patch
        if change.previous_filename is not None:
            doc["previous_filename"] = change.previous_filename
        return doc

    def _review_json(self, review: Review, media: str) -> Json:
        pull_url = f"{self.api_url}/repos/{review.repo}/pulls/{review.pull_number}"
        page = f"{self.url}/{review.repo}/pull/{review.pull_number}#pullrequestreview-{review.id}"
        doc: Json = {
            "id": review.id,
            "node_id": _node_id("PullRequestReview", review.id),
            "user": self._user_json(self.user(review.user)),
        }
        self._bodies(doc, review.body, media)
        doc.update(
            {
                "state": review.state,
                "html_url": page,
                "pull_request_url": pull_url,
                "author_association": self._association(review.repo, review.user),
                "_links": {"html": {"href": page}, "pull_request": {"href": pull_url}},
                "commit_id": review.commit_id,
            }
        )
        if review.submitted_at is not None:
            doc["submitted_at"] = review.submitted_at
        return doc

    def _comment_json(self, comment: ReviewComment, media: str) -> Json:
        r = f"{self.api_url}/repos/{comment.repo}"
        url = f"{r}/pulls/comments/{comment.id}"
        pull_url = f"{r}/pulls/{comment.pull_number}"
        page = f"{self.url}/{comment.repo}/pull/{comment.pull_number}#discussion_r{comment.id}"
        doc: Json = {
            "url": url,
            "pull_request_review_id": comment.review_id,
            "id": comment.id,
            "node_id": _node_id("PullRequestReviewComment", comment.id),
            "diff_hunk": comment.diff_hunk,
            "path": comment.path,
            "position": comment.position,
            "original_position": comment.original_position,
            "commit_id": comment.commit_id,
            "original_commit_id": comment.original_commit_id,
        }
        if comment.in_reply_to_id is not None:
            doc["in_reply_to_id"] = comment.in_reply_to_id
        doc["user"] = self._user_json(self.user(comment.user))
        self._bodies(doc, comment.body, media)
        doc.update(
            {
                "created_at": comment.created_at,
                "updated_at": comment.updated_at,
                "html_url": page,
                "pull_request_url": pull_url,
                "author_association": self._association(comment.repo, comment.user),
                "_links": {
                    "self": {"href": url},
                    "html": {"href": page},
                    "pull_request": {"href": pull_url},
                },
                "reactions": self._reaction_rollup(
                    f"{url}/reactions", "review_comment", comment.id
                ),
                "start_line": comment.start_line,
                "original_start_line": comment.original_start_line,
                "start_side": comment.start_side,
                "line": comment.line,
                "original_line": comment.original_line,
                "side": comment.side,
                "subject_type": comment.subject_type,
            }
        )
        return doc

    def _reaction_rollup(self, url: str, kind: ReactionTarget | None, ident: int) -> Json:
        counts: dict[str, int] = dict.fromkeys(REACTIONS, 0)
        for reaction in self._reactions.values():
            if (reaction.kind, reaction.comment_id) == (kind, ident):
                counts[reaction.content] += 1
        return {"url": url, "total_count": sum(counts.values()), **counts}

    def _reaction_json(self, reaction: Reaction) -> Json:
        return {
            "id": reaction.id,
            "node_id": _node_id("Reaction", reaction.id),
            "user": self._user_json(self.user(reaction.user)),
            "content": reaction.content,
            "created_at": reaction.created_at,
        }

    def _issue_id(self, pull: PullRequest) -> int:
        key = (pull.repo, pull.number)
        if key not in self._issue_ids:
            self._issue_ids[key] = self._next_id("issue")
        return self._issue_ids[key]

    def _issue_json(self, pull: PullRequest, media: str) -> Json:
        """A pull request seen as an issue (``GET /repos/{o}/{r}/issues/{n}``)."""
        repo = self.repo(pull.repo)
        r = f"{self.api_url}/repos/{repo.full_name}"
        url = f"{r}/issues/{pull.number}"
        page = f"{self.url}/{repo.full_name}/pull/{pull.number}"
        ident = self._issue_id(pull)
        closer = (pull.merged_by or pull.author) if pull.state == "closed" else None
        doc: Json = {
            "url": url,
            "repository_url": r,
            "labels_url": f"{url}/labels{{/name}}",
            "comments_url": f"{url}/comments",
            "events_url": f"{url}/events",
            "html_url": page,
            "id": ident,
            "node_id": _node_id("Issue", ident),
            "number": pull.number,
            "title": pull.title,
            "user": self._user_json(self.user(pull.author)),
            "labels": [self._label_json(repo, name) for name in pull.labels],
            "state": pull.state,
            "locked": pull.locked,
            "assignee": None,
            "assignees": [],
            "milestone": None,
            "comments": pull.comments,
            "created_at": pull.created_at,
            "updated_at": pull.updated_at,
            "closed_at": pull.closed_at,
            "author_association": self._association(repo.full_name, pull.author),
            "active_lock_reason": None,
            "draft": pull.draft,
            "pull_request": {
                "url": f"{r}/pulls/{pull.number}",
                "html_url": page,
                "diff_url": f"{page}.diff",
                "patch_url": f"{page}.patch",
                "merged_at": pull.merged_at,
            },
        }
        self._bodies(doc, pull.body, media)
        doc.update(
            {
                "closed_by": self._user_json(self.user(closer)) if closer else None,
                "reactions": self._reaction_rollup(f"{url}/reactions", None, 0),
                "timeline_url": f"{url}/timeline",
                "performed_via_github_app": None,
                "state_reason": None,
            }
        )
        return doc

    def _issue_comment_json(self, comment: IssueComment, media: str) -> Json:
        r = f"{self.api_url}/repos/{comment.repo}"
        url = f"{r}/issues/comments/{comment.id}"
        doc: Json = {
            "url": url,
            "html_url": f"{self.url}/{comment.repo}/pull/{comment.number}"
            f"#issuecomment-{comment.id}",
            "issue_url": f"{r}/issues/{comment.number}",
            "id": comment.id,
            "node_id": _node_id("IssueComment", comment.id),
            "user": self._user_json(self.user(comment.user)),
            "created_at": comment.created_at,
            "updated_at": comment.updated_at,
            "author_association": self._association(comment.repo, comment.user),
        }
        self._bodies(doc, comment.body, media)
        doc["reactions"] = self._reaction_rollup(f"{url}/reactions", "issue_comment", comment.id)
        doc["performed_via_github_app"] = None
        return doc

    def _status_json(self, status: CommitStatus, *, creator: bool = True) -> Json:
        user = self.user(status.creator)
        doc: Json = {
            "url": f"{self.api_url}/repos/{status.repo}/statuses/{status.sha}",
            "avatar_url": f"{self.url}/avatars/u/{user.id}?v=4",
            "id": status.id,
            "node_id": _node_id("StatusContext", status.id),
            "state": status.state,
            "description": status.description,
            "target_url": status.target_url,
            "context": status.context,
            "created_at": status.created_at,
            "updated_at": status.updated_at,
        }
        if creator:
            doc["creator"] = self._user_json(user)
        return doc

    def _combined_status_json(self, repo: Repository, sha: str) -> Json:
        latest: dict[str, CommitStatus] = {}
        for status in self.statuses(repo.full_name, sha):
            latest[status.context] = status  # oldest first: the newest of a context wins
        states = {s.state for s in latest.values()}
        if states & {"error", "failure"}:
            state = "failure"
        elif not states or "pending" in states:
            state = "pending"
        else:
            state = "success"
        r = f"{self.api_url}/repos/{repo.full_name}"
        newest_first = sorted(latest.values(), key=lambda s: s.id, reverse=True)
        return {
            "state": state,
            "statuses": [self._status_json(s, creator=False) for s in newest_first],
            "sha": sha,
            "total_count": len(latest),
            "repository": self._repo_json(repo),
            "commit_url": f"{r}/commits/{sha}",
            "url": f"{r}/commits/{sha}/status",
        }

    def _commit_json(self, repo: Repository, sha: str, pull: PullRequest, role: str) -> Json:
        """A PR's head, merge or base commit (``GET /repos/{o}/{r}/commits/{ref}``)."""
        r = f"{self.api_url}/repos/{repo.full_name}"
        files: tuple[FileChange, ...] = ()
        if role == "head":
            login, date, parents = pull.author, pull.created_at, [pull.base_sha]
            message, files = pull.title, pull.files
        elif role == "merge":
            login = pull.merged_by or pull.author
            date = pull.merged_at or pull.created_at
            parents = [pull.base_sha, pull.head_sha]
            owner = self._head_label(pull).partition(":")[0]
            message = f"Merge pull request #{pull.number} from {owner}/{pull.head_ref}"
            message += f"\n\n{pull.title}"
            files = pull.files
        else:
            login, date = repo.owner, repo.created_at
            parents, message = [_fake_sha("parent", sha)], f"Update {pull.base_ref}"
        user = self.user(login)
        person = {
            "name": user.name or user.login,
            "email": user.email or f"{user.login}@users.noreply.example.test",
            "date": date,
        }
        tree = _fake_sha("tree", sha)
        additions = sum(f.additions or 0 for f in files)
        deletions = sum(f.deletions or 0 for f in files)
        return {
            "sha": sha,
            "node_id": _node_id("Commit", int(sha[:8], 16)),
            "commit": {
                "author": person,
                "committer": person,
                "message": message,
                "tree": {"sha": tree, "url": f"{r}/git/trees/{tree}"},
                "url": f"{r}/git/commits/{sha}",
                "comment_count": 0,
                "verification": {
                    "verified": False,
                    "reason": "unsigned",
                    "signature": None,
                    "payload": None,
                    "verified_at": None,
                },
            },
            "url": f"{r}/commits/{sha}",
            "html_url": f"{self.url}/{repo.full_name}/commit/{sha}",
            "comments_url": f"{r}/commits/{sha}/comments",
            "author": self._user_json(user),
            "committer": self._user_json(user),
            "parents": [
                {
                    "sha": parent,
                    "url": f"{r}/commits/{parent}",
                    "html_url": f"{self.url}/{repo.full_name}/commit/{parent}",
                }
                for parent in parents
            ],
            "stats": {
                "total": additions + deletions,
                "additions": additions,
                "deletions": deletions,
            },
            "files": [self._file_json(pull, f) for f in files],
        }

    def _app_json(self) -> Json:
        page = f"{self.url}/apps/{quote(self.app_slug, safe='')}"
        return {
            "id": self.app_id,
            "slug": self.app_slug,
            "node_id": _node_id("Integration", self.app_id),
            "client_id": "Iv1." + _fake_sha("client", self.app_id)[:16],
            "owner": self._user_json(self.user(self.login)),
            "name": self.app_slug,
            "description": "",
            "external_url": page,
            "html_url": page,
            "created_at": DEFAULT_TIME,
            "updated_at": DEFAULT_TIME,
            "permissions": {
                "checks": "write",
                "contents": "read",
                "issues": "write",
                "metadata": "read",
                "pull_requests": "write",
                "statuses": "write",
            },
            "events": ["check_run", "check_suite", "pull_request"],
        }

    def _minimal_pull_json(self, pull: PullRequest) -> Json:
        def end(ref: str, sha: str, repo_name: str) -> Json:
            repo = self.repo(repo_name)
            url = f"{self.api_url}/repos/{repo.full_name}"
            return {"ref": ref, "sha": sha, "repo": {"id": repo.id, "url": url, "name": repo.name}}

        return {
            "url": f"{self.api_url}/repos/{pull.repo}/pulls/{pull.number}",
            "id": pull.id,
            "number": pull.number,
            "head": end(pull.head_ref, pull.head_sha, pull.head_repo or pull.repo),
            "base": end(pull.base_ref, pull.base_sha, pull.repo),
        }

    def _check_run_json(self, run: CheckRun) -> Json:
        url = f"{self.api_url}/repos/{run.repo}/check-runs/{run.id}"
        pulls = [p for p in self.pulls(run.repo) if p.head_sha == run.head_sha]
        return {
            "id": run.id,
            "name": run.name,
            "node_id": _node_id("CheckRun", run.id),
            "head_sha": run.head_sha,
            "external_id": run.external_id or "",
            "url": url,
            "html_url": f"{self.url}/{run.repo}/runs/{run.id}",
            "details_url": run.details_url,
            "status": run.status,
            "conclusion": run.conclusion,
            "started_at": run.started_at,
            "completed_at": run.completed_at,
            "output": {
                "title": run.title,
                "summary": run.summary,
                "text": run.text,
                "annotations_count": len(run.annotations),
                "annotations_url": f"{url}/annotations",
            },
            "check_suite": {"id": run.check_suite_id},
            "app": self._app_json(),
            "pull_requests": [self._minimal_pull_json(p) for p in pulls if p.state == "open"],
        }

    def _annotation_json(self, run: CheckRun, note: CheckAnnotation) -> Json:
        return {
            "path": note.path,
            "blob_href": f"{self.url}/{run.repo}/blob/{run.head_sha}/{quote(note.path)}",
            "start_line": note.start_line,
            "start_column": note.start_column,
            "end_line": note.end_line,
            "end_column": note.end_column,
            "annotation_level": note.annotation_level,
            "title": note.title,
            "message": note.message,
            "raw_details": note.raw_details,
        }


def _by_number(pull: PullRequest) -> int:
    return pull.number


def _positive_int(value: str | None) -> int | None:
    try:
        number = int(value or "")
    except ValueError:
        return None
    return number if number > 0 else None


def _media_param(accept: str) -> str:
    """The body format that an Accept header asks for: "", "raw", "text", "html" or "full"."""
    match = re.search(r"application/vnd\.github(?:\.v3)?\.(raw|text|html|full)\+json", accept)
    return match.group(1) if match else ""


_Comment = TypeVar("_Comment", ReviewComment, IssueComment)


def _sort_comments(
    comments: Iterable[_Comment],
    query: Mapping[str, str],
    resource: str = "PullRequestReviewComment",
) -> list[_Comment]:
    since = query.get("since")
    if since:
        comments = [c for c in comments if c.updated_at >= since]
    sort = query.get("sort")
    if sort not in (None, "created", "updated"):
        raise _HttpError(
            422,
            "Validation Failed",
            errors=[{"resource": resource, "field": "sort", "code": "invalid"}],
        )
    reverse = query.get("direction", "asc") == "desc"
    if sort == "updated":
        return sorted(comments, key=lambda c: (c.updated_at, c.id), reverse=reverse)
    return sorted(comments, key=lambda c: (c.created_at, c.id), reverse=reverse)
