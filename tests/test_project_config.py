"""The repos.yaml shipped with teamlens is valid and mines this very repository."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from teamlens.cli import cli
from teamlens.config import load_config

PROJECT = Path(__file__).resolve().parent.parent


def test_project_repos_yaml_is_valid() -> None:
    config = load_config(PROJECT / "repos.yaml")
    assert [r.name for r in config.repositories] == ["teamlens"]
    assert config.repositories[0].path == PROJECT
    assert config.privacy.k == 5
    assert set(config.teams.globs) == {"core", "modelling", "review", "quality"}


@pytest.mark.skipif(not (PROJECT / ".git").exists(), reason="not a git checkout of teamlens")
def test_main_job_runs_on_this_repository(tmp_path: Path, key_env: str) -> None:
    text = (PROJECT / "repos.yaml").read_text(encoding="utf-8")
    config = tmp_path / "repos.yaml"
    config.write_text(
        text.replace("data_dir: .teamlens", f"data_dir: {tmp_path / 'data'}").replace(
            "path: .", f"path: {PROJECT}"
        ),
        encoding="utf-8",
    )
    result = CliRunner().invoke(cli, ["run", "--quiet", "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("teamlens: ")
    assert " commits (" in result.output
