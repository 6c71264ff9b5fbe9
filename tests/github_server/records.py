"""The records the fake GitHub holds (frozen dataclasses), their types and GitHub's limits."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

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
