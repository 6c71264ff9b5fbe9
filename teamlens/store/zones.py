"""The published zone (DESIGN.md privacy rule 2) and the one-line refusal for a query
that names something of the private zone."""

from __future__ import annotations

import re
from collections.abc import Mapping

from teamlens.store.schema import SCHEMAS, VIEWS

#: The published zone (DESIGN.md privacy rule 2): the stored columns `teamlens query` can
#: read, as an allow-list. Git's own facts only: no person pseudonym, no message text, no
#: teamlens outcome. A column added to SCHEMAS stays private until it is listed here.
PUBLISHED_COLUMNS: Mapping[str, tuple[str, ...]] = {
    "commits": (
        "repo",
        "sha",
        "parent_shas",
        "is_merge",
        "author_time",
        "author_tz",
        "commit_time",
        "committer_tz",
        "is_fix",
        "n_files",
        "added",
        "deleted",
    ),
    "file_changes": tuple(SCHEMAS["file_changes"].names),
    "lost_commits": tuple(SCHEMAS["lost_commits"].names),
}
#: Stored table -> the published relation that holds all its rows (loaded into memory).
_PUBLISHED_TABLES: Mapping[str, str] = {
    "commits": "commits_all",
    "file_changes": "file_changes_all",
    "lost_commits": "lost_commit_events",
}
_PUBLISHED_LOST_NOW = (
    "SELECT repo, sha FROM lost_commit_events GROUP BY repo, sha"
    " HAVING sum(CASE event WHEN 'lost' THEN 1 ELSE -1 END) > 0"
)
#: The views of the published zone, over the loaded tables (the same rows as VIEWS).
_PUBLISHED_VIEWS: Mapping[str, str] = {
    "lost_commits": "SELECT * EXCLUDE (event) FROM lost_commit_events"  # noqa: S608 - constants
    f" WHERE event = 'lost' AND (repo, sha) IN ({_PUBLISHED_LOST_NOW})"
    " QUALIFY row_number() OVER (PARTITION BY repo, sha ORDER BY detected_at DESC) = 1",
    "commits": f"SELECT * FROM commits_all WHERE (repo, sha) NOT IN ({_PUBLISHED_LOST_NOW})",  # noqa: S608
    "file_changes": "SELECT * FROM file_changes_all"  # noqa: S608 - constants
    f" WHERE (repo, sha) NOT IN ({_PUBLISHED_LOST_NOW})",
}
#: Every relation `teamlens query` has: nothing else exists on its connection.
PUBLISHED_RELATIONS: tuple[str, ...] = (
    "commits",
    "commits_all",
    "file_changes",
    "file_changes_all",
    "lost_commits",
    "lost_commit_events",
    "team_period",
)

_OUTCOMES = "change-level outcomes"
_FEATURES = "change-level features"
_GITHUB = "pull requests and reviews, with person pseudonyms"
#: Why a relation of the private zone is private (in the one-line refusal).
_PRIVATE_RELATIONS: Mapping[str, str] = {
    "changes": _OUTCOMES,
    "change_labels": _OUTCOMES,
    "szz_links": _OUTCOMES,
    "szz_fixes": _OUTCOMES,
    "change_features": _FEATURES,
    "changed_functions": _FEATURES,
    "change_reviews": _GITHUB,
    "pull_requests": _GITHUB,
    "pull_request_files": _GITHUB,
    "reviews": _GITHUB,
    "review_comments": _GITHUB,
}
_PRIVATE_COLUMNS: Mapping[str, str] = {
    "author_id": "person pseudonyms",
    "committer_id": "person pseudonyms",
    "reviewer_id": "person pseudonyms",
    "message_subject": "commit messages",
}
_RESEARCH_ROUTE = (
    "`teamlens query` reads the published zone only; researchers use "
    "`teamlens export` (k-anonymous) or `train`/`evaluate`"
)
_MISSING_TABLE_RE = re.compile(r"^Catalog Error: Table with name (.+?) does not exist!")
_MISSING_COLUMN_RE = re.compile(
    r'^Binder Error: (?:Referenced column "([^"]+)" not found|.* does not have a column named'
    r' "([^"]+)")'
)


def _private_zone_refusal(message: str) -> str | None:
    """The refusal for an error caused by naming something of the private zone, if it was."""
    if found := _MISSING_TABLE_RE.match(message):
        name = found.group(1).lower()
        if name in _PRIVATE_RELATIONS:
            why = _PRIVATE_RELATIONS[name]
        elif name.startswith("_") or name in SCHEMAS or name in VIEWS:
            why = "teamlens's internal tables"
        else:
            return None
        return f"{found.group(1)!r} is in teamlens's private zone ({why}); {_RESEARCH_ROUTE}"
    if found := _MISSING_COLUMN_RE.match(message):
        name = (found.group(1) or found.group(2)).lower()
        if name in _PRIVATE_COLUMNS:
            return (
                f"{name!r} is in teamlens's private zone ({_PRIVATE_COLUMNS[name]}); "
                f"{_RESEARCH_ROUTE}"
            )
    return None
