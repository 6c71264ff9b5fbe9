"""The held-out acceptance benchmark's own parts (benchmarks/bench_heldout.py).

The code/docs split and the maturity cut on a repository built here, mined, labelled and
featurised by teamlens; the metric table on known scores; and a whole evaluation of the
planted repository (both label sources, every contender) whose printed tables and JSON
name no person and no commit.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from pydriller import Git

from teamlens.config import load_config
from teamlens.features.changes import features_for
from teamlens.mining.szz import label_repository
from teamlens.mining.tasks import mine_all
from teamlens.model.registry import DEFAULT_MODEL_DIR, load_model
from teamlens.privacy import Pseudonymizer, load_key
from teamlens.store import Store
from tests.gitrepo import ALICE, BOB, RepoBuilder, lines
from tests.model.conftest import LabelledRepo

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import bench_heldout as bench

DAY = 86_400


def test_code_change_is_a_source_extension_in_any_touched_path() -> None:
    assert bench.is_code_change(["src/app.py"])
    assert bench.is_code_change(["README.md", "cmd/root.go"])
    assert bench.is_code_change([None, "lib/router.js"])  # a deleted file's old path
    assert not bench.is_code_change(["README.md", "setup.cfg", ".github/ci.yaml", "Makefile"])
    assert not bench.is_code_change([])  # an empty change touches no code


def test_maturity_cut_is_inclusive_at_the_window() -> None:
    last = 100 * DAY
    times = np.array([0, 89 * DAY, 90 * DAY, 90 * DAY + 1, 100 * DAY], dtype=np.int64)
    assert bench.mature_mask(times, last, 10).tolist() == [True, True, True, False, False]


@pytest.fixture(scope="module")
def mixed_repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, bool]]:
    """Code and docs/config-only changes one day apart; returns config and sha -> code."""
    root = tmp_path_factory.mktemp("mixed")
    repo = RepoBuilder(root / "repo")
    kinds: dict[str, bool] = {}
    repo.write("src/app.py", "def main():\n    return 1\n")
    repo.write("README.md", "# app\n")
    kinds[repo.commit("Initial import", ALICE)] = True
    for day in range(1, 13):
        repo.clock += DAY
        if day % 3 == 0:
            repo.write("src/app.py", f"def main():\n    return {day}\n" + lines(day))
            code = True
        elif day % 3 == 1:
            repo.write("docs/guide.md", lines(day, "guide"))
            code = False
        else:
            repo.write("setup.cfg", f"[metadata]\nversion = {day}\n")
            code = False
        kinds[repo.commit(f"Change {day}", BOB if day % 2 else ALICE)] = code
    repo.git("rm", "-q", "src/app.py")
    repo.clock += DAY
    kinds[repo.commit("Remove the app", ALICE)] = True  # touches a source file by deleting it
    config = root / "repos.yaml"
    doc = {
        "data_dir": str(root / "data"),
        "repositories": [{"name": "mixed", "path": str(repo.path)}],
        "privacy": {"key_file": str(root / "key")},
        "labels": {"maturity_days": 5},
    }
    config.write_text(yaml.safe_dump(doc), encoding="utf-8")
    loaded = load_config(config)
    mine_all(loaded)
    label_repository(loaded, loaded.repositories[0])
    features_for(loaded)
    return config, kinds


def test_changes_split_into_code_and_docs_and_cut_at_maturity(
    mixed_repo: tuple[Path, dict[str, bool]],
) -> None:
    config_path, kinds = mixed_repo
    config = load_config(config_path)
    changes = bench.load_changes(Store(config.data_dir), "mixed", config.labels.maturity_days)
    ids = changes.data.frame["id"].tolist()
    assert sorted(ids) == sorted(kinds)
    assert dict(zip(ids, changes.code.tolist(), strict=True)) == kinds
    # 14 changes, one a day (the initial import and "Change 1" are a day apart); the last
    # commit is day 13, so the mature ones are those of day 8 or earlier: 9 changes.
    mature, code = changes.mature()
    assert len(mature) == 9
    assert mature.frame["id"].tolist() == ids[:9]
    assert code.tolist() == [kinds[s] for s in ids[:9]]
    assert changes.last_time == int(changes.data.times()[-1])


def test_scores_per_subset_and_the_mean_over_repositories() -> None:
    y = np.array([1, 0, 1, 0, 0, 1], dtype=np.int64)
    score = np.array([0.9, 0.1, 0.8, 0.7, 0.2, 0.3])
    effort = np.array([10, 5, 3, 8, 1, 4], dtype=np.float64)
    code = np.array([True, True, True, True, False, False])
    scores = bench.subset_scores(y, score, effort, code)
    assert scores["all"].n == 6 and scores["all"].defects == 3
    assert scores["all"].roc_auc == pytest.approx(8 / 9)  # 8 of 9 pairs ordered right
    assert scores["code"].roc_auc == pytest.approx(1.0)
    assert scores["docs"].n == 2 and scores["docs"].roc_auc == pytest.approx(1.0)
    assert 0 <= scores["all"].popt <= 1 and 0 <= scores["all"].popt_ea <= 1
    one_class = bench.score_changes(np.zeros(3, dtype=np.int64), score[:3], effort[:3])
    assert math.isnan(one_class.roc_auc) and math.isnan(one_class.popt)

    def results(auc_all: float) -> bench.Results:
        good = bench.Scores(10, 2, auc_all, 0.5, 0.6, 0.7)
        empty = bench.Scores(0, 0, math.nan, math.nan, math.nan, math.nan)
        cell = {"all": good, "code": good, "docs": empty}
        return {
            label: {
                "mature": {c: cell for c in bench.MATURE_CONTENDERS},
                "test": {c: cell for c in bench.TEST_CONTENDERS},
            }
            for label in bench.LABELS
        }

    means = bench.mean_table([results(0.7), results(0.9)])
    cell = means["pydriller"]["test"]["lightgbm"]["all"]
    assert cell["roc_auc"] == pytest.approx(0.8) and cell["roc_auc_repositories"] == 2
    docs = means["teamlens"]["mature"]["default"]["docs"]
    assert docs["roc_auc"] is None and docs["roc_auc_repositories"] == 0
    verdict = bench.targets({"a": results(0.7), "b": results(0.9)}, means)["teamlens"]
    assert verdict["default_mean_roc_auc"] == pytest.approx(0.8)
    assert verdict["default_mean_met"] and not verdict["in_repo_mean_met"]
    assert not verdict["default_above_la_met"]  # equal to la is not above it


def _pydriller_inducing(repo_path: Path, store: Store, repo: str) -> set[str]:
    git = Git(str(repo_path))
    found: set[str] = set()
    for (sha,) in store.query(bench.FIXES_SQL, [repo]).rows:
        for shas in git.get_commits_last_modified_lines(git.get_commit(sha)).values():
            found |= shas
    return found


def test_evaluation_of_a_repository_names_no_person_and_no_change(
    labelled_repo: LabelledRepo, tmp_path: Path
) -> None:
    config = labelled_repo.config
    store = Store(config.data_dir)
    # PyDriller writes into the configuration of the repository it opens: use a copy.
    source = config.repositories[0].path
    assert source is not None
    copy = tmp_path / "copy"
    bench.git("clone", "--quiet", str(source), str(copy))
    inducing = _pydriller_inducing(copy, store, "planted")
    assert inducing, "the planted bugs give PyDriller something to find"
    model = load_model(DEFAULT_MODEL_DIR)
    changes = bench.load_changes(store, "planted", config.labels.maturity_days)
    results, facts = bench.evaluate_repository(changes, inducing, model, tune=False)
    assert "split_error" not in facts
    assert facts["split"]["test_changes"] > 0
    for label in bench.LABELS:
        assert set(results[label]["test"]) == set(bench.TEST_CONTENDERS)
        assert results[label]["test"]["lightgbm"]["all"].n == facts["split"]["test_changes"]
    # The planted pattern (big changes plant bugs) is learnable against both labellers.
    assert results["teamlens"]["test"]["lightgbm"]["all"].roc_auc > 0.7
    assert results["pydriller"]["mature"]["la"]["all"].roc_auc > 0.6

    means = bench.mean_table([results])
    doc = {
        "repositories": {"planted": {**facts, "results": bench.results_as_dict(results)}},
        "mean": means,
        "targets": bench.targets({"planted": results}, means),
    }
    text = bench.render_tables(doc) + bench.render_summary(doc) + json.dumps(doc)
    assert "| planted | lightgbm |" in text
    assert "| test | lightgbm |" in text
    pseudonyms = Pseudonymizer(load_key(config.privacy, config.data_dir))
    forbidden = {sha for (sha,) in store.query("SELECT sha FROM commits").rows}
    forbidden |= {sha[:10] for sha in forbidden}
    for p in labelled_repo.people:
        email = p.email.lower()
        forbidden |= {
            p.name.lower(),
            email,
            email.split("@")[0],
            pseudonyms.person(p.name, p.email),
        }
    lowered = text.lower()
    assert sorted(s for s in forbidden if s in lowered) == []
