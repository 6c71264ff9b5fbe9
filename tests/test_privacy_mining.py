"""Privacy rules 1 and 4 for mined facts: no raw identity at rest, opt-out removes people."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from teamlens.config import load_config
from teamlens.mining.tasks import mine_all
from teamlens.store import Store
from tests.conftest import TEST_KEY, ConfigFactory
from tests.gitrepo import ALICE, CAROL, CAROL_OLD, DAVE, EVERYONE, Person, RepoBuilder


def _forbidden(people: tuple[Person, ...]) -> set[str]:
    """Strings that would identify a person: names, e-mails, local parts, plain hashes."""
    found: set[str] = set()
    for p in people:
        email = p.email.lower()
        found |= {p.name.lower(), email, email.split("@")[0]}
        for algo in ("md5", "sha1", "sha256"):
            found.add(hashlib.new(algo, email.encode()).hexdigest())
    return found


def _strings_in_parquet(path: Path) -> list[str]:
    values: list[str] = []
    for column in pq.read_table(path).to_pylist():
        for value in column.values():
            if isinstance(value, str):
                values.append(value)
            elif isinstance(value, list):
                values.extend(v for v in value if isinstance(v, str))
    return values


def scan_for_identities(data_dir: Path, people: tuple[Person, ...]) -> list[str]:
    """Every place under data_dir where a forbidden string occurs, as raw bytes or decoded."""
    leaks = []
    forbidden = _forbidden(people)
    files = [p for p in data_dir.rglob("*") if p.is_file()]
    assert files, "nothing was written: the scan would prove nothing"
    for path in files:
        raw = path.read_bytes().lower()
        leaks += [f"{path}: {s!r} (bytes)" for s in forbidden if s.encode() in raw]
        if path.suffix == ".parquet":
            text = "\n".join(_strings_in_parquet(path)).lower()
            leaks += [f"{path}: {s!r} (decoded)" for s in forbidden if s in text]
    return leaks


def _pseudonym(email: str) -> str:
    return hmac.new(TEST_KEY.encode(), email.encode(), hashlib.sha256).hexdigest()[:32]


def test_no_identity_anywhere_under_data_dir(
    tricky_repo: Path, make_config: ConfigFactory, key_env: str, data_dir: Path
) -> None:
    mine_all(load_config(make_config({"tricky": tricky_repo})))
    assert Store(data_dir).query("SELECT count(*) FROM commits").rows == [(19,)]
    assert scan_for_identities(data_dir, EVERYONE) == []


def test_the_scan_detects_a_planted_leak(
    tricky_repo: Path, make_config: ConfigFactory, key_env: str, data_dir: Path
) -> None:
    mine_all(load_config(make_config({"tricky": tricky_repo})))
    note = data_dir / "store" / "note.txt"
    note.write_text(f"by {ALICE.email}")
    leaks = scan_for_identities(data_dir, EVERYONE)
    assert leaks and {leak.split(": ")[0] for leak in leaks} == {str(note)}


def test_pseudonym_is_keyed_hmac_of_normalised_email(
    tricky_repo: Path, make_config: ConfigFactory, key_env: str, data_dir: Path
) -> None:
    mine_all(load_config(make_config({"tricky": tricky_repo})))
    ids = {
        s: a
        for s, a in Store(data_dir).query("SELECT message_subject, author_id FROM commits").rows
    }
    assert ids["Initial import"] == _pseudonym(ALICE.email)
    # Carol's old address is mapped by .mailmap before pseudonymisation.
    assert ids["Add feature"] == _pseudonym(CAROL.email)


def test_subjects_are_scrubbed_of_names_and_emails(
    tricky_repo: Path, make_config: ConfigFactory, key_env: str, data_dir: Path
) -> None:
    mine_all(load_config(make_config({"tricky": tricky_repo})))
    subjects = [s for (s,) in Store(data_dir).query("SELECT message_subject FROM commits").rows]
    assert "Revert work by <person> (<person>)" in subjects


@pytest.mark.parametrize("entry", [DAVE.email, DAVE.email.upper(), CAROL_OLD.email])
def test_opted_out_people_have_no_rows(
    entry: str,
    tricky_repo: Path,
    make_config: ConfigFactory,
    key_env: str,
    data_dir: Path,
    tmp_path: Path,
) -> None:
    opt_out = tmp_path / "optout.txt"
    opt_out.write_text(f"# people who asked to be left out\n{entry}\n")
    reports = mine_all(
        load_config(make_config({"tricky": tricky_repo}, privacy={"opt_out": str(opt_out)}))
    )
    person = CAROL if entry == CAROL_OLD.email else DAVE
    gone = _pseudonym(person.email)
    store = Store(data_dir)
    rows = store.query(
        "SELECT count(*) FROM commits WHERE author_id = ? OR committer_id = ?", [gone, gone]
    ).rows
    assert rows == [(0,)]
    expected_gone = 4 if person is CAROL else 2  # Carol: 2 under her old address, 2 new
    assert reports[0].commits_opted_out == expected_gone
    assert store.query("SELECT count(*) FROM commits").rows == [(19 - expected_gone,)]
    # Their file changes are gone with their commits.
    if person is DAVE:
        assert store.query(
            "SELECT count(*) FROM file_changes WHERE path = 'big/huge.txt'"
        ).rows == [(0,)]
    assert not any(gone in s for f in data_dir.rglob("*.parquet") for s in _strings_in_parquet(f))


def test_opt_out_after_mining_purges_existing_rows(
    tricky_repo: Path, make_config: ConfigFactory, key_env: str, data_dir: Path, tmp_path: Path
) -> None:
    mine_all(load_config(make_config({"tricky": tricky_repo})))
    gone = _pseudonym(DAVE.email)
    store = Store(data_dir)
    assert store.query("SELECT count(*) FROM commits WHERE author_id = ?", [gone]).rows == [(2,)]
    opt_out = tmp_path / "optout.txt"
    opt_out.write_text(DAVE.email + "\n")
    (report,) = mine_all(
        load_config(make_config({"tricky": tricky_repo}, privacy={"opt_out": str(opt_out)}))
    )
    assert report.rows_purged == 2 + 2  # two commits and their two file changes
    assert report.commits_added == 0
    assert store.query("SELECT count(*) FROM commits").rows == [(17,)]
    # Not even the pseudonym survives in a file on disk.
    assert not any(gone in s for f in data_dir.rglob("*.parquet") for s in _strings_in_parquet(f))


def test_opt_out_after_features_removes_their_changes_everywhere(
    tricky_repo: Path, make_config: ConfigFactory, key_env: str, data_dir: Path, tmp_path: Path
) -> None:
    from teamlens.features.changes import features_for

    config = load_config(make_config({"tricky": tricky_repo}))
    mine_all(config)
    features_for(config)
    store = Store(data_dir)
    dave = {
        sha
        for (sha,) in store.query(
            "SELECT sha FROM commits WHERE author_id = ? AND NOT is_merge", [_pseudonym(DAVE.email)]
        ).rows
    }
    assert dave and store.query("SELECT count(*) FROM change_features").rows[0][0] > len(dave)
    opt_out = tmp_path / "optout.txt"
    opt_out.write_text(DAVE.email + "\n")
    config = load_config(make_config({"tricky": tricky_repo}, privacy={"opt_out": str(opt_out)}))
    mine_all(config)
    features_for(config)
    for table in ("change_features", "change_labels", "changed_functions"):
        left = {sha for (sha,) in store.query(f"SELECT sha FROM {table}").rows}  # noqa: S608
        assert not left & dave, table


def test_names_of_people_on_unmined_branches_are_scrubbed_too(
    repo_builder: RepoBuilder, make_config: ConfigFactory, key_env: str, data_dir: Path
) -> None:
    """Only `main` is mined; a thank-you to someone who only worked on a branch is scrubbed."""
    side = Person("Sidney Branchworth", "sidney@branches.test")
    repo_builder.write("a.py", "A = 1\n")
    repo_builder.commit("Initial import", ALICE)
    repo_builder.git("checkout", "-q", "-b", "experiment")
    repo_builder.write("b.py", "B = 1\n")
    repo_builder.commit("Try something", side)
    repo_builder.git("checkout", "-q", "main")
    repo_builder.write("a.py", "A = 2\n")
    repo_builder.commit("Fix the value, thanks Sidney Branchworth (sidney)", ALICE)
    config = make_config(
        {"app": repo_builder.path},
        repositories=[{"name": "app", "path": str(repo_builder.path), "branch": "main"}],
    )
    mine_all(load_config(config))
    subjects = {s for (s,) in Store(data_dir).query("SELECT message_subject FROM commits").rows}
    assert subjects == {"Initial import", "Fix the value, thanks <person> (<person>)"}
    assert scan_for_identities(data_dir, (ALICE, side)) == []


@pytest.mark.parametrize("split", [False, True])
def test_subjects_lose_the_people_of_the_other_configured_repositories(
    split: bool, make_config: ConfigFactory, key_env: str, data_dir: Path, tmp_path: Path
) -> None:
    # Quentin works only on "app"; a subject of "lib" thanks him by name and login.
    quentin = Person("Quentin Quaggafoot", "qquaggafoot@app.test")
    app = RepoBuilder(tmp_path / "app")
    app.write("app.py", "x = 1\n")
    app.commit("Start the app", quentin)
    lib = RepoBuilder(tmp_path / "lib")
    for i in range(4):
        lib.write(f"lib{i}.py", f"y = {i}\n")
        lib.commit(f"Thanks Quentin Quaggafoot and qquaggafoot for report {i}", ALICE)
    mining = {"split_commits": 2} if split else {}
    config = load_config(make_config({"lib": lib.path, "app": app.path}, mining=mining))
    mine_all(config, ["lib"], split=split)
    subjects = {s for (s,) in Store(data_dir).query("SELECT message_subject FROM commits").rows}
    assert subjects == {f"Thanks <person> and <person> for report {i}" for i in range(4)}
    assert scan_for_identities(data_dir, (quentin,)) == []
