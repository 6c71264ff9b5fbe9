"""Review facts per change: was the pull request that merged it reviewed, how, how fast.

A change belongs to a merged pull request when it is the pull request's merge commit
(squash and rebase merges put the work there) or a non-merge commit reachable from the
pull request's head but not from its base (merge-commit merges). Per change:

``reviewed``
    someone other than the author, and not a bot, submitted a review;
``review_rounds``
    distinct head commits that received such a review (each push that was reviewed);
``hours_to_first_review``
    from the pull request's creation to the first such review;
``n_reviewers``
    distinct such reviewers: a count of pseudonyms, never the pseudonyms.

These facts exist only after review, so they are not model features: the review bot
sees a pull request when it opens, before any review. Team trends read them (review
coverage and latency).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import pyarrow as pa
import pygit2

from teamlens.store import SCHEMAS, RepoWriter

SCHEMA = SCHEMAS["change_reviews"]


def _latest(table: pa.Table) -> pa.Table:
    """Rows of each pull request's latest fetch only."""
    if table.num_rows == 0:
        return table
    latest: dict[int, int] = {}
    for number, fetch in zip(
        table["number"].to_pylist(), table["fetch_id"].to_pylist(), strict=True
    ):
        latest[number] = max(latest.get(number, 0), fetch)
    keep = [
        latest[n] == f
        for n, f in zip(table["number"].to_pylist(), table["fetch_id"].to_pylist(), strict=True)
    ]
    return table.filter(pa.array(keep))


def _pr_commits(
    repo: pygit2.Repository, head: str | None, base: str | None, known: set[str]
) -> set[str]:
    if not head or head not in repo or (base and base not in repo):
        return set()
    walker = repo.walk(pygit2.Oid(hex=head), pygit2.enums.SortMode.TOPOLOGICAL)
    if base:
        walker.hide(pygit2.Oid(hex=base))
    return {str(c.id) for c in walker if len(c.parents) <= 1 and str(c.id) in known}


def review_facts(
    writer: RepoWriter, name: str, repo: pygit2.Repository, changes: Iterable[str]
) -> pa.Table:
    """One row per change merged through a reviewed-or-not pull request."""
    known = set(changes)
    pulls = _latest(writer.read("pull_requests"))
    reviews = _latest(writer.read("reviews"))
    by_pr: dict[int, list[tuple[str, bool, str | None, dt.datetime | None]]] = {}
    for number, who, bot, commit, when in zip(
        reviews["number"].to_pylist(),
        reviews["reviewer_id"].to_pylist(),
        reviews["reviewer_is_bot"].to_pylist(),
        reviews["commit_id"].to_pylist(),
        reviews["submitted_at"].to_pylist(),
        strict=True,
    ):
        by_pr.setdefault(number, []).append((who, bool(bot), commit, when))
    rows: dict[str, list[object]] = {c: [] for c in SCHEMA.names}
    seen: set[str] = set()
    for pr in pulls.to_pylist():
        if pr["merged_at"] is None:
            continue
        shas = _pr_commits(repo, pr["head_sha"], pr["base_sha"], known)
        if pr["merge_commit_sha"] in known:
            shas.add(pr["merge_commit_sha"])
        human = [r for r in by_pr.get(pr["number"], []) if not r[1] and r[0] != pr["author_id"]]
        times = sorted(r[3] for r in human if r[3] is not None)
        first = (
            (times[0] - pr["created_at"]).total_seconds() / 3600
            if times and pr["created_at"] is not None
            else None
        )
        for sha in sorted(shas - seen):
            seen.add(sha)
            for column, value in (
                ("repo", name),
                ("sha", sha),
                ("number", pr["number"]),
                ("reviewed", bool(human)),
                ("review_rounds", len({r[2] for r in human if r[2]})),
                ("hours_to_first_review", first),
                ("n_reviewers", len({r[0] for r in human})),
            ):
                rows[column].append(value)
    return pa.Table.from_pydict(rows, schema=SCHEMA)
