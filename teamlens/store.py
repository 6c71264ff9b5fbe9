"""The embedded fact store: Parquet files, a manifest per repository, DuckDB to query.

Layout under ``<data_dir>/store``::

    <repo>/manifest.json          the committed state: part files per table, miner state
    <repo>/<table>/<uuid>.parquet immutable part files
    <repo>/.lock                  held (flock) by the one writer of this repository

Crash safety: a writer first writes new part files (under names no manifest lists
yet), fsyncs them, then atomically replaces manifest.json. A run killed at any moment
leaves either the old or the new manifest; unlisted files are leftovers and are
deleted by the next writer. Readers read the manifest, then only the files it lists,
so they never see a half-written batch and never block the writer. Files that a
rewrite (compaction, opt-out purge) drops are deleted only after a grace period, so a
reader that read the previous manifest a moment ago still finds them.

One manifest per repository means mining tasks for different repositories never
contend: they can run in parallel processes or on a cluster.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

from teamlens.errors import QueryError, StoreError, write_failure

if TYPE_CHECKING:  # DuckDB loads only for queries: mining never needs it
    import duckdb

MANIFEST = "manifest.json"
#: A copy of the manifest a writer started from: rolling back is then one rename, which
#: needs no free space (an error caused by a full disk can still be undone).
ROLLBACK_POINT = "manifest.rollback.json"
MANIFEST_VERSION = 1
GARBAGE_GRACE_SECONDS = 600
COMPACT_AT_PARTS = 32

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
    "change_features": pa.schema(
        [
            ("repo", pa.string()),
            ("sha", pa.string()),
            ("commit_time", _UTC),
            ("ns", pa.int32()),
            ("nd", pa.int32()),
            ("nf", pa.int32()),
            ("entropy", pa.float64()),
            ("la", pa.int64()),
            ("ld", pa.int64()),
            ("lt", pa.int64()),
            ("fix", pa.bool_()),
            ("ndev", pa.int32()),
            ("age", pa.float64()),
            ("nuc", pa.int32()),
            ("owning_teams", pa.list_(pa.string())),
            ("n_teams", pa.int32()),
            ("owner_share", pa.float64()),
            ("recent_fixes", pa.int32()),
            ("tests_touched", pa.bool_()),
            ("code_metrics_files", pa.int32()),
            ("functions_changed", pa.int32()),
            ("complexity_before", pa.int32()),
            ("complexity_after", pa.int32()),
            ("max_complexity_increase", pa.int32()),
            ("largest_function_complexity", pa.int32()),
            ("comment_lines_added", pa.int32()),
            ("whitespace_lines_added", pa.int32()),
            ("jit_ns", pa.int32()),
            ("jit_nd", pa.int32()),
            ("jit_nf", pa.int32()),
            ("jit_entropy", pa.float64()),
            ("jit_la", pa.int64()),
            ("jit_lt", pa.int64()),
        ]
    ),
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

#: The published zone (DESIGN.md privacy rule 2): the stored columns `teamlens query` can
#: read, as an allow-list. Git's own facts only: no person pseudonym, no message text, no
#: teamlens outcome. A column added to SCHEMAS stays private until it is listed here.
PUBLISHED_COLUMNS: Mapping[str, tuple[str, ...]] = {
    "commits": (
        "repo",
        "sha",
        "parent_shas",
        "is_merge",
        "author_time",
        "author_tz",
        "commit_time",
        "committer_tz",
        "is_fix",
        "n_files",
        "added",
        "deleted",
    ),
    "file_changes": tuple(SCHEMAS["file_changes"].names),
    "lost_commits": tuple(SCHEMAS["lost_commits"].names),
}
#: Stored table -> the published relation that holds all its rows (loaded into memory).
_PUBLISHED_TABLES: Mapping[str, str] = {
    "commits": "commits_all",
    "file_changes": "file_changes_all",
    "lost_commits": "lost_commit_events",
}
_PUBLISHED_LOST_NOW = (
    "SELECT repo, sha FROM lost_commit_events GROUP BY repo, sha"
    " HAVING sum(CASE event WHEN 'lost' THEN 1 ELSE -1 END) > 0"
)
#: The views of the published zone, over the loaded tables (the same rows as VIEWS).
_PUBLISHED_VIEWS: Mapping[str, str] = {
    "lost_commits": "SELECT * EXCLUDE (event) FROM lost_commit_events"  # noqa: S608 - constants
    f" WHERE event = 'lost' AND (repo, sha) IN ({_PUBLISHED_LOST_NOW})"
    " QUALIFY row_number() OVER (PARTITION BY repo, sha ORDER BY detected_at DESC) = 1",
    "commits": f"SELECT * FROM commits_all WHERE (repo, sha) NOT IN ({_PUBLISHED_LOST_NOW})",  # noqa: S608
    "file_changes": "SELECT * FROM file_changes_all"  # noqa: S608 - constants
    f" WHERE (repo, sha) NOT IN ({_PUBLISHED_LOST_NOW})",
}
#: Every relation `teamlens query` has: nothing else exists on its connection.
PUBLISHED_RELATIONS: tuple[str, ...] = (
    "commits",
    "commits_all",
    "file_changes",
    "file_changes_all",
    "lost_commits",
    "lost_commit_events",
    "team_period",
)

_OUTCOMES = "change-level outcomes"
_FEATURES = "change-level features"
_GITHUB = "pull requests and reviews, with person pseudonyms"
#: Why a relation of the private zone is private (in the one-line refusal).
_PRIVATE_RELATIONS: Mapping[str, str] = {
    "changes": _OUTCOMES,
    "change_labels": _OUTCOMES,
    "szz_links": _OUTCOMES,
    "szz_fixes": _OUTCOMES,
    "change_features": _FEATURES,
    "changed_functions": _FEATURES,
    "change_reviews": _GITHUB,
    "pull_requests": _GITHUB,
    "pull_request_files": _GITHUB,
    "reviews": _GITHUB,
    "review_comments": _GITHUB,
}
_PRIVATE_COLUMNS: Mapping[str, str] = {
    "author_id": "person pseudonyms",
    "committer_id": "person pseudonyms",
    "reviewer_id": "person pseudonyms",
    "message_subject": "commit messages",
}
_RESEARCH_ROUTE = (
    "`teamlens query` reads the published zone only; researchers use "
    "`teamlens export` (k-anonymous) or `train`/`evaluate`"
)
_MISSING_TABLE_RE = re.compile(r"^Catalog Error: Table with name (.+?) does not exist!")
_MISSING_COLUMN_RE = re.compile(
    r'^Binder Error: (?:Referenced column "([^"]+)" not found|.* does not have a column named'
    r' "([^"]+)")'
)


def _private_zone_refusal(message: str) -> str | None:
    """The refusal for an error caused by naming something of the private zone, if it was."""
    if found := _MISSING_TABLE_RE.match(message):
        name = found.group(1).lower()
        if name in _PRIVATE_RELATIONS:
            why = _PRIVATE_RELATIONS[name]
        elif name.startswith("_") or name in SCHEMAS or name in VIEWS:
            why = "teamlens's internal tables"
        else:
            return None
        return f"{found.group(1)!r} is in teamlens's private zone ({why}); {_RESEARCH_ROUTE}"
    if found := _MISSING_COLUMN_RE.match(message):
        name = (found.group(1) or found.group(2)).lower()
        if name in _PRIVATE_COLUMNS:
            return (
                f"{name!r} is in teamlens's private zone ({_PRIVATE_COLUMNS[name]}); "
                f"{_RESEARCH_ROUTE}"
            )
    return None


@dataclass(frozen=True)
class Manifest:
    """The committed state of one repository's facts."""

    parts: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    state: Mapping[str, Any] = field(default_factory=dict)
    garbage: tuple[tuple[str, float], ...] = ()

    def to_json(self) -> str:
        return json.dumps(
            {
                "version": MANIFEST_VERSION,
                "parts": {t: list(p) for t, p in sorted(self.parts.items())},
                "state": self.state,
                "garbage": [list(g) for g in self.garbage],
            },
            indent=1,
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str, where: Path) -> Manifest:
        try:
            raw = json.loads(text)
            if raw.get("version") != MANIFEST_VERSION:
                raise StoreError(f"{where}: unsupported manifest version {raw.get('version')!r}")
            return cls(
                parts={t: tuple(p) for t, p in raw["parts"].items()},
                state=raw["state"],
                garbage=tuple((str(f), float(t)) for f, t in raw.get("garbage", [])),
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise StoreError(f"{where}: corrupt manifest ({exc})") from None


@dataclass(frozen=True)
class QueryResult:
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def _writing(path: Path) -> Iterator[None]:
    """Turn an OSError (a full disk, a quota, a read-only folder) into a one-line StoreError."""
    try:
        yield
    except OSError as exc:
        raise StoreError(write_failure(exc, path)) from exc


def _write_text(path: Path, text: str) -> None:
    """Write `path` and force it to disk (manifests and the rollback point)."""
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())


