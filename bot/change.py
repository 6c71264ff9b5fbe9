"""The change under review, computed from a local repository: base...head.

The change is taken from the merge base of base and head to head (what a pull request
shows) and goes through the same feature pipeline as the store's rows
(features.pipeline): its file changes come from ``git diff --raw --numstat -M``
parsed by the miner's parser, its line diffs from the parser of the store's code
metrics, its history from the store's replay code over the earlier changes (from the
store when the repository is mined, else from one ``git log`` read by the miner's
parser), and its tree-sitter metrics from the same function. So ``teamlens review
--base C^ --head C`` gives exactly the features stored for C (tests/features/
test_parity.py). Only what was known when the change was proposed is used: history
stops at the merge base.

``fix`` is true when any commit of the range matches ``mining.fix_patterns``. The
function-history features (``functions_prior_*``, ``functions_age``) need the functions
earlier changes touched, which only the store keeps: without a mined store they are not
computed, and the change lists them in ``unavailable``.

Author e-mails are read from git only to count distinct contributors (``ndev``); they
are never stored or returned.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

import pygit2

from teamlens.bot.cochange import FilePast, file_pasts
from teamlens.bot.domain import (
    ChangedFile,
    ChangedFunction,
    ChangeUnderReview,
    PriorFunction,
)
from teamlens.bot.moves import move_links, moved_functions
from teamlens.bot.split import references
from teamlens.config import Config, RepositoryConfig
from teamlens.errors import RepositoryError
from teamlens.features.diffs import FileDiff, PendingDiff
from teamlens.features.function_history import FunctionHistory
from teamlens.features.history_index import history_index
from teamlens.features.kamei import (
    Change,
    FileTouch,
    Replay,
    TeamMap,
    features_after,
    relevant_history,
)
from teamlens.features.pipeline import (
    FUNCTION_HISTORY_FEATURES,
    InProcessBlobs,
    ReviewHistory,
    change_code_metrics,
    feature_values,
    file_touch,
    is_test_path,
    review_history,
    values_row,
)
from teamlens.mining.domain import ChangeType, FileChange
from teamlens.mining.gitlog import diff_file_changes
from teamlens.mining.repository import GitRepository
from teamlens.privacy import read_opt_out
from teamlens.store.layout import is_stored

if TYPE_CHECKING:
    from teamlens.store import Store


def _resolve(repo: pygit2.Repository, ref: str) -> pygit2.Commit:
    try:
        return repo.revparse_single(ref).peel(pygit2.Commit)
    except (KeyError, ValueError, pygit2.GitError) as exc:
        raise RepositoryError(f"{ref!r} is not a commit in {repo.workdir or repo.path}") from exc


def status_of(change_type: str) -> ChangeType:
    """The review's file status: git's change type, a copy counting as added."""
    kind = ChangeType(change_type)
    if kind is ChangeType.COPIED:
        return ChangeType.ADDED
    if kind is ChangeType.TYPE_CHANGED:
        return ChangeType.MODIFIED
    return kind


def changed_file(
    touch: FileTouch,
    is_binary: bool,
    teams: TeamMap,
    history: Replay | None,
    now: int,
    diff: FileDiff | None = None,
    added_lines: Sequence[int] | None = None,
    hunks: Sequence[str] | None = None,
    past: FilePast | None = None,
    mentions: Sequence[str] | None = None,
    moved_with: Sequence[str] = (),
) -> ChangedFile:
    """One file of the change as the bot shows it (the replay gives its recent fixes;
    `past` its earlier changes and co-changed tests; `mentions` the other files of the
    change its text names)."""
    is_new = touch.change_type in ("A", "C")
    return ChangedFile(
        path=touch.path,
        old_path=None if is_new else touch.old_path or touch.path,
        status=status_of(touch.change_type),
        added=touch.added,
        deleted=touch.deleted,
        added_lines=tuple(added_lines if added_lines is not None else diff.added if diff else ()),
        is_test=is_test_path(touch.path),
        is_binary=is_binary,
        owners=teams.owners(touch.path),
        recent_fixes=history.recent_fixes(touch, now) if history is not None else 0,
        hunks=tuple(hunks if hunks is not None else diff.hunks if diff else ()),
        past=past.changes if past is not None else (),
        co_changed_tests=past.co_changed_tests if past is not None else (),
        references=tuple(mentions) if mentions is not None else None,
        moved_with=tuple(moved_with),
    )


def team_map(config: Config, repo_config: RepositoryConfig, repo: GitRepository) -> TeamMap:
    team_source = repo_config.teams or config.teams
    globs: dict[str, Sequence[str]] = dict(team_source.globs)
    if team_source.codeowners:
        from teamlens.features.changes import read_codeowners  # (loads pyarrow)

        globs.update(read_codeowners(repo))
    return TeamMap(globs)


def stored(config: Config, repo_name: str) -> Store | None:
    """The store when it holds the repository; else None, and the history comes from git
    without pyarrow or DuckDB ever being imported (a quick review of a repository that
    was never mined)."""
    if not is_stored(config.data_dir, repo_name):
        return None
    from teamlens.store import Store

    return Store(config.data_dir)


def compute_change(
    config: Config,
    repo_config: RepositoryConfig,
    base_ref: str,
    head_ref: str,
    timings: dict[str, float] | None = None,
) -> ChangeUnderReview:
    """The change from the merge base of `base_ref` and `head_ref` to `head_ref`.

    `timings`, if given, receives the seconds spent in tree-sitter ("tree-sitter") and in
    everything else ("features").
    """
    started = time.perf_counter()
    repo = GitRepository.open(repo_config, config.clones_dir)
    handle = repo.handle
    head = _resolve(handle, head_ref)
    base_tip = _resolve(handle, base_ref)
    merge_base_id = handle.merge_base(base_tip.id, head.id)
    if merge_base_id is None:
        raise RepositoryError(f"{base_ref!r} and {head_ref!r} share no history")
    base, head_sha = str(merge_base_id), str(head.id)
    teams = team_map(config, repo_config, repo)
    fix_res = [re.compile(p) for p in config.mining.fix_patterns]
    walker = handle.walk(head.id, pygit2.enums.SortMode.TOPOLOGICAL)
    walker.hide(merge_base_id)
    in_range = list(walker)
    detect_copies = config.mining.detect_copies
    # git computes the line diffs while this reads the file changes and history: without
    # context for the code metrics (as the store's), with three for the hunks shown.
    line_diffs = PendingDiff(repo.path, base, head_sha, 0)
    hunk_diffs = PendingDiff(repo.path, base, head_sha, 3)
    try:
        mined: list[FileChange] = diff_file_changes(repo.path, base, head_sha, detect_copies)
        now = int(head.commit_time)
        change = Change(
            head_sha,
            now,
            "",  # the reviewed change's own author is never counted (ndev counts earlier ones)
            any(r.search(c.message) for r in fix_res for c in in_range),
            tuple(file_touch(f) for f in mined),
        )
        paths = {p for t in change.files for p in (t.path, t.old_path) if p is not None}
        store = stored(config, repo_config.name)
        index = history_index(config, repo_config.name) if store is None else None
        if index is not None:  # no store: the cached history index (features.history_index)
            history = ReviewHistory(index.changes(repo.path, base, now, paths), None, "index")
        else:
            history = review_history(
                store, repo_config.name, repo.path, base, head_sha,
                frozenset(str(c.id) for c in in_range), now, fix_res, detect_copies, paths,
                read_opt_out(config.privacy.opt_out),
            )  # fmt: skip
        kamei, replayed = features_after(history.changes, change, teams)
        diffs = line_diffs.result()
        shown = hunk_diffs.result()
    finally:
        line_diffs.close()
        hunk_diffs.close()
    parse_started = time.perf_counter()
    code = change_code_metrics(InProcessBlobs(handle), base, head_sha, diffs)
    parsing = time.perf_counter() - parse_started
    fn_features = None
    prior: tuple[PriorFunction, ...] = ()  # per function, for the risky lines
    if history.functions is not None:
        functions = FunctionHistory()
        for earlier in relevant_history(history.changes, change):
            functions.advance(earlier, history.functions.get(earlier.sha, []))
        fn_features = functions.features(change, code.touched)
        prior = tuple(
            PriorFunction(t.path, t.name, p.functions_prior_changes, p.functions_prior_fixes)
            for t in sorted(set(code.touched), key=lambda t: (t.path, t.name))
            for p in [functions.features(change, [t])]
        )
    values = feature_values(change, kamei, fn_features, code)
    by_path = {d.new_path or d.old_path: d for d in shown}
    tree = head.tree
    # The history is already limited to the changes of these files (and earlier names).
    pasts = file_pasts(history.changes, change.files, lambda path: path in tree)
    limits = config.review.rules["split"]
    large = (
        kamei.la + kamei.ld > limits["lines"]
        or kamei.nf > limits["files"]
        or kamei.nd > limits["directories"]
        or kamei.ns > limits["subsystems"]
    )  # only the split rule reads the mentions, and only for a change this large
    mentions = _mentions(handle, tree, mined) if large else None
    links = move_links(code.functions)
    files = tuple(
        changed_file(
            touch, f.is_binary, teams, replayed, now, by_path.get(touch.path),
            past=pasts.get(touch.path),
            mentions=mentions.get(touch.path, ()) if mentions is not None else None,
            moved_with=sorted(links.get(touch.path, ())),
        )
        for touch, f in zip(change.files, mined, strict=True)
    )  # fmt: skip
    moved = moved_functions(code.functions)
    functions_changed = tuple(
        ChangedFunction(
            path, f.name, f.start_line, f.complexity_before, f.complexity_after,
            end_line=f.end_line, moved=i in moved,
        )
        for i, (path, f) in enumerate(code.functions)
    )  # fmt: skip
    if timings is not None:
        timings["tree-sitter"] = timings.get("tree-sitter", 0.0) + parsing
        total = time.perf_counter() - started
        timings["features"] = timings.get("features", 0.0) + total - parsing
    return ChangeUnderReview(
        repo_config.name,
        base,
        head_sha,
        files,
        functions_changed,
        values_row(values),
        unavailable=FUNCTION_HISTORY_FEATURES if fn_features is None else (),
        prior_functions=prior,
        time=now,
    )


#: What the split rule reads to find which files of a change name each other: files
#: up to this size, and at most this many bytes in all (beyond: left unread).
MAX_MENTION_FILE_BYTES = 512 * 1024
MAX_MENTION_BYTES = 2 * 1024 * 1024


def _mentions(
    handle: pygit2.Repository, tree: pygit2.Tree, mined: Sequence[FileChange]
) -> dict[str, tuple[str, ...]] | None:
    """Per file of the change at head, the other files of the change its text names
    (bot.split.references); a binary, deleted or too large file is read as empty. None
    (unknown) when the change's files are more than :data:`MAX_MENTION_BYTES` in all."""
    texts: dict[str, bytes] = {}
    budget = MAX_MENTION_BYTES
    for f in mined:
        text = b""
        entry = None
        if f.change_type is not ChangeType.DELETED and not f.is_binary:
            try:
                entry = tree[f.path]
            except KeyError:
                entry = None
        if entry is not None:
            blob = handle[entry.id] if entry.type_str == "blob" else None
            if isinstance(blob, pygit2.Blob) and blob.size <= MAX_MENTION_FILE_BYTES:
                budget -= blob.size
                if budget < 0:
                    return None
                text = blob.data
        texts[f.path] = text
    return references(texts)
