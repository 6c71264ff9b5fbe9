"""`teamlens init` keeps the data and clone folders out of `git status` (.git/info/exclude)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from teamlens.cli import cli
from teamlens.config import exclude_data_folders
from tests.gitrepo import ALICE, RepoBuilder


def _untracked(repo: RepoBuilder) -> set[str]:
    out = repo.git("status", "--porcelain", "--untracked-files=normal")
    return {line[3:] for line in out.splitlines() if line.startswith("?? ")}


def _fill(repo: RepoBuilder, where: Path) -> None:
    """What mining leaves behind: a file in the data folder and one in the clone folder."""
    for folder in (".teamlens", ".teamlens-clones"):
        (where / folder).mkdir(exist_ok=True)
        (where / folder / "x").write_text("x\n", encoding="utf-8")


@pytest.fixture
def repo(repo_builder: RepoBuilder) -> RepoBuilder:
    repo_builder.write("src/a.py", "x = 1\n")
    repo_builder.commit("first", ALICE)
    return repo_builder


def test_init_excludes_data_and_clones(repo: RepoBuilder, monkeypatch: pytest.MonkeyPatch) -> None:
    _fill(repo, repo.path)
    assert {".teamlens/", ".teamlens-clones/"} <= _untracked(repo)
    monkeypatch.chdir(repo.path)

    result = CliRunner().invoke(cli, ["init"], catch_exceptions=False)

    assert result.exit_code == 0, result.output
    assert "added /.teamlens/, /.teamlens-clones/ to .git/info/exclude" in result.stdout
    assert _untracked(repo) == {"repos.yaml"}


def test_a_second_init_adds_no_duplicate_line(
    repo: RepoBuilder, monkeypatch: pytest.MonkeyPatch
) -> None:
    exclude = repo.path / ".git" / "info" / "exclude"
    exclude.parent.mkdir(parents=True, exist_ok=True)
    exclude.write_text("*.log", encoding="utf-8")  # no final newline: kept intact
    monkeypatch.chdir(repo.path)
    runner = CliRunner()
    assert runner.invoke(cli, ["init"], catch_exceptions=False).exit_code == 0

    again = runner.invoke(cli, ["init", "--force"], catch_exceptions=False)

    assert again.exit_code == 0, again.output
    assert "exclude" not in again.stdout
    lines = exclude.read_text(encoding="utf-8").splitlines()
    assert lines.count("/.teamlens/") == 1
    assert lines.count("/.teamlens-clones/") == 1
    assert "*.log" in lines
    assert exclude_data_folders(repo.path / "repos.yaml") == []


def test_in_a_subfolder_the_lines_name_that_subfolder(
    repo: RepoBuilder, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fill(repo, repo.path / "src")
    monkeypatch.chdir(repo.path / "src")

    result = CliRunner().invoke(cli, ["init"], catch_exceptions=False)

    assert result.exit_code == 0, result.output
    assert _untracked(repo) == {"src/repos.yaml"}


def test_folders_outside_the_work_tree_add_nothing(repo: RepoBuilder, tmp_path: Path) -> None:
    config = repo.path / "repos.yaml"
    config.write_text(
        f"data_dir: {tmp_path / 'data'}\nclones_dir: {tmp_path / 'clones'}\n"
        f"repositories:\n  - name: app\n    path: {repo.path}\n",
        encoding="utf-8",
    )
    exclude = repo.path / ".git" / "info" / "exclude"
    before = exclude.read_text(encoding="utf-8") if exclude.exists() else None

    assert exclude_data_folders(config) == []
    assert (exclude.read_text(encoding="utf-8") if exclude.exists() else None) == before
