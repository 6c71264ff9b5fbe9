"""`teamlens features` end to end on real repositories: values, labels, leakage, privacy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from teamlens.config import load_config
from teamlens.features.changes import FEATURES_VERSION, build_features, is_test_path
from teamlens.mining.szz import label_repository
from teamlens.mining.tasks import mine_all
from teamlens.store import Store
from tests.conftest import ConfigFactory
from tests.gitrepo import ALICE, BOB, CAROL, EVERYONE, Person, RepoBuilder, lines
from tests.test_privacy_mining import scan_for_identities

DAY = 86_400


def build_history(path: Path, steps: int) -> list[str]:
    """A deterministic history: rebuilding it with fewer steps gives the same commits."""
    r = RepoBuilder(path)
    shas: list[str] = []

    def commit(message: str, person: Person) -> bool:
        r.clock += DAY
        shas.append(r.commit(message, person))
        return len(shas) < steps

    r.write("src/a.py", "def f(x):\n    return x\n" + lines(8, "# pad"))
    r.write("src/b.py", lines(5, "b"))
    if not commit("Add a and b", ALICE):
        return shas
    r.write(
        "src/a.py", "def f(x):\n    if x:\n        return 1\n    return 0\n" + lines(8, "# pad")
    )
    r.write("docs/x.md", lines(3, "doc"))
    if not commit("Fix f for truthy x", BOB):
        return shas
    (r.path / "lib").mkdir()
    r.git("mv", "src/a.py", "lib/a.py")
    r.write("src/b.py", lines(4, "b") + "B\n")
    if not commit("Move a to lib", ALICE):
        return shas
    r.write("tests/test_a.py", "def test_f():\n    assert True\n")
    r.write(
        "lib/a.py",
        "def f(x):\n    if x and x > 1:\n        return 1\n    return 0\n" + lines(8, "# pad"),
    )
    if not commit("Tighten f, with a test", CAROL):
        return shas
    r.write("src/b.py", lines(2, "b"))
    commit("Trim b", BOB)
    return shas


def _features(store: Store) -> dict[str, dict[str, Any]]:
    result = store.query("SELECT * EXCLUDE (repo) FROM change_features ORDER BY sha")
    return {row[0]: dict(zip(result.columns, row, strict=True)) for row in result.rows}


@pytest.fixture
def featured(tmp_path: Path, make_config: ConfigFactory, key_env: str) -> tuple[Store, list[str]]:
    shas = build_history(tmp_path / "repo", 5)
    config = load_config(
        make_config(
            {"r": tmp_path / "repo"},
            teams={"core": ["src/**", "lib/**"], "docs": ["docs/**"]},
            labels={"maturity_days": 2},
        )
    )
    mine_all(config)
    label_repository(config, config.repositories[0])
    build_features(config, config.repositories[0])
    return Store(config.data_dir), shas


def test_hand_computed_values(featured: tuple[Store, list[str]]) -> None:
    store, shas = featured
    f = _features(store)
    assert len(f) == 5
    second, third = f[shas[1]], f[shas[2]]
    assert (second["ns"], second["nd"], second["nf"], second["la"], second["ld"], second["lt"]) == (
        2,
        2,
        2,
        6,
        1,
        10,
    )
    assert (second["ndev"], second["nuc"], second["fix"]) == (1, 1, True)
    assert second["age"] == pytest.approx((1 + 1 / 24) / 2)  # a.py: 25 h ago; x.md new: 0
    assert second["owning_teams"] == ["core", "docs"]
    assert (third["lt"], third["ndev"], third["nuc"], third["recent_fixes"]) == (12 + 5, 2, 2, 1)
    fourth = f[shas[3]]
    assert fourth["tests_touched"] is True and third["tests_touched"] is False
    # f() went from 1 (plain) to 2 (if) in the fix, and to 3 (if + and) in the fourth change.
    assert (
        second["functions_changed"],
        second["complexity_before"],
        second["complexity_after"],
        second["max_complexity_increase"],
    ) == (1, 1, 2, 1)
    assert (fourth["largest_function_complexity"], fourth["max_complexity_increase"]) == (3, 1)
    functions = store.query(
        "SELECT path, function, complexity_before, complexity_after"
        " FROM changed_functions WHERE sha = ?",
        [shas[3]],
    ).rows
    assert ("lib/a.py", "f", 2, 3) in functions


def test_labels_from_szz_and_maturity(featured: tuple[Store, list[str]]) -> None:
    store, shas = featured
    labels = dict(store.query("SELECT sha, is_inducing FROM changes").rows)
    # The fix (second change) rewrote f's body, which the first change wrote.
    assert labels[shas[0]] is True
    assert labels[shas[1]] is False and labels[shas[2]] is False
    # The newest two changes are younger than the 2-day maturity window: unlabelled.
    assert labels[shas[3]] is None and labels[shas[4]] is None


def test_no_leakage_from_later_commits(
    tmp_path: Path, make_config: ConfigFactory, key_env: str
) -> None:
    results = []
    for steps in (5, 3):
        repo = tmp_path / f"repo{steps}"
        build_history(repo, steps)
        work = tmp_path / f"work{steps}"
        work.mkdir()
        config_path = make_config({"r": repo}, teams={"core": ["src/**", "lib/**"]})
        config_path = config_path.rename(work / "repos.yaml")
        config = load_config(config_path)
        mine_all(config)
        build_features(config, config.repositories[0])
        results.append(_features(Store(config.data_dir)))
    full, truncated = results
    assert len(truncated) == 3
    assert {sha: full[sha] for sha in truncated} == truncated


def test_features_are_incremental_and_free_of_identities(
    featured: tuple[Store, list[str]], tmp_path: Path
) -> None:
    store, _ = featured
    config = load_config(tmp_path / "work" / "repos.yaml")
    again = build_features(config, config.repositories[0])
    assert again.changes_added == 0
    assert store.query("SELECT count(*) FROM change_features").rows == [(5,)]
    assert scan_for_identities(config.data_dir, EVERYONE) == []
    columns = store.query("SELECT * FROM changes LIMIT 0").columns
    assert not any(c in columns for c in ("author_id", "committer_id", "exp", "rexp", "sexp"))


def test_rows_of_an_older_feature_version_are_recomputed(
    featured: tuple[Store, list[str]], tmp_path: Path
) -> None:
    store, _ = featured
    config = load_config(tmp_path / "work" / "repos.yaml")
    before = store.query("SELECT * FROM change_features ORDER BY sha").rows
    with Store(config.data_dir).writer(config.repositories[0].name) as writer:
        writer.commit({}, writer.manifest.state.replace(features_version=FEATURES_VERSION - 1))
    again = build_features(config, config.repositories[0])
    assert again.changes_added == 5  # every row again, none twice
    assert store.query("SELECT * FROM change_features ORDER BY sha").rows == before
    assert build_features(config, config.repositories[0]).changes_added == 0


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("tests/test_a.py", True),
        ("pkg/foo_test.go", True),
        ("src/FooTest.java", True),
        ("web/app.spec.ts", True),
        ("web/app.test.js", True),
        ("src/a.py", False),
        ("src/contest.py", False),
    ],
)
def test_test_paths(path: str, expected: bool) -> None:
    assert is_test_path(path) is expected


def test_codeowners_teams_never_people(
    repo_builder: RepoBuilder, make_config: ConfigFactory, key_env: str
) -> None:
    repo_builder.write(
        ".github/CODEOWNERS",
        "# owners\nsrc/ @acme/core-team @alice\n*.md docs@example.com @acme/docs\n",
    )
    repo_builder.write("src/x.py", "x = 1\n")
    repo_builder.write("README.md", "hi\n")
    sha = repo_builder.commit("Start", ALICE)
    config = load_config(make_config({"r": repo_builder.path}, teams={"codeowners": True}))
    mine_all(config)
    build_features(config, config.repositories[0])
    rows = (
        Store(config.data_dir).query("SELECT sha, owning_teams, n_teams FROM change_features").rows
    )
    assert rows == [(sha, ["acme/core-team", "acme/docs"], 2)]


def test_without_labelling_nothing_is_called_clean(
    tmp_path: Path, make_config: ConfigFactory, key_env: str
) -> None:
    build_history(tmp_path / "repo", 5)
    config = load_config(make_config({"r": tmp_path / "repo"}, labels={"maturity_days": 2}))
    mine_all(config)
    build_features(config, config.repositories[0])
    store = Store(config.data_dir)
    assert store.query("SELECT count(*) FROM changes WHERE is_inducing IS NOT NULL").rows == [(0,)]
    label_repository(config, config.repositories[0])
    mine_all(config)  # mining again keeps the record that labelling ran
    build_features(config, config.repositories[0])
    assert store.query("SELECT count(*) FROM changes WHERE is_inducing IS NOT NULL").rows == [(3,)]


def test_two_worker_processes_give_the_same_features(
    tmp_path: Path, make_config: ConfigFactory, key_env: str
) -> None:
    build_history(tmp_path / "repo", 5)
    results = []
    for workers in (1, 2):
        work = tmp_path / f"work{workers}"
        work.mkdir()
        config_path = make_config({"r": tmp_path / "repo"}).rename(work / "repos.yaml")
        config = load_config(config_path)
        mine_all(config)
        build_features(config, config.repositories[0], workers=workers)
        store = Store(config.data_dir)
        functions = store.query("SELECT * FROM changed_functions ORDER BY sha, path, function")
        results.append((_features(store), functions.rows))
    assert results[0] == results[1]
    assert len(results[0][1]) >= 3  # the comparison covers real function rows
