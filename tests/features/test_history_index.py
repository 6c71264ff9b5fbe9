"""The review's cached history index (features.history_index) gives exactly what
``git log`` gives (features.pipeline.git_history), learns new commits, leaves out and
forgets opted-out people, and holds no name or e-mail."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from pathlib import Path

import pytest

from teamlens.config import load_config
from teamlens.features.history_index import INDEX_DIR, HistoryIndex, history_index
from teamlens.features.kamei import Change, FileTouch
from teamlens.features.pipeline import git_history
from teamlens.privacy import Pseudonymizer, normalise_identity
from tests.conftest import TEST_KEY
from tests.gitrepo import ALICE, BOB, CAROL, CAROL_OLD, DAVE, ZOE, RepoBuilder, build_tricky_repo

FIXES = (r"(?i)\bfix",)
KEY = Pseudonymizer(TEST_KEY.encode())
FAR = 2_000_000_000
PEOPLE = (ALICE, BOB, CAROL, CAROL_OLD, DAVE, ZOE)


def _index(tmp_path: Path, opted_out: tuple[str, ...] = ()) -> HistoryIndex:
    return HistoryIndex(tmp_path / "data", "tricky", KEY, FIXES, False, opted_out)


Row = tuple[str, int, bool, tuple[FileTouch, ...], str]


def _expected(
    repo: Path, base: str, paths: set[str] | None = None, opted: tuple[str, ...] = ()
) -> list[Row]:
    fix_res = [re.compile(p) for p in FIXES]
    found = git_history(repo, base, fix_res, False, FAR, paths, opted)
    # the index keys authors; git_history holds them as identities (in memory only)
    return [(c.sha, c.commit_time, c.is_fix, c.files, KEY.pseudonym(c.author_id)) for c in found]


def _got(changes: Sequence[Change]) -> list[Row]:
    return [(c.sha, c.commit_time, c.is_fix, c.files, c.author_id) for c in changes]


@pytest.fixture
def tricky(tmp_path: Path) -> RepoBuilder:
    return build_tricky_repo(tmp_path / "repo")


def test_the_index_gives_what_git_log_gives(tricky: RepoBuilder, tmp_path: Path) -> None:
    head = tricky.head()
    index = _index(tmp_path)
    assert _got(index.changes(tricky.path, head, FAR)) == _expected(tricky.path, head)
    assert index.path.is_file()
    for paths in ({"src/main.py"}, {"lib/util.py", "README.md"}, {"src/feature.py"}):
        assert _got(index.changes(tricky.path, head, FAR, paths)) == _expected(
            tricky.path, head, paths
        ), paths
    older = tricky.git("rev-parse", "HEAD~3").strip()  # an earlier base: its ancestors only
    assert _got(index.changes(tricky.path, older, FAR)) == _expected(tricky.path, older)
    some = _expected(tricky.path, head)
    until = some[len(some) // 2][1]
    assert [c.sha for c in index.changes(tricky.path, head, until)] == [
        s for s, t, *_ in some if t <= until
    ]


def test_new_commits_are_read_once_and_added(tricky: RepoBuilder, tmp_path: Path) -> None:
    index = _index(tmp_path)
    index.changes(tricky.path, tricky.head(), FAR)
    before = json.loads(index.path.read_text())["commits"]
    tricky.write("src/main.py", "def main():\n    return 4\n")
    tricky.commit("Fix main", BOB)
    head = tricky.head()
    assert _got(index.changes(tricky.path, head, FAR)) == _expected(tricky.path, head)
    doc = json.loads(index.path.read_text())
    assert set(doc["commits"]) == set(before) | {head} and doc["tips"][-1] == head
    assert doc["commits"][head][2] is True  # a fix, by the configured patterns


def test_opted_out_people_are_never_indexed(tricky: RepoBuilder, tmp_path: Path) -> None:
    tricky.write("src/private.py", "x = 1\n")
    tricky.commit("Work by someone who opted out", DAVE)
    head = tricky.head()
    # CAROL_OLD's address: every commit of Carol goes (.mailmap makes them one person)
    opted = (DAVE.email, CAROL_OLD.email)
    index = _index(tmp_path, opted)
    got = _got(index.changes(tricky.path, head, FAR))
    assert got == _expected(tricky.path, head, None, opted)
    text = index.path.read_text()
    for person in (DAVE, CAROL):
        assert KEY.pseudonym(normalise_identity(person.name, person.email)) not in {
            a for *_, a in got
        }
    dave = KEY.pseudonym(normalise_identity(DAVE.name, DAVE.email))
    assert dave in json.loads(text)["gone"]
    assert not any(c[1] == dave for c in json.loads(text)["commits"].values())
    # Another opt-out list: the index is built again, not reused.
    everyone = _index(tmp_path)
    assert len(everyone.changes(tricky.path, head, FAR)) > len(got)


def test_the_index_holds_no_name_or_email(tricky: RepoBuilder, tmp_path: Path) -> None:
    index = _index(tmp_path)
    index.changes(tricky.path, tricky.head(), FAR)
    text = index.path.read_text(encoding="utf-8").lower()
    for person in PEOPLE:
        for word in (person.name.lower(), person.email, person.email.split("@")[0]):
            assert word not in text, word
    assert "alice" not in text and "signed-off-by" not in text
    assert oct(index.path.stat().st_mode & 0o777) == "0o600"


def test_no_key_set_up_means_no_index(
    tricky: RepoBuilder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    (work / "repos.yaml").write_text(
        f"repositories:\n  - name: tricky\n    path: {tricky.path}\n"
        f"privacy:\n  key_file: {tmp_path / 'nokey'}\n",
        encoding="utf-8",
    )
    config = load_config(work / "repos.yaml")
    monkeypatch.delenv("TEAMLENS_KEY", raising=False)
    assert history_index(config, "tricky") is None
    assert not (tmp_path / "nokey").exists()  # a review never creates a key
    monkeypatch.setenv("TEAMLENS_KEY", TEST_KEY)
    found = history_index(config, "tricky")
    assert found is not None and found.path == config.data_dir / INDEX_DIR / "tricky.json"
    assert os.environ["TEAMLENS_KEY"] == TEST_KEY


def test_purge_deletes_the_indexes(tricky: RepoBuilder, tmp_path: Path) -> None:
    from teamlens.features.history_index import discard_history_indexes

    index = _index(tmp_path)
    index.changes(tricky.path, tricky.head(), FAR)
    assert index.path.is_file()
    discard_history_indexes(tmp_path / "data")
    assert not index.path.exists()


def test_a_lost_tip_is_skipped(tricky: RepoBuilder, tmp_path: Path) -> None:
    """After a force-push and garbage collection an indexed tip may be gone."""
    index = _index(tmp_path)
    index.changes(tricky.path, tricky.head(), FAR)
    doc = json.loads(index.path.read_text())
    lost = "0123456789abcdef0123456789abcdef01234567"
    doc["commits"][lost] = [1, "x", False, False, []]
    doc["tips"].append(lost)
    index.path.write_text(json.dumps(doc))
    tricky.write("src/main.py", "def main():\n    return 5\n")
    tricky.commit("Tune main", ALICE)
    head = tricky.head()
    assert _got(index.changes(tricky.path, head, FAR)) == _expected(tricky.path, head)
    assert lost not in json.loads(index.path.read_text())["tips"]
