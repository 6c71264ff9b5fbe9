"""SZZ: link fix commits to the commits that induced the lines they fixed.

For every fix commit (a non-merge commit whose message matches ``mining.fix_patterns``):
the lines it deletes or changes → ``git blame -w`` on the fix's parent, restricted to
those lines (git's blame follows whole-file renames) → the commits that last touched
them. Three variants, each a set of filters; ``szz_links.variant`` names the variant:

``b-szz``
    The basic algorithm as PyDriller implements it (``get_commits_last_modified_lines``):
    blame ignoring whitespace, skipping blank lines and lines that *start* like a
    comment (``#``, ``//``, ``/*``, ``*``, ``'''``, ``\"\"\"``). Kept as the field's baseline.
``ag-szz``
    Annotation-graph filters (Kim et al., ASE 2006; Davies et al. 2014): source files
    only; blank and comment-only lines found with tree-sitter (a trailing comment does
    not make a line comment-only); blame looks through *cosmetic* commits, whose code
    tokens (tree-sitter, comments and layout dropped) are unchanged in every file they
    touch; merge commits and bulk commits (more than ``labels.bulk_files`` files) are
    never inducing.
``r-szz``
    AG-SZZ keeping only the most recent inducing commit of each fix (Davies et al.;
    best F1 in Rosa et al., ICSE 2021). The default label.

Five precision filters can be added to AG-SZZ and R-SZZ (``labels.filters``; the
variant's name records them, e.g. ``r-szz+formatting,minor``); docs/szz.md has what each
one does and what it measured on the developer-informed oracle of Rosa et al.:
``formatting`` and ``versions`` look through a candidate whose change to the blamed line
only reformatted it or only changed a version number; ``minor`` drops candidates blamed
for few of the many lines a fix changes; ``added-context`` blames the lines around the
code a fix adds when it deletes nothing worth blaming; ``last-touch`` names, for a fix
left with no candidate, the most recent earlier commit that changed its files.

Nothing here reads or writes an identity: links are between commits. Links and fixes
name stored commits only: `git blame` sees the commits of people who opted out (they
are in git), the store does not, and no link may point at one (DESIGN.md rule 4).

A fix whose objects git cannot read (a missing or corrupt blob, tree or commit, or any
git error on that one fix) is skipped and counted in :class:`LabelReport`; it is not
recorded as labelled, so the next run tries it again. The run stops with a
:class:`~teamlens.errors.RepositoryError` only when the repository as a whole fails:
its folder is gone, its tip commit cannot be read, or its pack files changed while
labelling ran (see :func:`teamlens.mining.blame.whole_repository_fault`).

The fix's diff, `git blame` and the reads behind them are :mod:`teamlens.mining.blame`;
the names it defines that callers know from here are re-exported.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import pyarrow as pa
import pygit2

from teamlens.config import Config, RepositoryConfig
from teamlens.errors import RepositoryError
from teamlens.mining import commitgraph
from teamlens.mining.blame import (
    BLAME_JOBS,
    FOLDER_GONE,
    MAX_SOURCE_BYTES,
    SzzSession,
    UnreadableObject,
    blame,
    deleted_lines,
    stored_path,
    whole_repository_fault,
)
from teamlens.mining.languages import language_of
from teamlens.mining.miner import currently_lost
from teamlens.mining.repository import GitRepository
from teamlens.mining.syntax import comment_or_blank_lines
from teamlens.mining.szz_filters import (
    MINOR_RULE,
    MinorRule,
    context_lines,
    drop_minor,
    last_touch,
    look_through,
)
from teamlens.store import SCHEMAS, RepoWriter, Store

__all__ = [
    "ALL_FILTERS",
    "BLAME_JOBS",
    "DEFAULT_FILTERS",
    "LABEL_BATCH",
    "MAX_SOURCE_BYTES",
    "MINOR_RULE",
    "PRECISION_FILTERS",
    "AgFilter",
    "CommitInfo",
    "FixLinks",
    "LabelReport",
    "MinorRule",
    "ProgressCallback",
    "SzzSession",
    "UnreadableObject",
    "Variant",
    "blame",
    "deleted_lines",
    "label_fix",
    "label_repository",
    "stored_path",
    "variant_name",
]

ProgressCallback = Callable[[str, int, int], None]
#: Fixes labelled between two publishes of links: a killed run keeps what it published.
LABEL_BATCH = 200


class Variant(StrEnum):
    B = "b-szz"
    AG = "ag-szz"
    R = "r-szz"


class AgFilter(StrEnum):
    """The filters AG-SZZ and R-SZZ add to B-SZZ; each can be switched on or off."""

    NON_SOURCE = "non-source"
    COMMENTS = "comments"
    COSMETIC = "cosmetic"
    MERGES = "merges"
    BULK = "bulk"
    # Precision filters (docs/szz.md), added to the annotation-graph filters above:
    FORMATTING = "formatting"  # look through a change that only reformatted the line
    VERSIONS = "versions"  # look through a change that only changed a version number
    MINOR = "minor"  # drop candidates blamed for few of a fix's many lines
    ADDED_CONTEXT = "added-context"  # an added-only fix blames the lines around it
    LAST_TOUCH = "last-touch"  # a fix with no candidate: the last commit to its files


#: The annotation-graph filters: a variant's name says which of these are off.
ALL_FILTERS = frozenset(
    {AgFilter.NON_SOURCE, AgFilter.COMMENTS, AgFilter.COSMETIC, AgFilter.MERGES, AgFilter.BULK}
)
#: The precision filters: a variant's name says which of these are on.
PRECISION_FILTERS = frozenset(AgFilter) - ALL_FILTERS
#: What ``labels.filters`` holds unless repos.yaml says otherwise: the precision filters
#: that raised R-SZZ's F1 on the development oracle (docs/szz.md).
DEFAULT_FILTERS = ALL_FILTERS | {AgFilter.FORMATTING, AgFilter.MINOR, AgFilter.LAST_TOUCH}


def variant_name(variant: Variant, filters: frozenset[AgFilter] = ALL_FILTERS) -> str:
    """The name stored in ``szz_links.variant``: the variant, filters off, filters added.

    ``r-szz``, ``ag-szz(without bulk)``, ``r-szz+formatting,minor``.
    """
    if variant is Variant.B:
        return variant.value
    off = sorted(f.value for f in ALL_FILTERS - filters)
    on = sorted(f.value for f in filters & PRECISION_FILTERS)
    name = variant.value
    if off:
        name += f"(without {','.join(off)})"
    if on:
        name += f"+{','.join(on)}"
    return name


@dataclass(frozen=True)
class CommitInfo:
    """What the filters need to know about a candidate inducing commit."""

    is_merge: bool
    n_files: int
    commit_time: int


@dataclass(frozen=True)
class FixLinks:
    """The inducing commits of one fix for one variant: path -> {inducing sha: lines}."""

    fix_sha: str
    variant: Variant
    links: Mapping[str, Mapping[str, int]]
    name: str = ""  # variant_name(): what szz_links.variant records

    def inducing(self) -> set[str]:
        return {sha for by_sha in self.links.values() for sha in by_sha}


def _pydriller_useless(line: str) -> bool:
    stripped = line.strip()
    return not stripped or stripped.startswith(("//", "#", "/*", "'''", '"""', "*"))


