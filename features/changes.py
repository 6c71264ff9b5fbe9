"""`teamlens features`: one row per non-merge change, knowable at its time, plus labels.

Stored per repository:

``change_features``
    Kamei's change metrics without the per-person ones, team context and tree-sitter
    code metrics (docs/features.md defines each column). Written once per change:
    features only depend on the past, so they never change.
``changed_functions``
    Per change, the functions it touched with their complexity before and after.
``change_labels``
    Whether each change induced a later fix (the default SZZ variant), or null while
    younger than the label-maturity window. Rewritten on every run: a new fix can turn
    an old change into an inducing one.

The ``changes`` view joins features and labels.
"""

from __future__ import annotations

import multiprocessing
import re
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pygit2

from teamlens.config import Config, RepositoryConfig
from teamlens.features.diffs import iter_diffs
from teamlens.features.function_history import (
    FunctionHistory,
    FunctionHistoryFeatures,
    FunctionTouch,
)
from teamlens.features.kamei import Change, KameiFeatures, TeamMap, replay
from teamlens.features.pipeline import (
    FEATURES_VERSION,
    ChangeCode,
    change_code_metrics,
    feature_values,
    is_test_path,
    load_changes,
    load_functions,
    no_code,
)
from teamlens.features.reviews import review_facts
from teamlens.mining.blobs import BlobReader
from teamlens.mining.miner import currently_lost
from teamlens.mining.repository import GitRepository
from teamlens.mining.szz import AgFilter, Variant, variant_name
from teamlens.store import SCHEMAS, RepoWriter, Store

ProgressCallback = Callable[[str, int, int], None]
BATCH = 2000
__all__ = ["FEATURES_VERSION", "FeaturesReport", "build_features", "features_for", "is_test_path"]


@dataclass(frozen=True)
class FeaturesReport:
    repo: str
    changes_added: int
    labelled: int
    inducing: int
    stage_seconds: dict[str, float]
    #: Distinct authors behind the labelled changes: the totals are a published figure
    #: (command output), shown only with at least k people behind them.
    labelled_people: int = 0


