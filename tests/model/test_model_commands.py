"""train, evaluate, models and export on a real mined, labelled repository.

Also the privacy rules for everything these commands write or print: no name, e-mail,
login or pseudonym of the repository's people, and group figures only where at least
k people stand behind them.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from teamlens.model.card import group_results
from teamlens.model.dataset import JitData, load_store
from teamlens.model.registry import DEFAULT_ID, Registry
from teamlens.model.training import score_saved
from teamlens.privacy import Pseudonymizer, load_key
from teamlens.store import Store
from tests.conftest import teamlens_command
from tests.model.conftest import LabelledRepo


def _run(repo: LabelledRepo, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*teamlens_command(), *args, "--config", str(repo.config_path)],
        capture_output=True,
        text=True,
        check=False,
    )


def _forbidden(repo: LabelledRepo) -> set[str]:
    """Names, e-mails, local parts and the keyed pseudonyms of the repository's people."""
    pseudonyms = Pseudonymizer(load_key(repo.config.privacy, repo.config.data_dir))
    found: set[str] = set()
    for p in repo.people:
        email = p.email.lower()
        found |= {p.name.lower(), email, email.split("@")[0], pseudonyms.person(p.name, p.email)}
    return found


def _leaks(repo: LabelledRepo, text: str) -> list[str]:
    lowered = text.lower()
    return sorted(s for s in _forbidden(repo) if s in lowered)


def test_pseudonyms_are_what_the_scan_looks_for(labelled_repo: LabelledRepo) -> None:
    # The scan must be able to fail: the store holds the pseudonyms it looks for.
    ids = Store(labelled_repo.config.data_dir).query("SELECT DISTINCT author_id FROM commits")
    assert {i for (i,) in ids.rows} <= _forbidden(labelled_repo)
    assert len(ids.rows) == len(labelled_repo.people)