def label_fix(
    session: SzzSession,
    fix_sha: str,
    variants: Sequence[Variant],
    commits: Mapping[str, CommitInfo],
    bulk_files: int,
    filters: frozenset[AgFilter] = ALL_FILTERS,
    minor: MinorRule = MINOR_RULE,
) -> list[FixLinks]:
    """Run the requested SZZ variants on one fix commit.

    B-SZZ ignores `filters` (it is PyDriller's algorithm); AG-SZZ and R-SZZ apply them.
    """
    parent = f"{fix_sha}^"
    changed = deleted_lines(session, fix_sha)
    results: list[FixLinks] = []
    if Variant.B in variants:
        links: dict[str, dict[str, int]] = {}
        wanted = {
            path: [n for n, text in lines if not _pydriller_useless(text)]
            for path, lines in changed.items()
        }
        for path, blamed in session.blame_files(parent, wanted).items():
            for sha in blamed.values():
                by_sha = links.setdefault(path, {})
                by_sha[sha] = by_sha.get(sha, 0) + 1
        results.append(FixLinks(fix_sha, Variant.B, links, variant_name(Variant.B)))
    if Variant.AG in variants or Variant.R in variants:
        ag, blamed_any = _annotation_graph(session, parent, changed, commits, bulk_files, filters)
        if not blamed_any and AgFilter.ADDED_CONTEXT in filters:
            context = context_lines(
                session,
                fix_sha,
                parent,
                non_source=AgFilter.NON_SOURCE in filters,
                comments=AgFilter.COMMENTS in filters,
            )
            ag, _ = _annotation_graph(session, parent, context, commits, bulk_files, filters)
        if AgFilter.MINOR in filters:
            ag = drop_minor(ag, minor)
        if not ag and AgFilter.LAST_TOUCH in filters:

            def never(sha: str) -> bool:
                info = commits.get(sha)
                return info is not None and (
                    (AgFilter.MERGES in filters and info.is_merge)
                    or (AgFilter.BULK in filters and info.n_files > bulk_files)
                )

            ag = last_touch(session, fix_sha, AgFilter.NON_SOURCE in filters, never)
        if Variant.AG in variants:
            results.append(FixLinks(fix_sha, Variant.AG, ag, variant_name(Variant.AG, filters)))
        if Variant.R in variants:
            latest = _latest_only(ag, commits)
            results.append(FixLinks(fix_sha, Variant.R, latest, variant_name(Variant.R, filters)))
    return results


