"""Every shape of --raw/--numstat output git prints, and what it does not print.

git prints no numstat line for a file whose two versions have the same content: a
replace ref that swaps one blob for an identical-content one makes a commit's file
show as modified (--raw) with no line count. `teamlens mine` used to die with a
ValueError there (mining/gitlog.py matched numstat lines to raw entries by position).
"""

from __future__ import annotations

import io
import os
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from teamlens.config import load_config
from teamlens.errors import RepositoryError
from teamlens.mining.gitlog import FORMAT, parse_log
from teamlens.mining.tasks import mine_all
from teamlens.store import Store
from tests.conftest import ConfigFactory
from tests.gitrepo import ALICE, BOB, CAROL, RepoBuilder

Facts = Counter[tuple[str, str, int, int, bool]]  # path, status letter, added, deleted, binary


def _build(path: Path) -> tuple[RepoBuilder, dict[str, str]]:
    r = RepoBuilder(path)
    shas = {}
    r.write("a.txt", "hello\n")
    r.write("notes.txt", "one\n")
    r.write("run.sh", "echo hi\n")
    r.write("data.bin", b"\0\1\2")
    r.write("empty.txt", "")
    os.symlink("a.txt", path / "link")
    shas["add"] = r.commit("Add files", ALICE)
    (path / "run.sh").chmod(0o755)
    shas["mode"] = r.commit("Make run.sh executable", BOB)  # a mode-only change
    r.write("a.txt", "hello2\n")
    r.write("notes.txt", "one\ntwo\n")
    shas["hello2"] = r.commit("Say hello2", CAROL)
    r.write("a.txt", "hello\n")
    shas["hello"] = r.commit("Say hello again", ALICE)
    (path / "link").unlink()
    r.write("link", "a.txt")  # the symlink's own content: a type change, same blob
    shas["typechange"] = r.commit("Replace the link with a file", BOB)
    r.git("mv", "empty.txt", "empty2.txt")
    (path / "empty2.txt").chmod(0o755)
    r.git("add", "empty2.txt")
    shas["rename"] = r.commit("Rename and make executable", CAROL, add_all=False)
    r.git("rm", "-q", "empty2.txt")
    r.write("data.bin", b"\0\3")
    shas["delete"] = r.commit("Delete the empty file, change the binary", ALICE)
    # a.txt's "hello2" blob now reads as the "hello" blob: "Say hello2" and "Say hello
    # again" each modify a.txt (--raw) with identical content (no numstat line).
    hello2 = r.git("rev-parse", f"{shas['hello2']}:a.txt").strip()
    hello = r.git("rev-parse", f"{shas['hello']}:a.txt").strip()
    r.git("replace", hello2, hello)
    return r, shas


def _git(repo: Path, *args: str) -> bytes:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, check=True).stdout


def _git_facts(repo: Path, sha: str) -> Facts:
    """`git show --raw --numstat` of one commit: a file with no numstat line changed 0 lines."""
    raw: dict[str, str] = {}
    for line in _git(repo, "show", "--raw", "--no-abbrev", "-M", "--format=", sha).splitlines():
        meta, *paths = line.decode().split("\t")
        raw[paths[-1]] = meta.split(" ")[4][0]
    counts: dict[str, tuple[int, int, bool]] = {}
    for line in _git(repo, "show", "--numstat", "-M", "--format=", sha).splitlines():
        added, deleted, path = line.decode().split("\t")
        if " => " in path:
            path = path.split(" => ")[1]
        binary = added == "-"
        counts[path] = (0 if binary else int(added), 0 if binary else int(deleted), binary)
    facts: Facts = Counter()
    for path, status in raw.items():
        facts[(path, status, *counts.get(path, (0, 0, False)))] += 1
    return facts


def test_mine_agrees_with_git_on_files_with_no_numstat_line(
    tmp_path: Path, make_config: ConfigFactory, key_env: str, data_dir: Path
) -> None:
    repo, shas = _build(tmp_path / "repo")
    numstat = _git(repo.path, "show", "--numstat", "--format=", shas["hello2"]).decode()
    assert numstat.split("\n")[0] == "1\t0\tnotes.txt"  # nothing for a.txt: the replace ref

    mine_all(load_config(make_config({"app": repo.path})))

    stored: dict[str, Facts] = {sha: Counter() for sha in shas.values()}
    for sha, path, kind, added, deleted, binary in (
        Store(data_dir)
        .query("SELECT sha, path, change_type, added, deleted, is_binary FROM file_changes")
        .rows
    ):
        stored[sha][(path, kind, added, deleted, binary)] += 1
    assert stored == {sha: _git_facts(repo.path, sha) for sha in shas.values()}
    assert stored[shas["hello2"]] == Counter(
        {("a.txt", "M", 0, 0, False): 1, ("notes.txt", "M", 1, 0, False): 1}
    )
    assert stored[shas["hello"]] == Counter({("a.txt", "M", 0, 0, False): 1})
    assert stored[shas["mode"]] == Counter({("run.sh", "M", 0, 0, False): 1})
    assert stored[shas["typechange"]] == Counter({("link", "T", 0, 0, False): 1})
    assert stored[shas["rename"]] == Counter({("empty2.txt", "R", 0, 0, False): 1})


SHA = "a" * 40
PERSON = (b"A", b"a@x.test", b"a@x.test", b"1600000000 +0000")  # name, e-mails, date
HEADER = b"\x1e" + b"\0".join([SHA.encode(), b"", *PERSON, *PERSON, b"Fix it\n"]) + b"\0"
RAW = b"\n:100644 100644 " + b"1" * 40 + b" " + b"2" * 40 + b" M\0f.py\0"


def _parse(body: bytes) -> list[tuple[str, int, int]]:
    assert FORMAT.count("%x00") == 10  # HEADER has the eleven fields FORMAT prints
    commits = list(parse_log(io.BytesIO(HEADER + body)))
    return [(c.path, c.added, c.deleted) for c in commits[0].file_changes]


def test_a_raw_entry_without_a_numstat_line_changed_nothing() -> None:
    assert _parse(RAW) == [("f.py", 0, 0)]
    assert _parse(RAW + b"3\t1\tf.py\0") == [("f.py", 3, 1)]


@pytest.mark.parametrize(
    "body",
    [
        RAW + b"3\t1\tg.py\0",  # a count for a file the commit does not change
        RAW + b"3\tf.py\0",  # a column missing
        RAW + b"x\t1\tf.py\0",  # not a number
        RAW + b"3\t1\tf.py\0" + b"3\t1\tf.py\0",  # counted twice
        RAW.replace(b" M\0", b" Q\0"),  # no such status
        RAW.replace(b"100644 100644", b"100644"),  # a field missing
    ],
    ids=["stray-count", "two-columns", "not-a-number", "twice", "status", "short-raw"],
)
def test_malformed_file_entries_are_a_repository_error_naming_the_commit(body: bytes) -> None:
    with pytest.raises(RepositoryError, match=f"^commit {SHA}: git log printed a file entry"):
        _parse(body)
