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

Layout (a newcomer's reading order, bottom to top; each resource is a mixin class that builds on
the one below it, and ``FakeGitHub`` is the top one)::

    records.py        the records (frozen dataclasses), literal types, GitHub's limits
    protocol.py       a response, GitHub's error bodies, checks of a write's JSON body
    diff.py           where a line sits in a patch (hunks, rows, ``position``)
    core.py           the state: stores, ids, clock, users; pagination, body media types
    faults.py         faults, the request log, the rate limit and its headers
    users.py          user documents; tokens, the GitHub App's JWT and installation token
    repositories.py   repositories
    pulls.py          pull requests and their files
    reactions.py      reactions and the rollup on every comment
    reviews.py        reviews and review comments (records and documents)
    review_writes.py  writing reviews and review comments, with GitHub's validation
    issues.py         a pull request as an issue, and issue comments
    statuses.py       commits and commit statuses
    checks.py         the App's check runs and annotations
    routes.py         which resource answers a path
    plumbing.py       the HTTP server thread, and one request from bytes to answer
    server.py         ``FakeGitHub``
"""

from __future__ import annotations

from tests.github_server.faults import (
    Fault,
    primary_rate_limit,
    secondary_rate_limit,
    server_error,
)
from tests.github_server.records import (
    CheckAnnotation,
    CheckRun,
    CommitStatus,
    FileChange,
    IssueComment,
    PullRequest,
    Reaction,
    RecordedRequest,
    Repository,
    Review,
    ReviewComment,
    User,
    iso,
)
from tests.github_server.server import (
    FakeGitHub,
)

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