def _write_parquet(table: pa.Table, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    pq.write_table(table, tmp, compression="zstd")
    with open(tmp, "rb+") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)  # the manifest must never list a file whose entry is not on disk


class RepoWriter:
    """The single writer of one repository's facts; obtained from :meth:`Store.writer`."""

    def __init__(self, root: Path, repo: str) -> None:
        self.root = root
        self.repo = repo
        self.initial = _read_manifest(root)
        self.manifest = self.initial

    def _cleanup(self) -> None:
        """Delete leftovers of killed runs and expired garbage; keep every listed file."""
        listed = {p for parts in self.manifest.parts.values() for p in parts}
        pending = {f for f, _ in self.manifest.garbage}
        now = time.time()
        expired = {f for f, t in self.manifest.garbage if now - t > GARBAGE_GRACE_SECONDS}
        for path in self.root.rglob("*.parquet*"):
            rel = path.relative_to(self.root).as_posix()
            if rel in listed:
                continue
            if rel in pending and rel not in expired:
                continue
            path.unlink(missing_ok=True)
        if expired:
            garbage = tuple(g for g in self.manifest.garbage if g[0] not in expired)
            self._publish(Manifest(self.manifest.parts, self.manifest.state, garbage))

    def _publish(self, manifest: Manifest, rollback_point: bool = False) -> None:
        """Make `manifest` the committed state (and, if asked, the one a rollback returns to).

        The new rollback point is written before the manifest is replaced, so a failure
        at any step leaves the old state and the old point, which still agree.
        """
        text = manifest.to_json()
        tmp = self.root / (MANIFEST + ".tmp")
        point = self.root / (ROLLBACK_POINT + ".tmp")
        with _writing(tmp):
            if rollback_point:
                _write_text(point, text)
            _write_text(tmp, text)
            os.replace(tmp, self.root / MANIFEST)
            if rollback_point:
                os.replace(point, self.root / ROLLBACK_POINT)
            _fsync_dir(self.root)
        self.manifest = manifest
        if rollback_point:
            self.initial = manifest

    def _keep_rollback_point(self) -> None:
        """Copy the manifest this writer starts from; a rollback renames it back into place.

        Without a manifest (a first run), there is nothing to copy: a rollback removes
        the run's manifest instead.
        """
        self.initial = self.manifest
        point = self.root / ROLLBACK_POINT
        if not (self.root / MANIFEST).exists():
            point.unlink(missing_ok=True)
            return
        tmp = self.root / (ROLLBACK_POINT + ".tmp")
        with _writing(tmp):
            _write_text(tmp, self.manifest.to_json())
            os.replace(tmp, point)

    def _drop_rollback_point(self) -> None:
        for name in (ROLLBACK_POINT, ROLLBACK_POINT + ".tmp"):
            (self.root / name).unlink(missing_ok=True)

    def _new_part(self, table: str, data: pa.Table) -> str:
        folder = self.root / table
        rel = f"{table}/{uuid.uuid4().hex}.parquet"
        with _writing(self.root / rel):
            folder.mkdir(exist_ok=True)
            _write_parquet(data.cast(SCHEMAS[table]), self.root / rel)
        return rel

    def commit(self, tables: Mapping[str, pa.Table], state: Mapping[str, Any]) -> None:
        """Append the given rows and the new miner state, atomically."""
        parts = {t: list(p) for t, p in self.manifest.parts.items()}
        for table, data in tables.items():
            if data.num_rows:
                parts.setdefault(table, []).append(self._new_part(table, data))
        if tables:
            _fsync_dir(self.root)
        self._publish(
            Manifest({t: tuple(p) for t, p in parts.items()}, dict(state), self.manifest.garbage)
        )

    def adopt(self, parts: Mapping[str, Sequence[str]], state: Mapping[str, Any]) -> None:
        """Append files already written into this repository's folder, atomically.

        ``parts`` are paths relative to the folder (``<table>/<name>.parquet``), e.g.
        hard links of another store's files; a kill before the publish leaves them
        unlisted, and the next writer deletes them.
        """
        listed = {t: list(p) for t, p in self.manifest.parts.items()}
        for table, rels in parts.items():
            listed.setdefault(table, []).extend(rels)
            if rels:
                _fsync_dir(self.root / table)
        self._publish(
            Manifest({t: tuple(p) for t, p in listed.items()}, dict(state), self.manifest.garbage)
        )

    def replace(
        self, tables: Mapping[str, pa.Table], state: Mapping[str, Any], purge: bool = False
    ) -> None:
        """Replace whole tables (compaction, or an opt-out purge), atomically.

        Replaced files normally linger for a grace period so readers of the previous
        manifest can finish. With ``purge`` they are deleted at once, and the purge
        becomes the point a later rollback returns to: removed people's rows must not
        come back, not even for a moment.
        """
        parts = {t: tuple(p) for t, p in self.manifest.parts.items()}
        now = time.time()
        replaced = [p for table in tables for p in parts.get(table, ())]
        for table, data in tables.items():
            parts[table] = (self._new_part(table, data),) if data.num_rows else ()
        if tables:
            _fsync_dir(self.root)
        garbage = list(self.manifest.garbage)
        if purge:
            # Nothing superseded survives a purge: files waiting out their grace period
            # (older compactions) hold the removed rows too.
            replaced += [p for p, _ in garbage]
            garbage = []
        else:
            garbage.extend((p, now) for p in replaced)
        self._publish(Manifest(parts, dict(state), tuple(garbage)), rollback_point=purge)
        if purge:
            for rel in replaced:
                (self.root / rel).unlink(missing_ok=True)
            listed = {p for table_parts in parts.values() for p in table_parts}
            for path in self.root.rglob("*.parquet*"):  # leftovers of killed runs
                if path.relative_to(self.root).as_posix() not in listed:
                    path.unlink(missing_ok=True)

    def rollback(self) -> None:
        """Return to the manifest this writer started from (after an error, not a kill).

        One rename of the rollback point, so this works on a full disk too; then the
        run's new files are deleted.
        """
        if self.manifest != self.initial:
            point = self.root / ROLLBACK_POINT
            with _writing(self.root / MANIFEST):
                if point.exists():
                    os.replace(point, self.root / MANIFEST)
                else:
                    (self.root / MANIFEST).unlink(missing_ok=True)
                _fsync_dir(self.root)
            self.manifest = self.initial
        self._cleanup()

    def has_rows(self, table: str) -> bool:
        """Whether the table has any part (answered from the manifest, without reading)."""
        return bool(self.manifest.parts.get(table))

    def read(self, table: str, columns: Sequence[str] | None = None) -> pa.Table:
        return _read_parts(self.root, self.manifest.parts.get(table, ()), table, columns)

    def compact(self) -> None:
        """Merge a table's parts into one file once there are many, streaming part by part."""
        merged: dict[str, str] = {}
        for table, parts in self.manifest.parts.items():
            if len(parts) < COMPACT_AT_PARTS:
                continue
            rel = f"{table}/{uuid.uuid4().hex}.parquet"
            tmp = self.root / (rel + ".tmp")
            with _writing(tmp):
                with pq.ParquetWriter(tmp, SCHEMAS[table], compression="zstd") as out:
                    for part in parts:
                        out.write_table(pq.read_table(self.root / part).cast(SCHEMAS[table]))
                with open(tmp, "rb+") as fh:
                    os.fsync(fh.fileno())
                os.replace(tmp, self.root / rel)
                _fsync_dir(tmp.parent)
            merged[table] = rel
        if not merged:
            return
        now = time.time()
        garbage = list(self.manifest.garbage)
        parts_now = dict(self.manifest.parts)
        for table, rel in merged.items():
            garbage.extend((p, now) for p in parts_now[table])
            parts_now[table] = (rel,)
        self._publish(Manifest(parts_now, self.manifest.state, tuple(garbage)))