def _annotation_graph(
    session: SzzSession,
    parent: str,
    changed: Mapping[str, list[tuple[int, str]]],
    commits: Mapping[str, CommitInfo],
    bulk_files: int,
    filters: frozenset[AgFilter],
) -> tuple[dict[str, dict[str, int]], bool]:
    """(path -> {inducing sha: lines}, whether any line was left to blame)."""
    links: dict[str, dict[str, int]] = {}
    blamed_any = False
    formatting, versions = AgFilter.FORMATTING in filters, AgFilter.VERSIONS in filters
    for path, lines in changed.items():
        if AgFilter.NON_SOURCE in filters and language_of(path) is None:
            continue
        skip: set[int] | None = {n for n, text in lines if not text.strip()}
        if AgFilter.COMMENTS in filters:
            source = session.read(parent, path)
            # None: a language tree-sitter does not cover; blank lines only, then.
            skip = (comment_or_blank_lines(source, path) if source is not None else None) or skip
        wanted = [n for n, _ in lines if n not in (skip or ())]
        blamed_any = blamed_any or bool(wanted)
        ignore: list[str] = []
        while True:  # look through cosmetic commits until the blame holds none
            if formatting or versions:  # the look-through needs where each line came from
                origins = session.origins(parent, path, wanted, ignore)
                blamed = {n: origin.sha for n, origin in origins.items()}
            else:
                blamed = session.blame(parent, path, wanted, ignore)
            if AgFilter.COSMETIC not in filters:
                break
            fresh = {sha for sha in blamed.values() if sha not in ignore}
            more = sorted(sha for sha in fresh if session.is_cosmetic(sha))
            if not more:
                break
            ignore += more
        if formatting or versions:
            blamed = look_through(session, origins, ignore, formatting, versions)
        for sha in blamed.values():
            if sha in ignore:
                continue  # git was told to look through this cosmetic commit
            info = commits.get(sha)
            if info is not None and (
                (AgFilter.MERGES in filters and info.is_merge)
                or (AgFilter.BULK in filters and info.n_files > bulk_files)
            ):
                continue
            by_sha = links.setdefault(path, {})
            by_sha[sha] = by_sha.get(sha, 0) + 1
    return links, blamed_any


