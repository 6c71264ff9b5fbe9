"""The feature ablation benchmark's own parts (benchmarks/bench_ablation.py).

Group masks come from the feature registry; the table has one row per variant and
subset, counts only repositories with k people and enough of both labels, and its
figures follow the scores given (a perfect ranking scores 1, its reverse 0).
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from pydriller import Git

from teamlens.config import load_config
from teamlens.feature_registry import FEATURES, Group, feature
from teamlens.features.changes import features_for
from teamlens.mining.szz import label_repository
from teamlens.mining.tasks import mine_all
from tests.model.conftest import AUTHORS, build_history

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import bench_ablation as bench

G = bench.AblationGroup


def test_every_default_model_column_is_in_exactly_one_group() -> None:
    columns = tuple(
        f.name for f in FEATURES if f.model and f.default_model and f.group is not Group.JIT
    )
    groups = bench.group_columns(columns)
    flat = [c for cols in groups.values() for c in cols]
    assert sorted(flat) == sorted(columns)
    assert len(flat) == len(set(flat))
    # Team columns depend on one repository's teams: never a default-model input.
    assert groups[G.TEAM] == ()
    for group in (G.DIFF, G.HISTORY, G.FUNCTIONS, G.METRICS, G.STRUCTURE, G.TOKENS):
        assert groups[group], group


@pytest.mark.parametrize(
    ("name", "group"),
    [
        ("la", G.DIFF),
        ("la_new_files", G.DIFF),
        ("entropy", G.DIFF),
        ("nuc", G.HISTORY),
        ("prior_fixes", G.HISTORY),
        ("functions_age", G.FUNCTIONS),
        ("functions_prior_fixes", G.FUNCTIONS),
        ("complexity_after", G.METRICS),
        ("code_metrics_files", G.METRICS),
        ("new_source_lines", G.STRUCTURE),
        ("magic_numbers_added", G.STRUCTURE),
        ("tokens_added", G.TOKENS),
        ("token_added_07", G.TOKENS),
        ("owner_share", G.TEAM),
        ("n_teams", G.TEAM),
    ],
)
def test_group_of_a_registry_feature(name: str, group: bench.AblationGroup) -> None:
    assert bench.group_of(feature(name)) is group


def test_variants_are_all_then_minus_and_alone_per_group() -> None:
    columns = ("la", "ld", "nuc", "functions_age", "tokens_added")
    found = bench.variants(columns)
    assert found[0].columns == columns
    by_name = {v.name: v.columns for v in found}
    assert by_name["all minus diff size and diffusion"] == ("nuc", "functions_age", "tokens_added")
    assert by_name["diff size and diffusion alone"] == ("la", "ld")
    assert by_name["code tokens alone"] == ("tokens_added",)
    # Four groups have columns: all, then minus and alone for each; none for empty groups.
    assert len(found) == 1 + 2 * 4
    assert not any("structure" in v.name or "team" in v.name for v in found)
    # A group holding every column has no "minus" variant (it would have no column).
    assert [v.name for v in bench.variants(("la", "ld"))] == [
        "all default-model features",
        "diff size and diffusion alone",
    ]


def _frame() -> pd.DataFrame:
    """Three repositories of 40 changes: two of 5 people, one of 3 (not counted)."""
    rng = np.random.default_rng(0)
    parts = []
    for repo, people in (("alpha", 5), ("beta", 6), ("gamma", 3)):
        n = 40
        label = np.array([1] * 12 + [0] * 28)
        code = np.array([True] * 30 + [False] * 10)
        if repo == "beta":
            label = np.array([1] * 3 + [0] * 27 + [1] * 10)  # 3 inducing code changes only
        parts.append(
            pd.DataFrame(
                {
                    "repo": repo,
                    "label": label,
                    "effort": rng.integers(1, 50, n).astype(float),
                    "code": code,
                    "people": [f"p{i % people}" for i in range(n)],
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def test_table_shape_and_counted_repositories() -> None:
    frame = _frame()
    y = frame["label"].to_numpy(dtype=float)
    scores = {"perfect": y, "reversed": 1.0 - y, "flat": np.full(len(frame), 0.5)}
    rows = bench.ablation_rows(frame, scores, {"perfect": 3, "reversed": 3, "flat": 0})
    assert [(r.variant, r.subset) for r in rows] == [(v, s) for v in scores for s in bench.SUBSETS]
    by = {(r.variant, r.subset): r for r in rows}
    # gamma has 3 people: never counted; beta has too few inducing code changes.
    assert by["perfect", "all"].repositories == 2
    assert by["perfect", "code"].repositories == 1
    assert by["perfect", "all"].roc_auc_mean == pytest.approx(1.0)
    assert by["perfect", "all"].pr_auc_median == pytest.approx(1.0)
    assert by["reversed", "code"].roc_auc_mean == pytest.approx(0.0)
    assert by["flat", "all"].roc_auc_mean == pytest.approx(0.5)
    assert by["perfect", "all"].popt_mean > by["reversed", "all"].popt_mean
    assert by["flat", "code"].columns == 0
    table = bench.markdown(rows, "code")
    assert len(table) == 2 + len(scores)
    assert all(line.count("|") == 11 for line in table)


def test_a_subset_no_repository_counts_in_is_n_a() -> None:
    frame = _frame()
    frame = frame[frame["repo"] == "gamma"].reset_index(drop=True)
    rows = bench.ablation_rows(frame, {"x": np.zeros(len(frame))}, {"x": 1})
    assert all(r.repositories == 0 and math.isnan(r.roc_auc_mean) for r in rows)
    assert "n/a" in bench.markdown(rows, "all")[-1]


def test_missing_corpus_is_skipped_with_a_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert bench.main([str(tmp_path / "nothing")]) == 0
    assert "skipped" in capsys.readouterr().err


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A corpus data folder of two planted repositories, mined, labelled and featurised."""
    root = tmp_path_factory.mktemp("corpus")
    names = ("north", "south")
    for seed, name in enumerate(names):
        build_history(root / "clones" / name, changes=160, seed=seed + 3)
    doc = {
        "data_dir": "teamlens",
        "repositories": [{"name": n, "path": str(root / "clones" / n)} for n in names],
        "privacy": {"key_file": str(root / "key")},
        "labels": {"maturity_days": 1},
    }
    (root / "repos.yaml").write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    config = load_config(root / "repos.yaml")
    mine_all(config)
    for repo in config.repositories:
        label_repository(config, repo)
    features_for(config)
    return root