def _read_manifest(root: Path) -> Manifest:
    path = root / MANIFEST
    try:
        return Manifest.from_json(path.read_text(encoding="utf-8"), path)
    except FileNotFoundError:
        return Manifest()


def _read_parts(
    root: Path, parts: tuple[str, ...], table: str, columns: Sequence[str] | None = None
) -> pa.Table:
    schema = SCHEMAS[table]
    if columns is not None:
        schema = pa.schema([schema.field(c) for c in columns])
    if not parts:
        return schema.empty_table()
    return pa.concat_tables(
        [pq.read_table(root / p, columns=schema.names).cast(schema) for p in parts]
    )


_REPO_DIR_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*\Z")


class Store:
    """All facts under one data folder.

    Examples
    --------
    >>> store = Store(Path(".teamlens"))          # doctest: +SKIP
    >>> store.query("SELECT count(*) FROM commits").rows  # doctest: +SKIP
    [(5531,)]
    """

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.root = data_dir / "store"

    def repos(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and (p / MANIFEST).exists())

    def manifest(self, repo: str) -> Manifest:
        return _read_manifest(self.root / repo)

    @contextlib.contextmanager
    def writer(self, repo: str) -> Iterator[RepoWriter]:
        """Hold the repository's write lock; roll back to the start on an exception."""
        if not _REPO_DIR_RE.fullmatch(repo):
            raise StoreError(f"invalid repository name for the store: {repo!r}")
        root = self.root / repo
        try:
            root.mkdir(parents=True, exist_ok=True)
            lock = open(root / ".lock", "a+")  # noqa: SIM115 - held for the whole block
        except OSError as exc:
            raise StoreError(f"{root}: cannot write the store ({exc.strerror})") from None
        with lock:
            try:
                fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise StoreError(
                    f"{root}: another teamlens process is writing repository "
                    f"{repo!r}; try again when it has finished"
                ) from None
            writer = RepoWriter(root, repo)
            writer._cleanup()
            writer._keep_rollback_point()
            try:
                yield writer
            except BaseException as exc:
                # A Ctrl-C keeps what was committed (like a kill); an error undoes the run.
                if not isinstance(exc, KeyboardInterrupt):
                    writer.rollback()
                raise
            finally:
                writer._drop_rollback_point()

    def read(self, table: str, repo: str | None = None) -> pa.Table:
        repos = [repo] if repo is not None else self.repos()
        pieces = [
            _read_parts(self.root / r, self.manifest(r).parts.get(table, ()), table) for r in repos
        ]
        return pa.concat_tables(pieces) if pieces else SCHEMAS[table].empty_table()

    def connect(self) -> duckdb.DuckDBPyConnection:
        """An in-memory DuckDB connection with a view per table over the committed files."""
        import duckdb

        con = duckdb.connect(":memory:")
        con.execute("SET TimeZone = 'UTC'")
        manifests = {r: self.manifest(r) for r in self.repos()}
        readable: list[str] = []
        for table, schema in SCHEMAS.items():
            files = [
                str(self.root / r / p) for r, m in manifests.items() for p in m.parts.get(table, ())
            ]
            readable += files
            if files:
                listing = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
                con.execute(
                    f"CREATE VIEW _{table} AS SELECT * FROM read_parquet([{listing}], "  # noqa: S608
                    "union_by_name = true)"
                )
            else:
                con.register(f"_empty_{table}", schema.empty_table())
                con.execute(f"CREATE VIEW _{table} AS SELECT * FROM _empty_{table}")  # noqa: S608
        for view, sql in VIEWS.items():
            con.execute(f"CREATE VIEW {view} AS {sql}")
        readable += self._team_period(con)
        _read_only(con, readable)
        return con

    def connect_published(self) -> duckdb.DuckDBPyConnection:
        """An in-memory DuckDB connection holding the published zone and nothing else.

        The published columns (:data:`PUBLISHED_COLUMNS`) of the committed files and the
        team aggregates are copied into in-memory tables; then external access is
        switched off with no file allowed and the configuration is locked. A statement
        on this connection can read those tables and nothing on disk: no part file
        (``read_parquet``, a quoted path), no other file, no private column. The
        relations are exactly :data:`PUBLISHED_RELATIONS`.
        """
        import duckdb

        from teamlens.aggregates import SCHEMA, TEAM_PERIOD_FILE

        con = duckdb.connect(":memory:")
        try:
            con.execute("SET TimeZone = 'UTC'")
            manifests = {r: self.manifest(r) for r in self.repos()}
            for table, relation in _PUBLISHED_TABLES.items():
                columns = PUBLISHED_COLUMNS[table]
                files = [
                    str(self.root / r / p)
                    for r, m in manifests.items()
                    for p in m.parts.get(table, ())
                ]
                empty = pa.schema([SCHEMAS[table].field(c) for c in columns]).empty_table()
                _load(con, relation, files, columns, empty)
            for view, sql in _PUBLISHED_VIEWS.items():
                con.execute(f"CREATE VIEW {view} AS {sql}")
            aggregates = self.root.parent / TEAM_PERIOD_FILE
            files = [str(aggregates)] if aggregates.is_file() else []
            _load(con, "team_period", files, None, SCHEMA.empty_table())  # all published
            # A name that is no relation must not reach a Python object of the caller.
            con.execute("SET python_enable_replacements = false")
            _read_only(con, ())
        except BaseException:
            con.close()
            raise
        return con

    def _team_period(self, con: duckdb.DuckDBPyConnection) -> list[str]:
        """The k-suppressed team aggregates (dashboard.team_period), when built.

        Returns the file the view reads (none when the aggregates are not built).
        """
        from teamlens.aggregates import SCHEMA, TEAM_PERIOD_FILE

        path = self.root.parent / TEAM_PERIOD_FILE
        if path.is_file():
            quoted = "'" + str(path).replace("'", "''") + "'"
            con.execute(f"CREATE VIEW team_period AS SELECT * FROM read_parquet({quoted})")  # noqa: S608
            return [str(path)]
        con.register("_empty_team_period", SCHEMA.empty_table())
        con.execute("CREATE VIEW team_period AS SELECT * FROM _empty_team_period")
        return []

    def _query_io_error(self, exc: Exception) -> QueryError:
        """Why a file could not be read three times: files gone for good, or a busy store."""
        missing = [
            f"{repo}/{part}"
            for repo in self.repos()
            for parts in self.manifest(repo).parts.values()
            for part in parts
            if not (self.root / repo / part).is_file()
        ]
        if missing:
            return QueryError(
                f"the store is damaged: {len(missing)} files its manifests list are missing "
                f"(first: {missing[0]}); restore the data folder from a backup, or delete "
                "that repository's folder under store/ and mine it again"
            )
        return QueryError(f"the store changed during the query 3 times: {exc}")

    def query(self, sql: str, params: Sequence[object] = ()) -> QueryResult:
        """Run one read-only SQL statement (with ``?`` parameters) over the committed facts.

        This reads the private zone (every table, person pseudonyms, outcomes): it is for
        teamlens's own stages only. ``teamlens query`` uses :meth:`query_published`.

        Only a single SELECT (``WITH ... SELECT``, ``VALUES``, ``FROM ...``, ``DESCRIBE``
        and ``SHOW`` parse as SELECT too) is accepted; anything else is a
        :class:`QueryError` before it runs. The connection can read the store's listed
        files and nothing else (see :func:`_read_only`).
        """
        return self._query(self.connect, sql, params, published=False)

    def query_published(self, sql: str, params: Sequence[object] = ()) -> QueryResult:
        """Run one read-only SQL statement over the published zone (``teamlens query``).

        The same rules as :meth:`query`, on :meth:`connect_published`. Naming a relation
        or a column of the private zone is a :class:`QueryError` that says so.
        """
        return self._query(self.connect_published, sql, params, published=True)

    def _query(
        self,
        connect: Callable[[], duckdb.DuckDBPyConnection],
        sql: str,
        params: Sequence[object],
        published: bool,
    ) -> QueryResult:
        import duckdb

        for attempt in range(3):
            try:
                con = connect()
            except duckdb.IOException as exc:
                # A purge deleted a listed file between the manifest read and the views.
                if attempt == 2:
                    raise self._query_io_error(exc) from None
                continue
            except duckdb.Error as exc:  # a listed part that is not Parquet (cut short, ...)
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
                raise QueryError(f"the store is damaged: {first}") from None
            try:
                _check_single_select(con, sql)
                cursor = con.execute(sql, list(params))
                columns = tuple(d[0] for d in cursor.description or ())
                return QueryResult(columns, cursor.fetchall() if columns else [])
            except duckdb.IOException as exc:
                # A rewrite replaced files between reading the manifest and the files.
                if attempt == 2:
                    raise self._query_io_error(exc) from None
            except duckdb.Error as exc:
                message = (
                    str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                )
                refusal = _private_zone_refusal(message) if published else None
                raise QueryError(refusal or message) from None
            finally:
                con.close()
        raise AssertionError("unreachable")


