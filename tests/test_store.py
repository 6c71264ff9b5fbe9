"""The store: atomic batches, leftovers of killed runs, rollback, locking, readers."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pyarrow as pa
import pytest

from teamlens.errors import StoreError
from teamlens.store import COMPACT_AT_PARTS, SCHEMAS, Store
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
        w.commit({"commits": _commits("a", "b")}, {"step": 1})
        w.commit({"commits": _commits("c")}, {"step": 2})
    assert fresh_store.query("SELECT sha FROM commits ORDER BY sha").rows == [
        ("a",),
        ("b",),
        ("c",),
    ]
    assert fresh_store.manifest("r").state == {"step": 2}


def test_leftover_files_of_a_killed_run_are_ignored_then_removed(fresh_store: Store) -> None:
    with fresh_store.writer("r") as w:
        w.commit({"commits": _commits("a")}, {})
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
        w.commit({"commits": _commits("a")}, {"step": 1})
    with pytest.raises(RuntimeError), fresh_store.writer("r") as w:
        w.commit({"commits": _commits("b")}, {"step": 2})
        raise RuntimeError("git failed half way")
    assert fresh_store.query("SELECT sha FROM commits").rows == [("a",)]
    assert fresh_store.manifest("r").state == {"step": 1}
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
            w.commit({"commits": _commits(f"s{i:03}")}, {})
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
    seen = []
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:
        (row,) = store.query(
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
