"""A pull request seen as an issue, and its conversation: issue comments."""

from __future__ import annotations

import dataclasses
from typing import Any

from tests.github_server.protocol import _Call, _HttpError
from tests.github_server.records import (
    _DOCS_ISSUE_COMMENTS,
    _DOCS_REACTIONS,
    IssueComment,
    Json,
    PullRequest,
    Repository,
    Timestamp,
    _node_id,
    iso,
)
from tests.github_server.review_writes import _ReviewWrites


class _Issues(_ReviewWrites):
    """Issues (pull requests) and issue comments: data, documents and writes."""

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

    def _issue_comment_in(self, repo: Repository, ident: str) -> IssueComment:
        comment = self._issue_comments.get(int(ident))
        if comment is None or comment.repo != repo.full_name:
            raise _HttpError(404, "Not Found")
        return comment

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

    def _post_issue_reaction(self, call: _Call) -> tuple[int, Any]:
        comment = self._issue_comment_in(call.repo, call.args[0])
        docs = _DOCS_REACTIONS + "#create-reaction-for-an-issue-comment"
        return self._post_reaction(call, "issue_comment", comment.id, docs)
