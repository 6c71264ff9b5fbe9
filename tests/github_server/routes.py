"""Routing: which resource answers a GET, and the table of write endpoints."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar
from urllib.parse import unquote

from tests.github_server.checks import _Checks
from tests.github_server.protocol import _Call, _HttpError, _invalid, _parse_body
from tests.github_server.records import DOCS, IssueComment, Json, Repository, ReviewComment

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


class _Routes(_Checks):
    """Maps an API path to the resource that answers it."""

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