def test_whole_run_prints_aggregates_and_names_nobody(
    corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    saved = tmp_path / "ablation.json"
    assert bench.main([str(corpus), "--save", str(saved)]) == 0
    out = capsys.readouterr()
    result = json.loads(saved.read_text(encoding="utf-8"))
    assert result["repositories"] == 2
    names = [r["variant"] for r in result["rows"] if r["subset"] == "all"]
    assert names[0] == "all default-model features"
    assert names[-2:] == ["la alone (no model)", "LApredict"]
    nonempty = [g for g, cols in result["groups"].items() if cols]
    assert len(names) == 1 + 2 * len(nonempty) + 2
    assert len(result["rows"]) == 2 * len(names)
    # Five authors and planted defects in each: both repositories count in every row.
    assert {r["repositories"] for r in result["rows"] if r["subset"] == "all"} == {2}
    assert "All changes:" in out.out and "Code changes only:" in out.out
    text = out.out + out.err + saved.read_text(encoding="utf-8")
    for person in AUTHORS:
        assert person.name not in text
        assert person.email not in text
    for sha in Git(str(corpus / "clones" / "north")).get_list_commits():
        assert sha.hash[:7] not in text


def test_registry_has_no_review_feature_the_default_model_reads() -> None:
    reviewed = [f.name for f in FEATURES if bench.group_of(f) is G.TEAM and f.default_model]
    assert reviewed == []
