"""Incremental runs: nothing new adds nothing, one commit adds one, rewrites are reported;
a second `teamlens run` with nothing new trains nothing and changes nothing."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import yaml

from teamlens.config import load_config
from teamlens.dashboard.report_inputs import code_digest
from teamlens.mining.tasks import mine_all
from teamlens.model.registry import Registry
from teamlens.store import Store
from tests.conftest import ConfigFactory, teamlens_command
from tests.gitrepo import ALICE, BOB, RepoBuilder, lines
from tests.model.conftest import AUTHORS, build_history


def _files(data_dir: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(data_dir)): p.read_bytes()
        for p in sorted(data_dir.rglob("*"))
        if p.is_file()
    }


def _linear(builder: RepoBuilder, n: int) -> list[str]:
    shas = []
    for i in range(n):
        builder.write("src/mod.py", lines(i + 1))
        shas.append(builder.commit(f"change {i}", ALICE if i % 2 else BOB))
    return shas


def test_second_mine_with_nothing_new_changes_nothing(
    tricky_repo: Path, make_config: ConfigFactory, key_env: str, data_dir: Path
) -> None:
    config = load_config(make_config({"tricky": tricky_repo}))
    (first,) = mine_all(config)
    before = _files(data_dir)
    (second,) = mine_all(config)
    assert (first.commits_added, second.commits_added) == (19, 0)
    assert second.file_changes_added == 0
    assert _files(data_dir) == before


def test_one_new_commit_adds_exactly_one(
    repo_builder: RepoBuilder, make_config: ConfigFactory, key_env: str, data_dir: Path
) -> None:
    _linear(repo_builder, 5)
    config = load_config(make_config({"r": repo_builder.path}))
    mine_all(config)
    repo_builder.write("src/new.py", "x = 1\n")
    new = repo_builder.commit("one more", ALICE)
    (report,) = mine_all(config)
    assert (report.commits_added, report.file_changes_added) == (1, 1)
    store = Store(data_dir)
    assert store.query("SELECT count(*), count(DISTINCT sha) FROM commits").rows == [(6, 6)]
    assert store.query("SELECT sha FROM file_changes WHERE path = 'src/new.py'").rows == [(new,)]


def test_force_push_is_detected_and_nothing_duplicated(
    repo_builder: RepoBuilder, make_config: ConfigFactory, key_env: str, data_dir: Path
) -> None:
    shas = _linear(repo_builder, 6)
    config = load_config(make_config({"r": repo_builder.path}))
    mine_all(config)
    repo_builder.git("reset", "-q", "--hard", shas[3])  # drop the last two commits
    repo_builder.write("src/other.py", "y = 2\n")
    replacement = repo_builder.commit("rewritten history", BOB)
    (report,) = mine_all(config)
    assert report.commits_added == 1
    (rewrite,) = report.rewritten
    assert (rewrite.ref, rewrite.old_tip, rewrite.new_tip, rewrite.lost_commits) == (
        "refs/heads/main",
        shas[5],
        replacement,
        2,
    )
    store = Store(data_dir)
    lost = store.query("SELECT sha FROM lost_commits ORDER BY sha").rows
    assert lost == sorted([(shas[4],), (shas[5],)])
    current = {s for (s,) in store.query("SELECT sha FROM commits").rows}
    assert current == {*shas[:4], replacement}
    # The facts stay (append-only); the views hide what the branch no longer holds.
    assert store.query("SELECT count(*), count(DISTINCT sha) FROM commits_all").rows == [(7, 7)]
    assert store.query(
        "SELECT count(*) FROM file_changes WHERE sha IN (?, ?)", [shas[4], shas[5]]
    ).rows == [(0,)]
    # A further run reports nothing new and lists no commit twice.
    (again,) = mine_all(config)
    assert (again.commits_added, again.rewritten) == (0, ())
    assert store.query("SELECT count(*) FROM lost_commits").rows == [(2,)]
    # Pushing the old history back brings the lost commits back, still without duplicates.
    repo_builder.git("reset", "-q", "--hard", shas[5])
    (back,) = mine_all(config)
    assert (back.commits_added, back.commits_restored) == (0, 2)
    assert [r.lost_commits for r in back.rewritten] == [1]  # the replacement commit
    assert store.query("SELECT sha FROM lost_commits").rows == [(replacement,)]
    assert {s for (s,) in store.query("SELECT sha FROM commits").rows} == set(shas)
    assert store.query(
        "SELECT event, count(*) FROM lost_commit_events GROUP BY event ORDER BY event"
    ).rows == [("lost", 3), ("restored", 2)]


def test_all_branches_and_a_deleted_branch(
    repo_builder: RepoBuilder, make_config: ConfigFactory, key_env: str, data_dir: Path
) -> None:
    main = _linear(repo_builder, 3)
    repo_builder.git("checkout", "-q", "-b", "topic")
    topic = _linear(repo_builder, 2)
    repo_builder.git("checkout", "-q", "main")
    path = make_config({"r": repo_builder.path})
    text = path.read_text().replace("path:", "all_branches: true\n  path:")
    path.write_text(text)
    config = load_config(path)
    (first,) = mine_all(config)
    assert first.commits_added == 5
    repo_builder.git("branch", "-q", "-D", "topic")
    repo_builder.git("reset", "-q", "--hard", main[1])  # and main loses its last commit
    new_main = _linear(repo_builder, 1)[0]
    (second,) = mine_all(config)
    assert [(r.ref, r.new_tip, r.lost_commits) for r in second.rewritten] == [
        ("refs/heads/main", new_main, 1),
        ("refs/heads/topic", None, 2),
    ]
    lost = dict(Store(data_dir).query("SELECT sha, ref FROM lost_commits").rows)
    assert lost == {
        main[2]: "refs/heads/main",
        topic[0]: "refs/heads/topic",
        topic[1]: "refs/heads/topic",
    }


def test_url_repository_is_cloned_and_updated(
    repo_builder: RepoBuilder,
    make_config: ConfigFactory,
    key_env: str,
    data_dir: Path,
    tmp_path: Path,
) -> None:
    shas = _linear(repo_builder, 4)
    path = make_config({"r": repo_builder.path})
    path.write_text(path.read_text().replace("path:", "url:"))
    config = load_config(path)
    (first,) = mine_all(config)
    assert first.commits_added == 4
    assert (config.clones_dir / "r" / "HEAD").is_file()
    assert not config.clones_dir.is_relative_to(data_dir)
    repo_builder.git("reset", "-q", "--hard", shas[2])
    new = _linear(repo_builder, 1)
    (second,) = mine_all(config)
    assert second.commits_added == 1
    assert [r.lost_commits for r in second.rewritten] == [1]
    assert {s for (s,) in Store(data_dir).query("SELECT sha FROM commits").rows} == {
        *shas[:3],
        *new,
    }


# --------------------------------------------------------------------------- teamlens run


def _published(data_dir: Path) -> dict[str, bytes]:
    """The published tables (team_period, the report and its CSV files) and the store's
    manifests, byte for byte."""
    found = {}
    for folder in ("aggregates", "reports", "store"):
        for path in sorted((data_dir / folder).rglob("*")):
            if path.is_file() and (folder != "store" or path.name == "manifest.json"):
                found[str(path.relative_to(data_dir))] = path.read_bytes()
    return found


def test_a_second_run_with_nothing_new_trains_nothing_and_changes_nothing(
    tmp_path: Path, key_env: str
) -> None:
    # About 320 changes with a planted defect pattern: enough mature labels to train on.
    builder = build_history(tmp_path / "planted")
    repo = builder.path
    config_path = tmp_path / "work" / "repos.yaml"
    config_path.parent.mkdir()
    doc = {
        "repositories": [{"name": "planted", "path": str(repo)}],
        "teams": {"core": ["src/core/**"], "web": ["src/web/**"]},
        "labels": {"maturity_days": 1},
    }
    config_path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    data_dir = load_config(config_path).data_dir
    command = [*teamlens_command(), "run", "--config", str(config_path)]

    code_before = code_digest()
    first = subprocess.run(command, capture_output=True, text=True, check=False)
    assert first.returncode == 0, first.stderr
    assert re.search(r"^model: \S+ trained; current model: ", first.stdout, re.MULTILINE)
    registry = Registry.for_data_dir(data_dir)
    models, current = registry.ids(), registry.current_id()
    assert len(models) == 1
    for _ in range(5):
        before = _published(data_dir)
        code_now = code_digest()
        second = subprocess.run(command, capture_output=True, text=True, check=False)
        assert second.returncode == 0, second.stderr
        # teamlens itself is an input of the report: when its files were edited while the
        # test ran (a shared working tree), that run rebuilt it rightly; the next must not.
        if code_digest() == code_before:
            break
        code_before = code_now
    assert "reports/report.html" in before and "aggregates/team_period.parquet" in before
    said = second.stdout.splitlines()
    assert said[0].startswith("mine: nothing new in planted (")
    assert said[1:4] == [
        "label: nothing new in planted (no fix to label)",
        "features: nothing new in planted (no new change)",
        f"train: nothing new (no new matured labels); current model: {current}",
    ]
    assert said[-1] == (
        f"report: nothing new (its inputs are unchanged); kept {data_dir}/reports/report.html"
    )
    assert Registry.for_data_dir(data_dir).ids() == models  # no model folder added
    assert _published(data_dir) == before  # nor any published table or stored row changed
    for person in AUTHORS:
        for word in (*person.name.split(), person.email, person.email.split("@")[0]):
            assert not re.search(rf"\b{re.escape(word)}\b", second.stdout + second.stderr, re.I)

    # Something new behind the report (here: the configuration) rebuilds it, and only it;
    # the training check looks at the labelled changes again (its record is renewed).
    checked = (data_dir / "runs" / "train.json").read_text(encoding="utf-8")
    doc["privacy"] = {"k": 6}
    config_path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    third = subprocess.run(command, capture_output=True, text=True, check=False)
    assert third.returncode == 0, third.stderr
    assert third.stdout.splitlines()[-1] == f"report: {data_dir}/reports/report.html"
    assert "train: nothing new (no new matured labels)" in third.stdout
    assert (data_dir / "runs" / "train.json").read_text(encoding="utf-8") != checked
    assert Registry.for_data_dir(data_dir).ids() == models

    # A new commit is mined, gets its features and is in the summary: nothing is kept.
    builder.write("src/core/new.py", "x = 1\n")
    builder.commit("One more", AUTHORS[0])
    fourth = subprocess.run(command, capture_output=True, text=True, check=False)
    assert fourth.returncode == 0, fourth.stderr
    assert re.search(r"^planted: 1 new commits, 1 file changes", fourth.stdout, re.MULTILINE)
    assert "features: nothing new" not in fourth.stdout
    assert re.search(r"^planted: 322 commits ", fourth.stdout, re.MULTILINE)
    store = Store(data_dir)
    assert store.query("SELECT count(*) FROM change_features").rows == [(322,)]
