"""The git miner against two oracles: `git log --numstat -M` and PyDriller."""

from __future__ import annotations

import hashlib
import hmac
import re
import subprocess
from collections import Counter
from pathlib import Path

import pytest
from pydriller import Repository

from teamlens.config import load_config
from teamlens.errors import RepositoryError
from teamlens.mining.tasks import mine_all
from teamlens.privacy import normalise_identity
from teamlens.store import Store
from tests.conftest import TEST_KEY, ConfigFactory
from tests.gitrepo import ALICE, BOB, Person, RepoBuilder
from tests.test_privacy_mining import scan_for_identities

FileFacts = Counter[tuple[str, int, int]]


def _norm(path: str) -> str:
    # teamlens keeps undecodable path bytes as \xNN, PyDriller as U+FFFD: compare both so.
    return re.sub(r"\\x[0-9a-f]{2}", "\ufffd", path)


def _git_numstat(repo: Path) -> dict[str, FileFacts]:
    """Per non-merge commit: (path, added, deleted) from `git log --numstat -M -z`."""
    out = subprocess.run(
        ["git", "log", "--numstat", "-M", "-z", "--no-merges", "--format=%x01%H"],
        cwd=repo,
        capture_output=True,
        check=True,
    ).stdout
    facts: dict[str, FileFacts] = {}
    for record in out.split(b"\x01")[1:]:
        tokens = record.split(b"\0")
        sha = tokens[0].decode()
        counts: FileFacts = Counter()
        rest = [t.lstrip(b"\n") for t in tokens[1:]]
        i = 0
        while i < len(rest):
            if not rest[i]:
                i += 1
                continue
            added, deleted, path = rest[i].split(b"\t", 2)
            if not path:  # rename: old and new path follow
                path = rest[i + 2]
                i += 2
            a = 0 if added == b"-" else int(added)
            d = 0 if deleted == b"-" else int(deleted)
            counts[(_norm(path.decode("utf-8", "backslashreplace")), a, d)] += 1
            i += 1
        facts[sha] = counts
    return facts


def _pydriller(repo: Path) -> dict[str, FileFacts]:
    facts: dict[str, FileFacts] = {}
    for commit in Repository(str(repo)).traverse_commits():
        if commit.merge:
            continue
        facts[commit.hash] = Counter(
            (_norm(m.new_path or m.old_path or ""), m.added_lines, m.deleted_lines)
            for m in commit.modified_files
        )
    return facts


def _teamlens(data_dir: Path) -> dict[str, FileFacts]:
    store = Store(data_dir)
    facts: dict[str, FileFacts] = {
        sha: Counter() for (sha,) in store.query("SELECT sha FROM commits WHERE NOT is_merge").rows
    }
    for sha, path, added, deleted in store.query(
        "SELECT sha, path, added, deleted FROM file_changes"
    ).rows:
        facts[sha][(_norm(path), added, deleted)] += 1
    return facts


@pytest.fixture
def mined_tricky(
    tricky_repo: Path, make_config: ConfigFactory, key_env: str, data_dir: Path
) -> Store:
    mine_all(load_config(make_config({"tricky": tricky_repo})))
    return Store(data_dir)


def test_file_changes_equal_git_numstat(
    mined_tricky: Store, tricky_repo: Path, data_dir: Path
) -> None:
    expected = _git_numstat(tricky_repo)
    assert len(expected) == 17
    assert _teamlens(data_dir) == expected


def test_file_changes_equal_pydriller(
    mined_tricky: Store, tricky_repo: Path, data_dir: Path
) -> None:
    assert _teamlens(data_dir) == _pydriller(tricky_repo)


def test_change_types_renames_binary_submodule(mined_tricky: Store) -> None:
    rows = {
        (r[0], r[1]): r[2:]
        for r in mined_tricky.query(
            "SELECT c.message_subject, f.path, f.old_path, f.change_type, f.is_binary,"
            " f.is_submodule, f.similarity, f.added, f.deleted, f.language"
            " FROM file_changes f JOIN commits c USING (repo, sha)"
        ).rows
    }
    assert rows[("Rename app to main", "src/main.py")] == (
        "src/app.py",
        "R",
        False,
        False,
        rows[("Rename app to main", "src/main.py")][4],
        1,
        1,
        "Python",
    )
    assert 90 <= rows[("Rename app to main", "src/main.py")][4] <= 100
    assert rows[("Change binary blob", "data/blob.bin")] == (
        None,
        "M",
        True,
        False,
        None,
        0,
        0,
        None,
    )
    assert rows[("Add a submodule entry", "vendor/sub")][:3] == (None, "A", False)
    assert rows[("Add a submodule entry", "vendor/sub")][3] is True
    assert rows[("Remove copy; fixes #3", "lib/util_copy.py")][1] == "D"
    assert rows[("Add a huge file", "big/huge.txt")][5:7] == (120_000, 0)
    # Without copy detection (the -M default) a copy is an addition, as git and PyDriller say.
    assert rows[("Copy util", "lib/util_copy.py")][1] == "A"


def test_copies_detected_when_asked(
    tricky_repo: Path, make_config: ConfigFactory, key_env: str, data_dir: Path
) -> None:
    mine_all(load_config(make_config({"tricky": tricky_repo}, mining={"detect_copies": True})))
    (row,) = (
        Store(data_dir)
        .query(
            "SELECT old_path, change_type FROM file_changes WHERE path = 'lib/util_copy.py'"
            " AND change_type <> 'D'"
        )
        .rows
    )
    assert row == ("lib/util.py", "C")


