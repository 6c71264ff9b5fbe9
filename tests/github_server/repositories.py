"""Repositories: ``/repos/{o}/{r}`` and ``/repositories/{id}``, owners, members and labels."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import quote, unquote

from tests.github_server.protocol import _HttpError
from tests.github_server.records import (
    DEFAULT_TIME,
    Json,
    Repository,
    Timestamp,
    _fake_sha,
    _node_id,
    iso,
)
from tests.github_server.users import _Users


class _Repositories(_Users):
    """Repositories and their documents."""

    def add_repo(
        self,
        full_name: str,
        *,
        description: str | None = None,
        default_branch: str = "main",
        private: bool = False,
        language: str | None = "Python",
        created_at: Timestamp = DEFAULT_TIME,
        members: Sequence[str] = (),
    ) -> Repository:
        owner, _, name = full_name.partition("/")
        if not owner or not name or "/" in name:
            raise ValueError(f"{full_name!r} is not owner/name")
        with self._lock:
            for login in (owner, *members):
                self.user(login)
            if full_name.lower() in self._repos:
                raise ValueError(f"repository {full_name} exists")
            repo = Repository(
                id=self._next_id("repo"),
                owner=owner,
                name=name,
                description=description,
                default_branch=default_branch,
                private=private,
                language=language,
                created_at=iso(created_at),
                members=tuple(members),
            )
            self._repos[full_name.lower()] = repo
            return repo

    def repo(self, full_name: str) -> Repository:
        with self._lock:
            try:
                return self._repos[full_name.lower()]
            except KeyError:
                raise KeyError(f"unknown repository {full_name!r}: add_repo() it first") from None

    def _find_repo(self, owner: str | None, name: str | None, ident: str | None) -> Repository:
        if ident is not None:
            found = next((r for r in self._repos.values() if r.id == int(ident)), None)
        else:
            found = self._repos.get(f"{unquote(owner or '')}/{unquote(name or '')}".lower())
        if found is None:
            raise _HttpError(404, "Not Found")
        return found

    def _association(self, repo_name: str, login: str) -> str:
        repo = self._repos[repo_name.lower()]
        if login == repo.owner:
            return "OWNER"
        if login in repo.members:
            return "MEMBER"
        return "CONTRIBUTOR"

    def _repo_json(self, repo: Repository, *, full: bool = False) -> Json:
        r = f"{self.api_url}/repos/{repo.full_name}"
        pulls = [p for p in self._pulls.values() if p.repo == repo.full_name]
        stamps = [repo.created_at, *(p.updated_at for p in pulls)]
        open_count = sum(1 for p in pulls if p.state == "open")
        doc: Json = {
            "id": repo.id,
            "node_id": _node_id("Repository", repo.id),
            "name": repo.name,
            "full_name": repo.full_name,
            "private": repo.private,
            "owner": self._user_json(self.user(repo.owner)),
            "html_url": f"{self.url}/{repo.full_name}",
            "description": repo.description,
            "fork": False,
            "url": r,
            "forks_url": f"{r}/forks",
            "keys_url": f"{r}/keys{{/key_id}}",
            "collaborators_url": f"{r}/collaborators{{/collaborator}}",
            "teams_url": f"{r}/teams",
            "hooks_url": f"{r}/hooks",
            "issue_events_url": f"{r}/issues/events{{/number}}",
            "events_url": f"{r}/events",
            "assignees_url": f"{r}/assignees{{/user}}",
            "branches_url": f"{r}/branches{{/branch}}",
            "tags_url": f"{r}/tags",
            "blobs_url": f"{r}/git/blobs{{/sha}}",
            "git_tags_url": f"{r}/git/tags{{/sha}}",
            "git_refs_url": f"{r}/git/refs{{/sha}}",
            "trees_url": f"{r}/git/trees{{/sha}}",
            "statuses_url": f"{r}/statuses/{{sha}}",
            "languages_url": f"{r}/languages",
            "stargazers_url": f"{r}/stargazers",
            "contributors_url": f"{r}/contributors",
            "subscribers_url": f"{r}/subscribers",
            "subscription_url": f"{r}/subscription",
            "commits_url": f"{r}/commits{{/sha}}",
            "git_commits_url": f"{r}/git/commits{{/sha}}",
            "comments_url": f"{r}/comments{{/number}}",
            "issue_comment_url": f"{r}/issues/comments{{/number}}",
            "contents_url": f"{r}/contents/{{+path}}",
            "compare_url": f"{r}/compare/{{base}}...{{head}}",
            "merges_url": f"{r}/merges",
            "archive_url": f"{r}/{{archive_format}}{{/ref}}",
            "downloads_url": f"{r}/downloads",
            "issues_url": f"{r}/issues{{/number}}",
            "pulls_url": f"{r}/pulls{{/number}}",
            "milestones_url": f"{r}/milestones{{/number}}",
            "notifications_url": f"{r}/notifications{{?since,all,participating}}",
            "labels_url": f"{r}/labels{{/name}}",
            "releases_url": f"{r}/releases{{/id}}",
            "deployments_url": f"{r}/deployments",
            "created_at": repo.created_at,
            "updated_at": max(stamps),
            "pushed_at": max(stamps),
            "git_url": f"git://127.0.0.1:{self.port}/{repo.full_name}.git",
            "ssh_url": f"git@127.0.0.1:{repo.full_name}.git",
            "clone_url": f"{self.url}/{repo.full_name}.git",
            "svn_url": f"{self.url}/{repo.full_name}",
            "homepage": None,
            "size": 0,
            "stargazers_count": 0,
            "watchers_count": 0,
            "language": repo.language,
            "has_issues": True,
            "has_projects": True,
            "has_downloads": True,
            "has_wiki": True,
            "has_pages": False,
            "has_discussions": False,
            "forks_count": 0,
            "mirror_url": None,
            "archived": False,
            "disabled": False,
            "open_issues_count": open_count,
            "license": None,
            "allow_forking": True,
            "is_template": False,
            "web_commit_signoff_required": False,
            "topics": [],
            "visibility": "private" if repo.private else "public",
            "forks": 0,
            "open_issues": open_count,
            "watchers": 0,
            "default_branch": repo.default_branch,
        }
        if full:
            doc.update(
                {
                    "permissions": {
                        "admin": False,
                        "maintain": False,
                        "push": False,
                        "triage": False,
                        "pull": True,
                    },
                    "temp_clone_token": "",
                    "allow_squash_merge": True,
                    "allow_merge_commit": True,
                    "allow_rebase_merge": True,
                    "allow_auto_merge": False,
                    "delete_branch_on_merge": False,
                    "network_count": 0,
                    "subscribers_count": 0,
                }
            )
        return doc

    def _label_json(self, repo: Repository, name: str) -> Json:
        ident = int(_fake_sha("label", repo.full_name, name)[:8], 16)
        return {
            "id": ident,
            "node_id": _node_id("Label", ident),
            "url": f"{self.api_url}/repos/{repo.full_name}/labels/{quote(name, safe='')}",
            "name": name,
            "color": _fake_sha("color", name)[:6],
            "default": False,
            "description": None,
        }
