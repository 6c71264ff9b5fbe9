"""The single writer of one repository's facts: new part files fsynced first, then the
manifest replaced atomically; rollback, compaction and purge."""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from teamlens.errors import StoreError, write_failure
from teamlens.store.manifest import (
    COMPACT_AT_PARTS,
    GARBAGE_GRACE_SECONDS,
    MANIFEST,
    ROLLBACK_POINT,
    Manifest,
    _read_manifest,
    _read_parts,
)
from teamlens.store.schema import SCHEMAS
from teamlens.store.state import RepoState


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

    def commit(self, tables: Mapping[str, pa.Table], state: RepoState) -> None:
        """Append the given rows and the new miner state, atomically."""
        parts = {t: list(p) for t, p in self.manifest.parts.items()}
        for table, data in tables.items():
            if data.num_rows:
                parts.setdefault(table, []).append(self._new_part(table, data))
        if tables:
            _fsync_dir(self.root)
        self._publish(
            Manifest({t: tuple(p) for t, p in parts.items()}, state, self.manifest.garbage)
        )

    def adopt(self, parts: Mapping[str, Sequence[str]], state: RepoState) -> None:
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
            Manifest({t: tuple(p) for t, p in listed.items()}, state, self.manifest.garbage)
        )

    def replace(
        self, tables: Mapping[str, pa.Table], state: RepoState, purge: bool = False
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
        self._publish(Manifest(parts, state, tuple(garbage)), rollback_point=purge)
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
