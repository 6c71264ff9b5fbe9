"""The fake GitHub server, driven by the real github3.py client (no mocks)."""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import Message
from typing import Any

import github3
import github3.exceptions
import pytest
import requests.exceptions

from tests.github_server import (
    FakeGitHub,
    Fault,
    FileChange,
    primary_rate_limit,
    secondary_rate_limit,
    server_error,
)

TOKEN = "tok-test-0123456789"
REPO = "octo-org/widgets"
FULL = {"Accept": "application/vnd.github.v3.full+json"}

APP_PATCH = "\n".join(
    [
        "@@ -8,6 +8,9 @@ def load(path):",
        "     data = read(path)",
        "     if not data:",
        "         return None",
        '+    if data.startswith("#"):',
        "+        data = data[1:]",
        "+    data = data.strip()",
        "     return parse(data)",
        " ",
        " ",
    ]
)
GUIDE_PATCH = "@@ -0,0 +1,3 @@\n+# Guide\n+\n+Run `widgets --help`."
RENAME_PATCH = "@@ -1,4 +1,4 @@\n-OLD = 1\n+NEW = 1\n \n def helper():\n     return 2"
REMOVED_PATCH = "@@ -1,2 +0,0 @@\n-legacy = True\n-print(legacy)"


def t(day: int, hour: int = 9) -> str:
    return f"2024-01-{day:02d}T{hour:02d}:00:00Z"