def _latest_only(
    links: Mapping[str, Mapping[str, int]], commits: Mapping[str, CommitInfo]
) -> dict[str, dict[str, int]]:
    candidates = {sha for by_sha in links.values() for sha in by_sha}
    if not candidates:
        return {}
    latest = max(candidates, key=lambda s: (commits[s].commit_time if s in commits else 0, s))
    return {
        path: {latest: n}
        for path, by_sha in links.items()
        for sha, n in by_sha.items()
        if sha == latest
    }


@dataclass(frozen=True)
class LabelReport:
    repo: str
    fixes_labelled: int
    links_added: int
    seconds: float
    #: Fixes not labelled because git could not read an object they need; the next
    #: run tries them again.
    fixes_skipped: int = 0

    def skipped_notice(self) -> str | None:
        """The one line the CLI prints on stderr when fixes were skipped, else None."""
        if not self.fixes_skipped:
            return None
        fixes = "fix" if self.fixes_skipped == 1 else "fixes"
        needs = "an object it needs" if self.fixes_skipped == 1 else "objects they need"
        rest = "the others are labelled" if self.fixes_labelled else "none was labelled"
        why = f"git could not read {needs}"
        return f"{self.repo}: {self.fixes_skipped} {fixes} skipped ({why}); {rest}"


def label_repository(
    config: Config, repo_config: RepositoryConfig, progress: ProgressCallback | None = None
) -> LabelReport:
    """Label the fix commits of one repository not yet labelled (incremental)."""
    started = time.monotonic()
    repo = GitRepository.open(repo_config, config.clones_dir)
    variants = [Variant(v) for v in config.labels.variants]
    store = Store(config.data_dir)
    with store.writer(repo_config.name) as writer:
        commits_table = writer.read(
            "commits", ["sha", "is_merge", "n_files", "commit_time", "is_fix", "parent_shas"]
        )
        lost = currently_lost(writer.read("lost_commits", ["sha", "event"]))
        commits: dict[str, CommitInfo] = {}
        fixes: list[str] = []
        rows = zip(
            commits_table["sha"].to_pylist(),
            commits_table["is_merge"].to_pylist(),
            commits_table["n_files"].to_pylist(),
            commits_table["commit_time"].cast(pa.int64()).to_pylist(),
            commits_table["is_fix"].to_pylist(),
            commits_table["parent_shas"].to_pylist(),
            strict=True,
        )
        orphans: set[str] = set()  # fixes that name no parent: roots, or a parent left out
        for sha, is_merge, n_files, when, is_fix, parents in rows:
            commits[sha] = CommitInfo(is_merge, n_files, when)
            if is_fix and not is_merge and sha not in lost:
                fixes.append(sha)
                if not parents:
                    orphans.add(sha)
        if orphans:  # a stored commit does not name a parent whose author opted out
            fixes = [f for f in fixes if f not in orphans or _has_parent(repo.path, f)]
        done_table = writer.read("szz_fixes", ["fix_sha", "variant"])
        done = set(
            zip(done_table["fix_sha"].to_pylist(), done_table["variant"].to_pylist(), strict=True)
        )
        filters = frozenset(AgFilter(f) for f in config.labels.filters)
        names = {v: variant_name(v, filters) for v in variants}
        todo = [f for f in fixes if any((f, names[v]) not in done for v in variants)]
        links_added = skipped = 0
        if todo:
            git_env = commitgraph.refresh(
                repo.path, commitgraph.graph_folder(config.clones_dir, repo.name)
            )
            # pygit2 reads in-process: an object gone bad or missing while labelling runs
            # (a corrupted pack, a removed folder) is a GitError.
            try:
                session = SzzSession(repo.path, git_env)
                try:
                    links_added, skipped = _label_all(
                        writer,
                        repo.name,
                        session,
                        todo,
                        done,
                        variants,
                        names,
                        commits,
                        config.labels.bulk_files,
                        filters,
                        progress,
                    )
                finally:
                    session.close()
            except pygit2.GitError as exc:
                raise RepositoryError(
                    f"repository {repo.name!r}: {repo.path} cannot be read ({exc})"
                ) from None
        # Record that these variants ran, even with no fix to label: then a change with
        # no link is known clean (once mature), not merely unlabelled.
        state = writer.manifest.state
        ran = tuple(sorted({*state.szz_variants, *names.values()}))
        if ran != state.szz_variants or "szz_variants" not in state.present:
            writer.commit({}, state.replace(szz_variants=ran))
    return LabelReport(
        repo.name, len(todo) - skipped, links_added, time.monotonic() - started, skipped
    )


