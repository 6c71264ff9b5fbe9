"""A history split by commit ranges is mined into exactly the store of one task."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from teamlens.config import Config, load_config
from teamlens.errors import StoreError
from teamlens.mining.ranges import adopt, mine_task, plan, staging_dir
from teamlens.mining.tasks import mine_all, tasks_for
from teamlens.store import Store
from tests.conftest import ConfigFactory
from tests.test_crash_resume import _fast_import

COMMITS = 600


@pytest.fixture(scope="module")
def history_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """600 commits with renames, deletions, side branches merged back, fix commits."""
    repo = tmp_path_factory.mktemp("ranges") / "history"
    _fast_import(repo, COMMITS)
    return repo


def _config(make_config: ConfigFactory, repo: Path, split: int, data: str) -> Config:
    path = make_config({"history": repo}, data_dir=data, mining={"split_commits": split})
    return load_config(path)


def _snapshot(config: Config) -> dict[str, Any]:
    store = Store(config.data_dir)
    views = {
        v: store.query(f"SELECT * FROM {v} ORDER BY ALL").rows  # noqa: S608 - constants
        for v in ("commits", "commits_all", "file_changes_all", "lost_commits")
    }
    return {"views": views, "state": store.manifest("history").state.to_json()}


def _git(repo: Path, *args: str) -> list[str]:
    out = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True)
    return out.stdout.split()


def test_the_ranges_are_disjoint_and_cover_the_history(
    history_template: Path, make_config: ConfigFactory, key_env: str
) -> None:
    config = _config(make_config, history_template, 100, "data")
    (task,) = tasks_for(config)
    parts = plan(task)
    assert parts is not None and len(parts) >= 5
    seen: list[str] = []
    for part in parts:
        r = part.commit_range
        assert r is not None
        seen += _git(history_template, "rev-list", *r.include, "--not", *r.exclude, "--")
    assert len(seen) == len(set(seen)) == COMMITS
    assert set(seen) == set(_git(history_template, "rev-list", "main", "side"))
    assert [p.label for p in parts][:2] == [
        f"history [1/{len(parts)}]",
        f"history [2/{len(parts)}]",
    ]
    # Small histories, and histories already mined, are one task.
    assert plan(tasks_for(_config(make_config, history_template, COMMITS, "d2"))[0]) is None
    assert plan(tasks_for(_config(make_config, history_template, 0, "d3"))[0]) is None


def test_a_split_mining_equals_one_task_and_stays_incremental(
    history_template: Path, tmp_path: Path, make_config: ConfigFactory, key_env: str
) -> None:
    whole = _config(make_config, history_template, 0, "whole")
    split = _config(make_config, history_template, 120, "split")
    (report_whole,) = mine_all(whole)
    (report_split,) = mine_all(split, split=True)
    assert report_split.commits_added == report_whole.commits_added == COMMITS
    assert report_split.file_changes_added == report_whole.file_changes_added
    assert _snapshot(split) == _snapshot(whole)
    assert not staging_dir(split.data_dir, "history").exists()
    # In one process (the default for a serial run) ranges would only add work.
    serial = _config(make_config, history_template, 120, "serial")
    assert mine_all(serial)[0].commits_added == COMMITS
    assert len(Store(serial.data_dir).manifest("history").parts["commits"]) == 1

    # Later runs are the ordinary incremental miner: nothing new, then only what is new.
    assert plan(tasks_for(split)[0]) is None
    assert mine_all(split, split=True)[0].commits_added == 0
    repo = tmp_path / "grown"
    subprocess.run(["git", "clone", "-q", str(history_template), str(repo)], check=True)
    grown_split = _config(make_config, repo, 120, "grown-split")
    mine_all(grown_split, split=True)
    subprocess.run(["git", "commit", "-q", "--allow-empty", "-m", "one more"], cwd=repo, check=True)
    assert mine_all(grown_split, split=True)[0].commits_added == 1
    grown_whole = _config(make_config, repo, 0, "grown-whole")
    mine_all(grown_whole)
    assert _snapshot(grown_split) == _snapshot(grown_whole)


def test_finished_ranges_are_kept_when_a_run_stops_and_not_mined_again(
    history_template: Path, make_config: ConfigFactory, key_env: str
) -> None:
    whole = _config(make_config, history_template, 0, "whole")
    split = _config(make_config, history_template, 150, "split")
    mine_all(whole)
    (task,) = tasks_for(split)
    parts = plan(task)
    assert parts is not None
    # A run that stopped after two ranges: they stay staged, the store shows nothing.
    staged = [mine_task(p) for p in parts[:2]]
    assert sum(r.commits_added for r in staged) > 0
    assert Store(split.data_dir).repos() == []
    calls: list[tuple[str, int, int]] = []
    (report,) = mine_all(split, progress=lambda *call: calls.append(call), split=True)
    assert report.commits_added == COMMITS
    assert _snapshot(split) == _snapshot(whole)
    # The finished ranges reported nothing to do; the others were mined.
    assert (parts[0].label, 0, 0) in calls and (parts[1].label, 0, 0) in calls
    assert all(c[2] > 0 for c in calls if c[0] == parts[-1].label)


def test_a_range_of_a_repository_mined_meanwhile_is_refused(
    history_template: Path, make_config: ConfigFactory, key_env: str
) -> None:
    split = _config(make_config, history_template, 150, "split")
    (task,) = tasks_for(split)
    parts = plan(task)
    assert parts is not None
    for part in parts:
        mine_task(part)
    mine_task(task)  # another run mined it as one task meanwhile
    with pytest.raises(StoreError, match="was mined by another run"):
        adopt(parts, [])
    assert Store(split.data_dir).query("SELECT count(*) FROM commits").rows == [(COMMITS,)]


def test_a_cloned_repository_is_split_without_fetching_once_per_range(
    history_template: Path, make_config: ConfigFactory, key_env: str
) -> None:
    """A `url:` repository: the plan clones it; its range tasks use that clone as it is."""
    whole = _config(make_config, history_template, 0, "whole")
    path = make_config(
        {"history": history_template},
        data_dir="from-url",
        clones_dir="../clones",
        mining={"split_commits": 150},
    )
    path.write_text(path.read_text().replace("path:", "url:"), encoding="utf-8")
    split = load_config(path)
    assert split.repositories[0].url is not None
    mine_all(whole)
    (report,) = mine_all(split, split=True)
    assert report.commits_added == COMMITS
    views = _snapshot(split)["views"]
    assert views == _snapshot(whole)["views"]
    # The one clone is where the plan put it, and no range fetched into it (a fetch
    # writes FETCH_HEAD; the clone itself does not).
    assert [p.name for p in split.clones_dir.iterdir() if not p.name.startswith(".")] == ["history"]
    assert not (split.clones_dir / "history" / "FETCH_HEAD").exists()
