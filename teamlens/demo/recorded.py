"""The demo's pull requests and reviews, as GitHub's REST API would answer for them.

The newer changes of the demo history went through pull requests: each is squash-merged
as its commit, reviewed by one or two teammates, sometimes with a comment on one of its
added lines. :func:`record_pull_requests` writes GitHub's JSON documents for them (the
fields the GitHub miner and github3.py read), so the real miner fetches them from
:mod:`teamlens.demo.replay` and everything passes through its privacy handling:
logins become keyed pseudonyms, profile names and e-mails are scrubbed from texts.
"""

from __future__ import annotations

import datetime as dt
import difflib
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from teamlens.demo.company import Company, Person
from teamlens.demo.history import ChangeKind, ChangeRecord

Json = dict[str, Any]
OWNER = "demo-company"
REPO = "shop"

_COMMENTS = (
    "Could this handle an empty {noun}?",
    "Maybe add a test for this branch.",
    "Is {noun} ever negative here?",
    "This condition looks inverted to me; can you double-check?",
    "Nice, much easier to read.",
    "Would a constant make this number clearer?",
)


def iso(seconds: int) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Recording:
    """GitHub's answers by API path (no ``/api/v3`` prefix), and the pull list."""

    base_url: str = "http://127.0.0.1"
    documents: dict[str, Any] = field(default_factory=dict)
    pulls: list[Json] = field(default_factory=list)  # short form, for the list endpoint

    @property
    def full_name(self) -> str:
        return f"{OWNER}/{REPO}"


def _bodies(text: str) -> Json:
    return {"body": text, "body_html": f"<p>{text}</p>" if text else "", "body_text": text}


def _user(login: str, base: str) -> Json:
    api = f"{base}/api/v3/users/{login}"
    return {
        "login": login,
        "id": int(login.rsplit("-", 1)[-1]) if login[-1].isdigit() else 1,
        "node_id": f"U_{login}",
        "avatar_url": f"{base}/avatars/{login}",
        "gravatar_id": "",
        "url": api,
        "html_url": f"{base}/{login}",
        "followers_url": f"{api}/followers",
        "following_url": f"{api}/following{{/other_user}}",
        "gists_url": f"{api}/gists{{/gist_id}}",
        "starred_url": f"{api}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"{api}/subscriptions",
        "organizations_url": f"{api}/orgs",
        "repos_url": f"{api}/repos",
        "events_url": f"{api}/events{{/privacy}}",
        "received_events_url": f"{api}/received_events",
        "type": "Organization" if login == OWNER else "User",
        "site_admin": False,
    }


def _profile(person: Person, base: str, created: str) -> Json:
    doc = _user(person.login, base)
    doc.update(
        {
            "name": person.name,
            "company": None,
            "blog": "",
            "location": None,
            "email": person.email,
            "hireable": None,
            "bio": None,
            "public_repos": 0,
            "public_gists": 0,
            "followers": 0,
            "following": 0,
            "created_at": created,
            "updated_at": created,
        }
    )
    return doc


def _repo(base: str, created: str, updated: str) -> Json:
    r = f"{base}/api/v3/repos/{OWNER}/{REPO}"
    urls = {
        f"{name}_url": f"{r}/{path}"
        for name, path in {
            "forks": "forks",
            "keys": "keys{/key_id}",
            "collaborators": "collaborators{/collaborator}",
            "teams": "teams",
            "hooks": "hooks",
            "issue_events": "issues/events{/number}",
            "events": "events",
            "assignees": "assignees{/user}",
            "branches": "branches{/branch}",
            "tags": "tags",
            "blobs": "git/blobs{/sha}",
            "git_tags": "git/tags{/sha}",
            "git_refs": "git/refs{/sha}",
            "trees": "git/trees{/sha}",
            "statuses": "statuses/{sha}",
            "languages": "languages",
            "stargazers": "stargazers",
            "contributors": "contributors",
            "subscribers": "subscribers",
            "subscription": "subscription",
            "commits": "commits{/sha}",
            "git_commits": "git/commits{/sha}",
            "comments": "comments{/number}",
            "issue_comment": "issues/comments{/number}",
            "contents": "contents/{+path}",
            "compare": "compare/{base}...{head}",
            "merges": "merges",
            "archive": "{archive_format}{/ref}",
            "downloads": "downloads",
            "issues": "issues{/number}",
            "pulls": "pulls{/number}",
            "milestones": "milestones{/number}",
            "notifications": "notifications{?since,all,participating}",
            "labels": "labels{/name}",
            "releases": "releases{/id}",
            "deployments": "deployments",
        }.items()
    }
    return {
        "id": 1,
        "node_id": "R_1",
        "name": REPO,
        "full_name": f"{OWNER}/{REPO}",
        "private": True,
        "owner": _user(OWNER, base),
        "html_url": f"{base}/{OWNER}/{REPO}",
        "description": "The teamlens demo company's code (synthetic)",
        "fork": False,
        "url": r,
        **urls,
        "created_at": created,
        "updated_at": updated,
        "pushed_at": updated,
        "git_url": f"git://127.0.0.1/{OWNER}/{REPO}.git",
        "ssh_url": f"git@127.0.0.1:{OWNER}/{REPO}.git",
        "clone_url": f"{base}/{OWNER}/{REPO}.git",
        "svn_url": f"{base}/{OWNER}/{REPO}",
        "homepage": None,
        "size": 0,
        "stargazers_count": 0,
        "watchers_count": 0,
        "language": "Python",
        "has_issues": True,
        "has_projects": False,
        "has_downloads": False,
        "has_wiki": False,
        "has_pages": False,
        "forks_count": 0,
        "mirror_url": None,
        "archived": False,
        "disabled": False,
        "open_issues_count": 0,
        "license": None,
        "topics": [],
        "visibility": "private",
        "forks": 0,
        "open_issues": 0,
        "watchers": 0,
        "default_branch": "main",
        "has_discussions": False,
        "allow_forking": False,
        "is_template": False,
        "web_commit_signoff_required": False,
        "permissions": {
            "admin": False,
            "maintain": False,
            "push": False,
            "triage": False,
            "pull": True,
        },
        "temp_clone_token": "",
        "allow_squash_merge": True,
        "allow_merge_commit": False,
        "allow_rebase_merge": False,
        "allow_auto_merge": False,
        "delete_branch_on_merge": True,
        "network_count": 0,
        "subscribers_count": 0,
    }