def _load(
    con: duckdb.DuckDBPyConnection,
    relation: str,
    files: Sequence[str],
    columns: Sequence[str] | None,
    empty: pa.Table,
) -> None:
    """Copy `columns` (None: all) of the Parquet `files` (or `empty`) into a table in memory."""
    select = "*" if columns is None else ", ".join(f'"{c}"' for c in columns)  # constants
    if files:
        listing = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
        source = f"read_parquet([{listing}], union_by_name = true)"
    else:
        con.register("_empty", empty)
        source = "_empty"
    try:
        con.execute(f"CREATE TABLE {relation} AS SELECT {select} FROM {source}")  # noqa: S608
    finally:
        if not files:
            con.unregister("_empty")


_REFUSED_SQL_PREVIEW = 60


def _read_only(con: duckdb.DuckDBPyConnection, files: Sequence[str]) -> None:
    """Let `con` read exactly `files` and nothing else on this machine, from now on.

    The views are created first; then DuckDB's external access is switched off with the
    view's files as the only exception (``allowed_paths``), and the configuration is
    locked so a statement cannot switch it back on. User SQL can then not read other
    files (``read_csv('/etc/passwd')``, ``read_text``, ``glob``, a quoted path as a
    table), write files (``COPY``, ``EXPORT``, ``ATTACH``), reach the network or load
    extensions, even if it got past :func:`_check_single_select`.
    """
    import duckdb

    if files:
        listing = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
        try:
            con.execute(f"SET allowed_paths = [{listing}]")
        except duckdb.CatalogException:  # a DuckDB without the setting: fail closed
            con.close()
            raise QueryError(
                f"DuckDB {duckdb.__version__} cannot limit queries to the store's files "
                "(no `allowed_paths` setting); upgrade DuckDB"
            ) from None
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")


def _check_single_select(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    """Refuse anything but exactly one SELECT statement (DuckDB's own parser decides)."""
    import duckdb

    statements = con.extract_statements(sql)
    if len(statements) == 1 and statements[0].type == duckdb.StatementType.SELECT:
        return
    if not statements:
        found = "no statement"
    elif len(statements) > 1:
        found = f"{len(statements)} statements"
    else:
        found = f"a {statements[0].type.name} statement"
    preview = " ".join(sql.split())
    if len(preview) > _REFUSED_SQL_PREVIEW:
        preview = preview[: _REFUSED_SQL_PREVIEW - 1] + "…"
    raise QueryError(
        f"only a single SELECT (or WITH ... SELECT) is allowed: got {found} ({preview!r})"
    )
