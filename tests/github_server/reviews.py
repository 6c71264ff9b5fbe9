"""Reviews and review comments: the records, threads in the diff, visibility and documents."""

from __future__ import annotations

import dataclasses

from tests.github_server.diff import _locate
from tests.github_server.protocol import _HttpError
from tests.github_server.reactions import _Reactions
from tests.github_server.records import (
    Json,
    PullRequest,
    Repository,
    Review,
    ReviewComment,
    ReviewState,
    Side,
    Timestamp,
    _iso_or_none,
    _node_id,
    iso,
)


class _Reviews(_Reactions):
    """Reviews and review comments as data (the writes are in review_writes)."""

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

    def _reviews_of(self, pull: PullRequest) -> list[Review]:
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

    def _comment_visible(self, comment: ReviewComment, viewer: str) -> bool:
        """A PENDING review's comments show only to the review's author, as on GitHub."""
        review = self._reviews.get(comment.review_id)
        return review is None or review.state != "PENDING" or review.user == viewer

    def _review_comment_in(self, repo: Repository, ident: str, viewer: str) -> ReviewComment:
        comment = self._comments.get(int(ident))
        if (
            comment is None
            or comment.repo != repo.full_name
            or not self._comment_visible(comment, viewer)
        ):
            raise _HttpError(404, "Not Found")
        return comment

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
