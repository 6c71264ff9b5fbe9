"""The ``similar`` rule: past review comments on similar code, from the store.

Past review comments come from the GitHub miner (``review_comments``: the diff hunk a
comment was made on and its text, already scrubbed of people and dropped past the
retention window). They are ranked against the change's hunks with BM25 (bot.similar);
the best one or two above ``review.rules.similar.min_score`` are quoted with a link to
the pull request they were made on. Comments by bots are left out.
"""

from __future__ import annotations

from teamlens.bot.domain import ChangeUnderReview, Suggestion
from teamlens.bot.similar import CommentIndex, PastComment, similar_for_files
from teamlens.config import Config
from teamlens.store.layout import is_stored

_SQL = """
SELECT comment_id, number, path, diff_hunk, body, created_at
FROM review_comments
WHERE repo = ? AND body IS NOT NULL AND NOT author_is_bot AND in_reply_to IS NULL
"""
MAX_QUOTE = 280


def _web_url(config: Config, github: str | None, number: int, comment_id: int) -> str | None:
    if github is None:
        return None
    web = config.github.url or "https://github.com"
    return f"{web}/{github}/pull/{number}#discussion_r{comment_id}"


def load_index(config: Config, repo_name: str) -> CommentIndex | None:
    """The index of `repo_name`'s past review comments, or None when there are none."""
    if not is_stored(config.data_dir, repo_name):
        return None
    from teamlens.store import Store  # pyarrow and DuckDB: only with a store to query

    store = Store(config.data_dir)
    rows = store.query(_SQL, [repo_name]).rows
    if not rows:
        return None
    github = config.repository(repo_name).github
    comments = [
        PastComment(
            comment_id=int(cid),
            path=str(path),
            diff_hunk=str(hunk or ""),
            body=str(body),
            url=_web_url(config, github, int(number), int(cid)),
            created_at=created,
        )
        for cid, number, path, hunk, body, created in rows
    ]
    return CommentIndex.build(comments)


def _quote(text: str) -> str:
    one_line = " ".join(text.split())
    return one_line if len(one_line) <= MAX_QUOTE else one_line[: MAX_QUOTE - 1] + "…"


def similar_suggestions(config: Config, change: ChangeUnderReview) -> list[Suggestion]:
    if "similar" in config.review.disabled_rules:
        return []
    index = load_index(config, change.repo)
    if index is None:
        return []
    limits = config.review.rules["similar"]
    matches = similar_for_files(
        index, change.files, k=int(limits["top"]), min_score=float(limits["min_score"])
    )
    suggestions = []
    for m in matches:
        link = f" ({m.comment.url})" if m.comment.url else ""
        suggestions.append(
            Suggestion(
                "similar",
                f"A review comment on similar code in {m.comment.path}{link}: "
                f"\u201c{_quote(m.comment.body or '')}\u201d",
                details={"score": round(m.score, 2), "comment_id": m.comment.comment_id},
            )
        )
    return suggestions
