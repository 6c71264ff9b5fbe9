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
    labelled_people: int = 0  # distinct authors of the labelled changes (counted only)


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
        repo: (mature, inducing, people)
        for repo, mature, inducing, people in store.query(
            "SELECT ch.repo, count(ch.is_inducing), count(*) FILTER (WHERE ch.is_inducing),"
            " count(DISTINCT c.author_id) FILTER (WHERE ch.is_inducing IS NOT NULL)"
            " FROM changes ch JOIN commits_all c USING (repo, sha) GROUP BY ch.repo"
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
            labelled_changes=labelled.get(r, (0, 0, 0))[0],
            inducing_changes=labelled.get(r, (0, 0, 0))[1],
            labelled_people=labelled.get(r, (0, 0, 0))[2],
        )
        for r, n, m, f, first, last, enough in rows
    ]


def label_totals(labelled: int, inducing: int, people: int, k: int) -> str:
    """A repository's label totals as commands print them: the number of defect-inducing
    changes only with at least k people behind the labelled ones (it is a published
    figure; in a repository of one person it would be theirs)."""
    if labelled == 0:
        return "0 changes labelled"
    if people >= k:
        return f"{labelled} changes labelled, {inducing} defect-inducing"
    return f"{labelled} changes labelled (defect-inducing count hidden: fewer than {k} people)"


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
            + label_totals(s.labelled_changes, s.inducing_changes, s.labelled_people, k)
        )
    return "\n".join(lines)
