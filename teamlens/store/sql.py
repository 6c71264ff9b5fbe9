"""Guarding a query connection: one SELECT only, no file but the listed ones, and
copying Parquet files into in-memory tables."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from teamlens.errors import QueryError

if TYPE_CHECKING:  # DuckDB loads only for queries: mining never needs it
    import duckdb


@dataclass(frozen=True)
class QueryResult:
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]


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
