"""A short, person-free summary of what the store holds (printed by `teamlens run`)."""

from __future__ import annotations

from dataclasses import dataclass

from teamlens.store import Store


@dataclass(frozen=True)
class RepoSummary:
    repo: str
    commits: int
    merges: int
    fixes: int
    file_changes: int
    first: str
    last: str
    top_languages: tuple[tuple[str, int], ...]
    contributors_at_least_k: bool
    labelled_changes: int = 0
    inducing_changes: int = 0


def summarise(store: Store, k: int) -> list[RepoSummary]:
    """One line of facts per repository. People are only counted against k, never shown."""
    rows = store.query(
        "SELECT repo, count(*), count(*) FILTER (WHERE is_merge), count(*) FILTER (WHERE is_fix),"
        " strftime(min(author_time), '%Y-%m-%d'), strftime(max(author_time), '%Y-%m-%d'),"
        " count(DISTINCT author_id) >= ? FROM commits GROUP BY repo ORDER BY repo",
        [k],
    ).rows
    changes = dict(store.query("SELECT repo, count(*) FROM file_changes GROUP BY repo").rows)
    labelled = {
        repo: (mature, inducing)
        for repo, mature, inducing in store.query(
            "SELECT repo, count(is_inducing), count(*) FILTER (WHERE is_inducing)"
            " FROM changes GROUP BY repo"
        ).rows
    }
    langs: dict[str, list[tuple[str, int]]] = {}
    for repo, language, n in store.query(
        "SELECT repo, language, count(*) AS n FROM file_changes WHERE language IS NOT NULL "
        "GROUP BY repo, language ORDER BY repo, n DESC, language"
    ).rows:
        langs.setdefault(repo, []).append((language, n))
    return [
        RepoSummary(
            repo=r,
            commits=n,
            merges=m,
            fixes=f,
            file_changes=changes.get(r, 0),
            first=first,
            last=last,
            top_languages=tuple(langs.get(r, [])[:3]),
            contributors_at_least_k=bool(enough),
            labelled_changes=labelled.get(r, (0, 0))[0],
            inducing_changes=labelled.get(r, (0, 0))[1],
        )
        for r, n, m, f, first, last, enough in rows
    ]


def format_summary(summaries: list[RepoSummary], k: int) -> str:
    if not summaries:
        return "The store is empty: no commits mined yet."
    lines = []
    for s in summaries:
        langs = ", ".join(f"{lang} {n}" for lang, n in s.top_languages) or "none detected"
        people = (
            f"at least {k} contributors"
            if s.contributors_at_least_k
            else f"fewer than {k} contributors: team figures will stay hidden"
        )
        lines.append(
            f"{s.repo}: {s.commits} commits ({s.merges} merges, {s.fixes} fixes) from {s.first} "
            f"to {s.last}; {s.file_changes} file changes; languages: {langs}; {people}; "
            f"{s.labelled_changes} changes labelled, {s.inducing_changes} defect-inducing"
        )
    return "\n".join(lines)
