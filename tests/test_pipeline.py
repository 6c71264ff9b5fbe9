"""teamlens.pipeline.run in-process: the main job as a library, on a small real repository."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import yaml

from teamlens.config import load_config
from teamlens.mining.github import GithubReport
from teamlens.pipeline import (
    Features,
    GithubFailure,
    GitMining,
    Labels,
    RunResult,
    Stage,
    StageReport,
    Summary,
    TeamReport,
    Training,
    run,
)
from teamlens.store import Store
from tests.gitrepo import ALICE, BOB, CAROL, ERIN, ZOE, RepoBuilder

TOKEN_ENV = "GH_TOKEN_PIPELINE"


@pytest.fixture(scope="module")
def small_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Five commits by five people: Python and Go, one fix of the first commit's line."""
    r = RepoBuilder(tmp_path_factory.mktemp("pipeline") / "small")
    r.write("src/app.py", "def main():\n    return 1\n")
    r.commit("Initial import", ALICE)
    r.write("src/util.py", "def helper():\n    return 2\n")
    r.commit("Add util", BOB)
    r.write("src/feature.go", "package main\n")
    r.commit("Add feature in Go", CAROL)
    r.write("src/app.py", "def main():\n    return 0\n")
    r.commit("Fix crash in main", ZOE)
    r.clock += 86400
    r.write("docs/guide.md", "how to\n")
    r.commit("Write a guide", ERIN)
    return r.path


def _config(
    folder: Path, repo: Path, github_repo: str | None = None, github_url: str | None = None
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    repository = {"name": "small", "path": str(repo)}
    doc: dict[str, object] = {"repositories": [repository]}
    if github_repo is not None and github_url is not None:
        repository["github"] = github_repo
        doc["github"] = {"url": github_url, "token_env": TOKEN_ENV, "max_wait_seconds": 1}
    path = folder / "repos.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def test_run_fills_the_store_and_reports_each_stage(
    key_env: str, small_repo: Path, tmp_path: Path
) -> None:
    config = load_config(_config(tmp_path / "work", small_repo))
    seen: list[StageReport] = []
    progress_asked: list[Stage] = []

    def progress(stage: Stage) -> None:
        progress_asked.append(stage)

    result = run(config, progress=progress, on_report=seen.append)

    assert isinstance(result, RunResult) and result.ok and result.github_failure is None
    [mined] = result.mining.reports
    assert (mined.repo, mined.commits_added, mined.file_changes_added) == ("small", 5, 5)
    assert result.mining.models_retired is False
    assert result.github == ()  # no repository names one
    assert [r.repo for r in result.labels.reports] == ["small"]
    assert result.labels.reports[0].fixes_labelled == 1
    [features] = result.features.reports
    assert (features.repo, features.changes_added) == ("small", 5)
    # One labelled change is far too little to train on: the default model stays current.
    assert result.training.trained is None and result.training.not_trained
    assert result.training.current == "default"
    [summary] = result.summary.repos
    assert (summary.repo, summary.commits, summary.fixes, summary.file_changes) == (
        "small",
        5,
        1,
        5,
    )
    assert summary.contributors_at_least_k and result.summary.k == 5
    assert result.report.path == config.data_dir / "reports" / "report.html"
    assert result.report.path.is_file() and result.report.not_written is None

    # The callbacks: each stage's report as it came, in stage order; a progress per stage.
    kinds = [type(r) for r in seen]
    assert kinds == [GitMining, Labels, Features, Training, Summary, TeamReport]
    assert seen == [
        result.mining,
        result.labels,
        result.features,
        result.training,
        result.summary,
        result.report,
    ]
    # The older form of progress: asked for by each stage that counts items and runs
    # (no repository names a GitHub repository: no GitHub stage).
    assert progress_asked == [Stage.MINE, Stage.LABEL, Stage.FEATURES]

    store = Store(config.data_dir)
    assert store.query("SELECT count(*) FROM commits").rows == [(5,)]
    assert store.query("SELECT count(*) FROM file_changes").rows == [(5,)]
    assert store.query("SELECT count(*) FROM change_features").rows == [(5,)]

    # A second run reads nothing new and holds the same store.
    again = run(config)
    assert again.mining.reports[0].commits_added == 0
    assert again.features.reports[0].changes_added == 0
    assert again.summary == result.summary
    assert store.query("SELECT count(*) FROM commits").rows == [(5,)]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def test_github_down_is_recorded_and_the_run_goes_on(
    key_env: str, small_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TOKEN_ENV, "token")
    url = f"http://127.0.0.1:{_closed_port()}"
    config = load_config(_config(tmp_path / "work", small_repo, "acme/small", url))
    seen: list[StageReport] = []

    result = run(config, on_report=seen.append)

    assert not result.ok and result.github == ()
    assert result.github_failure is not None
    assert "could not reach GitHub" in str(result.github_failure)
    assert [type(r) for r in seen][:2] == [GitMining, GithubFailure]
    assert not any(isinstance(r, GithubReport) for r in seen)
    # Everything after GitHub still ran from the git history.
    assert result.features.reports[0].changes_added == 5
    assert result.report.path is not None and result.report.path.is_file()
    store = Store(config.data_dir)
    assert store.query("SELECT count(*) FROM change_features").rows == [(5,)]


def test_a_history_too_short_for_the_gap_is_not_trained_and_the_run_goes_on(
    tmp_path: Path, key_env: str
) -> None:
    # 250 labelled changes within ten days, the newest change 40 days later: with a
    # 30-day maturity gap no training change is old enough before the test window.
    r = RepoBuilder(tmp_path / "young")
    people = [ALICE, BOB, CAROL, ERIN, ZOE]
    for i in range(250):
        r.write(
            f"src/m{i % 10}.py", "".join(f"def f{j}():\n    return {i + j}\n" for j in range(3))
        )
        r.commit("Fix bug in m" if i % 3 == 2 else "Change m", people[i % 5])
    r.clock += 40 * 86_400
    r.write("README.md", "docs\n")
    r.commit("Document", ALICE)
    config = tmp_path / "work" / "repos.yaml"
    config.parent.mkdir()
    doc = {
        "repositories": [{"name": "young", "path": str(r.path)}],
        "labels": {"maturity_days": 30},
    }
    config.write_text(yaml.safe_dump(doc), encoding="utf-8")
    result = run(load_config(config))
    assert result.training.trained is None and result.training.current == "default"
    assert "need a longer history or a smaller gap" in (result.training.not_trained or "")
    assert result.report.path is not None  # the run went on to the report
