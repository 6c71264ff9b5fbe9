"""teamlens's own commit-graph: written beside the repository, used by blame, same labels."""

from __future__ import annotations

import os
import struct
import subprocess
from pathlib import Path

from teamlens.config import load_config
from teamlens.mining import commitgraph
from teamlens.mining.szz import SzzSession, Variant, label_fix, label_repository
from teamlens.mining.tasks import mine_all
from teamlens.store import Store
from tests.conftest import ConfigFactory
from tests.gitrepo import ALICE, BOB, CAROL, RepoBuilder


def _chunks(graph: Path) -> dict[bytes, int]:
    """Chunk id -> size in bytes, from a commit-graph file's header and chunk table."""
    data = graph.read_bytes()
    assert data[:4] == b"CGPH"
    count = data[6]
    table = [struct.unpack(">4sQ", data[8 + 12 * i : 20 + 12 * i]) for i in range(count + 1)]
    return {table[i][0]: table[i + 1][1] - table[i][1] for i in range(count)}


def _files(git_dir: Path) -> dict[str, float]:
    return {
        str(p.relative_to(git_dir)): p.stat().st_mtime for p in git_dir.rglob("*") if p.is_file()
    }


def _history(repo_builder: RepoBuilder) -> tuple[str, str]:
    repo_builder.write("calc.py", "def f(x):\n    return x + 1\n\n\ndef g(x):\n    return x\n")
    bug = repo_builder.commit("Add f and g", ALICE)
    for i in range(5):
        repo_builder.write(f"other{i}.py", f"VALUE = {i}\n")
        repo_builder.commit(f"Add other{i}", BOB)
    repo_builder.write("calc.py", "def f(x):\n    return x - 1\n\n\ndef g(x):\n    return x\n")
    fix = repo_builder.commit("Fix f", CAROL)
    return bug, fix


def test_graph_lives_outside_the_repository_and_has_bloom_filters(
    repo_builder: RepoBuilder, tmp_path: Path
) -> None:
    _history(repo_builder)
    git_dir = repo_builder.path / ".git"
    before = _files(git_dir)
    folder = tmp_path / "graphs" / "objects"
    env = commitgraph.refresh(repo_builder.path, folder)
    assert env is not None
    assert _files(git_dir) == before  # not one file of the repository written or touched
    chunks = _chunks(folder / "info" / "commit-graph")
    assert chunks[b"OIDL"] == 7 * 20  # every commit, 20 bytes of id each
    assert b"BIDX" in chunks and b"BDAT" in chunks  # changed-path Bloom filters
    # git reads the repository's objects through the graph folder.
    head = subprocess.run(
        ["git", "rev-list", "--count", "HEAD"],
        cwd=repo_builder.path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert head.stdout.strip() == "7"


def test_refresh_takes_in_new_commits(repo_builder: RepoBuilder, tmp_path: Path) -> None:
    _history(repo_builder)
    folder = tmp_path / "objects"
    assert commitgraph.refresh(repo_builder.path, folder) is not None
    repo_builder.write("late.py", "LATE = 1\n")
    repo_builder.commit("Add late", ALICE)
    assert commitgraph.refresh(repo_builder.path, folder) is not None
    assert _chunks(folder / "info" / "commit-graph")[b"OIDL"] == 8 * 20


def test_labels_are_the_same_with_and_without_the_graph(
    repo_builder: RepoBuilder, tmp_path: Path
) -> None:
    bug, fix = _history(repo_builder)
    env = commitgraph.refresh(repo_builder.path, tmp_path / "objects")
    with_graph = label_fix(SzzSession(repo_builder.path, env), fix, list(Variant), {}, 50)
    without = label_fix(SzzSession(repo_builder.path), fix, list(Variant), {}, 50)
    assert [r.links for r in with_graph] == [r.links for r in without]
    assert all(r.inducing() == {bug} for r in with_graph)


def test_an_unwritable_graph_folder_means_no_graph(
    repo_builder: RepoBuilder, tmp_path: Path
) -> None:
    _history(repo_builder)
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the folder should be\n", encoding="utf-8")
    assert commitgraph.refresh(repo_builder.path, blocker / "objects") is None


def test_label_keeps_the_graph_in_the_clones_folder(
    repo_builder: RepoBuilder, make_config: ConfigFactory, key_env: str, data_dir: Path
) -> None:
    bug, fix = _history(repo_builder)
    config = load_config(make_config({"calc": repo_builder.path}))
    mine_all(config)
    label_repository(config, config.repositories[0])
    graph = commitgraph.graph_folder(config.clones_dir, "calc") / "info" / "commit-graph"
    assert graph.is_file()
    assert not (repo_builder.path / ".git" / "objects" / "info" / "commit-graph").exists()
    rows = Store(data_dir).query("SELECT DISTINCT fix_sha, inducing_sha FROM szz_links").rows
    assert rows == [(fix, bug)]


def test_a_path_that_is_not_utf8_is_blamed_and_stored_escaped(
    repo_builder: RepoBuilder, make_config: ConfigFactory, key_env: str, data_dir: Path
) -> None:
    name = b"caf\xe9.py"
    repo_builder.write(name, "def f():\n    return 1\n")
    bug = repo_builder.commit("Add f", ALICE)
    repo_builder.write(name, "def f():\n    return 2\n")
    fix = repo_builder.commit("Fix f", BOB)
    session = SzzSession(repo_builder.path)
    (b,) = label_fix(session, fix, [Variant.B], {}, 50)
    assert b.links == {os.fsdecode(name): {bug: 1}}
    config = load_config(make_config({"cafe": repo_builder.path}))
    mine_all(config)
    label_repository(config, config.repositories[0])
    paths = Store(data_dir).query("SELECT DISTINCT path FROM szz_links").rows
    assert paths == [("caf\\xe9.py",)]
