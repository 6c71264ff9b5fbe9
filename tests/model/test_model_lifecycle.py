"""A model's life: trained as of a date, never duplicated, stale or fresh, replayed, scored.

On a copy of the mined, labelled repository of tests/model/conftest.py, so that the
models trained here do not change what the other modules' tests see.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from teamlens.config import Config, load_config
from teamlens.model.asof import as_of, first_fix_times, parse_date
from teamlens.model.dataset import JitData, load_store
from teamlens.model.registry import DEFAULT_ID, Registry
from teamlens.pipeline import train as pipeline_train
from teamlens.privacy import Pseudonymizer, load_key
from teamlens.store import Store
from tests.conftest import teamlens_command
from tests.model.conftest import LabelledRepo

UNTIL = "2020-09-26"


@dataclass(frozen=True)
class Copy:
    config_path: Path
    config: Config
    forbidden: frozenset[str]


@pytest.fixture(scope="module")
def copy(labelled_repo: LabelledRepo, tmp_path_factory: pytest.TempPathFactory) -> Copy:
    work = tmp_path_factory.mktemp("lifecycle")
    source = labelled_repo.config.data_dir
    shutil.copytree(
        source,
        work / ".teamlens",
        ignore=lambda folder, names: [
            n for n in names if Path(folder) == source and n in {"models", "training", "levels"}
        ],
    )
    doc = yaml.safe_load(labelled_repo.config_path.read_text(encoding="utf-8"))
    doc.pop("data_dir", None)
    config_path = work / "repos.yaml"
    config_path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    config = load_config(config_path)
    pseudonyms = Pseudonymizer(load_key(config.privacy, config.data_dir))
    forbidden = set()
    for p in labelled_repo.people:
        email = p.email.lower()
        forbidden |= {
            p.name.lower(),
            email,
            email.split("@")[0],
            pseudonyms.person(p.name, p.email),
        }
    return Copy(config_path, config, frozenset(forbidden))


def _cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*teamlens_command(), *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
        timeout=600,
    )


def _run(copy: Copy, *args: str) -> subprocess.CompletedProcess[str]:
    return _cli(*args, "--config", str(copy.config_path))


def _ensure_models(copy: Copy) -> list[str]:
    """The copy's models: one trained as of UNTIL and one on everything (trained if absent),
    so that each test also runs alone."""
    registry = Registry.for_data_dir(copy.config.data_dir)
    metas = [registry.read_meta(i) for i in registry.ids()]
    if not any(m.until is not None for m in metas):
        assert _run(copy, "train", "--until", UNTIL).returncode == 0
    if not any(m.until is None for m in metas):
        assert _run(copy, "train", "--no-tune").returncode == 0
    return registry.ids()


def _leaks(copy: Copy, text: str) -> list[str]:
    lowered = text.lower()
    return sorted(s for s in copy.forbidden if s in lowered)


def test_as_of_keeps_only_what_was_known_on_the_date() -> None:
    day = 86_400
    frame = pd.DataFrame(
        {
            "repo": ["r"] * 5,
            "id": ["a", "b", "c", "d", "e"],
            "time": [0, 1 * day, 2 * day, 8 * day, 12 * day],
            "label": [1.0, 1.0, 0.0, 1.0, np.nan],
            "effort": [1.0] * 5,
            "la": [1.0] * 5,
        }
    )
    data = JitData(frame, ("la",), "store:r")
    # a: fixed on day 3; b: fixed only on day 20; d: fixed on day 9.
    fixes = pd.DataFrame({"repo": ["r"] * 3, "id": ["a", "b", "d"], "first_fix": [3, 20, 9]})
    fixes["first_fix"] *= day
    known = as_of(data, fixes, until=10 * day, maturity_days=5)
    assert list(known.frame["id"]) == ["a", "b", "c", "d"]  # e: committed after the date
    labels = dict(zip(known.frame["id"], known.frame["label"], strict=True))
    assert labels["a"] == 1  # its fix came before the date
    assert labels["b"] == 0  # old enough, and its fix came only after: clean as of then
    assert labels["c"] == 0
    assert labels["d"] == 1  # young, but already fixed
    young = as_of(data, fixes, until=10 * day, maturity_days=9.5)
    assert np.isnan(dict(zip(young.frame["id"], young.frame["label"], strict=True))["b"])


def test_train_until_a_date_records_it_and_uses_only_what_was_known(copy: Copy) -> None:
    result = _run(copy, "train", "--until", UNTIL, "--format", "json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    doc["model"] = doc["model"] or doc["same_as"]  # trained already by another test
    registry = Registry.for_data_dir(copy.config.data_dir)
    meta = registry.load(doc["model"]).meta
    until = parse_date(UNTIL)
    assert meta.until == until
    assert registry.current_id() != doc["model"]  # a model of the past replays, never leads
    assert meta.window["test_end"] < until
    store = Store(copy.config.data_dir)
    full = load_store(store, ["planted"])
    then = as_of(full, first_fix_times(store, ["planted"]), until, 1)
    assert meta.labelled_changes == len(then.labelled) < len(full.labelled)
    # Some change labelled inducing today was not known to be then.
    now_inducing = set(full.frame.loc[full.frame["label"] == 1, "id"])
    then_inducing = set(then.frame.loc[then.frame["label"] == 1, "id"])
    assert then_inducing < now_inducing
    assert meta.choice["chosen"] == meta.kind
    assert set(meta.choice["validation_roc_auc"]) == {"lightgbm", "logistic", "blend"}
    figures = meta.choice["validation_figures"]
    assert set(figures) == {"lightgbm", "logistic", "blend"}
    assert all(0 <= f["pr_auc"] <= 1 and 0 <= f["brier_raw"] <= 1 for f in figures.values())
    assert meta.calibration["test_brier_after"] is not None
    assert 0 < meta.calibration["test_brier_before"] < 1
    card = (registry.folder(doc["model"]) / "card.md").read_text(encoding="utf-8")
    assert f"Trained as of {UNTIL}" in card and "Reliability, before calibration" in card
    listing = _run(copy, "models")
    assert listing.returncode == 0, listing.stderr
    line = next(x for x in listing.stdout.splitlines() if doc["model"] in x)
    assert f"as of {UNTIL}" in line
    written = "".join(p.read_text("utf-8") for p in registry.folder(doc["model"]).iterdir())
    assert _leaks(copy, written + result.stdout + result.stderr + listing.stdout) == []


def test_training_the_same_data_twice_stores_one_model(copy: Copy) -> None:
    registry = Registry.for_data_dir(copy.config.data_dir)
    first = _run(copy, "train", "--no-tune")
    assert first.returncode == 0, first.stderr
    assert "features used (" in first.stderr
    models = registry.ids()
    again = _run(copy, "train", "--no-tune")
    assert again.returncode == 0, again.stderr
    assert "model: up to date (no new matured labels;" in again.stdout
    assert registry.ids() == models
    # The fingerprint is private: in the data folder's training/, 0600, not in meta.json.
    book = copy.config.data_dir / "training" / "fingerprints.json"
    assert stat.S_IMODE(os.stat(book).st_mode) == 0o600
    recorded = json.loads(book.read_text(encoding="utf-8"))
    assert set(recorded) <= set(models) and len(recorded) >= 1
    for model_id in models:
        meta = (registry.folder(model_id) / "meta.json").read_text(encoding="utf-8")
        assert not any(value.split(":")[1] in meta for value in recorded.values())


def test_run_trains_only_when_enough_new_labels_matured(copy: Copy) -> None:
    registry = Registry.for_data_dir(copy.config.data_dir)
    trained = pipeline_train(copy.config)  # a model of the current data may exist already
    before = registry.ids()
    second = pipeline_train(copy.config)
    assert second.trained is None
    assert second.up_to_date == "no new matured labels"
    assert registry.ids() == before
    assert trained.current == second.current == registry.current_id()
    # With the threshold above what matured, nothing is trained either, and run says so.
    result = _run(copy, "run", "--quiet")
    assert result.returncode == 0, result.stderr
    assert registry.ids() == before
    loud = _run(copy, "run")
    assert "train: nothing new (no new matured labels)" in loud.stdout, loud.stdout


def test_models_shows_staleness_and_the_current_model(copy: Copy) -> None:
    _ensure_models(copy)
    result = _run(copy, "models")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "trained to" in lines[0] and "matured since" in lines[0]
    current = Registry.for_data_dir(copy.config.data_dir).current_id()
    marked = [x for x in lines[1:] if x.startswith("*")]
    assert len(marked) == 1 and current in marked[0]
    trained = [x for x in lines[1:] if "store:planted" in x and "as of" not in x]
    assert trained and all(" 0 " in x for x in trained)  # nothing matured since
    as_of_line = next(x for x in lines if "as of" in x)
    assert " 0 " not in as_of_line.split("d", 1)[1][:16]  # labels matured since that date
    default = next(x for x in lines if x[2:].startswith(DEFAULT_ID + " "))
    assert "n/a" in default


def test_review_with_a_given_model_replays_it(copy: Copy) -> None:
    registry = Registry.for_data_dir(copy.config.data_dir)
    trained = _ensure_models(copy)[0]
    risks = {}
    for model_id in (DEFAULT_ID, trained):
        result = _run(
            copy, "review", "--base", "HEAD~3", "--head", "HEAD", "--model", model_id,
            "--format", "json", "--repo", "planted",
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        risks[model_id] = json.loads(result.stdout)["risk"]
        assert _leaks(copy, result.stdout) == []
    assert risks[DEFAULT_ID] != risks[trained]
    assert registry.current_id() in (DEFAULT_ID, *registry.ids())


def test_score_a_csv_with_a_saved_model(copy: Copy, tmp_path: Path) -> None:
    registry = Registry.for_data_dir(copy.config.data_dir)
    model = registry.load(_ensure_models(copy)[-1])
    data = load_store(Store(copy.config.data_dir), ["planted"])
    rows = data.frame.head(40)
    csv = rows.loc[:, list(model.meta.features)].assign(_id=[f"c{i}" for i in range(40)])
    path = tmp_path / "changes.csv"
    csv.to_csv(path, index=False)
    out = tmp_path / "scores.csv"
    result = _run(copy, "score", "--dataset", str(path), "--model", model.model_id,
                  "--out", str(out))  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert f"features used ({len(model.meta.features)})" in result.stderr
    empty = rows["owner_share"].isna().sum()
    assert empty and f"empty cells scored as missing values: owner_share {empty}" in result.stderr
    scores = pd.read_csv(out)
    assert list(scores.columns) == ["_id", "risk"] and len(scores) == 40
    x = rows.loc[:, list(model.meta.features)].astype(float)
    expected = model.classifier.predict_proba(x)[:, 1]
    np.testing.assert_allclose(scores["risk"], expected, atol=1e-6)
    printed = _run(copy, "score", "--dataset", str(path), "--model", model.model_id)
    assert printed.stdout == out.read_text(encoding="utf-8")
    assert _leaks(copy, printed.stdout + printed.stderr + out.read_text("utf-8")) == []


def test_train_and_evaluate_a_dataset_without_repos_yaml(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    n = 400
    la = rng.integers(0, 400, n)
    frame = pd.DataFrame(
        {
            "_id": [f"c{i}" for i in range(n)],
            "date": 1_500_000_000 + np.arange(n) * 3600,
            "bug": (rng.random(n) < la / 500).astype(int),
            "ns": rng.integers(1, 3, n),
            "nd": rng.integers(1, 4, n),
            "nf": rng.integers(1, 9, n),
            "entrophy": rng.random(n),
            "la": la,
            "ld": rng.integers(0, 50, n),
            "lt": rng.integers(0, 900, n),
            "fix": rng.integers(0, 2, n),
            "age": rng.random(n) * 30,
            "nuc": rng.integers(1, 9, n),
        }
    )  # no ndev
    path = tmp_path / "jit.csv"
    frame.to_csv(path, index=False)
    work = tmp_path / "empty"
    work.mkdir()
    evaluate = _cli("evaluate", "--dataset", str(path), "--no-tune", cwd=work)
    assert evaluate.returncode == 0, evaluate.stderr
    assert "missing from the data, so evaluated without them: ndev" in evaluate.stderr
    trained = _cli("train", "--dataset", str(path), "--no-tune", cwd=work)
    assert trained.returncode == 0, trained.stderr
    assert "missing from the data, so trained without them: ndev" in trained.stderr
    (folder,) = (work / ".teamlens" / "models").glob("2*")
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    assert "ndev" not in meta["features"] and meta["source"] == "dataset:jit.csv"
    again = _cli("train", "--dataset", str(path), "--no-tune", cwd=work)
    assert "model: up to date" in again.stdout
