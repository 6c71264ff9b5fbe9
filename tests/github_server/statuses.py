"""Commits (a pull request's head, merge and base) and their commit statuses."""

from __future__ import annotations

from typing import Any, cast

from tests.github_server.issues import _Issues
from tests.github_server.protocol import _Call, _HttpError, _opt, _req, _validation_failed
from tests.github_server.records import (
    _DOCS_STATUSES,
    STATUS_DESCRIPTION_LIMIT,
    STATUS_STATES,
    CommitStatus,
    FileChange,
    Json,
    PullRequest,
    Repository,
    StatusState,
    Timestamp,
    _fake_sha,
    _node_id,
    iso,
)


class _Statuses(_Issues):
    """Commits and commit statuses: data, documents and the POST handler."""

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
