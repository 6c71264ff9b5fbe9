"""One fix git cannot read is skipped and reported; the other fixes keep their links.

The fault is real: after mining, the loose object of a blob that only one fix needs
(the version of its file the fix changes) is deleted, as a broken clone would lack it.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from teamlens.cli import cli
from teamlens.config import Config, load_config
from teamlens.errors import RepositoryError
from teamlens.mining.szz import DEFAULT_FILTERS, Variant, label_repository, variant_name
from teamlens.mining.tasks import mine_all
from teamlens.store import Store
from tests.conftest import ConfigFactory
from tests.gitrepo import ALICE, BOB, CAROL, ERIN, ZOE, RepoBuilder


@dataclass(frozen=True)
class ThreeFixes:
    path: Path
    inducing: dict[str, str]  # fix sha -> the commit it should be linked to
    broken_fix: str  # the fix whose parent's blob is deleted
    blob: Path  # that blob's loose object file
    last_fix: str  # not HEAD: a later commit edits the README


def _build(path: Path) -> ThreeFixes:
    r = RepoBuilder(path)
    r.write("README.md", "# three modules\n")
    r.commit("Start", ALICE)
    inducing_by_file = {}
    for name, person in (("alpha", ALICE), ("beta", BOB), ("gamma", CAROL)):
        r.write(f"{name}.py", f"def {name}(x):\n    return x + 1\n")
        inducing_by_file[name] = r.commit(f"Add {name}", person)
    fixes = {}
    for name, person in (("alpha", ZOE), ("beta", ERIN), ("gamma", ALICE)):
        r.write(f"{name}.py", f"def {name}(x):\n    return x - 1\n")
        fixes[name] = r.commit(f"Fix {name}", person)
    r.write("README.md", "# three modules, fixed\n")
    r.commit("Update the README", BOB)
    # The version of alpha.py that "Fix alpha" changes: only that fix reads it (its diff
    # and its blame); the other fixes blame beta.py and gamma.py.
    blob_sha = r.git("rev-parse", f"{fixes['alpha']}^:alpha.py").strip()
    blob = path / ".git" / "objects" / blob_sha[:2] / blob_sha[2:]
    assert blob.is_file()
    return ThreeFixes(
        path,
        {fixes[n]: inducing_by_file[n] for n in fixes},
        fixes["alpha"],
        blob,
        fixes["gamma"],
    )


@pytest.fixture
def mined(
    tmp_path: Path, make_config: ConfigFactory, key_env: str
) -> tuple[ThreeFixes, Config, Path]:
    """Three fixes, mined while the repository was whole: (repository, config, repos.yaml)."""
    repo = _build(tmp_path / "repo")
    config_path = make_config({"app": repo.path})
    config = load_config(config_path)
    mine_all(config)
    return repo, config, config_path


#: What szz_links.variant records for the default variant with the default filters.
_DEFAULT = variant_name(Variant.R, DEFAULT_FILTERS)


def _links(config: Config) -> set[tuple[str, str]]:
    rows = Store(config.data_dir).query("SELECT fix_sha, inducing_sha, variant FROM szz_links").rows
    return {(fix, inducing) for fix, inducing, variant in rows if variant == _DEFAULT}


def _labelled(config: Config) -> set[str]:
    rows = Store(config.data_dir).query("SELECT DISTINCT fix_sha FROM szz_fixes").rows
    return {fix for (fix,) in rows}


def test_a_fix_with_a_missing_blob_is_skipped_and_the_others_are_labelled(
    mined: tuple[ThreeFixes, Config, Path],
) -> None:
    repo, config, _ = mined
    saved = repo.blob.read_bytes()
    repo.blob.unlink()

    report = label_repository(config, config.repositories[0])

    assert (report.fixes_labelled, report.fixes_skipped) == (2, 1)
    good = {fix: sha for fix, sha in repo.inducing.items() if fix != repo.broken_fix}
    assert _links(config) == set(good.items())
    assert _labelled(config) == set(good)  # the skipped fix is not recorded as labelled
    assert report.skipped_notice() == (
        "app: 1 fix skipped (git could not read an object it needs); the others are labelled"
    )

    # Repaired, the next run labels the skipped fix, and only it.
    repo.blob.write_bytes(saved)
    again = label_repository(config, config.repositories[0])
    assert (again.fixes_labelled, again.fixes_skipped) == (1, 0)
    assert again.skipped_notice() is None
    assert _links(config) == set(repo.inducing.items())


def test_a_fix_whose_commit_is_missing_is_skipped(
    mined: tuple[ThreeFixes, Config, Path],
) -> None:
    """The last fix's commit: no other fix's blame walks through it (an earlier one's
    would be needed by every later fix, and all of those would be skipped)."""
    repo, config, _ = mined
    commit = repo.path / ".git" / "objects" / repo.last_fix[:2] / repo.last_fix[2:]
    commit.unlink()

    report = label_repository(config, config.repositories[0])

    assert (report.fixes_labelled, report.fixes_skipped) == (2, 1)
    assert _labelled(config) == set(repo.inducing) - {repo.last_fix}


def test_the_label_command_says_so_in_one_stderr_line(
    mined: tuple[ThreeFixes, Config, Path],
) -> None:
    repo, config, config_path = mined
    repo.blob.unlink()

    result = CliRunner().invoke(cli, ["label", "--quiet", "--config", str(config_path)])

    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [
        "app: 1 fix skipped (git could not read an object it needs); the others are labelled"
    ]
    assert len(_labelled(config)) == 2


def test_a_repository_whose_objects_are_all_gone_is_still_an_error(
    mined: tuple[ThreeFixes, Config, Path],
) -> None:
    repo, config, _ = mined
    for folder in (repo.path / ".git" / "objects").glob("??"):
        shutil.rmtree(folder)

    with pytest.raises(RepositoryError, match=r"repository .app.: .*its tip commit cannot be read"):
        label_repository(config, config.repositories[0])

    assert _labelled(config) == set()
    assert _links(config) == set()
