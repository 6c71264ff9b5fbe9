"""The store: every repository's facts under one data folder, its writers and its
DuckDB connections (private and published zone)."""

from __future__ import annotations

import contextlib
import fcntl
import re
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa

from teamlens.errors import QueryError, StoreError
from teamlens.store.layout import stored_repos
from teamlens.store.manifest import Manifest, _read_manifest, _read_parts
from teamlens.store.schema import SCHEMAS, VIEWS
from teamlens.store.sql import QueryResult, _check_single_select, _load, _read_only
from teamlens.store.writer import RepoWriter
from teamlens.store.zones import (
    _PUBLISHED_TABLES,
    _PUBLISHED_VIEWS,
    PUBLISHED_COLUMNS,
    _private_zone_refusal,
)

if TYPE_CHECKING:  # DuckDB loads only for queries: mining never needs it
    import duckdb


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
        return stored_repos(self.data_dir)

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
