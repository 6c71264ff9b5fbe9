from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.gitrepo import RepoBuilder, build_tricky_repo

#: 32 random bytes as hex, as `teamlens` creates a key (not secret: it is in the tests).
TEST_KEY = "9f3a1c7e52b84d06e1f2a9c3b7d54e8a0c6f13b29d7e4a5c8b1f06d2e93a7c41"


def teamlens_command() -> list[str]:
    """The installed console script of the interpreter running the tests."""
    import sys

    script = Path(sys.executable).parent / "teamlens"
    return [str(script)] if script.exists() else [sys.executable, "-m", "teamlens"]


ConfigFactory = Callable[..., Path]


@pytest.fixture(autouse=True)
def isolated_key(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Never touch the real per-user key: tests use the env var or a key file in tmp."""
    monkeypatch.delenv("TEAMLENS_KEY", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))


@pytest.fixture
def key_env(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("TEAMLENS_KEY", TEST_KEY)
    return TEST_KEY


@pytest.fixture(scope="session")
def tricky_repo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tricky_repo(tmp_path_factory.mktemp("tricky") / "repo").path


@pytest.fixture
def tricky_repo(tricky_repo_template: Path, tmp_path: Path) -> Path:
    """A fresh copy of the tricky repository (tests may add commits to it)."""
    import shutil

    target = tmp_path / "tricky"
    shutil.copytree(tricky_repo_template, target, symlinks=True)
    return target


@pytest.fixture
def repo_builder(tmp_path: Path) -> RepoBuilder:
    return RepoBuilder(tmp_path / "repo")


@pytest.fixture
def make_config(tmp_path: Path) -> ConfigFactory:
    """Write a repos.yaml into tmp_path/work and return its path.

    ``make_config({"name": path})`` or with extra top-level sections as keywords.
    """

    def make(repos: dict[str, Path], **sections: Any) -> Path:
        work = tmp_path / "work"
        work.mkdir(exist_ok=True)
        doc: dict[str, Any] = {
            "repositories": [{"name": n, "path": str(p)} for n, p in repos.items()],
        }
        doc.update(sections)
        path = work / "repos.yaml"
        path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
        return path

    return make


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """The data folder that `make_config` files point at (the default, beside repos.yaml)."""
    return tmp_path / "work" / ".teamlens"


#: Long end-to-end modules (crash loops, fault injection, fuzzing, Dask clusters, the
#: privacy attacks replayed on a company repository): marked slow, so that `scripts/test
#: --fast` leaves them out of the edit-test loop. CI runs everything.
SLOW_MODULES = frozenset(
    {
        "tests/test_crash_resume.py",
        "tests/mining/test_dask.py",
        "tests/reliability/test_faults.py",
        "tests/reliability/test_fuzz.py",
        "tests/reliability/test_leak_scan.py",
        "tests/reliability/test_webhook_load.py",
        "tests/privacy/test_attack_trends.py",
        "tests/privacy/test_export_audit.py",
        "tests/privacy/test_hardening.py",
        "tests/privacy/test_opt_out_total.py",
        "tests/privacy/test_query_zone.py",
        "tests/privacy/test_scrub_and_scan.py",
    }
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    root = Path(str(config.rootpath))
    for item in items:
        if item.path.relative_to(root).as_posix() in SLOW_MODULES:
            item.add_marker(pytest.mark.slow)
