"""Line-level training and evaluation data from a mined and labelled store.

For a repository of the store: its defect-inducing changes (``szz_links`` of one SZZ
variant; a sample of them when asked), the added lines of code of each
(features.lines), each line's :func:`~teamlens.model.lines.line_vector` with the history
the change continued (the store's changes replayed in time order, as the review's
history is: file fixes in the 90 days before, changes and fixes of the function), and
whether a fix within the label window deleted or changed the line
(mining.szz_lines). Only changes with at least one such line are kept: the ranking is
judged where a fix found something.

Rows are keyed by commit, path and line and hold no identity; they are research data
in the private zone (a commit id beside a label), never published.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pygit2

from teamlens.config import Config
from teamlens.errors import TeamlensError
from teamlens.features.function_history import FunctionHistory, FunctionTouch
from teamlens.features.kamei import Change, Replay, TeamMap
from teamlens.features.lines import ChangeLine, change_lines
from teamlens.features.pipeline import load_changes, load_functions
from teamlens.mining.blame import SzzSession
from teamlens.mining.miner import currently_lost
from teamlens.mining.szz_lines import inducing_lines
from teamlens.model.lines import LINE_FEATURES, LineHistory, line_vector
from teamlens.store import Store


@dataclass(frozen=True)
class LineRow:
    """One added line of code of a defect-inducing change, with its features and label."""

    repo: str
    sha: str
    path: str
    line: int
    values: tuple[float, ...]  # LINE_FEATURES
    complexity: int  # the function's complexity after (0 outside any), for the baseline
    nesting: int
    fixed: bool  # a fix within the label window deleted or changed it


def line_rows(
    store: Store,
    repo_name: str,
    clone: Path,
    variant: str,
    window_days: int,
    limit: int | None = None,
    seed: int = 0,
    max_lines: int = 2000,
    progress: Callable[[int, int], None] | None = None,
) -> list[LineRow]:
    """The line rows of `repo_name`'s defect-inducing changes (see the module docstring).

    `limit` changes at most (a seeded sample), of at most `max_lines` added lines of code.
    """

    def read(table: str, columns: Sequence[str]) -> pa.Table:
        return store.read(table, repo_name).select(list(columns))

    lost = currently_lost(read("lost_commits", ["sha", "event"]))
    changes, _ = load_changes(read, lost)
    links = read("szz_links", ["fix_sha", "inducing_sha", "variant"])
    pairs = {
        (fix, inducing)
        for fix, inducing, name in zip(
            links["fix_sha"].to_pylist(),
            links["inducing_sha"].to_pylist(),
            links["variant"].to_pylist(),
            strict=True,
        )
        if name == variant
    }
    known = {c.sha for c in changes}
    inducing = sorted({i for _, i in pairs if i in known})
    if limit is not None and len(inducing) > limit:
        inducing = sorted(random.Random(seed).sample(inducing, limit))  # noqa: S311 (a sample)
    wanted = set(inducing)
    fixes = sorted({fix for fix, i in pairs if i in wanted})
    times = {c.sha: c.commit_time for c in changes}
    session = SzzSession(clone)
    try:
        truth = inducing_lines(session, fixes, times, window_days, wanted)
    finally:
        session.close()
    functions_of = load_functions(read)
    repo = pygit2.Repository(str(clone))
    replay = Replay(TeamMap({}))
    history = FunctionHistory()
    rows: list[LineRow] = []
    done = 0
    for change in changes:
        if change.sha in truth:
            rows += _change_rows(
                repo_name, repo, change, truth[change.sha], replay, history, max_lines
            )
            done += 1
            if progress is not None:
                progress(done, len(truth))
        replay.advance(change)
        history.advance(change, functions_of.get(change.sha, []))
    return rows


def _change_rows(
    repo_name: str,
    repo: pygit2.Repository,
    change: Change,
    fixed: dict[str, set[int]],
    replay: Replay,
    history: FunctionHistory,
    max_lines: int,
) -> list[LineRow]:
    commit = repo.get(change.sha)
    if not isinstance(commit, pygit2.Commit) or len(commit.parents) != 1:
        return []
    lines = change_lines(repo, str(commit.parents[0].id), change.sha)
    if not lines or len(lines) > max_lines:
        return []
    if not any(line.facts.line in fixed.get(line.path, ()) for line in lines):
        return []
    return [
        LineRow(
            repo_name,
            change.sha,
            line.path,
            line.facts.line,
            tuple(line_vector(line, line_history(change, line, replay, history))),
            line.facts.complexity or 0,
            line.facts.nesting,
            line.facts.line in fixed.get(line.path, ()),
        )
        for line in lines
    ]


def line_history(
    change: Change, line: ChangeLine, replay: Replay | None, history: FunctionHistory | None
) -> LineHistory:
    """The file's and the function's past for one line of `change`."""
    touch = next((t for t in change.files if t.path == line.path), None)
    file_fixes = (
        replay.recent_fixes(touch, change.commit_time)
        if replay is not None and touch is not None
        else 0
    )
    if history is None or line.facts.function is None:
        return LineHistory(0, 0, file_fixes)
    found = history.features(change, [FunctionTouch(line.path, line.facts.function)])
    return LineHistory(found.functions_prior_changes, found.functions_prior_fixes, file_fixes)


#: Kept for acceptance: never trained or tuned on (docs/evaluation.md).
HELD_OUT_NAMES = frozenset({"flask", "click", "requests", "httpx", "cobra", "express"})

_ROW_SCHEMA = pa.schema(
    [
        ("repo", pa.string()),
        ("sha", pa.string()),
        ("path", pa.string()),
        ("line", pa.int32()),
        *((name, pa.float64()) for name in LINE_FEATURES),
        ("function_complexity", pa.int32()),
        ("line_nesting", pa.int32()),
        ("fixed", pa.bool_()),
    ]
)


def rows_table(rows: Sequence[LineRow]) -> pa.Table:
    """Line rows as an Arrow table, one column per feature."""
    columns: dict[str, list[object]] = {name: [] for name in _ROW_SCHEMA.names}
    for row in rows:
        columns["repo"].append(row.repo)
        columns["sha"].append(row.sha)
        columns["path"].append(row.path)
        columns["line"].append(row.line)
        for name, value in zip(LINE_FEATURES, row.values, strict=True):
            columns[name].append(value)
        columns["function_complexity"].append(row.complexity)
        columns["line_nesting"].append(row.nesting)
        columns["fixed"].append(row.fixed)
    return pa.table(columns, schema=_ROW_SCHEMA)


def corpus_line_table(
    config: Config,
    cache: Path | None = None,
    limit: int | None = 150,
    seed: int = 0,
    names: Sequence[str] | None = None,
    log: Callable[[str], None] | None = None,
    held_out: bool = False,
) -> pa.Table:
    """The line rows of every (or the named) repository of a corpus configuration.

    Each repository's rows are cached in `cache` (``<name>.parquet``, keyed by the
    window, limit and seed in the file name) and read from there next time.
    Held-out repositories are refused, unless `held_out` says these rows are only for
    scoring a model fitted elsewhere (the benchmark's last row), never for fitting.
    """
    import pyarrow.parquet as pq

    chosen = [r for r in config.repositories if names is None or r.name in names]
    refused = HELD_OUT_NAMES & {r.name for r in chosen}
    if refused and not held_out:
        raise LineDataError(
            f"held-out repositories are never line training data: {sorted(refused)}"
        )
    store = Store(config.data_dir)
    variant = _variant(config)
    tables = []
    for repo in chosen:
        tag = f"{repo.name}-{config.labels.maturity_days}d-{limit}-{seed}.parquet"
        target = cache / tag if cache is not None else None
        if target is not None and target.exists():
            tables.append(pq.read_table(target))
            continue
        clone = repo.path if repo.path is not None else config.clones_dir / repo.name
        started = time.perf_counter()
        rows = line_rows(store, repo.name, clone, variant, config.labels.maturity_days, limit, seed)
        table = rows_table(rows)
        if target is not None:
            target.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(table, target)
        if log is not None:
            log(
                f"{repo.name}: {len(set(table['sha'].to_pylist())):,} changes, "
                f"{table.num_rows:,} lines in {time.perf_counter() - started:.0f} s"
            )
        tables.append(table)
    return pa.concat_tables(tables) if tables else _ROW_SCHEMA.empty_table()


def _variant(config: Config) -> str:
    from teamlens.mining.szz import AgFilter, Variant, variant_name

    kind = Variant(config.labels.default_variant)
    if kind is Variant.B:
        return kind.value
    return variant_name(kind, frozenset(AgFilter(f) for f in config.labels.filters))


class LineDataError(TeamlensError):
    "Line data cannot be built as asked"