def _has_parent(path: Path, sha: str) -> bool:
    """Whether git knows a parent of commit `sha` (the store may name none)."""
    try:
        commit = pygit2.Repository(str(path)).get(sha)
    except pygit2.GitError:
        return False
    return isinstance(commit, pygit2.Commit) and bool(commit.parents)


def _label_all(
    writer: RepoWriter,
    repo_name: str,
    session: SzzSession,
    todo: Sequence[str],
    done: set[tuple[str, str]],
    variants: Sequence[Variant],
    names: Mapping[Variant, str],
    commits: Mapping[str, CommitInfo],
    bulk_files: int,
    filters: frozenset[AgFilter],
    progress: ProgressCallback | None,
) -> tuple[int, int]:
    """Label `todo` fixes, publishing links every LABEL_BATCH fixes.

    Returns the links added and the number of fixes skipped because git could not read
    an object they need.
    """
    if progress is not None and todo:
        progress(repo_name, 0, len(todo))
    link_rows: dict[str, list[object]] = {n: [] for n in SCHEMAS["szz_links"].names}
    fix_rows: dict[str, list[object]] = {n: [] for n in SCHEMAS["szz_fixes"].names}
    links_added = skipped = 0
    now = int(time.time())
    for i, fix in enumerate(todo, start=1):
        wanted = [v for v in variants if (fix, names[v]) not in done]
        try:
            results = label_fix(session, fix, wanted, commits, bulk_files, filters)
        except (pygit2.GitError, RepositoryError) as exc:
            fault = whole_repository_fault(session)
            if fault is not None:
                detail = fault if fault == FOLDER_GONE else f"{fault}; {exc}"
                raise RepositoryError(
                    f"repository {repo_name!r}: {session.path} cannot be read ({detail})"
                ) from None
            # One fix's objects cannot be read: skip it (not recorded as labelled, so
            # the next run tries again); the other fixes keep their links.
            skipped += 1
            results = []
        for result in results:
            n = 0
            for path, by_sha in sorted(result.links.items()):
                for sha, lines in sorted(by_sha.items()):
                    if sha not in commits:
                        # Not a stored commit: its author opted out (their commits are
                        # in git's blame, never in the store). Nothing may name it.
                        continue
                    for column, value in (
                        ("repo", repo_name),
                        ("fix_sha", fix),
                        ("inducing_sha", sha),
                        ("path", stored_path(path)),
                        ("variant", result.name),
                        ("lines", lines),
                    ):
                        link_rows[column].append(value)
                    n += 1
            for column, value in (
                ("repo", repo_name),
                ("fix_sha", fix),
                ("variant", result.name),
                ("links", n),
                ("labelled_at", now),
            ):
                fix_rows[column].append(value)
            links_added += n
        if i % LABEL_BATCH == 0 or i == len(todo):
            writer.commit(
                {
                    "szz_links": pa.Table.from_pydict(link_rows, schema=SCHEMAS["szz_links"]),
                    "szz_fixes": pa.Table.from_pydict(fix_rows, schema=SCHEMAS["szz_fixes"]),
                },
                writer.manifest.state,
            )
            link_rows = {n: [] for n in SCHEMAS["szz_links"].names}
            fix_rows = {n: [] for n in SCHEMAS["szz_fixes"].names}
        if progress is not None:
            progress(repo_name, i, len(todo))
    return links_added, skipped
