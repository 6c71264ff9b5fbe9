"""The one computation of a change's features, for the store and for the review bot.

Every consumer goes through the same steps, so the same change gets the same numbers
whether ``teamlens features`` stores it or ``teamlens review`` (or the GitHub review)
scores it:

1. **diff**: the change's file touches (:class:`~teamlens.features.kamei.FileTouch`) as
   the miner records them (``git log``/``git diff`` with ``--raw --numstat -M``, parsed
   by ``mining.gitlog``), and its line diffs (``features.diffs``);
2. **history**: the replay of earlier changes (``features.kamei`` for files,
   ``features.function_history`` for functions), from the store when the repository is
   mined, else from one streaming ``git log`` parsed by the miner's parser;
3. **code**: tree-sitter metrics per file through :func:`change_code_metrics`;
4. :func:`feature_values` turns the three into one value per registry feature
   (teamlens.feature_registry).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Protocol

import pygit2

from teamlens.feature_registry import FEATURES, Dtype, Stage
from teamlens.features.code_metrics import (
    FileCodeMetrics,
    FileCodeStructure,
    FunctionChange,
    change_code_structure,
    file_code_analysis,
)
from teamlens.features.code_tokens import (
    FileCodeTokens,
    change_code_tokens,
    comment_style,
    file_code_tokens,
)
from teamlens.features.diffs import FileDiff
from teamlens.features.function_history import FunctionHistoryFeatures, FunctionTouch
from teamlens.features.kamei import Change, FileTouch, KameiFeatures
from teamlens.mining.domain import FileChange
from teamlens.mining.gitlog import git_log
from teamlens.mining.syntax import parser_for
from teamlens.privacy import normalise_identity

if TYPE_CHECKING:  # the store's readers only: a review of a repository never mined
    import pyarrow as pa  # reads git alone and does not import pyarrow

    from teamlens.store import Store

MAX_PARSE_BYTES = 1_000_000  # larger files are not parsed (generated code, data)
#: Bump when a column of change_features is added or redefined: stored rows are then
#: recomputed (features depend only on history, which is still there).
FEATURES_VERSION = 4

TableReader = Callable[[str, Sequence[str]], "pa.Table"]


def is_test_path(path: str) -> bool:
    """Test code by the common conventions of the supported languages."""
    p = PurePosixPath(path.lower())
    name = p.name
    return (
        any(part in ("test", "tests", "__tests__", "spec", "testing") for part in p.parts[:-1])
        or name.startswith("test_")
        or name.endswith(("_test.py", "_test.go", "test.java", "tests.java"))
        or ".test." in name
        or ".spec." in name
    )


def file_touch(change: FileChange) -> FileTouch:
    """A mined file change as the replay reads it (the store's file_changes row)."""
    return FileTouch(
        change.path, change.old_path, change.change_type.value, change.added, change.deleted
    )


@dataclass
class CodeSummary:
    """Tree-sitter metrics of one change, summed over its files."""

    code_metrics_files: int = 0
    functions_changed: int = 0
    complexity_before: int = 0
    complexity_after: int = 0
    max_complexity_increase: int = 0
    largest_function_complexity: int = 0
    comment_lines_added: int = 0
    whitespace_lines_added: int = 0

    def add(self, metrics: FileCodeMetrics) -> None:
        self.code_metrics_files += 1
        self.comment_lines_added += metrics.comment_lines_added
        self.whitespace_lines_added += metrics.whitespace_lines_added
        for fn in metrics.functions_changed:
            before, after = fn.complexity_before or 0, fn.complexity_after or 0
            self.functions_changed += 1
            self.complexity_before += before
            self.complexity_after += after
            if fn.complexity_before is not None and fn.complexity_after is not None:
                # Only functions that existed before can "jump"; a new one has no before.
                increase = after - before
                self.max_complexity_increase = max(self.max_complexity_increase, increase)
            self.largest_function_complexity = max(self.largest_function_complexity, after)


@dataclass(frozen=True)
class ChangeCode:
    """The code and token stages' result for one change."""

    summary: CodeSummary
    functions: tuple[tuple[str, FunctionChange], ...]  # (path, function)
    structure: Mapping[str, float]  # STRUCTURE_FEATURES
    tokens: Mapping[str, float]  # TOKEN_FEATURES

    @property
    def touched(self) -> tuple[FunctionTouch, ...]:
        return tuple(FunctionTouch(path, fn.name) for path, fn in self.functions)


def no_code() -> ChangeCode:
    """No code at all: every code and token feature 0."""
    return ChangeCode(CodeSummary(), (), change_code_structure(()), change_code_tokens(()))


class Blobs(Protocol):
    """File contents by revision and path (None: missing, not a file, or over `limit`)."""

    def read(self, rev: str, path: str, limit: int) -> bytes | None: ...


class InProcessBlobs:
    """:class:`Blobs` read in-process with pygit2, answering as ``git cat-file --batch``
    (mining.blobs.BlobReader) does: for one change's files, faster than a round trip to
    git per file."""

    def __init__(self, repo: pygit2.Repository) -> None:
        self._repo = repo
        self._trees: dict[str, pygit2.Tree] = {}

    def read(self, rev: str, path: str, limit: int) -> bytes | None:
        tree = self._trees.get(rev)
        if tree is None:
            tree = self._trees[rev] = self._repo.revparse_single(rev).peel(pygit2.Tree)
        try:
            obj = self._repo[tree[path].id]
        except (KeyError, ValueError):
            return None
        if not isinstance(obj, pygit2.Blob) or obj.size > limit:
            return None
        return obj.data


def change_code_metrics(
    blobs: Blobs, before_rev: str, after_rev: str, diffs: Iterable[FileDiff]
) -> ChangeCode:
    """Tree-sitter metrics and structure (one parse per version) of one change's files,
    and the code tokens of every source file, from their diffs between two revisions.

    A file too large to parse (or not a regular file) is left out whole: no
    half-measured metrics.
    """
    summary = CodeSummary()
    functions: list[tuple[str, FunctionChange]] = []
    structures: list[FileCodeStructure] = []
    tokens: list[FileCodeTokens] = []
    for diff in diffs:
        path = diff.new_path or diff.old_path
        if path is None:
            continue
        parsed = parser_for(path) is not None
        if not parsed and comment_style(path) is None:
            continue
        before = blobs.read(before_rev, diff.old_path, MAX_PARSE_BYTES) if diff.old_path else None
        after = blobs.read(after_rev, diff.new_path, MAX_PARSE_BYTES) if diff.new_path else None
        if (diff.old_path and before is None) or (diff.new_path and after is None):
            continue
        file_tokens = file_code_tokens(path, before, after, diff.deleted, diff.added)
        if file_tokens is not None:
            tokens.append(file_tokens)
        if not parsed:
            continue
        analysis = file_code_analysis(path, before, after, diff.deleted, diff.added)
        if analysis is None:
            continue
        summary.add(analysis.metrics)
        structures.append(analysis.structure)
        functions += [(path, fn) for fn in analysis.metrics.functions_changed]
    return ChangeCode(
        summary, tuple(functions), change_code_structure(structures), change_code_tokens(tokens)
    )


def feature_values(
    change: Change,
    kamei: KameiFeatures,
    functions: FunctionHistoryFeatures | None,
    code: ChangeCode | None,
) -> dict[str, object]:
    """One value per registry feature (None where a stage did not run)."""
    values: dict[str, object] = {
        **{name: getattr(kamei, name) for name in _KAMEI},
        **{f"jit_{name}": getattr(kamei.jit, name) for name in _JIT},
        "owning_teams": list(kamei.owning_teams),
        "tests_touched": any(is_test_path(f.path) for f in change.files),
    }
    if code is not None:
        values.update(vars(code.summary))
        for name, value in (*code.structure.items(), *code.tokens.items()):
            spec = FEATURES_BY_NAME[name]
            values[name] = round(value) if spec.dtype in _INTEGERS else value
    else:
        values.update(dict.fromkeys((*CODE_FEATURES, *TOKEN_FEATURES)))
    if functions is not None:
        values.update(vars(functions))
    else:
        values.update(dict.fromkeys(vars(FunctionHistoryFeatures(0, 0, 0.0))))
    missing = set(FEATURES_BY_NAME) - set(values)
    if missing:  # a registry feature no stage computes: a programming error
        raise AssertionError(f"no stage computes {sorted(missing)}")
    return values


_JIT = ("ns", "nd", "nf", "entropy", "la", "lt")
_INTEGERS = (Dtype.INT32, Dtype.INT64)
_KAMEI = (
    "ns", "nd", "nf", "entropy", "la", "ld", "lt", "fix", "ndev", "age", "nuc", "n_teams",
    "owner_share", "recent_fixes", "files_added", "files_deleted", "la_new_files",
    "prior_fixes", "prior_churn",
)  # fmt: skip
FEATURES_BY_NAME = {f.name: f for f in FEATURES}
#: The features each kind of missing input leaves uncomputed.
CODE_FEATURES = tuple(f.name for f in FEATURES if f.stage is Stage.CODE)
TOKEN_FEATURES = tuple(f.name for f in FEATURES if f.stage is Stage.TOKENS)
FUNCTION_HISTORY_FEATURES = tuple(vars(FunctionHistoryFeatures(0, 0, 0.0)))
FILE_HISTORY_FEATURES = tuple(
    f.name for f in FEATURES if f.stage is Stage.HISTORY and f.name not in FUNCTION_HISTORY_FEATURES
)


# -- history sources ---------------------------------------------------------------


def load_changes(
    read: TableReader,
    lost: frozenset[str] | set[str] = frozenset(),
    paths: Iterable[str] | None = None,
) -> tuple[list[Change], int]:
    """Stored non-merge changes in time order (ties in mined order), and the newest time.

    With `paths`, only the changes that touch them or, through renames, their earlier
    names (each with all its files): every change the replay of those files reads
    (features.kamei.relevant_history), without building the others.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    commits = read("commits", ["sha", "commit_time", "author_id", "is_fix", "is_merge"])
    files = read("file_changes", ["sha", "path", "old_path", "change_type", "added", "deleted"])
    wanted: set[str] | None = None
    if paths is not None:
        touching = files.filter(_touching(files, set(paths)))
        wanted = set(touching["sha"].to_pylist())
        files = files.filter(
            pc.is_in(files["sha"], value_set=pa.array(sorted(wanted), pa.string()))
        )
    by_sha: dict[str, list[FileTouch]] = {}
    for sha, path, old, kind, added, deleted in zip(
        *(files[c].to_pylist() for c in files.column_names), strict=True
    ):
        by_sha.setdefault(sha, []).append(FileTouch(path, old, kind, added, deleted))
    rows = zip(
        commits["sha"].to_pylist(),
        commits["commit_time"].cast(pa.int64()).to_pylist(),
        commits["author_id"].to_pylist(),
        commits["is_fix"].to_pylist(),
        commits["is_merge"].to_pylist(),
        strict=True,
    )
    newest = 0
    ordered = []
    for i, (sha, when, author, fix, merge) in enumerate(rows):
        if merge or sha in lost:
            continue
        newest = max(newest, when)
        if wanted is None or sha in wanted:
            ordered.append((when, i, Change(sha, when, author, fix, tuple(by_sha.get(sha, ())))))
    ordered.sort(key=lambda x: (x[0], x[1]))
    return [c for _, _, c in ordered], newest


def _touching(files: pa.Table, paths: set[str]) -> pa.ChunkedArray:
    """The file changes at `paths` or, following renames back, at their earlier names."""
    import pyarrow as pa
    import pyarrow.compute as pc

    renamed = pc.equal(files["change_type"], "R")
    while True:
        value_set = pa.array(sorted(paths), pa.string())
        at_path = pc.is_in(files["path"], value_set=value_set)
        mask = pc.or_(
            at_path, pc.fill_null(pc.is_in(files["old_path"], value_set=value_set), False)
        )
        earlier = files.filter(pc.and_(renamed, at_path))["old_path"].to_pylist()
        more = {p for p in earlier if p is not None} - paths
        if not more:
            return mask
        paths |= more


def load_functions(
    read: TableReader, shas: Iterable[str] | None = None
) -> dict[str, list[FunctionTouch]]:
    """The stored changed functions per change (of `shas` only, when given)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    table = read("changed_functions", ["sha", "path", "function"])
    if shas is not None:
        table = table.filter(pc.is_in(table["sha"], value_set=pa.array(sorted(shas), pa.string())))
    found: dict[str, list[FunctionTouch]] = {}
    for sha, path, name in zip(
        table["sha"].to_pylist(),
        table["path"].to_pylist(),
        table["function"].to_pylist(),
        strict=True,
    ):
        found.setdefault(sha, []).append(FunctionTouch(path, name))
    return found


def git_history(
    repo: Path,
    revision: str,
    fix_res: Sequence[re.Pattern[str]],
    detect_copies: bool,
    until: int,
    paths: Iterable[str] | None = None,
    opted_out: Iterable[str] = (),
) -> list[Change]:
    """The non-merge changes reachable from `revision` up to time `until`, in the store's
    order, read as the miner reads them (``git log``, the miner's parser).

    `opted_out` are the opt-out list's entries: changes of those people are left out,
    as the store never holds them (an e-mail matches the author's address as written or
    as .mailmap gives it, and then every address .mailmap gives the same person).

    With `paths`, only the changes that touch them or, through renames, their earlier
    names (each with all its files): every change the replay of those files reads
    (features.kamei.relevant_history), from a path-limited log that is much faster on a
    long history. Author identities (``.mailmap`` applied, normalised as the miner does
    before keying them) stay in memory, only to be counted.
    """
    emails = frozenset(e.lower() for e in opted_out if "@" in e)
    if paths is None:
        return _git_history(repo, revision, fix_res, detect_copies, until, (), emails)
    wanted = set(paths)
    while True:  # follow renames back to earlier names until no new name turns up
        found = _git_history(repo, revision, fix_res, detect_copies, until, sorted(wanted), emails)
        earlier = earlier_names(found, wanted)
        if earlier <= wanted:
            return found
        wanted |= earlier


def earlier_names(changes: Iterable[Change], wanted: Collection[str]) -> set[str]:
    """The paths the files in `wanted` had before `changes` renamed them."""
    return {
        t.old_path
        for c in changes
        for t in c.files
        if t.change_type == "R" and t.old_path is not None and t.path in wanted
    }


def _git_history(
    repo: Path,
    revision: str,
    fix_res: Sequence[re.Pattern[str]],
    detect_copies: bool,
    until: int,
    paths: Sequence[str],
    opted_out: frozenset[str] = frozenset(),
) -> list[Change]:
    found: list[tuple[int, int, Change]] = []
    gone: set[str] = set()  # opted-out people, by their .mailmap address
    with git_log(repo, [revision], (), detect_copies, paths) as commits:
        for i, commit in enumerate(commits):
            if commit.is_merge or commit.commit_time > until:
                continue
            author = normalise_identity(commit.author.name, commit.author.email)
            if opted_out and {commit.author.raw_email.lower(), author} & opted_out:
                gone.add(author)
            is_fix = any(r.search(commit.message) for r in fix_res)
            touches = tuple(file_touch(f) for f in commit.file_changes)
            change = Change(commit.sha, commit.commit_time, author, is_fix, touches)
            found.append((commit.commit_time, i, change))
    found.sort(key=lambda x: (x[0], x[1]))
    return [c for _, _, c in found if c.author_id not in gone]


def values_row(values: Mapping[str, object]) -> dict[str, float]:
    """Registry features as model inputs (floats; NaN for a missing value)."""
    row: dict[str, float] = {}
    for spec in FEATURES:
        if not spec.model:
            continue
        value = values.get(spec.name)
        row[spec.name] = float("nan") if value is None else float(value)  # type: ignore[arg-type]
    return row


@dataclass(frozen=True)
class ReviewHistory:
    """The earlier changes a reviewed change is replayed after, and where they came from."""

    changes: list[Change]
    #: The functions each earlier change touched; None when unknown (no features stored
    #: for them): the function-history features are then not computed.
    functions: dict[str, list[FunctionTouch]] | None
    source: str  # "store" or "git"


def stored_history(
    store: Store,
    repo_name: str,
    base: str | None,
    head: str,
    in_range: frozenset[str],
    now: int,
    paths: Iterable[str] | None = None,
) -> ReviewHistory | None:
    """The history of a reviewed change from the store, as the store's replay sees it:
    the stored changes before `head` in the store's order (before time `now` when `head`
    is not stored), without the change's own commits (`in_range`). None when the store
    does not hold the repository, or not `base` (when given). With `paths` (the
    change's), only the changes the replay of those files reads."""
    if repo_name not in store.repos():
        return None
    from teamlens.mining.miner import currently_lost

    def read(table: str, columns: Sequence[str]) -> pa.Table:
        return store.read(table, repo_name).select(list(columns))

    lost = currently_lost(read("lost_commits", ["sha", "event"]))
    changes, _ = load_changes(read, lost, paths)
    if base is not None and base not in set(read("commits", ["sha"])["sha"].to_pylist()):
        return None
    cut = next((i for i, c in enumerate(changes) if c.sha == head), None)
    if cut is not None:
        earlier = [c for c in changes[:cut] if c.sha not in in_range]
    else:
        earlier = [c for c in changes if c.commit_time <= now and c.sha not in in_range]
    functions: dict[str, list[FunctionTouch]] | None = None
    if store.manifest(repo_name).state.features_version == FEATURES_VERSION:
        with_features = set(read("change_features", ["sha"])["sha"].to_pylist())
        if all(c.sha in with_features for c in earlier):
            functions = load_functions(read, [c.sha for c in earlier])
    return ReviewHistory(earlier, functions, "store")


def review_history(
    store: Store | None,
    repo_name: str,
    repo: Path,
    base: str,
    head: str,
    in_range: frozenset[str],
    now: int,
    fix_res: Sequence[re.Pattern[str]],
    detect_copies: bool,
    paths: Iterable[str] | None = None,
    opted_out: Iterable[str] = (),
) -> ReviewHistory:
    """The history of the change base..head (`in_range` are its own commits).

    From the store when the repository is mined there and `base` is stored
    (:func:`stored_history`). Otherwise from ``git log base``: the changes reachable
    from the base up to `now` (only those touching `paths` or their earlier names, when
    given), which is the same set on a history whose commit times follow its ancestry.
    """
    found = stored_history(store, repo_name, base, head, in_range, now, paths) if store else None
    if found is not None:
        return found
    changes = git_history(repo, base, fix_res, detect_copies, now, paths, opted_out)
    return ReviewHistory(changes, None, "git")