def dt(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def populate(server: FakeGitHub) -> None:
    """Seven pull requests with every shape a miner meets."""
    server.add_user("octo-org", type="Organization", name="Octo Org")
    server.add_user("octo-alice", name="Alice Example", email="alice@example.test")
    server.add_user("octo-bob", name="Bob Example", email="bob@example.test")
    server.add_user("octo-carol", name="Carol Example", email="carol@example.test")
    server.add_user("octo-helper[bot]", type="Bot")
    server.add_repo(REPO, description="Widgets", members=("octo-alice", "octo-bob"))
    server.add_repo("octo-carol/widgets")

    app = FileChange("src/app.py", "modified", APP_PATCH)
    guide = FileChange("docs/guide.md", "added", GUIDE_PATCH)
    # 1: merged, reviewed, a comment thread with a reply
    server.add_pull(
        REPO,
        author="octo-alice",
        title="Strip comment markers when loading",
        body="Loading now ignores a leading `#`.\n\nFixes a crash.",
        created_at=t(1),
        merged_at=t(3, 10),
        merged_by="octo-bob",
        files=[app, guide],
        comments=2,
        commits=3,
        labels=["bug"],
    )
    review = server.add_review(
        REPO, 1, user="octo-bob", state="CHANGES_REQUESTED", submitted_at=t(2, 11), body="Almost."
    )
    root = server.add_review_comment(
        REPO,
        1,
        user="octo-bob",
        body="Why strip here?",
        created_at=t(2, 11),
        path="src/app.py",
        line=13,
        review_id=review.id,
    )
    server.add_review_comment(
        REPO,
        1,
        user="octo-alice",
        body="Trailing newlines.",
        created_at=t(2, 12),
        in_reply_to=root.id,
    )
    server.add_review(REPO, 1, user="octo-bob", state="APPROVED", submitted_at=t(2, 14))
    # 2: open, a renamed file, two reviewers
    server.add_pull(
        REPO,
        author="octo-bob",
        title="Rename helper module",
        created_at=t(4),
        files=[
            FileChange("lib/new_name.py", "renamed", RENAME_PATCH, previous_filename="lib/old.py")
        ],
        requested_reviewers=["octo-carol"],
    )
    server.add_review(REPO, 2, user="octo-alice", state="COMMENTED", submitted_at=t(5), body="Hmm")
    server.add_review(REPO, 2, user="octo-carol", state="APPROVED", submitted_at=t(6), body="LGTM")
    # 3: from a fork, closed without merging
    server.add_pull(
        REPO,
        author="octo-carol",
        title="Try a faster parser",
        created_at=t(7),
        closed_at=t(8),
        fork="octo-carol/widgets",
        head_ref="faster-parser",
        files=[FileChange("src/parser.py", "removed", REMOVED_PATCH)],
    )
    # 4: a bot's draft with a binary file (no patch)
    server.add_pull(
        REPO,
        author="octo-helper[bot]",
        title="Update logo",
        created_at=t(9),
        draft=True,
        files=[FileChange("assets/logo.png", "added", None)],
    )
    # 5: merged quickly, updated later than 6 was created
    server.add_pull(REPO, author="octo-alice", title="Docs", created_at=t(10), merged_at=t(20))
    # 6: open, a multi-line comment and an outdated one
    server.add_pull(REPO, author="octo-bob", title="Tidy loader", created_at=t(11), files=[app])
    server.add_review_comment(
        REPO,
        6,
        user="octo-carol",
        body="These three lines belong together.",
        created_at=t(12),
        path="src/app.py",
        start_line=11,
        line=13,
    )
    server.add_review_comment(
        REPO,
        6,
        user="octo-alice",
        body="Old remark.",
        created_at=t(13),
        path="src/app.py",
        line=9,
        side="LEFT",
        outdated=True,
    )
    # 7: its fork was deleted
    server.add_pull(
        REPO,
        author="octo-carol",
        title="Orphaned branch",
        created_at=t(14),
        fork="octo-carol/widgets",
        fork_deleted=True,
    )


@pytest.fixture
def server() -> Iterator[FakeGitHub]:
    with FakeGitHub(token=TOKEN, max_per_page=3) as running:
        populate(running)
        yield running
        assert running.errors == []


@pytest.fixture
def gh(server: FakeGitHub) -> Any:
    return github3.GitHubEnterprise(server.url, token=TOKEN)


@pytest.fixture
def repo(gh: Any) -> Any:
    return gh.repository("octo-org", "widgets")


def raw_get(
    server: FakeGitHub, path: str, headers: dict[str, str] | None = None, token: str = TOKEN
) -> tuple[int, Message, bytes]:
    """One GET below /api/v3 with the stdlib client, to see status, headers and bytes as sent."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        conn.request(
            "GET", "/api/v3" + path, headers={"Authorization": f"token {token}", **(headers or {})}
        )
        response = conn.getresponse()
        return response.status, response.headers, response.read()
    finally:
        conn.close()


def test_repository_reads_back(server: FakeGitHub, gh: Any, repo: Any) -> None:
    record = server.repo(REPO)
    assert repo.full_name == REPO
    assert repo.id == record.id
    assert repo.owner.login == "octo-org"
    assert repo.owner.type == "Organization"
    assert repo.default_branch == "main"
    assert repo.html_url == f"{server.url}/{REPO}"
    assert repo.open_issues_count == 4
    assert gh.repository("Octo-Org", "WIDGETS").full_name == REPO  # GitHub ignores case


def test_pull_requests_page_through_link_headers(server: FakeGitHub, repo: Any) -> None:
    server.reset_requests()
    listed = list(repo.pull_requests(state="all", sort="updated", direction="desc"))
    assert [p.number for p in listed] == [5, 7, 6, 4, 3, 2, 1]
    expected = sorted(server.pulls(REPO), key=lambda p: p.updated_at, reverse=True)
    assert [p.number for p in listed] == [p.number for p in expected]
    assert [p.updated_at for p in listed] == [dt(p.updated_at) for p in expected]
    pages = [r for r in server.requests if r.api_path.endswith("/pulls")]
    assert [r.query.get("page") for r in pages] == [None, "2", "3"]
    assert {r.query["per_page"] for r in pages} == {"100"}  # github3 always asks for 100
    repo_id = server.repo(REPO).id
    assert [r.api_path for r in pages] == [
        f"/repos/{REPO}/pulls",
        f"/repositories/{repo_id}/pulls",  # the Link URLs, as on github.com
        f"/repositories/{repo_id}/pulls",
    ]
    assert all(r.status == 200 for r in pages)

    created = list(repo.pull_requests(state="all", sort="created", direction="asc"))
    assert [p.number for p in created] == [1, 2, 3, 4, 5, 6, 7]
    assert [p.number for p in repo.pull_requests(state="open")] == [7, 6, 4, 2]
    assert [p.number for p in repo.pull_requests(state="closed", sort="created")] == [5, 3, 1]
    short = listed[-1]
    assert (short.number, short.user.login) == (1, "octo-alice")
    assert short.body_html.startswith('<p dir="auto">')


def test_link_header_is_githubs(server: FakeGitHub) -> None:
    base = f"{server.api_url}/repositories/{server.repo(REPO).id}/pulls?state=all&per_page=3"
    status, headers, _ = raw_get(server, f"/repos/{REPO}/pulls?state=all&per_page=3&page=2")
    assert status == 200
    assert headers["Link"] == (
        f'<{base}&page=1>; rel="prev", <{base}&page=3>; rel="next", '
        f'<{base}&page=3>; rel="last", <{base}&page=1>; rel="first"'
    )
    _, first, body = raw_get(server, f"/repos/{REPO}/pulls?state=all&per_page=3")
    assert first["Link"] == f'<{base}&page=2>; rel="next", <{base}&page=3>; rel="last"'
    assert len(json.loads(body)) == 3
    _, last, body = raw_get(server, f"/repos/{REPO}/pulls?state=all&per_page=3&page=3")
    assert last["Link"] == f'<{base}&page=2>; rel="prev", <{base}&page=1>; rel="first"'
    assert len(json.loads(body)) == 1
    _, single, _ = raw_get(server, f"/repos/{REPO}/pulls/1/files")
    assert single["Link"] is None
    status, _, body = raw_get(server, f"/repos/{REPO}/pulls?sort=newest")
    assert status == 422
    assert json.loads(body)["message"] == "Validation Failed"


def test_full_pull_requests_files_reviews_and_comments(server: FakeGitHub, repo: Any) -> None:
    for short in repo.pull_requests(state="all", sort="updated", direction="desc"):
        record = server.pull(REPO, short.number)
        pr = repo.pull_request(short.number)
        assert pr.number == record.number
        assert pr.id == record.id
        assert pr.title == record.title
        assert pr.body == record.body
        assert pr.user.login == record.author
        assert pr.state == record.state
        assert pr.draft == record.draft
        assert pr.merged == record.merged
        assert pr.created_at == dt(record.created_at)
        assert pr.updated_at == dt(record.updated_at)
        assert pr.closed_at == (dt(record.closed_at) if record.closed_at else None)
        assert pr.merged_at == (dt(record.merged_at) if record.merged_at else None)
        assert pr.merge_commit_sha == record.merge_commit_sha
        assert pr.comments_count == record.comments
        assert pr.commits_count == record.commits
        assert pr.review_comments_count == len(server.review_comments(REPO, record.number))
        assert pr.changed_files == len(record.files)
        assert pr.additions_count == sum(f.additions or 0 for f in record.files)
        assert pr.deletions_count == sum(f.deletions or 0 for f in record.files)
        assert (pr.base.ref, pr.base.sha) == (record.base_ref, record.base_sha)
        assert (pr.head.ref, pr.head.sha) == (record.head_ref, record.head_sha)

        files = list(pr.files())
        assert [(f.filename, f.status, f.patch) for f in files] == [
            (c.filename, c.status, c.patch) for c in record.files
        ]
        for got, want in zip(files, record.files, strict=True):
            assert (got.additions_count, got.deletions_count) == (want.additions, want.deletions)
            assert got.changes_count == (want.additions or 0) + (want.deletions or 0)
            assert got.as_dict().get("previous_filename") == want.previous_filename
            assert got.raw_url.startswith(server.url)

        reviews = list(pr.reviews())
        assert [(r.id, r.user.login, r.state, r.body, r.commit_id) for r in reviews] == [
            (r.id, r.user, r.state, r.body, r.commit_id) for r in server.reviews(REPO, pr.number)
        ]
        assert all(r.submitted_at.tzinfo is not None for r in reviews)

        comments = list(pr.review_comments())
        wanted = server.review_comments(REPO, pr.number)
        assert [
            (
                c.id,
                c.user.login,
                c.path,
                c.line,
                c.original_line,
                c.start_line,
                c.side,
                c.position,
                c.as_dict().get("in_reply_to_id"),
                c.pull_request_review_id,
                c.created_at,
                c.diff_hunk,
            )
            for c in comments
        ] == [
            (
                w.id,
                w.user,
                w.path,
                w.line,
                w.original_line,
                w.start_line,
                w.side,
                w.position,
                w.in_reply_to_id,
                w.review_id,
                dt(w.created_at),
                w.diff_hunk,
            )
            for w in wanted
        ]


def test_pull_request_shapes(server: FakeGitHub, repo: Any) -> None:
    merged = repo.pull_request(1)
    assert merged.merged_by.login == "octo-bob"
    assert merged.merged_at == datetime(2024, 1, 3, 10, tzinfo=UTC)
    assert merged.mergeable is None
    assert merged.author_association == "MEMBER"
    assert [label["name"] for label in merged.labels] == ["bug"]
    assert "<p" in merged.body_html and merged.body_text.startswith("Loading")
    assert [(r.user.login, r.state) for r in merged.reviews()] == [
        ("octo-bob", "CHANGES_REQUESTED"),
        ("octo-alice", "COMMENTED"),  # the reply's own review, as on GitHub
        ("octo-bob", "APPROVED"),
    ]
    root, reply = merged.review_comments()
    assert (root.path, root.line, root.side, root.position) == ("src/app.py", 13, "RIGHT", 6)
    assert root.diff_hunk.endswith("+    data = data.strip()")
    assert "in_reply_to_id" not in root.as_dict()
    assert reply.in_reply_to_id == root.id
    assert (reply.path, reply.line, reply.user.login) == ("src/app.py", 13, "octo-alice")
    assert root.pull_request_url == merged.url
    assert root.html_url == f"{server.url}/{REPO}/pull/1#discussion_r{root.id}"

    renamed = repo.pull_request(2)
    (change,) = renamed.files()
    assert (change.status, change.previous_filename) == ("renamed", "lib/old.py")
    assert [u.login for u in renamed.requested_reviewers] == ["octo-carol"]
    assert renamed.mergeable is True and renamed.mergeable_state == "clean"

    forked = repo.pull_request(3)
    assert forked.state == "closed" and not forked.merged
    assert forked.head.repository.full_name == "octo-carol/widgets"
    assert forked.head.label == "octo-carol:faster-parser"
    assert forked.author_association == "CONTRIBUTOR"

    bot = repo.pull_request(4)
    assert bot.user.type == "Bot" and bot.draft and bot.mergeable_state == "draft"
    (logo,) = bot.files()
    assert logo.patch is None and "patch" not in logo.as_dict()

    multi, outdated = repo.pull_request(6).review_comments()
    assert (multi.start_line, multi.line, multi.start_side) == (11, 13, "RIGHT")
    assert multi.as_dict()["subject_type"] == "line"
    assert (outdated.line, outdated.original_line, outdated.side) == (None, 9, "LEFT")
    assert outdated.position is None and outdated.original_position == 2

    orphan = repo.pull_request(7)
    assert orphan.as_dict()["head"]["repo"] is None
    assert orphan.head.repo == ("", "")


def test_users_me_and_rate_limit(server: FakeGitHub, gh: Any) -> None:
    alice = gh.user("octo-alice")
    assert (alice.login, alice.name, alice.email, alice.type) == (
        "octo-alice",
        "Alice Example",
        "alice@example.test",
        "User",
    )
    assert alice.id == server.user("octo-alice").id
    bot = gh.user("octo-helper[bot]")
    assert bot.type == "Bot"
    assert bot.html_url == f"{server.url}/apps/octo-helper"
    assert gh.me().login == "octo-miner"
    limits = gh.rate_limit()
    assert limits["resources"]["core"]["remaining"] == server.rate_limit_remaining
    assert limits["rate"]["limit"] == 5000
    with pytest.raises(github3.exceptions.NotFoundError):
        gh.user("octo-nobody")


def test_every_url_points_back_at_the_server(server: FakeGitHub) -> None:
    seen: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key != "documentation_url":
                    walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
        elif isinstance(node, str) and "://" in node:
            seen.append(node)

    for path in (
        f"/repos/{REPO}",
        f"/repos/{REPO}/pulls?state=all&per_page=100",
        *(f"/repos/{REPO}/pulls/{n}" for n in range(1, 8)),
        f"/repos/{REPO}/pulls/1/files",
        f"/repos/{REPO}/pulls/1/reviews",
        f"/repos/{REPO}/pulls/1/comments",
        "/users/octo-alice",
        "/user",
    ):
        status, _, body = raw_get(server, path, FULL)
        assert status == 200, path
        walk(json.loads(body))
    git = f"git://127.0.0.1:{server.port}/"
    assert seen and all(u.startswith((server.url + "/", git)) for u in seen), seen


def test_rate_limit_headers_and_etag(server: FakeGitHub) -> None:
    status, first, body = raw_get(server, f"/repos/{REPO}/pulls/1")
    assert status == 200
    assert first["X-RateLimit-Resource"] == "core"
    assert int(first["X-RateLimit-Limit"]) == 5000
    remaining = int(first["X-RateLimit-Remaining"])
    assert int(first["X-RateLimit-Used"]) == 5000 - remaining
    assert int(first["X-RateLimit-Reset"]) > time.time()
    etag = first["ETag"]
    assert etag.startswith('W/"')
    assert "body_html" not in json.loads(body)  # only the full/html media types carry it

    status, again, body = raw_get(server, f"/repos/{REPO}/pulls/1", {"If-None-Match": etag})
    assert (status, body) == (304, b"")
    assert again["ETag"] == etag
    assert int(again["X-RateLimit-Remaining"]) == remaining  # a 304 is free

    status, other, _ = raw_get(server, f"/repos/{REPO}/pulls/2", {"If-None-Match": etag})
    assert status == 200 and other["ETag"] != etag
    assert int(other["X-RateLimit-Remaining"]) == remaining - 1


def test_conditional_requests_answer_304(server: FakeGitHub, repo: Any) -> None:
    listing = repo.pull_requests(state="all", sort="updated", direction="desc")
    assert len(list(listing)) == 7
    etag = listing.etag
    assert etag
    remaining = server.rate_limit_remaining
    server.reset_requests()
    assert list(repo.pull_requests(state="all", sort="updated", direction="desc", etag=etag)) == []
    (request,) = server.requests
    assert (request.status, request.if_none_match) == (304, etag)
    assert server.rate_limit_remaining == remaining

    # A new review moves PR 3 to the top: the first page changed, so the same ETag gets a 200.
    server.add_review(
        REPO, 3, user="octo-alice", state="COMMENTED", submitted_at="2024-02-01T00:00:00Z"
    )
    server.reset_requests()
    fresh = list(repo.pull_requests(state="all", sort="updated", direction="desc", etag=etag))
    assert [p.number for p in fresh] == [3, 5, 7, 6, 4, 2, 1]
    assert [r.status for r in server.requests] == [200, 200, 200]
    assert {r.if_none_match for r in server.requests} == {etag}  # sent on every page

    pr = repo.pull_request(1)
    server.reset_requests()
    assert pr.refresh(conditional=True) is pr
    (request,) = server.requests
    assert (request.status, request.if_none_match) == (304, pr.etag)


def test_incremental_changes(server: FakeGitHub, repo: Any) -> None:
    before = repo.pull_request(2).updated_at
    server.add_review_comment(
        REPO,
        2,
        user="octo-carol",
        body="Nit.",
        created_at="2024-02-02T08:00:00Z",
        path="lib/new_name.py",
        line=1,
    )
    server.close_pull(REPO, 2, at="2024-02-03T08:00:00Z", merged=True, merged_by="octo-alice")
    server.update_pull(REPO, 6, title="Tidy the loader", updated_at="2024-02-04T00:00:00Z")
    listed = [p.number for p in repo.pull_requests(state="all", sort="updated", direction="desc")]
    assert listed[:2] == [6, 2]
    pr = repo.pull_request(2)
    assert pr.updated_at > before
    assert pr.merged and pr.merged_by.login == "octo-alice"
    assert pr.merged_at == datetime(2024, 2, 3, 8, tzinfo=UTC)
    assert pr.review_comments_count == 1
    assert repo.pull_request(6).title == "Tidy the loader"
    since = list(repo.pull_request(2).review_comments())
    assert [(c.user.login, c.line, c.position) for c in since] == [("octo-carol", 1, 2)]


def test_bad_or_missing_token_is_authentication_failed(server: FakeGitHub) -> None:
    with pytest.raises(github3.exceptions.AuthenticationFailed) as info:
        github3.GitHubEnterprise(server.url, token="wrong").repository("octo-org", "widgets")
    assert (info.value.code, info.value.msg) == (401, "Bad credentials")
    with pytest.raises(github3.exceptions.AuthenticationFailed) as info:
        github3.GitHubEnterprise(server.url).repository("octo-org", "widgets")
    assert info.value.msg == "Requires authentication"
    assert [r.status for r in server.requests] == [401, 401]


def test_unknown_things_are_not_found(server: FakeGitHub, gh: Any, repo: Any) -> None:
    with pytest.raises(github3.exceptions.NotFoundError) as info:
        gh.repository("octo-org", "gadgets")
    assert info.value.msg == "Not Found"
    assert info.value.response.json()["documentation_url"].startswith("https://docs.github.com/")
    with pytest.raises(github3.exceptions.NotFoundError):
        repo.pull_request(99)


def test_injected_secondary_rate_limit(server: FakeGitHub, repo: Any) -> None:
    message = (
        "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
    )
    server.inject(
        Fault(
            path_pattern=r"/pulls/2/reviews",
            status=403,
            headers={"Retry-After": "1"},
            body={"message": message, "documentation_url": "https://docs.github.com/rest"},
            times=1,
        )
    )
    pr = repo.pull_request(2)
    with pytest.raises(github3.exceptions.ForbiddenError) as info:
        list(pr.reviews())
    assert info.value.code == 403
    assert info.value.msg == message
    assert info.value.response.headers["Retry-After"] == "1"
    assert int(info.value.response.headers["X-RateLimit-Remaining"]) > 0  # not the primary limit
    assert [r.state for r in pr.reviews()] == ["COMMENTED", "APPROVED"]  # used up after once
    assert server.pending_faults == []

    server.inject(secondary_rate_limit(r"/pulls/2/files", status=429, retry_after=2))
    with pytest.raises(github3.exceptions.ClientError) as limited:
        list(pr.files())
    assert limited.value.code == 429
    assert limited.value.msg.startswith("You have exceeded a secondary rate limit")


def test_primary_rate_limit(server: FakeGitHub, gh: Any, repo: Any) -> None:
    reset = int(time.time()) + 120
    server.set_rate_limit(remaining=1, reset_at=reset)
    assert repo.pull_request(1).number == 1
    with pytest.raises(github3.exceptions.ForbiddenError) as info:
        repo.pull_request(2)
    headers = info.value.response.headers
    assert (headers["X-RateLimit-Remaining"], headers["X-RateLimit-Reset"]) == ("0", str(reset))
    assert info.value.msg.startswith("API rate limit exceeded for user ID")
    assert gh.rate_limit()["rate"]["remaining"] == 0  # /rate_limit still answers

    server.set_rate_limit(reset_at=int(time.time()) - 1)  # the window has passed
    assert repo.pull_request(2).number == 2
    assert server.rate_limit_remaining == 4999

    server.inject(primary_rate_limit(r"/pulls/3$", reset_at=reset))
    with pytest.raises(github3.exceptions.ForbiddenError) as info:
        repo.pull_request(3)
    assert info.value.response.headers["X-RateLimit-Remaining"] == "0"
    assert info.value.response.headers["X-RateLimit-Reset"] == str(reset)


def test_server_errors(server: FakeGitHub, repo: Any) -> None:
    server.inject(server_error(r"/pulls/1$", status=500))
    server.inject(server_error(r"/pulls/1$", status=502))
    with pytest.raises(github3.exceptions.ServerError) as first:
        repo.pull_request(1)
    with pytest.raises(github3.exceptions.ServerError) as second:
        repo.pull_request(1)
    assert (first.value.code, second.value.code) == (500, 502)
    assert repo.pull_request(1).number == 1
    assert [r.status for r in server.requests[-3:]] == [500, 502, 200]


def test_dropped_connection(server: FakeGitHub, repo: Any) -> None:
    server.inject(Fault(path_pattern=r"/pulls/1$", drop=True))
    with pytest.raises(github3.exceptions.ConnectionError) as info:
        repo.pull_request(1)
    assert isinstance(info.value.exception, requests.exceptions.ConnectionError)
    assert server.requests[-1].status == 0
    assert repo.pull_request(1).number == 1  # the client reconnects


def test_malformed_json(server: FakeGitHub, repo: Any) -> None:
    server.inject(Fault(path_pattern=r"/pulls/1$", malformed=True))
    with pytest.raises(github3.exceptions.UnexpectedResponse) as info:
        repo.pull_request(1)
    assert info.value.code == 200
    server.inject(Fault(path_pattern=r"/pulls\?", malformed=True))
    with pytest.raises(github3.exceptions.UnexpectedResponse):
        list(repo.pull_requests(state="all"))
    assert len(list(repo.pull_requests(state="all"))) == 7


def test_stop_leaves_no_threads_or_listener() -> None:
    before = set(threading.enumerate())
    with FakeGitHub(token=TOKEN) as running:
        running.add_repo("octo-miner/solo")
        client = github3.GitHubEnterprise(running.url, token=TOKEN)
        assert client.repository("octo-miner", "solo").full_name == "octo-miner/solo"
        # the keep-alive connection stays open in the client's pool while the server stops
    assert set(threading.enumerate()) - before == set()
    with pytest.raises(github3.exceptions.ConnectionError):
        client.repository("octo-miner", "solo")