def test_evaluate_prints_the_contract_json(labelled_repo: LabelledRepo) -> None:
    result = _run(labelled_repo, "evaluate", "--format", "json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert set(doc["models"]) == {"lightgbm", "logistic", "blend", "lapredict"}
    # The kind a trained model would be is chosen on the validation window.
    assert doc["splits"][0]["choice"]["chosen"] in {"lightgbm", "logistic", "blend"}
    for metrics in doc["models"].values():
        assert set(metrics) >= {"roc_auc", "pr_auc", "f1", "mcc", "brier", "popt", "ifa"}
        assert set(metrics) >= {"recall_at_20_effort", "effort_at_20_recall"}
    split = doc["splits"][0]
    # The label-maturity gap (1 day here) separates training and test changes.
    assert split["window"]["test_start"] - split["window"]["train_end"] >= 86_400
    assert doc["models"]["lightgbm"]["roc_auc"] > 0.7  # the planted pattern is learnable
    assert _leaks(labelled_repo, result.stdout + result.stderr) == []


def test_evaluate_scores_code_changes_apart_from_docs_and_config(
    labelled_repo: LabelledRepo,
) -> None:
    result = _run(labelled_repo, "evaluate", "--format", "json", "--no-tune")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    split = doc["splits"][0]
    code = split["code_changes"]
    # Every test change is either code or docs/config-only, and both kinds are there.
    assert code["code_rows"] + code["docs_config_only_rows"] == split["test_rows"]
    assert code["code_rows"] > 0
    assert set(code["models"]) == set(doc["models"])
    assert doc["code_changes"]["lightgbm"]["roc_auc"] == code["models"]["lightgbm"]["roc_auc"]
    text = _run(labelled_repo, "evaluate", "--no-tune")
    assert "code changes only (ranking by risk):" in text.stdout
    assert f"test changes touching code: {code['code_rows']}; " in text.stdout


def test_rolling_evaluation_reports_each_origin(labelled_repo: LabelledRepo) -> None:
    result = _run(labelled_repo, "evaluate", "--rolling", "3", "--no-tune")
    assert result.returncode == 0, result.stderr
    assert "mean over 3 rolling origins" in result.stdout
    assert result.stdout.count("split ") == 3


def test_train_writes_a_model_folder_and_chooses_the_current_model(
    labelled_repo: LabelledRepo,
) -> None:
    result = _run(labelled_repo, "train", "--format", "json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    folder = Path(doc["folder"])
    names = {p.name for p in folder.iterdir()}
    assert names >= {"card.md", "meta.json", "levels.json"}
    # The chosen kind's files: LightGBM's text model and/or the portable logistic JSON.
    assert ("model.txt" in names) == (doc["kind"] != "logistic")
    assert ("logistic.json" in names) == (doc["kind"] != "lightgbm")
    assert doc["kind"] == doc["choice"]["chosen"]
    levels = json.loads((folder / "levels.json").read_text(encoding="utf-8"))
    assert levels["basis"] == "training" and levels["changes"] >= 200
    assert levels["medium_from"] <= levels["high_from"]
    registry = Registry.for_data_dir(labelled_repo.config.data_dir)
    # The better of the new model and the previous current one on the same window wins.
    new_auc = doc["models"][doc["kind"]]["roc_auc"]
    old_auc = doc["previous_current_roc_auc"]
    assert old_auc is not None
    expected = doc["model"] if new_auc >= old_auc else DEFAULT_ID
    assert registry.current_id() == doc["current"] == expected
    card = (folder / "card.md").read_text(encoding="utf-8")
    assert "## Calibration" in card and "## By team and language" in card
    assert "ROC-AUC on the held-out window" in card  # why this model is or is not current
    listing = _run(labelled_repo, "models")
    assert listing.returncode == 0, listing.stderr
    assert doc["model"] in listing.stdout and DEFAULT_ID in listing.stdout
    marked = [line for line in listing.stdout.splitlines() if line.startswith("*")]
    assert len(marked) == 1 and expected in marked[0]
    written = "".join(p.read_text(encoding="utf-8") for p in folder.iterdir())
    assert _leaks(labelled_repo, written + result.stdout + listing.stdout) == []


def test_small_groups_are_suppressed_in_group_figures() -> None:
    rng = np.random.default_rng(1)
    n = 120
    frame = pd.DataFrame(
        {
            "id": [f"c{i}" for i in range(n)],
            "time": np.arange(n),
            "label": rng.integers(0, 2, n),
            "effort": np.ones(n),
            "team": [["big"] if i % 3 else ["small", "big"] for i in range(n)],
            "language": ["Python"] * n,
            # "big" has six people; "small" (every third change) only p0, p3 (two people).
            "people": [f"p{i % 6}" for i in range(n)],
        }
    )
    data = JitData(frame, (), "test")
    results = {(g.kind, g.name): g for g in group_results(data, rng.random(n), k=5)}
    assert results[("team", "small")].roc_auc is None
    assert results[("team", "small")].note == "suppressed (< 5 people)"
    assert results[("team", "big")].roc_auc is not None
    assert results[("team", "big")].changes == n
    assert results[("language", "Python")].roc_auc is not None
    assert len(group_results(data, rng.random(n), k=7)) == 3  # all suppressed, none dropped
    assert all(g.roc_auc is None for g in group_results(data, rng.random(n), k=7))


def test_export_has_features_and_labels_but_no_identity(
    labelled_repo: LabelledRepo, tmp_path: Path
) -> None:
    out = tmp_path / "export"
    result = _run(labelled_repo, "export", "--out", str(out))
    assert result.returncode == 0, result.stderr
    table = pd.read_csv(out / "changes.csv")
    shas = {
        s for (s,) in Store(labelled_repo.config.data_dir).query("SELECT sha FROM commits").rows
    }
    text = (out / "changes.csv").read_text(encoding="utf-8")
    assert not [s for s in shas if s in text]  # a commit id leads back to its author
    assert "label" in table.columns and "la" in table.columns and "jit_la" in table.columns
    assert not {"sha", "id", "people", "author_id", "team", "owning_teams"} & set(table.columns)
    assert set(table["label"].dropna().unique()) == {0.0, 1.0}
    assert table["label"].isna().sum() > 0  # young changes stay unknown, not clean
    datasheet = (out / "datasheet.md").read_text(encoding="utf-8")
    assert "## Known biases" in datasheet and "## How labels were made" in datasheet
    assert _leaks(labelled_repo, text + datasheet + result.stdout) == []


def test_the_default_model_scores_mined_changes(labelled_repo: LabelledRepo) -> None:
    default = Registry.for_data_dir(labelled_repo.config.data_dir).load(DEFAULT_ID)
    # Trained on teamlens's own columns (scripts/train_default_model.py), new code included.
    assert not set(default.meta.features) & {"exp", "rexp", "sexp"}
    assert {"la", "ld", "nf", "files_added", "la_new_files"} <= set(default.meta.features)
    data = load_store(Store(labelled_repo.config.data_dir), ["planted"])
    risk = score_saved(default, data)
    assert risk.shape == (len(data),)
    assert ((risk > 0) & (risk < 1)).all()
    assert len(np.unique(risk)) > 10  # it tells changes apart


@pytest.mark.parametrize(
    "args", [["train", "--dataset", "missing.csv"], ["models", "--current", "x"]]
)
def test_bad_input_is_one_clear_line(labelled_repo: LabelledRepo, args: list[str]) -> None:
    result = _run(labelled_repo, *args)
    assert result.returncode != 0
    assert result.stderr.startswith("teamlens: error: ")
    assert len(result.stderr.strip().splitlines()) == 1
