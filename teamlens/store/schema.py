"""The fact tables as stored (Arrow schemas) and the query views over them."""

from __future__ import annotations

from collections.abc import Mapping

import pyarrow as pa

from teamlens.feature_registry import change_features_schema

_UTC = pa.timestamp("s", tz="UTC")

#: Fact tables as stored. docs/schema.md documents every column.
SCHEMAS: Mapping[str, pa.Schema] = {
    "commits": pa.schema(
        [
            ("repo", pa.string()),
            ("sha", pa.string()),
            ("parent_shas", pa.list_(pa.string())),
            ("is_merge", pa.bool_()),
            ("author_time", _UTC),
            ("author_tz", pa.int16()),
            ("commit_time", _UTC),
            ("committer_tz", pa.int16()),
            ("author_id", pa.string()),
            ("committer_id", pa.string()),
            ("message_subject", pa.string()),
            ("is_fix", pa.bool_()),
            ("n_files", pa.int32()),
            ("added", pa.int64()),
            ("deleted", pa.int64()),
        ]
    ),
    "file_changes": pa.schema(
        [
            ("repo", pa.string()),
            ("sha", pa.string()),
            ("path", pa.string()),
            ("old_path", pa.string()),
            ("change_type", pa.string()),
            ("added", pa.int64()),
            ("deleted", pa.int64()),
            ("is_binary", pa.bool_()),
            ("is_submodule", pa.bool_()),
            ("similarity", pa.int16()),
            ("language", pa.string()),
        ]
    ),
    "lost_commits": pa.schema(
        [
            ("repo", pa.string()),
            ("sha", pa.string()),
            ("ref", pa.string()),
            ("old_tip", pa.string()),
            ("new_tip", pa.string()),
            ("detected_at", _UTC),
            ("event", pa.string()),
        ]
    ),
    "szz_links": pa.schema(
        [
            ("repo", pa.string()),
            ("fix_sha", pa.string()),
            ("inducing_sha", pa.string()),
            ("path", pa.string()),
            ("variant", pa.string()),
            ("lines", pa.int32()),
        ]
    ),
    "szz_fixes": pa.schema(
        [
            ("repo", pa.string()),
            ("fix_sha", pa.string()),
            ("variant", pa.string()),
            ("links", pa.int32()),
            ("labelled_at", _UTC),
        ]
    ),
    # One column per registered feature (teamlens.feature_registry), after the keys.
    "change_features": change_features_schema(),
    "changed_functions": pa.schema(
        [
            ("repo", pa.string()),
            ("sha", pa.string()),
            ("path", pa.string()),
            ("function", pa.string()),
            ("start_line", pa.int32()),
            ("complexity_before", pa.int32()),
            ("complexity_after", pa.int32()),
        ]
    ),
    "change_labels": pa.schema(
        [
            ("repo", pa.string()),
            ("sha", pa.string()),
            ("variant", pa.string()),
            ("is_inducing", pa.bool_()),
        ]
    ),
    "change_reviews": pa.schema(
        [
            ("repo", pa.string()),
            ("sha", pa.string()),
            ("number", pa.int64()),
            ("reviewed", pa.bool_()),
            ("review_rounds", pa.int32()),
            ("hours_to_first_review", pa.float64()),
            ("n_reviewers", pa.int32()),
        ]
    ),
    # GitHub facts. Every fetch of a pull request appends its rows under a new
    # `fetch_id`; the views show each pull request's latest fetch only.
    "pull_requests": pa.schema(
        [
            ("repo", pa.string()),
            ("number", pa.int64()),
            ("fetch_id", pa.int64()),
            ("state", pa.string()),
            ("is_draft", pa.bool_()),
            ("author_id", pa.string()),
            ("author_is_bot", pa.bool_()),
            ("title", pa.string()),
            ("created_at", _UTC),
            ("updated_at", _UTC),
            ("closed_at", _UTC),
            ("merged_at", _UTC),
            ("merge_commit_sha", pa.string()),
            ("base_ref", pa.string()),
            ("base_sha", pa.string()),
            ("head_ref", pa.string()),
            ("head_sha", pa.string()),
            ("additions", pa.int64()),
            ("deletions", pa.int64()),
            ("changed_files", pa.int32()),
            ("issue_comments", pa.int32()),
        ]
    ),
    "pull_request_files": pa.schema(
        [
            ("repo", pa.string()),
            ("number", pa.int64()),
            ("fetch_id", pa.int64()),
            ("path", pa.string()),
            ("previous_path", pa.string()),
            ("status", pa.string()),
            ("additions", pa.int64()),
            ("deletions", pa.int64()),
            ("patch", pa.string()),
        ]
    ),
    "reviews": pa.schema(
        [
            ("repo", pa.string()),
            ("number", pa.int64()),
            ("fetch_id", pa.int64()),
            ("review_id", pa.int64()),
            ("reviewer_id", pa.string()),
            ("reviewer_is_bot", pa.bool_()),
            ("state", pa.string()),
            ("submitted_at", _UTC),
            ("commit_id", pa.string()),
            ("body", pa.string()),
        ]
    ),
    "review_comments": pa.schema(
        [
            ("repo", pa.string()),
            ("number", pa.int64()),
            ("fetch_id", pa.int64()),
            ("comment_id", pa.int64()),
            ("review_id", pa.int64()),
            ("author_id", pa.string()),
            ("author_is_bot", pa.bool_()),
            ("path", pa.string()),
            ("line", pa.int32()),
            ("original_line", pa.int32()),
            ("side", pa.string()),
            ("diff_hunk", pa.string()),
            ("body", pa.string()),
            ("created_at", _UTC),
            ("updated_at", _UTC),
            ("in_reply_to", pa.int64()),
            ("commit_id", pa.string()),
        ]
    ),
}

