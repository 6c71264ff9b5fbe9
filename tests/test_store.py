"""The store: atomic batches, leftovers of killed runs, rollback, locking, readers."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pyarrow as pa
import pytest

from teamlens.errors import QueryError, StoreError
from teamlens.store import (
    COMPACT_AT_PARTS,
    PUBLISHED_COLUMNS,
    PUBLISHED_RELATIONS,
    SCHEMAS,
    Manifest,
    RepoState,
    Store,
)
from tests.conftest import ConfigFactory, teamlens_command
from tests.test_crash_resume import _fast_import


def _commits(*shas: str) -> pa.Table:
    n = len(shas)
    return pa.Table.from_pydict(
        {
            "repo": ["r"] * n,
            "sha": list(shas),
            "parent_shas": [[] for _ in shas],
            "is_merge": [False] * n,
            "author_time": [0] * n,
            "author_tz": [0] * n,
            "commit_time": [0] * n,
            "committer_tz": [0] * n,
            "author_id": ["x" * 32] * n,
            "committer_id": ["x" * 32] * n,
            "message_subject": ["s"] * n,
            "is_fix": [False] * n,
            "n_files": [0] * n,
            "added": [0] * n,
            "deleted": [0] * n,
        },
        schema=SCHEMAS["commits"],
    )


@pytest.fixture
def fresh_store(tmp_path: Path) -> Store:
    return Store(tmp_path / "data")


def test_empty_store_has_every_view(fresh_store: Store) -> None:
    for view in ("commits", "file_changes", "lost_commits", "commits_all", "file_changes_all"):
        assert fresh_store.query(f"SELECT count(*) FROM {view}").rows == [(0,)]  # noqa: S608


def test_commit_appends_and_publishes_state(fresh_store: Store) -> None:
    with fresh_store.writer("r") as w:
        w.commit({"commits": _commits("a", "b")}, RepoState.from_json({"step": 1}))
        w.commit({"commits": _commits("c")}, RepoState.from_json({"step": 2}))
    assert fresh_store.query("SELECT sha FROM commits ORDER BY sha").rows == [
        ("a",),
        ("b",),
        ("c",),
    ]
    assert fresh_store.manifest("r").state.to_json() == {"step": 2}


def test_leftover_files_of_a_killed_run_are_ignored_then_removed(fresh_store: Store) -> None:
    with fresh_store.writer("r") as w:
        w.commit({"commits": _commits("a")}, RepoState())
    # What a run killed between writing a part and publishing the manifest leaves behind:
    orphan = fresh_store.root / "r" / "commits" / "deadbeef.parquet"
    import pyarrow.parquet as pq

    pq.write_table(_commits("zzz"), orphan)
    (fresh_store.root / "r" / "commits" / "half.parquet.tmp").write_bytes(b"PAR1garbage")
    assert fresh_store.query("SELECT count(*) FROM commits").rows == [(1,)]
    with fresh_store.writer("r"):
        pass
    assert not orphan.exists()
    assert sorted(p.name for p in (fresh_store.root / "r" / "commits").iterdir()) == [
        Path(fresh_store.manifest("r").parts["commits"][0]).name
    ]


def test_an_error_rolls_back_the_whole_run(fresh_store: Store) -> None:
    with fresh_store.writer("r") as w:
        w.commit({"commits": _commits("a")}, RepoState.from_json({"step": 1}))
    with pytest.raises(RuntimeError), fresh_store.writer("r") as w:
        w.commit({"commits": _commits("b")}, RepoState.from_json({"step": 2}))
        raise RuntimeError("git failed half way")
    assert fresh_store.query("SELECT sha FROM commits").rows == [("a",)]
    assert fresh_store.manifest("r").state.to_json() == {"step": 1}
    assert len(list((fresh_store.root / "r" / "commits").iterdir())) == 1


def test_one_writer_per_repository(fresh_store: Store) -> None:
    with (
        fresh_store.writer("r"),
        pytest.raises(StoreError, match="another teamlens process"),
        fresh_store.writer("r"),
    ):
        pass
    with fresh_store.writer("r"), fresh_store.writer("other"):
        pass  # different repositories never contend


def test_compaction_keeps_rows_and_defers_deletion(fresh_store: Store) -> None:
    with fresh_store.writer("r") as w:
        for i in range(COMPACT_AT_PARTS):
            w.commit({"commits": _commits(f"s{i:03}")}, RepoState())
        w.compact()
    manifest = fresh_store.manifest("r")
    assert len(manifest.parts["commits"]) == 1
    assert len(manifest.garbage) == COMPACT_AT_PARTS  # still on disk for running readers
    assert fresh_store.query("SELECT count(DISTINCT sha) FROM commits").rows == [
        (COMPACT_AT_PARTS,)
    ]


def test_readers_see_consistent_snapshots_while_a_miner_writes(
    tmp_path: Path, make_config: ConfigFactory, key_env: str
) -> None:
    repo = tmp_path / "history"
    _fast_import(repo, 1200)
    config = make_config({"history": repo}, mining={"batch_size": 25})
    store = Store(config.parent / ".teamlens")
    store.query("SELECT 1")  # load DuckDB first, so the reads start as soon as the miner does
    proc = subprocess.Popen([*teamlens_command(), "mine", "--quiet", "--config", str(config)])
    seen: list[tuple[int, int]] = []
    deadline = time.monotonic() + 120
    zones = [store.query, store.query_published]  # teamlens's stages, and `teamlens query`
    while proc.poll() is None and time.monotonic() < deadline:
        (row,) = zones[len(seen) % 2](
            "SELECT (SELECT count(*) FROM commits),"
            " (SELECT count(*) FROM file_changes f WHERE NOT EXISTS"
            "   (SELECT 1 FROM commits c WHERE c.sha = f.sha))"
        ).rows
        seen.append(row)
    assert proc.wait() == 0, "miner failed"
    counts = [n for n, _ in seen]
    assert counts == sorted(counts), "a reader saw the store go backwards"
    assert all(orphans == 0 for _, orphans in seen), "a reader saw half a batch"
    assert any(0 < n < 1200 for n in counts), f"no read landed mid-run: {counts[:5]}..."
    assert all(n % 25 == 0 for n in counts if n < 1200)


# --------------------------------------------------------------------------- published zone


def _lost(*shas: str, event: str = "lost") -> pa.Table:
    n = len(shas)
    return pa.Table.from_pydict(
        {
            "repo": ["r"] * n,
            "sha": list(shas),
            "ref": ["refs/heads/main"] * n,
            "old_tip": ["t" * 40] * n,
            "new_tip": [None] * n,
            "detected_at": [1] * n,
            "event": [event] * n,
        },
        schema=SCHEMAS["lost_commits"],
    )


def test_the_published_zone_has_the_same_relations_empty_or_filled(fresh_store: Store) -> None:
    def shapes() -> dict[str, list[tuple[str, str]]]:
        return {
            r: [row[:2] for row in fresh_store.query_published(f"DESCRIBE {r}").rows]
            for r in PUBLISHED_RELATIONS
        }

    empty = shapes()
    assert all(
        fresh_store.query_published(f"SELECT count(*) FROM {r}").rows == [(0,)]  # noqa: S608
        for r in PUBLISHED_RELATIONS
    )
    with fresh_store.writer("r") as w:
        w.commit({"commits": _commits("a", "b"), "lost_commits": _lost("b")}, RepoState())

    assert shapes() == empty
    assert [n for n, _ in empty["commits_all"]] == list(PUBLISHED_COLUMNS["commits"])
    assert not {"author_id", "committer_id", "message_subject"} & {
        n for cols in empty.values() for n, _ in cols
    }


def test_published_views_hide_lost_commits_like_the_private_ones(fresh_store: Store) -> None:
    with fresh_store.writer("r") as w:
        w.commit({"commits": _commits("a", "b", "c"), "lost_commits": _lost("b", "c")}, RepoState())
        w.commit({"lost_commits": _lost("c", event="restored")}, RepoState())
    for sql, expected in (
        ("SELECT sha FROM commits ORDER BY sha", [("a",), ("c",)]),
        ("SELECT sha FROM commits_all ORDER BY sha", [("a",), ("b",), ("c",)]),
        ("SELECT sha, ref FROM lost_commits", [("b", "refs/heads/main")]),
        ("SELECT count(*) FROM lost_commit_events", [(3,)]),
    ):
        assert fresh_store.query_published(sql).rows == expected, sql
        assert fresh_store.query(sql).rows == expected, sql


def test_the_published_connection_holds_its_rows_and_reaches_no_file(fresh_store: Store) -> None:
    with fresh_store.writer("r") as w:
        w.commit({"commits": _commits("a", "b")}, RepoState())
    part = fresh_store.root / "r" / fresh_store.manifest("r").parts["commits"][0]
    con = fresh_store.connect_published()
    try:
        import duckdb

        with pytest.raises(duckdb.PermissionException, match="disabled by configuration"):
            con.execute(f"SELECT author_id FROM read_parquet('{part}')")  # noqa: S608
        with pytest.raises(duckdb.Error, match="lock"):
            con.execute("SET enable_external_access = true")
        part.unlink()  # the rows were copied into memory when the connection was made
        assert con.execute("SELECT count(*) FROM commits").fetchall() == [(2,)]
    finally:
        con.close()


def test_a_private_name_is_refused_in_one_line(fresh_store: Store) -> None:
    with pytest.raises(QueryError) as refused:
        fresh_store.query_published("SELECT is_inducing FROM change_labels")
    assert str(refused.value).startswith(
        "'change_labels' is in teamlens's private zone (change-level outcomes); "
    )
    assert "\n" not in str(refused.value)
    # A name that is nobody's stays DuckDB's own message.
    with pytest.raises(QueryError, match=r"^Catalog Error: Table with name nope does not exist"):
        fresh_store.query_published("SELECT * FROM nope")
    # teamlens's own stages still read the private zone.
    assert fresh_store.query("SELECT count(*) FROM change_labels").rows == [(0,)]


class _PurgedAfterReading(Store):
    """A store whose first manifest read is followed by an opt-out purge of that repository.

    The interleaving a real purge can land on: the reader has the old manifest, the purge
    then deletes the files it lists.
    """

    purged = False

    def manifest(self, repo: str) -> Manifest:
        manifest = super().manifest(repo)
        if not self.purged:
            self.purged = True
            with self.writer(repo) as w:
                w.replace({"commits": _commits("a")}, RepoState(), purge=True)
        return manifest


def test_a_purge_between_manifest_and_files_is_retried(fresh_store: Store) -> None:
    with fresh_store.writer("r") as w:
        w.commit({"commits": _commits("a", "b")}, RepoState())
    store = _PurgedAfterReading(fresh_store.data_dir)

    assert store.query_published("SELECT sha FROM commits").rows == [("a",)]
    assert store.purged