def test_merges_flagged_without_file_changes(mined_tricky: Store) -> None:
    merges = mined_tricky.query(
        "SELECT message_subject, len(parent_shas), n_files,"
        " (SELECT count(*) FROM file_changes f WHERE f.sha = c.sha)"
        " FROM commits c WHERE is_merge ORDER BY commit_time"
    ).rows
    assert merges == [("Merge branch 'feature'", 2, 0, 0), ("Octopus merge", 3, 0, 0)]


def test_commit_facts_time_zones_empty_and_encodings(mined_tricky: Store) -> None:
    rows = {
        r[0]: r[1:]
        for r in mined_tricky.query(
            "SELECT sha, author_tz, n_files, message_subject, is_fix, epoch(author_time)::BIGINT"
            " FROM commits"
        ).rows
    }
    assert len(rows) == 19
    by_subject = {v[2]: v for v in rows.values()}
    assert by_subject["Add util and change main"][0] == 330  # +0530
    assert by_subject["Add feature"][0] == -420  # -0700
    assert by_subject["An empty commit"][1] == 0
    latin = [s for s in by_subject if s.startswith("Caf")]
    # git re-encodes a message that is not valid UTF-8 as Latin-1 (--encoding=UTF-8).
    assert latin == ["Caf\u00e9 message in latin-1, not UTF-8"]
    assert by_subject["Fix bug in feature"][3] is True
    assert by_subject["Remove copy; fixes #3"][3] is True
    assert by_subject["Document"][3] is False
    # Times are UTC instants: the first commit was made at 1_600_003_600 (clock + 1h).
    assert by_subject["Initial import"][4] == 1_600_003_600


def test_mailmap_joins_old_and_new_email(mined_tricky: Store) -> None:
    ids = dict(
        mined_tricky.query(
            "SELECT message_subject, author_id FROM commits WHERE message_subject IN"
            " ('Add feature', 'Remove copy; fixes #3')"
        ).rows
    )
    assert ids["Add feature"] == ids["Remove copy; fixes #3"]
    assert re.fullmatch(r"[0-9a-f]{32}", ids["Add feature"])


def test_non_utf8_path_kept_reversibly(mined_tricky: Store) -> None:
    paths = {
        p
        for (p,) in mined_tricky.query(
            "SELECT path FROM file_changes WHERE path LIKE 'docs/%'"
        ).rows
    }
    assert paths == {"docs/caf\\xe9.txt", "docs/utf8-\u00e9t\u00e9.txt"}


#: git log's old field separator (\x1f) and its record marker (\x1e) inside identities.
MALLORY = Person("Mal\x1fory \x1eUnit", "mallory\x1f@sep.test", "+0200")
EVIL = Person("Evil\x1fName", "evil\x1f\x1e@example.com", "-0300")


def _pseudonym(email: str) -> str:
    identity = normalise_identity("", email)
    return hmac.new(TEST_KEY.encode(), identity.encode(), hashlib.sha256).hexdigest()[:32]


def test_separator_bytes_in_names_and_mailmap_are_mined_as_pseudonyms(
    repo_builder: RepoBuilder, make_config: ConfigFactory, key_env: str, data_dir: Path
) -> None:
    """Regression (reliability suite, `mailmap-unit-separator`): \x1f in a name or e-mail
    shifted the fields of the git log parser, and mining died with ValueError."""
    r = repo_builder
    r.write(".mailmap", f"{EVIL.name} <{EVIL.email}> <{ALICE.email}>\n")
    for i, person in enumerate((ALICE, MALLORY, BOB, EVIL)):
        r.write(f"src/f{i}.py", f"x = {i}\n")
        r.commit(f"Change number {i}", person)
    mine_all(load_config(make_config({"sep": r.path})))
    rows = (
        Store(data_dir)
        .query(
            "SELECT message_subject, author_id, committer_id, epoch(author_time)::BIGINT,"
            " author_tz, n_files FROM commits ORDER BY author_time"
        )
        .rows
    )
    evil, mallory, bob = _pseudonym(EVIL.email), _pseudonym(MALLORY.email), _pseudonym(BOB.email)
    # Alice's commit is mapped to the .mailmap identity, as EVIL's own commit is.
    assert rows == [
        ("Change number 0", evil, evil, 1_600_003_600, 60, 2),
        ("Change number 1", mallory, mallory, 1_600_007_200, 120, 1),
        ("Change number 2", bob, bob, 1_600_010_800, 330, 1),
        ("Change number 3", evil, evil, 1_600_014_400, -180, 1),
    ]
    assert scan_for_identities(data_dir, (ALICE, BOB, MALLORY, EVIL)) == []


def test_a_commit_with_an_unreadable_date_is_a_repository_error(
    repo_builder: RepoBuilder, make_config: ConfigFactory, key_env: str
) -> None:
    """git prints an empty %ad for a hand-made commit object whose date it cannot parse."""
    r = repo_builder
    r.write("a.txt", "a\n")
    r.commit("Good commit")
    tree = r.git("rev-parse", "HEAD^{tree}").strip()
    raw = r.path.parent / "corrupt-commit"
    raw.write_text(
        f"tree {tree}\nparent {r.head()}\nauthor A <a@example.com> soon +0000\n"
        "committer A <a@example.com> 1600000000 +0000\n\nBad date\n"
    )
    sha = r.git("hash-object", "-t", "commit", "-w", "--literally", str(raw)).strip()
    r.git("update-ref", "refs/heads/main", sha)
    with pytest.raises(RepositoryError, match=rf"^commit {sha}: git log gave an unreadable date"):
        mine_all(load_config(make_config({"bad": r.path})))