_LATEST_FETCH = (
    "SELECT repo, number, max(fetch_id) AS fetch_id FROM _pull_requests GROUP BY repo, number"
)

#: Query views over the stored tables. `commits` and `file_changes` show the current
#: history: commits that a force-push or a deleted branch dropped stay in the `*_all`
#: views and are listed in `lost_commits` until a ref reaches them again. The stored
#: events ('lost', then 'restored' if they come back) are in `lost_commit_events`.
_LOST_NOW = (
    "SELECT repo, sha FROM _lost_commits GROUP BY repo, sha"
    " HAVING sum(CASE event WHEN 'lost' THEN 1 ELSE -1 END) > 0"
)
VIEWS: Mapping[str, str] = {
    "change_features": "SELECT * FROM _change_features",
    "changed_functions": "SELECT * FROM _changed_functions",
    "change_labels": "SELECT * FROM _change_labels",
    "change_reviews": "SELECT * FROM _change_reviews",
    "changes": "SELECT f.*, l.variant AS label_variant, l.is_inducing"
    " FROM _change_features f LEFT JOIN _change_labels l USING (repo, sha)",
    "szz_links": "SELECT * FROM _szz_links",
    "szz_fixes": "SELECT * FROM _szz_fixes",
    "commits_all": "SELECT * FROM _commits",
    "file_changes_all": "SELECT * FROM _file_changes",
    "lost_commit_events": "SELECT * FROM _lost_commits",
    "lost_commits": "SELECT * EXCLUDE (event) FROM _lost_commits"  # noqa: S608 - constants
    f" WHERE event = 'lost' AND (repo, sha) IN ({_LOST_NOW})"
    " QUALIFY row_number() OVER (PARTITION BY repo, sha ORDER BY detected_at DESC) = 1",
    "commits": f"SELECT * FROM _commits WHERE (repo, sha) NOT IN ({_LOST_NOW})",  # noqa: S608
    "file_changes": f"SELECT * FROM _file_changes WHERE (repo, sha) NOT IN ({_LOST_NOW})",  # noqa: S608
    **{
        table: f"SELECT t.* EXCLUDE (fetch_id) FROM _{table} t"  # noqa: S608 - constants
        f" JOIN ({_LATEST_FETCH}) latest USING (repo, number, fetch_id)"
        for table in ("pull_requests", "pull_request_files", "reviews", "review_comments")
    },
}