_TEAM_HANDLE = re.compile(r"@[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def read_codeowners(repo: GitRepository) -> dict[str, list[str]]:
    """Team handles (``@org/team``) -> the globs they own, from the HEAD CODEOWNERS.

    Owners that are people (``@login`` or e-mails) are ignored: teams only.
    """
    for candidate in (".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS"):
        try:
            blob = repo.handle.revparse_single(f"HEAD:{candidate}")
        except (KeyError, ValueError):
            continue
        if not isinstance(blob, pygit2.Blob):
            continue
        teams: dict[str, list[str]] = {}
        for line in blob.data.decode("utf-8", "replace").splitlines():
            words = line.split("#", 1)[0].split()
            if len(words) < 2:
                continue
            pattern = words[0].lstrip("/")
            pattern = pattern + "**" if pattern.endswith("/") else pattern
            for owner in words[1:]:
                if _TEAM_HANDLE.fullmatch(owner):  # @org/team; never a person or an e-mail
                    teams.setdefault(owner[1:], []).append(pattern)
        return teams
    return {}


def _changes(writer: RepoWriter) -> tuple[list[Change], int]:
    """Non-merge changes in time order (ties in mined order), and the newest commit time."""
    lost = currently_lost(writer.read("lost_commits", ["sha", "event"]))
    return load_changes(writer.read, lost)


def build_features(
    config: Config,
    repo_config: RepositoryConfig,
    progress: ProgressCallback | None = None,
    workers: int = 1,
) -> FeaturesReport:
    """Compute features for changes that have none yet, and refresh every label.

    With ``workers`` > 1 the tree-sitter code metrics run in that many processes; the
    result is the same as with one.
    """
    stages: dict[str, float] = {}
    clock = time.monotonic()

    def stage(name: str) -> None:
        nonlocal clock
        now = time.monotonic()
        stages[name] = stages.get(name, 0.0) + now - clock
        clock = now

    repo = GitRepository.open(repo_config, config.clones_dir)
    team_globs: dict[str, Sequence[str]] = dict((repo_config.teams or config.teams).globs)
    if (repo_config.teams or config.teams).codeowners:
        team_globs.update(read_codeowners(repo))
    teams = TeamMap(team_globs)
    with Store(config.data_dir).writer(repo_config.name) as writer:
        changes, newest = _changes(writer)
        if writer.manifest.state.features_version != FEATURES_VERSION:
            state = writer.manifest.state.replace(features_version=FEATURES_VERSION)
            empty = {t: SCHEMAS[t].empty_table() for t in ("change_features", "changed_functions")}
            writer.replace(empty, state)  # older rows lack or define columns differently
        done = set(writer.read("change_features", ["sha"])["sha"].to_pylist())
        gone = done - set(writer.read("commits", ["sha"])["sha"].to_pylist())
        if gone:  # commits purged since (people who opted out): their features go too
            _drop_changes(writer, gone)
            done -= gone
        stage("load")
        todo = [c for c in changes if c.sha not in done]
        # Nothing new: no replay of the history (the rows it feeds are all stored).
        kamei = replay(changes, teams) if todo else {}
        stage("history")
        # The functions' history needs every change's functions, in time order: those of
        # stored changes from the store, the others as their chunk computes them.
        functions = load_functions(writer.read) if done else {}
        fn_history = FunctionHistory()
        fn_features: dict[str, FunctionHistoryFeatures] = {}
        position = {c.sha: i for i, c in enumerate(changes)}
        cursor = 0
        stage("history")
        if progress is not None and todo:
            progress(repo_config.name, 0, len(todo))
        added = 0
        pool = (
            ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
            if workers > 1 and todo
            else None
        )
        try:
            for start in range(0, len(todo), BATCH):
                chunk = todo[start : start + BATCH]
                started = time.monotonic()
                code, fn_table = _code_metrics_parallel(
                    repo.path,
                    repo_config.name,
                    [c.sha for c in chunk],
                    pool,
                    workers,
                    _counting(progress, repo_config.name, added, len(todo)),
                )
                stages["code metrics"] = stages.get("code metrics", 0.0) + (
                    time.monotonic() - started
                )
                clock = time.monotonic()
                for sha, path, name in zip(
                    fn_table["sha"].to_pylist(),
                    fn_table["path"].to_pylist(),
                    fn_table["function"].to_pylist(),
                    strict=True,
                ):
                    functions.setdefault(sha, []).append(FunctionTouch(path, name))
                last = position[chunk[-1].sha]
                while cursor <= last:
                    change = changes[cursor]
                    touched = functions.get(change.sha, [])
                    if change.sha not in done:
                        fn_features[change.sha] = fn_history.features(change, touched)
                    fn_history.advance(change, touched)
                    cursor += 1
                stage("history")
                rows = _rows(repo_config.name, chunk, kamei, fn_features, code)
                writer.commit(
                    {"change_features": rows, "changed_functions": fn_table},
                    writer.manifest.state,
                )
                stage("write")
                added += rows.num_rows
                if progress is not None:
                    progress(repo_config.name, added, len(todo))
        finally:
            if pool is not None:
                pool.shutdown()
        labels = _labels(writer, repo_config.name, changes, newest, config)
        _replace_if_changed(writer, "change_labels", labels)
        stage("labels")
        if writer.has_rows("pull_requests"):
            shas = [c.sha for c in changes]
            reviews = review_facts(writer, repo_config.name, repo.handle, shas)
            _replace_if_changed(writer, "change_reviews", reviews)
            stage("reviews")
    inducing = sum(1 for v in labels["is_inducing"].to_pylist() if v)
    labelled = sum(1 for v in labels["is_inducing"].to_pylist() if v is not None)
    return FeaturesReport(
        repo_config.name, added, labelled, inducing, stages, _labelled_people(writer, labels)
    )


def _replace_if_changed(writer: RepoWriter, table: str, rows: pa.Table) -> None:
    """Replace a derived table unless it holds exactly these rows already: a run with
    nothing new leaves the store (and what is built from it) as it was."""
    if writer.has_rows(table) and writer.read(table).equals(rows.cast(SCHEMAS[table])):
        return
    writer.replace({table: rows}, writer.manifest.state)


def _counting(
    progress: ProgressCallback | None, label: str, before: int, total: int
) -> Callable[[int], None] | None:
    """Per-change progress inside a chunk: `before` changes were done before it."""
    if progress is None:
        return None

    def counted(done: int) -> None:
        progress(label, before + done, total)

    return counted


def _labelled_people(writer: RepoWriter, labels: pa.Table) -> int:
    """How many distinct people stand behind the labelled changes (counted, never kept)."""
    shas = {s for s, v in zip(labels["sha"].to_pylist(), labels["is_inducing"].to_pylist(),
                              strict=True) if v is not None}  # fmt: skip
    if not shas or not writer.has_rows("commits"):
        return 0
    commits = writer.read("commits", ["sha", "author_id"])
    authors = zip(commits["sha"].to_pylist(), commits["author_id"].to_pylist(), strict=True)
    return len({author for sha, author in authors if sha in shas})


def _drop_changes(writer: RepoWriter, shas: set[str]) -> None:
    value_set = pa.array(sorted(shas))
    tables = {}
    for table in ("change_features", "changed_functions", "change_labels", "change_reviews"):
        data = writer.read(table)
        tables[table] = data.filter(pc.invert(pc.is_in(data["sha"], value_set=value_set)))
    writer.replace(tables, writer.manifest.state, purge=True)


def _code_metrics(
    repo_path: Path, name: str, shas: list[str], counted: Callable[[int], None] | None = None
) -> tuple[dict[str, ChangeCode], pa.Table]:
    summaries: dict[str, ChangeCode] = {}
    fn_rows: dict[str, list[object]] = {c: [] for c in SCHEMAS["changed_functions"].names}
    with BlobReader.open(repo_path) as blobs:
        for sha, diffs in iter_diffs(repo_path, shas):
            code = summaries[sha] = change_code_metrics(blobs, f"{sha}^", sha, diffs)
            if counted is not None and len(summaries) < len(shas):  # the chunk's end: later
                counted(len(summaries))
            for path, fn in code.functions:
                for column, value in (
                    ("repo", name),
                    ("sha", sha),
                    ("path", path),
                    ("function", fn.name),
                    ("start_line", fn.start_line),
                    ("complexity_before", fn.complexity_before),
                    ("complexity_after", fn.complexity_after),
                ):
                    fn_rows[column].append(value)
    return summaries, pa.Table.from_pydict(fn_rows, schema=SCHEMAS["changed_functions"])


def _code_metrics_parallel(
    repo_path: Path,
    name: str,
    shas: list[str],
    pool: Executor | None,
    workers: int,
    counted: Callable[[int], None] | None = None,
) -> tuple[dict[str, ChangeCode], pa.Table]:
    """Split the commits over the pool's processes (each with its own git readers).

    In one process, ``counted(n)`` hears how many of `shas` are done as they are."""
    if pool is None or workers < 2 or len(shas) < 2:
        return _code_metrics(repo_path, name, shas, counted)
    parts = [shas[i::workers] for i in range(workers)]
    summaries: dict[str, ChangeCode] = {}
    tables = []
    for part_summaries, table in pool.map(
        _code_metrics, [repo_path] * workers, [name] * workers, parts
    ):
        summaries.update(part_summaries)
        tables.append(table)
    return summaries, pa.concat_tables(tables)


def _rows(
    name: str,
    chunk: list[Change],
    kamei: dict[str, KameiFeatures],
    functions: dict[str, FunctionHistoryFeatures],
    code: dict[str, ChangeCode],
) -> pa.Table:
    columns: dict[str, list[object]] = {c: [] for c in SCHEMAS["change_features"].names}
    for change in chunk:
        values = {
            "repo": name,
            "sha": change.sha,
            "commit_time": change.commit_time,
            **feature_values(
                change,
                kamei[change.sha],
                functions[change.sha],
                code.get(change.sha) or no_code(),
            ),
        }
        for column in columns:
            columns[column].append(values[column])
    return pa.Table.from_pydict(columns, schema=SCHEMAS["change_features"])


def _labels(
    writer: RepoWriter, name: str, changes: Iterable[Change], newest: int, config: Config
) -> pa.Table:
    filters = frozenset(AgFilter(f) for f in config.labels.filters)
    variant = variant_name(Variant(config.labels.default_variant), filters)
    links = writer.read("szz_links", ["inducing_sha", "variant"])
    inducing = {
        s
        for s, v in zip(
            links["inducing_sha"].to_pylist(), links["variant"].to_pylist(), strict=True
        )
        if v == variant
    }
    labelled_any = variant in writer.manifest.state.szz_variants
    mature_before = newest - config.labels.maturity_days * 86_400
    rows: dict[str, list[object]] = {c: [] for c in SCHEMAS["change_labels"].names}
    for change in changes:
        if change.sha in inducing:
            value: bool | None = True
        elif change.commit_time <= mature_before and labelled_any:
            value = False
        else:
            value = None  # too young to call clean
        for column, v in (
            ("repo", name),
            ("sha", change.sha),
            ("variant", variant),
            ("is_inducing", value),
        ):
            rows[column].append(v)
    return pa.Table.from_pydict(rows, schema=SCHEMAS["change_labels"])


def features_for(
    config: Config,
    names: Iterable[str] = (),
    progress: ProgressCallback | None = None,
    workers: int = 1,
) -> list[FeaturesReport]:
    repos = [config.repository(n) for n in names] or list(config.repositories)
    return [build_features(config, r, progress, workers) for r in repos]
