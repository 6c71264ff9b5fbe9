"""The fake GitHub server's write endpoints, driven by the real github3.py client (no mocks).

What a review bot does: comment on a pull request's conversation and edit its comment, post a
review with inline comments (refused whole, 422, when a line is not in the diff), set commit
statuses, create and update check runs as a GitHub App installation, and read reactions.
"""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import github3
import github3.exceptions
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.github_server import FakeGitHub, FileChange

TOKEN = "tok-writes-0123456789"
INSTALLATION_TOKEN = "ghs_installation0123456789"
APP_ID = 90210
INSTALLATION_ID = 4242
REPO = "octo-org/widgets"
BOT = "octo-reviewbot"

# new-file lines 8-16: 8-10 context, 11-13 added, 14-16 context; old-file lines 8-13
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
OLD_PATCH = "@@ -1,3 +1,2 @@\n-import os\n import sys\n print(sys.argv)"


class Clock:
    """A clock the test moves by hand, so that updated_at visibly moves."""

    def __init__(self) -> None:
        self.at = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.at

    def advance(self, minutes: int = 1) -> None:
        self.at += timedelta(minutes=minutes)


def populate(server: FakeGitHub) -> None:
    server.add_user("octo-org", type="Organization")
    server.add_user("octo-alice", name="Alice Example", email="alice@example.test")
    server.add_user("octo-bob", name="Bob Example", email="bob@example.test")
    server.add_user(BOT)
    server.add_repo(REPO, members=("octo-alice", "octo-bob"))
    server.add_pull(
        REPO,
        author="octo-alice",
        title="Strip comment markers when loading",
        created_at="2024-02-28T10:00:00Z",
        files=[
            FileChange("src/app.py", "modified", APP_PATCH),
            FileChange("cli.py", "modified", OLD_PATCH),
        ],
    )


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def server(clock: Clock) -> Iterator[FakeGitHub]:
    with FakeGitHub(
        token=TOKEN,
        login=BOT,
        max_per_page=3,
        installation_token=INSTALLATION_TOKEN,
        app_id=APP_ID,
        installation_id=INSTALLATION_ID,
        clock=clock,
    ) as running:
        populate(running)
        yield running
        assert running.errors == []


@pytest.fixture
def gh(server: FakeGitHub) -> Any:
    return github3.GitHubEnterprise(server.url, token=TOKEN)


@pytest.fixture
def repo(gh: Any) -> Any:
    return gh.repository("octo-org", "widgets")


@pytest.fixture
def pr(repo: Any) -> Any:
    return repo.pull_request(1)


