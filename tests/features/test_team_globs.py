"""A team glob that owns no file at the mined tip stops the commands that use teams."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from teamlens.cli import cli
from teamlens.config import load_config
from teamlens.features.team_globs import EmptyTeamGlobError, check_team_globs
from teamlens.mining.tasks import mine_all
from tests.conftest import ConfigFactory
from tests.gitrepo import ALICE, BOB, RepoBuilder


@pytest.fixture
def repo(repo_builder: RepoBuilder) -> RepoBuilder:
    repo_builder.write("src/flask/app.py", "def app():\n    return 1\n")
    repo_builder.commit("Add app", ALICE)
    repo_builder.write("docs/index.md", "# Docs\n")
    repo_builder.commit("Add docs", BOB)
    return repo_builder


def test_a_typo_is_an_error_naming_team_and_glob(
    repo: RepoBuilder, make_config: ConfigFactory
) -> None:
    config = load_config(
        make_config({"app": repo.path}, teams={"core": "src/flaks/**", "docs": "docs/**"})
    )

    with pytest.raises(EmptyTeamGlobError) as caught:
        check_team_globs(config)

    message = str(caught.value)
    assert "team 'core': glob 'src/flaks/**' matches no file" in message
    assert "docs/**" not in message  # the glob that owns files is not named
    assert "\n" not in message


def test_allow_empty_teams_turns_it_into_a_warning(
    repo: RepoBuilder, make_config: ConfigFactory
) -> None:
    config = load_config(make_config({"app": repo.path}, teams={"core": ["src/flaks/**"]}))

    warnings = check_team_globs(config, allow_empty=True)

    assert warnings == [
        "team 'core': glob 'src/flaks/**' matches no file of any repository "
        "(at the mined tip or in the mined history)"
    ]


def test_correct_globs_pass(repo: RepoBuilder, make_config: ConfigFactory) -> None:
    config = load_config(
        make_config({"app": repo.path}, teams={"core": ["src/flask/**"], "docs": "*.md"})
    )

    assert check_team_globs(config) == []


def test_a_shared_glob_needs_files_in_one_repository_only(
    repo: RepoBuilder, make_config: ConfigFactory, tmp_path: Path
) -> None:
    """Top-level teams serve every repository: `docs/**` owning nothing in one is fine."""
    other = RepoBuilder(tmp_path / "other")
    other.write("web/index.js", "export const x = 1;\n")
    other.commit("Add web", ALICE)
    teams = {"core": "src/flask/**", "docs": "docs/**", "web": "web/**"}
    config = load_config(make_config({"app": repo.path, "web": other.path}, teams=teams))

    assert check_team_globs(config) == []
    assert check_team_globs(config, only=["web"]) == []  # the other repository counts too

    typo = load_config(
        make_config({"app": repo.path, "web": other.path}, teams={**teams, "ops": "ops/**"})
    )
    with pytest.raises(EmptyTeamGlobError) as caught:
        check_team_globs(typo, only=["web"])
    assert str(caught.value).startswith(
        "team 'ops': glob 'ops/**' matches no file of any repository"
    )
    assert "docs/**" not in str(caught.value) and "web/**" not in str(caught.value)


def test_a_repository_own_teams_are_checked(repo: RepoBuilder, make_config: ConfigFactory) -> None:
    path = make_config({"app": repo.path}, teams={"core": "src/flask/**"})
    text = path.read_text(encoding="utf-8").replace(
        f"path: {repo.path}\n", f"path: {repo.path}\n  teams:\n    web: web/**\n", 1
    )
    path.write_text(text, encoding="utf-8")

    with pytest.raises(EmptyTeamGlobError, match="team 'web': glob 'web/\\*\\*'"):
        check_team_globs(load_config(path))


def test_cli_error_and_warning(
    repo: RepoBuilder, make_config: ConfigFactory, key_env: str, tmp_path: Path
) -> None:
    path = make_config({"app": repo.path}, teams={"core": "src/flaks/**"})
    runner = CliRunner()

    refused = runner.invoke(cli, ["--config", str(path), "mine", "-q"])
    assert refused.exit_code == 1
    assert refused.stderr.splitlines() == [
        "teamlens: error: team 'core': glob 'src/flaks/**' matches no file of any repository "
        "(at the mined tip or in the mined history) (a typo? fix repos.yaml `teams`, or pass "
        "--allow-empty-teams)"
    ]
    assert not (tmp_path / "work" / ".teamlens" / "store" / "app").exists()  # nothing mined

    allowed = runner.invoke(
        cli, ["--config", str(path), "mine", "-q", "--no-github", "--allow-empty-teams"]
    )
    assert allowed.exit_code == 0, allowed.stderr
    assert (
        "teamlens: warning: team 'core': glob 'src/flaks/**' matches no file of any repository"
        in allowed.stderr
    )
    assert (tmp_path / "work" / ".teamlens" / "store" / "app").exists()


def test_a_folder_deleted_since_passes_once_its_history_is_mined(
    repo: RepoBuilder, make_config: ConfigFactory, key_env: str
) -> None:
    repo.write("legacy/old.py", "x = 1\n")
    repo.commit("Add legacy", ALICE)
    repo.git("rm", "-q", "-r", "legacy")
    repo.commit("Remove legacy", BOB)
    config = load_config(make_config({"app": repo.path}, teams={"legacy": "legacy/**"}))

    with pytest.raises(EmptyTeamGlobError, match="team 'legacy'"):
        check_team_globs(config)  # not at the tip, and nothing mined yet
    mine_all(config)

    assert check_team_globs(config) == []
