"""The write API of reviews and review comments, with GitHub's validation."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any, cast

from tests.github_server.diff import _diff_rows, _row_at
from tests.github_server.protocol import (
    _Call,
    _choice,
    _HttpError,
    _invalid,
    _opt,
    _req,
    _unprocessable,
    _validation_failed,
)
from tests.github_server.records import (
    _DOCS_REACTIONS,
    _DOCS_REVIEW_COMMENTS,
    _DOCS_REVIEWS,
    BODY_LIMIT,
    REVIEW_EVENTS,
    Json,
    PullRequest,
    ReviewState,
    Side,
)
from tests.github_server.reviews import _Reviews


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


class _ReviewWrites(_Reviews):
    """POST/PATCH/DELETE of reviews, review comments and their replies."""

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

    def _post_review_reaction(self, call: _Call) -> tuple[int, Any]:
        comment = self._review_comment_in(call.repo, call.args[0], call.viewer)
        docs = _DOCS_REACTIONS + "#create-reaction-for-a-pull-request-review-comment"
        return self._post_reaction(call, "review_comment", comment.id, docs)