def raw(
    server: FakeGitHub, method: str, path: str, body: Any = None, token: str = TOKEN
) -> tuple[int, Any]:
    """One request below /api/v3 with the stdlib client: status and parsed JSON (or None)."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        payload = None if body is None else json.dumps(body)
        headers = {"Authorization": f"token {token}", "Content-Type": "application/json"}
        conn.request(method, "/api/v3" + path, body=payload, headers=headers)
        response = conn.getresponse()
        data = response.read()
        return response.status, json.loads(data) if data else None
    finally:
        conn.close()


def inline(line: int, side: str = "RIGHT", path: str = "src/app.py", **more: Any) -> dict[str, Any]:
    return {"path": path, "line": line, "side": side, "body": f"About line {line}.", **more}


# -- issue comments ----------------------------------------------------------------------------


def test_a_comment_is_created_listed_edited_and_deleted(
    server: FakeGitHub, gh: Any, repo: Any, pr: Any, clock: Clock
) -> None:
    first = pr.create_comment("Thanks! A first look follows.")
    assert isinstance(first, github3.issues.comment.IssueComment)
    assert first.user.login == BOT
    assert first.body_html == '<p dir="auto">Thanks! A first look follows.</p>'
    assert first.issue_url == f"{server.api_url}/repos/{REPO}/issues/1"
    assert first.html_url.endswith(f"/{REPO}/pull/1#issuecomment-{first.id}")

    clock.advance()
    second = repo.issue(1).create_comment("Second thoughts.")
    assert second.created_at > first.created_at
    issue = pr.issue()
    assert issue.comments_count == 2
    assert issue.pull_request_urls["url"] == f"{server.api_url}/repos/{REPO}/pulls/1"
    assert [c.body for c in issue.comments()] == [
        "Thanks! A first look follows.",
        "Second thoughts.",
    ]
    assert [c.id for c in pr.issue_comments()] == [first.id, second.id]
    assert pr.refresh().comments_count == 2
    assert pr.updated_at == clock.at  # a new comment moves the PR's updated_at

    clock.advance(5)
    assert first.edit("Thanks! Review below.") is True
    assert first.body == "Thanks! Review below."
    assert first.updated_at == clock.at > first.created_at
    (stored, _) = server.issue_comments(REPO, 1)
    assert stored.body == "Thanks! Review below." and stored.updated_at == "2024-03-01T09:06:00Z"

    assert second.delete() is True
    assert [c.id for c in server.issue_comments(REPO, 1)] == [first.id]
    assert pr.refresh().comments_count == 1
    gone = gh.session.get(f"{server.api_url}/repos/{REPO}/issues/comments/{second.id}")
    assert gone.status_code == 404

    posts = [r for r in server.requests if r.method == "POST"]
    assert [r.body for r in posts] == [
        {"body": "Thanks! A first look follows."},
        {"body": "Second thoughts."},
    ]
    assert [r.status for r in posts] == [201, 201]
    (patch,) = [r for r in server.requests if r.method == "PATCH"]
    assert (patch.api_path, patch.status, patch.body) == (
        f"/repos/{REPO}/issues/comments/{first.id}",
        200,
        {"body": "Thanks! Review below."},
    )


def test_issue_comments_page_with_link_headers(server: FakeGitHub, pr: Any) -> None:
    for n in range(7):
        server.add_issue_comment(
            REPO, 1, user="octo-bob", body=f"note {n}", created_at=f"2024-02-29T10:0{n}:00Z"
        )
    server.reset_requests()
    assert [c.body for c in pr.issue().comments()] == [f"note {n}" for n in range(7)]
    pages = [r for r in server.requests if r.api_path.endswith("/comments")]
    assert [r.query.get("page") for r in pages] == [None, "2", "3"]
    assert pages[1].path == f"/api/v3/repositories/{server.repo(REPO).id}/issues/1/comments"

    status, body = raw(server, "GET", f"/repos/{REPO}/issues/1/comments?per_page=3&page=3")
    assert status == 200 and [c["body"] for c in body] == ["note 6"]


def test_a_comment_is_validated_and_authenticated(server: FakeGitHub, pr: Any) -> None:
    assert raw(server, "POST", f"/repos/{REPO}/issues/1/comments", {"body": "x"}, "nope")[0] == 401
    status, body = raw(server, "POST", f"/repos/{REPO}/issues/1/comments", {"body": "  "})
    assert status == 422 and body["errors"][0]["code"] == "missing_field"
    status, body = raw(server, "POST", f"/repos/{REPO}/issues/1/comments", {"body": "x" * 65537})
    assert status == 422 and "too long" in body["errors"][0]["message"]
    assert raw(server, "POST", f"/repos/{REPO}/issues/9/comments", {"body": "x"})[0] == 404
    other = server.add_issue_comment(
        REPO, 1, user="octo-bob", body="Mine.", created_at="2024-03-01T08:00:00Z"
    )
    assert (
        raw(server, "PATCH", f"/repos/{REPO}/issues/comments/{other.id}", {"body": "Yours."})[0]
        == 403
    )
    assert server.issue_comments(REPO, 1)[0].body == "Mine."


# -- reviews ------------------------------------------------------------------------------------


def test_a_review_with_two_inline_comments(server: FakeGitHub, pr: Any, clock: Clock) -> None:
    review = pr.create_review(
        "Two remarks.",
        commit_id=pr.head.sha,
        event="COMMENT",
        comments=[inline(12), inline(9, side="LEFT", body="Was this needed?")],
    )
    assert isinstance(review, github3.pulls.PullReview)
    assert (review.state, review.user.login, review.body) == ("COMMENTED", BOT, "Two remarks.")
    assert review.submitted_at == clock.at and review.commit_id == pr.head.sha

    comments = list(pr.review_comments())
    assert [(c.path, c.body) for c in comments] == [
        ("src/app.py", "About line 12."),
        ("src/app.py", "Was this needed?"),
    ]
    first, second = (c.as_dict() for c in comments)
    assert first["pull_request_review_id"] == second["pull_request_review_id"] == review.id
    assert (first["line"], first["side"], first["position"]) == (12, "RIGHT", 5)
    assert first["diff_hunk"].endswith("+        data = data[1:]")
    assert (second["line"], second["side"], second["position"]) == (9, "LEFT", 2)
    assert [c.review_id for c in server.review_comments(REPO, 1)] == [review.id, review.id]
    (post,) = [r for r in server.requests if r.method == "POST"]
    assert post.body["comments"][0] == inline(12) and post.status == 200


def test_a_multi_line_comment_and_an_approval(server: FakeGitHub, pr: Any) -> None:
    pr.create_review("", event="COMMENT", comments=[inline(13, start_line=11, start_side="RIGHT")])
    (comment,) = [c.as_dict() for c in pr.review_comments()]
    assert (comment["start_line"], comment["line"], comment["start_side"]) == (11, 13, "RIGHT")
    approval = pr.create_review("Ship it.", event="APPROVE")
    assert approval.state == "APPROVED"
    assert [r.state for r in server.reviews(REPO, 1)] == ["COMMENTED", "APPROVED"]


@pytest.mark.parametrize(
    ("comment", "error"),
    [
        (inline(30), "Line could not be resolved"),  # past the hunk
        (inline(5), "Line could not be resolved"),  # before the hunk
        (inline(14, side="LEFT"), "Line could not be resolved"),  # the old file's hunk ends at 13
        (inline(3, path="cli.py"), "Line could not be resolved"),  # the new file: 1-2 only
        (inline(11, path="README.md"), "Path could not be resolved"),
        (inline(11, start_line=8, start_side="LEFT", path="cli.py"), "Line could not be resolved"),
        (inline(11, start_line=12), "Start line could not be resolved"),  # after the end line
    ],
)
def test_a_review_with_an_unresolvable_line_is_refused_whole(
    server: FakeGitHub, pr: Any, comment: dict[str, Any], error: str
) -> None:
    with pytest.raises(github3.exceptions.UnprocessableEntity) as refused:
        pr.create_review("Review.", event="REQUEST_CHANGES", comments=[inline(12), comment])
    assert refused.value.code == 422
    assert refused.value.msg == "Unprocessable Entity"
    assert refused.value.errors == [error]
    body = refused.value.response.json()
    assert body["documentation_url"].startswith("https://docs.github.com/rest/pulls/reviews")
    assert server.reviews(REPO, 1) == [] and server.review_comments(REPO, 1) == []
    assert server.pull(REPO, 1).updated_at == "2024-02-28T10:00:00Z"


def test_review_rules_as_on_github(server: FakeGitHub, repo: Any) -> None:
    server.add_pull(REPO, author=BOT, title="Bot's own", created_at="2024-02-29T10:00:00Z")
    own = repo.pull_request(2)
    with pytest.raises(github3.exceptions.UnprocessableEntity) as refused:
        own.create_review("LGTM", event="APPROVE")
    assert refused.value.errors == ["Review Can not approve your own pull request"]
    with pytest.raises(github3.exceptions.UnprocessableEntity) as refused:
        repo.pull_request(1).create_review("", event="REQUEST_CHANGES")
    assert refused.value.errors == ["Body can't be blank"]
    pending = repo.pull_request(1).create_review("Draft.", comments=[inline(11)])
    assert pending.state == "PENDING" and pending.submitted_at is None
    with pytest.raises(github3.exceptions.UnprocessableEntity):
        repo.pull_request(1).create_review("Another draft.")
    assert pending.submit("Done.", event="COMMENT") is True
    assert pending.state == "COMMENTED" and pending.body == "Done."


def test_single_review_comments_replies_and_edits(server: FakeGitHub, pr: Any) -> None:
    comment = pr.create_review_comment("Why?", pr.head.sha, "src/app.py", 4)  # position 4: line 11
    assert (comment.as_dict()["line"], comment.position) == (11, 4)
    reply = comment.reply("Because.")
    assert reply.as_dict()["in_reply_to_id"] == comment.id
    assert comment.edit("Why strip?") is True and comment.body == "Why strip?"
    assert [c.body for c in server.review_comments(REPO, 1)] == ["Why strip?", "Because."]
    status, body = raw(
        server,
        "POST",
        f"/repos/{REPO}/pulls/1/comments",
        {"body": "x", "commit_id": pr.head.sha, "path": "src/app.py", "line": 40},
    )
    assert status == 422 and body["errors"][0]["field"] == "pull_request_review_thread.line"
    assert reply.delete() is True
    assert len(server.review_comments(REPO, 1)) == 1


# -- commit statuses ----------------------------------------------------------------------------


def test_statuses_are_created_listed_and_combined(
    server: FakeGitHub, repo: Any, pr: Any, clock: Clock
) -> None:
    sha = pr.head.sha
    pending = repo.create_status(
        sha,
        "pending",
        target_url="https://ci.example.test/1",
        description="Reviewing",
        context="teamlens/review",
    )
    assert isinstance(pending, github3.repos.status.Status)
    assert (pending.state, pending.context, pending.creator.login) == (
        "pending",
        "teamlens/review",
        BOT,
    )
    clock.advance()
    repo.create_status(sha, "success", description="2 remarks", context="teamlens/review")
    repo.create_status(sha, "failure", context="ci/tests")

    assert [s.state for s in repo.statuses(sha)] == [
        "failure",
        "success",
        "pending",
    ]  # newest first
    commit = repo.commit(sha)
    assert [s.state for s in commit.statuses()] == ["failure", "success", "pending"]
    combined = commit.status()
    assert (combined.state, combined.total_count, combined.sha) == ("failure", 2, sha)
    assert {s.context: s.state for s in combined.statuses} == {
        "teamlens/review": "success",
        "ci/tests": "failure",
    }
    assert [(s.state, s.description) for s in server.statuses(REPO, sha)] == [
        ("pending", "Reviewing"),
        ("success", "2 remarks"),
        ("failure", None),
    ]
    with pytest.raises(github3.exceptions.UnprocessableEntity):
        repo.create_status(sha, "done")
    with pytest.raises(github3.exceptions.UnprocessableEntity) as refused:
        repo.create_status("0" * 40, "success")
    assert refused.value.msg == f"No commit found for SHA: {'0' * 40}"
    assert len(server.statuses(REPO, sha)) == 3


# -- reactions ----------------------------------------------------------------------------------


def test_reactions_are_read_back(server: FakeGitHub, gh: Any, pr: Any) -> None:
    comment = pr.create_comment("Please react.")
    review_comment = server.add_review_comment(
        REPO,
        1,
        user="octo-alice",
        body="Hm.",
        created_at="2024-03-01T08:00:00Z",
        path="src/app.py",
        line=12,
    )
    server.add_reaction("issue_comment", comment.id, user="octo-alice", content="+1")
    server.add_reaction("issue_comment", comment.id, user="octo-bob", content="heart")
    server.add_reaction("issue_comment", comment.id, user="octo-bob", content="heart")  # once
    server.add_reaction("review_comment", review_comment.id, user=BOT, content="eyes")

    (listed,) = pr.issue_comments()
    rollup = listed.as_dict()["reactions"]
    assert (rollup["total_count"], rollup["+1"], rollup["heart"]) == (2, 1, 1)
    # github3.py 4.0.1 has no reactions API: read the rollup's url through its session
    response = gh.session.get(rollup["url"])
    assert response.status_code == 200
    assert [(r["user"]["login"], r["content"]) for r in response.json()] == [
        ("octo-alice", "+1"),
        ("octo-bob", "heart"),
    ]
    assert [
        r["content"] for r in gh.session.get(rollup["url"], params={"content": "heart"}).json()
    ] == ["heart"]
    (on_review,) = pr.review_comments()
    url = on_review.as_dict()["reactions"]["url"]
    assert url == f"{server.api_url}/repos/{REPO}/pulls/comments/{review_comment.id}/reactions"
    assert [r["content"] for r in gh.session.get(url).json()] == ["eyes"]

    created = gh.session.post(rollup["url"], json={"content": "rocket"})
    assert created.status_code == 201 and created.json()["user"]["login"] == BOT
    assert gh.session.post(rollup["url"], json={"content": "rocket"}).status_code == 200
    assert gh.session.post(rollup["url"], json={"content": "wow"}).status_code == 422
    assert [r.content for r in server.reactions("issue_comment", comment.id)] == [
        "+1",
        "heart",
        "rocket",
    ]


# -- check runs (GitHub App installation) -------------------------------------------------------


def private_key_pem() -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def test_check_runs_as_an_app_installation(server: FakeGitHub, gh: Any, pr: Any) -> None:
    app = github3.GitHubEnterprise(server.url)
    # PyJWT >= 2.10 wants the issuer as a string; github3.py passes app_id through as given
    app.login_as_app_installation(private_key_pem(), str(APP_ID), INSTALLATION_ID)
    repo = app.repository("octo-org", "widgets")
    run = repo.create_check_run(
        "teamlens review",
        pr.head.sha,
        status="in_progress",
        output={"title": "Reviewing", "summary": "Looking at 2 files."},
    )
    assert isinstance(run, github3.checks.CheckRun)
    assert (run.status, run.conclusion, run.app.id) == ("in_progress", None, APP_ID)
    assert [p.number for p in run.original_pull_requests] == [1]
    note = {
        "path": "src/app.py",
        "start_line": 12,
        "end_line": 12,
        "annotation_level": "warning",
        "message": "Stripping twice?",
    }
    assert run.update(
        conclusion="neutral",
        output={"title": "2 remarks", "summary": "See the review.", "annotations": [note]},
    )
    assert (run.status, run.conclusion, run.output.annotations_count) == ("completed", "neutral", 1)
    assert [a.message for a in run.output.annotations()] == ["Stripping twice?"]
    (stored,) = server.check_runs(REPO)
    assert (stored.name, stored.status, stored.conclusion, stored.summary) == (
        "teamlens review",
        "completed",
        "neutral",
        "See the review.",
    )
    # the installation acts as the App's bot; anyone reads its check runs
    assert repo.pull_request(1).create_comment("From the App.").user.login == "octo-review[bot]"
    assert [
        r.id for r in gh.repository("octo-org", "widgets").commit(pr.head.sha).check_runs()
    ] == [run.id]
    with pytest.raises(github3.exceptions.ForbiddenError) as refused:
        app.me()
    assert refused.value.msg == "Resource not accessible by integration"


def test_check_runs_refuse_a_user_token(server: FakeGitHub, gh: Any, pr: Any) -> None:
    status, body = raw(
        server, "POST", f"/repos/{REPO}/check-runs", {"name": "x", "head_sha": pr.head.sha}
    )
    assert (status, body["message"]) == (403, "You must authenticate via a GitHub App.")
    with pytest.raises(github3.exceptions.MissingAppInstallationAuthentication):
        gh.repository("octo-org", "widgets").create_check_run("x", pr.head.sha)
    assert server.check_runs(REPO) == []
    wrong_app = github3.GitHubEnterprise(server.url)
    with pytest.raises(github3.exceptions.AuthenticationFailed):
        wrong_app.login_as_app_installation(private_key_pem(), str(APP_ID + 1), INSTALLATION_ID)


# -- concurrency --------------------------------------------------------------------------------


def test_concurrent_posts_each_get_their_own_comment(server: FakeGitHub) -> None:
    def post(n: int) -> None:
        client = github3.GitHubEnterprise(server.url, token=TOKEN)
        client.repository("octo-org", "widgets").issue(1).create_comment(f"parallel {n}")

    threads = [threading.Thread(target=post, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    comments = server.issue_comments(REPO, 1)
    assert sorted(c.body for c in comments) == sorted(f"parallel {n}" for n in range(8))
    assert len({c.id for c in comments}) == 8 and server.pull(REPO, 1).comments == 8
