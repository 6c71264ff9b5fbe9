"""Pull requests: the records, the list with its filters and sorts, files and documents."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import quote

from tests.github_server.protocol import _HttpError
from tests.github_server.records import (
    FileChange,
    Json,
    PullRequest,
    PullState,
    Repository,
    Timestamp,
    _fake_sha,
    _iso_or_none,
    _node_id,
    iso,
)
from tests.github_server.repositories import _Repositories


def _by_number(pull: PullRequest) -> int:
    return pull.number


class _Pulls(_Repositories):
    """Pull requests and their changed files."""

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

    def _pull_in(self, repo: Repository, number: str) -> PullRequest:
        pull = self._pulls.get((repo.full_name, int(number)))
        if pull is None:
            raise _HttpError(404, "Not Found")
        return pull

    def _pull_commit(self, pull: PullRequest, sha: str) -> bool:
        """Whether ``sha`` is one of the PR's commits: its head, now or before a push."""
        return sha == pull.head_sha or sha in self._past_heads.get((pull.repo, pull.number), [])

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
