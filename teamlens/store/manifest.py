"""The manifest: the committed state of one repository's facts, and reading the part
files it lists."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from teamlens.errors import StoreError
from teamlens.store.layout import MANIFEST as MANIFEST
from teamlens.store.schema import SCHEMAS
from teamlens.store.state import RepoState

#: A copy of the manifest a writer started from: rolling back is then one rename, which
#: needs no free space (an error caused by a full disk can still be undone).
ROLLBACK_POINT = "manifest.rollback.json"
MANIFEST_VERSION = 1
GARBAGE_GRACE_SECONDS = 600
COMPACT_AT_PARTS = 32


@dataclass(frozen=True)
class Manifest:
    """The committed state of one repository's facts."""

    parts: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    state: RepoState = field(default_factory=RepoState)
    garbage: tuple[tuple[str, float], ...] = ()

    def to_json(self) -> str:
        return json.dumps(
            {
                "version": MANIFEST_VERSION,
                "parts": {t: list(p) for t, p in sorted(self.parts.items())},
                "state": self.state.to_json(),
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
                state=RepoState.from_json(raw["state"]),
                garbage=tuple((str(f), float(t)) for f, t in raw.get("garbage", [])),
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise StoreError(f"{where}: corrupt manifest ({exc})") from None


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