def _patch(old: str | None, new: str | None) -> tuple[str, int, int]:
    """GitHub's per-file patch (hunks only) and its added and deleted line counts."""
    before = (old or "").splitlines()
    after = (new or "").splitlines()
    lines = list(difflib.unified_diff(before, after, lineterm="", n=3))[2:]
    added = sum(1 for x in lines if x.startswith("+"))
    deleted = sum(1 for x in lines if x.startswith("-"))
    return "\n".join(lines), added, deleted


def _first_added(patch: str) -> tuple[int, int, str] | None:
    """(line in the new file, position in the patch, hunk so far) of the first added line."""
    new_line = 0
    for position, text in enumerate(patch.splitlines()):
        if text.startswith("@@"):
            new_line = int(text.split("+")[1].split(",")[0].split(" ")[0]) - 1
            continue
        if text.startswith("-"):
            continue
        new_line += 1
        if text.startswith("+") and text[1:].strip():
            hunk = "\n".join(patch.splitlines()[: position + 1])
            return new_line, position, hunk
    return None


def record_pull_requests(
    company: Company,
    changes: Sequence[ChangeRecord],
    shas: Sequence[str],
    rng: random.Random,
    base_url: str,
) -> Recording:
    """GitHub's documents for the changes that kept their old texts (the newer ones)."""
    rec = Recording(base_url)
    api = f"/repos/{OWNER}/{REPO}"
    number = 0
    review_id = 1000
    comment_id = 5000
    logins: dict[str, Person] = {}
    created_repo = iso(changes[0].author_time)
    repo_doc = _repo(base_url, created_repo, iso(changes[-1].commit_time))
    for index, change in enumerate(changes):
        if not change.keep_old or index == 0 or rng.random() < 0.15:
            continue  # a few changes go straight to main
        number += 1
        author = change.author
        logins[author.login] = author
        opened = change.author_time - rng.randint(1800, 20 * 3600)
        merged = change.commit_time
        teammates = [p for p in company.members(change.team) if p.number != author.number]
        reviewers = rng.sample(teammates, min(len(teammates), rng.choice((1, 1, 2))))
        files: list[Json] = []
        reviews: list[Json] = []
        comments: list[Json] = []
        for edit in change.edits:
            patch, added, deleted = _patch(edit.old, edit.new)
            status = "added" if edit.old is None else "removed" if edit.new is None else "modified"
            files.append(
                {
                    "sha": shas[index],
                    "filename": edit.path,
                    "status": status,
                    "additions": added,
                    "deletions": deleted,
                    "changes": added + deleted,
                    "blob_url": f"{base_url}/{OWNER}/{REPO}/blob/{shas[index]}/{edit.path}",
                    "raw_url": f"{base_url}/{OWNER}/{REPO}/raw/{shas[index]}/{edit.path}",
                    "contents_url": f"{base_url}/api/v3{api}/contents/{edit.path}",
                    "patch": patch,
                }
            )
        span = max(60, merged - opened)
        for reviewer in reviewers:
            logins[reviewer.login] = reviewer
            review_id += 1
            submitted = opened + rng.randint(span // 4, span - 30)
            # Bug-planting changes got through with fewer questions: less review depth.
            asks = rng.random() < (0.15 if change.bugs_planted else 0.4)
            where = _first_added(files[0]["patch"]) if files and files[0]["patch"] else None
            if asks and where is not None:
                comment_id += 1
                line, position, hunk = where
                noun = company.team(change.team).nouns[comment_id % 8]
                comments.append(
                    {
                        "url": f"{base_url}/api/v3{api}/pulls/comments/{comment_id}",
                        "pull_request_review_id": review_id,
                        "id": comment_id,
                        "node_id": f"RC_{comment_id}",
                        "diff_hunk": hunk,
                        "path": files[0]["filename"],
                        "position": position,
                        "original_position": position,
                        "commit_id": shas[index],
                        "original_commit_id": shas[index],
                        "user": _user(reviewer.login, base_url),
                        **_bodies(rng.choice(_COMMENTS).format(noun=noun)),
                        "created_at": iso(submitted),
                        "updated_at": iso(submitted),
                        "html_url": f"{base_url}/{OWNER}/{REPO}/pull/{number}",
                        "pull_request_url": f"{base_url}/api/v3{api}/pulls/{number}",
                        "author_association": "MEMBER",
                        "_links": {},
                        "start_line": None,
                        "original_start_line": None,
                        "start_side": None,
                        "line": line,
                        "original_line": line,
                        "side": "RIGHT",
                    }
                )
            state = "CHANGES_REQUESTED" if asks and rng.random() < 0.5 else "APPROVED"
            reviews.append(
                {
                    "id": review_id,
                    "node_id": f"PRR_{review_id}",
                    "user": _user(reviewer.login, base_url),
                    **_bodies("" if not asks else "A few questions inline."),
                    "state": state,
                    "html_url": f"{base_url}/{OWNER}/{REPO}/pull/{number}",
                    "pull_request_url": f"{base_url}/api/v3{api}/pulls/{number}",
                    "author_association": "MEMBER",
                    "_links": {},
                    "commit_id": shas[index],
                    "submitted_at": iso(submitted),
                }
            )
        parent = shas[index - 1]
        short = _pull(base_url, number, change, opened, merged, (shas[index], parent), repo_doc)
        full = dict(short)
        full.update(
            {
                "merged": True,
                "mergeable": None,
                "rebaseable": None,
                "mergeable_state": "unknown",
                "merged_by": _user(author.login, base_url),
                "comments": 0,
                "review_comments": len(comments),
                "maintainer_can_modify": False,
                "commits": 1,
                "additions": sum(f["additions"] for f in files),
                "deletions": sum(f["deletions"] for f in files),
                "changed_files": len(files),
            }
        )
        rec.pulls.append(short)
        rec.documents[f"{api}/pulls/{number}"] = full
        rec.documents[f"{api}/pulls/{number}/files"] = files
        rec.documents[f"{api}/pulls/{number}/reviews"] = reviews
        rec.documents[f"{api}/pulls/{number}/comments"] = comments
    rec.pulls.sort(key=lambda p: (p["updated_at"], p["number"]), reverse=True)
    rec.documents[api] = repo_doc
    for login, person in logins.items():
        rec.documents[f"/users/{login}"] = _profile(person, base_url, created_repo)
    rec.documents[f"/users/{OWNER}"] = _user(OWNER, base_url)
    return rec


def _pull(
    base: str,
    number: int,
    change: ChangeRecord,
    opened: int,
    merged: int,
    commits: tuple[str, str],
    repo: Json,
) -> Json:
    author = change.author
    sha, parent = commits
    api = f"{base}/api/v3/repos/{OWNER}/{REPO}"
    branch = f"{change.kind.value}/{number}"
    body = "Fixes a reported problem." if change.kind is ChangeKind.FIX else ""
    return {
        "url": f"{api}/pulls/{number}",
        "id": 90000 + number,
        "node_id": f"PR_{number}",
        "html_url": f"{base}/{OWNER}/{REPO}/pull/{number}",
        "diff_url": f"{base}/{OWNER}/{REPO}/pull/{number}.diff",
        "patch_url": f"{base}/{OWNER}/{REPO}/pull/{number}.patch",
        "issue_url": f"{api}/issues/{number}",
        "number": number,
        "state": "closed",
        "locked": False,
        "title": change.message,
        "user": _user(author.login, base),
        **_bodies(body),
        "created_at": iso(opened),
        "updated_at": iso(merged),
        "closed_at": iso(merged),
        "merged_at": iso(merged),
        "merge_commit_sha": sha,
        "assignee": None,
        "assignees": [],
        "requested_reviewers": [],
        "requested_teams": [],
        "labels": [],
        "milestone": None,
        "draft": False,
        "commits_url": f"{api}/pulls/{number}/commits",
        "review_comments_url": f"{api}/pulls/{number}/comments",
        "review_comment_url": f"{api}/pulls/comments{{/number}}",
        "comments_url": f"{api}/issues/{number}/comments",
        "statuses_url": f"{api}/statuses/{sha}",
        "head": {
            "label": f"{author.login}:{branch}",
            "ref": branch,
            "sha": sha,
            "user": _user(author.login, base),
            "repo": repo,
        },
        "base": {
            "label": f"{OWNER}:main",
            "ref": "main",
            "sha": parent,
            "user": _user(OWNER, base),
            "repo": repo,
        },
        "_links": {},
        "author_association": "MEMBER",
        "auto_merge": None,
        "active_lock_reason": None,
    }
