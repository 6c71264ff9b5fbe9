"""One feature pipeline: for every non-merge change C of a real repository, `teamlens
review --base C^ --head C` computes exactly the features `teamlens features` stored for
C, every registry column (NaN only where both are NaN)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from teamlens.bot.change import compute_change
from teamlens.bot.github import change_from_patches
from teamlens.config import Config, load_config
from teamlens.feature_registry import FEATURES, model_features
from teamlens.features.changes import build_features
from teamlens.features.kamei import TeamMap
from teamlens.features.pipeline import (
    CODE_FEATURES,
    FILE_HISTORY_FEATURES,
    FUNCTION_HISTORY_FEATURES,
    TOKEN_FEATURES,
    values_row,
)
from teamlens.mining.gitlog import diff_file_changes
from teamlens.mining.szz import label_repository
from teamlens.mining.tasks import mine_all
from teamlens.store import Store
from tests.conftest import ConfigFactory
from tests.gitrepo import ALICE, BOB, CAROL, ERIN, ZOE, RepoBuilder, lines

DAY = 86_400


def _module(name: str, branches: int, extra: str = "") -> str:
    body = "".join(f"    if x == {i}:\n        return {i}\n" for i in range(branches))
    return f"def {name}(x):\n{body}    return -1\n\n\ndef helper(y):\n    return y\n{extra}"


def build_repo(path: Path, merge: bool) -> RepoBuilder:
    """Renames, copies, deletions, binary files, fix commits, five authors, two teams,
    functions that move with their files, a file deleted and added again; with `merge`,
    a side branch merged back."""
    r = RepoBuilder(path)

    def commit(message: str, who: Any) -> str:
        r.clock += DAY
        return r.commit(message, who)

    r.write("core/calc.py", _module("calc", 2))
    r.write("core/util.py", _module("util", 1) + lines(30, "# pad"))
    r.write("docs/guide.md", lines(10, "guide"))
    r.write("assets/logo.png", b"\x89PNG\r\n\x1a\n\x00\x01\x02binary")
    commit("Initial import", ALICE)
    r.write("core/calc.py", _module("calc", 4))
    commit("Fix calc for 2 and 3", BOB)
    r.git("mv", "core/calc.py", "core/calculator.py")
    r.write("core/calculator.py", _module("calc", 5))
    commit("Rename calc and extend it", CAROL)
    r.write("assets/logo.png", b"\x89PNG\r\n\x1a\n\x00\x03\x04binary too")
    r.write("docs/guide.md", lines(12, "guide"))
    commit("New logo, longer guide", ZOE)
    r.write("core/copy_of_util.py", _module("util", 1) + lines(30, "# pad"))
    r.write("tests/test_calc.py", "def test_calc():\n    assert True\n")
    commit("Copy util, test calc", ERIN)
    if merge:
        r.git("checkout", "-q", "-b", "side")
        r.write("core/util.py", _module("util", 3) + lines(30, "# pad"))
        commit("fix util on the side", BOB)
        r.git("checkout", "-q", "main")
    r.write("core/calculator.py", _module("calc", 6, "\n\ndef extra():\n    return 0\n"))
    r.git("rm", "-q", "docs/guide.md")
    commit("Bug fix in calc, drop the guide", ALICE)
    if merge:
        r.clock += DAY
        r.git("merge", "-q", "--no-ff", "-m", "Merge side", "side", person=CAROL)
    r.write("docs/guide.md", lines(3, "new guide"))
    r.write("core/calculator.py", _module("calc", 6, "\n\ndef extra():\n    return 1\n"))
    commit("Guide again; fix extra", CAROL)
    r.git("mv", "core/calculator.py", "core/arith.py")
    commit("Rename calculator to arith", ZOE)
    return r


def _stored(config: Config) -> dict[str, dict[str, object]]:
    store = Store(config.data_dir)
    table = store.read("change_features", config.repositories[0].name).to_pylist()
    return {row["sha"]: row for row in table}


def _equal(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


def _mismatches(review: dict[str, float], stored: dict[str, float]) -> list[str]:
    return [
        f"{name}: review {review[name]!r} stored {stored[name]!r}"
        for name in model_features()
        if not _equal(review[name], stored[name])
    ]


def _non_merge_children(r: RepoBuilder) -> list[str]:
    out = r.git("log", "--no-merges", "--format=%H %P", "--reverse")
    return [line.split()[0] for line in out.splitlines() if len(line.split()) == 2]


@pytest.fixture(params=[False, True], ids=["linear", "merged"])
def mined(
    request: pytest.FixtureRequest, tmp_path: Path, make_config: ConfigFactory, key_env: str
) -> tuple[RepoBuilder, Config]:
    r = build_repo(tmp_path / "repo", merge=request.param)
    config = load_config(
        make_config(
            {"r": r.path},
            teams={"core": ["core/**"], "docs": ["docs/**", "assets/**"]},
            labels={"maturity_days": 2},
        )
    )
    mine_all(config)
    label_repository(config, config.repositories[0])
    build_features(config, config.repositories[0])
    return r, config


def test_the_review_of_every_change_equals_its_stored_row(
    mined: tuple[RepoBuilder, Config],
) -> None:
    r, config = mined
    stored = _stored(config)
    children = _non_merge_children(r)
    assert len(children) >= 7
    checked = 0
    for sha in children:
        change = compute_change(config, config.repositories[0], f"{sha}^", sha)
        assert change.unavailable == ()
        row = values_row(stored[sha])
        assert _mismatches(dict(change.features), row) == [], sha
        checked += 1
    assert checked == len(children)
    # The history features are not trivially zero: the parity covers real histories.
    rows = [values_row(stored[sha]) for sha in children]
    for name in (
        "nuc",
        "ndev",
        "functions_prior_changes",
        "functions_prior_fixes",
        "prior_fixes",
        "recent_fixes",
        "files_added",
        "files_deleted",
        "lt",
    ):
        assert max(row[name] for row in rows) > 0, name


def test_without_a_store_the_git_history_gives_the_same_features(
    mined: tuple[RepoBuilder, Config], tmp_path: Path, make_config: ConfigFactory
) -> None:
    """No mined store: history from one `git log`; the function history is listed as not
    computed instead of silently NaN. On a linear history the rest is equal."""
    r, config = mined
    stored = _stored(config)
    elsewhere = load_config(
        make_config(
            {"r": r.path},
            teams={"core": ["core/**"], "docs": ["docs/**", "assets/**"]},
            data_dir=str(tmp_path / "no-store"),
        )
    )
    merged = len(r.git("log", "--merges", "--format=%H").split()) > 0
    for sha in _non_merge_children(r):
        change = compute_change(elsewhere, elsewhere.repositories[0], f"{sha}^", sha)
        assert change.unavailable == FUNCTION_HISTORY_FEATURES
        assert all(math.isnan(change.features[n]) for n in FUNCTION_HISTORY_FEATURES)
        review = {k: v for k, v in change.features.items() if k not in FUNCTION_HISTORY_FEATURES}
        row = {k: v for k, v in values_row(stored[sha]).items() if k in review}
        if not merged:
            assert [
                f"{n}: {review[n]} != {row[n]}" for n in review if not _equal(review[n], row[n])
            ] == [], sha


def test_every_registry_feature_is_a_stored_column(mined: tuple[RepoBuilder, Config]) -> None:
    _, config = mined
    columns = set(next(iter(_stored(config).values())))
    assert {f.name for f in FEATURES} <= columns


class _GitHubFile:
    """A pull request file as github3.py gives it (``as_dict()``), built from git."""

    def __init__(self, doc: dict[str, Any]) -> None:
        self._doc = doc

    def as_dict(self) -> dict[str, Any]:
        return self._doc


_GITHUB_STATUS = {"A": "added", "D": "removed", "R": "renamed", "M": "modified"}


def _github_files(r: RepoBuilder, sha: str) -> list[_GitHubFile]:
    files = []
    for f in diff_file_changes(r.path, f"{sha}^", sha):
        doc: dict[str, Any] = {
            "filename": f.path,
            "status": _GITHUB_STATUS[f.change_type.value],
            "additions": f.added,
            "deletions": f.deleted,
            "patch": None if f.is_binary else r.git("diff", f"{sha}^", sha, "--", f.path),
        }
        if f.old_path is not None:
            doc["previous_filename"] = f.old_path
        files.append(_GitHubFile(doc))
    return files


def test_a_patches_only_review_shares_the_pipeline_and_names_what_it_lacks(
    mined: tuple[RepoBuilder, Config],
) -> None:
    """GitHub's file list alone: diff and history columns equal the stored row (history
    from the store's replay), code columns and `fix` are listed as not computed."""
    r, config = mined
    stored = _stored(config)
    name = config.repositories[0].name
    teams = TeamMap({"core": ["core/**"], "docs": ["docs/**", "assets/**"]})
    lacking = {*CODE_FEATURES, *TOKEN_FEATURES, *FUNCTION_HISTORY_FEATURES, "fix"}
    for sha in _non_merge_children(r):
        when = int(r.git("log", "-1", "--format=%ct", sha))
        change = change_from_patches(
            name, f"{sha}^", sha, _github_files(r, sha), Store(config.data_dir), teams, when
        )
        assert set(change.unavailable) == lacking
        assert all(math.isnan(change.features[n]) for n in lacking)
        row = values_row(stored[sha])
        assert [
            f"{n}: {v} != {row[n]}"
            for n, v in change.features.items()
            if n not in lacking and not _equal(v, row[n])
        ] == [], sha
        # Without a store the history columns are named too.
        bare = change_from_patches(name, f"{sha}^", sha, _github_files(r, sha), None, teams, when)
        assert set(bare.unavailable) == lacking | set(FILE_HISTORY_FEATURES)
