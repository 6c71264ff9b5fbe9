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

The modules: ``schema`` (tables and views), ``zones`` (the published zone),
``manifest``, ``writer`` (:class:`RepoWriter`), ``sql`` (query guards) and ``facts``
(:class:`Store`).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from teamlens.store.facts import Store
    from teamlens.store.manifest import (
        COMPACT_AT_PARTS,
        GARBAGE_GRACE_SECONDS,
        MANIFEST,
        MANIFEST_VERSION,
        ROLLBACK_POINT,
        Manifest,
    )
    from teamlens.store.schema import SCHEMAS, VIEWS
    from teamlens.store.sql import QueryResult
    from teamlens.store.state import GithubState, RepoState
    from teamlens.store.writer import RepoWriter
    from teamlens.store.zones import PUBLISHED_COLUMNS, PUBLISHED_RELATIONS

#: Where each name comes from: loaded on first use, so that ``teamlens.store.layout``
#: (and a review of a repository that was never mined) does not import pyarrow.
_MODULES = {
    "Store": "facts",
    "COMPACT_AT_PARTS": "manifest",
    "GARBAGE_GRACE_SECONDS": "manifest",
    "MANIFEST": "manifest",
    "MANIFEST_VERSION": "manifest",
    "ROLLBACK_POINT": "manifest",
    "Manifest": "manifest",
    "SCHEMAS": "schema",
    "VIEWS": "schema",
    "QueryResult": "sql",
    "GithubState": "state",
    "RepoState": "state",
    "RepoWriter": "writer",
    "PUBLISHED_COLUMNS": "zones",
    "PUBLISHED_RELATIONS": "zones",
}


def __getattr__(name: str) -> Any:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


__all__ = [
    "COMPACT_AT_PARTS",
    "GARBAGE_GRACE_SECONDS",
    "MANIFEST",
    "MANIFEST_VERSION",
    "PUBLISHED_COLUMNS",
    "PUBLISHED_RELATIONS",
    "ROLLBACK_POINT",
    "SCHEMAS",
    "VIEWS",
    "GithubState",
    "Manifest",
    "QueryResult",
    "RepoState",
    "RepoWriter",
    "Store",
]
