"""Model folders round-trip; the registry knows which model is current."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from teamlens.model.estimator import RiskClassifier
from teamlens.model.registry import (
    DEFAULT_ID,
    ModelError,
    ModelMeta,
    Registry,
    load_model,
    save_model,
)


def _model() -> tuple[RiskClassifier, pd.DataFrame]:
    rng = np.random.default_rng(0)
    x = pd.DataFrame({"la": rng.integers(0, 300, 400), "nf": rng.integers(1, 9, 400)}).astype(float)
    y = (x["la"] + rng.normal(0, 60, 400) > 150).astype(int).to_numpy()
    return RiskClassifier(n_estimators=30).fit(x, y), x


def _meta(model_id: str) -> ModelMeta:
    return ModelMeta(
        model_id=model_id,
        created="2026-01-01T00:00:00Z",
        source="store:demo",
        features=("la", "nf"),
        columns={"la": "la", "nf": "nf"},
        definitions={"la": "lines added", "nf": "files touched"},
        dropped=(),
        window={"train_start": 0, "train_end": 1, "test_start": 2, "test_end": 3},
        params={"n_estimators": 30, "seed": 0},
        threshold=0.4,
        metrics={"lightgbm": {"roc_auc": 0.8}},
    )


def test_a_model_folder_round_trips_with_identical_predictions(tmp_path: Path) -> None:
    classifier, x = _model()
    saved = save_model(tmp_path / "m1", _meta("m1"), classifier, "# card\n")
    assert sorted(p.name for p in saved.path.iterdir()) == ["card.md", "meta.json", "model.txt"]
    loaded = load_model(tmp_path / "m1")
    assert loaded.meta == _meta("m1")
    assert np.array_equal(loaded.classifier.predict_proba(x), classifier.predict_proba(x))
    with pytest.raises(ModelError, match="never reused"):
        save_model(tmp_path / "m1", _meta("m1"), classifier, "")


def test_registry_lists_marks_current_and_falls_back_to_the_default(tmp_path: Path) -> None:
    registry = Registry(tmp_path / "models")
    assert registry.ids() == []
    assert registry.current_id() == DEFAULT_ID
    assert registry.current().meta.model_id == DEFAULT_ID  # the shipped model loads
    classifier, _ = _model()
    first = registry.new_id("store:demo")
    save_model(registry.folder(first), _meta(first), classifier, "")
    second = registry.new_id("store:demo")
    assert second != first
    save_model(registry.folder(second), _meta(second), classifier, "")
    (registry.root / ".half.123.partial").mkdir()  # a crashed save is not a model
    assert registry.ids() == sorted([first, second])
    registry.set_current(first)
    assert registry.current_id() == first
    with pytest.raises(ModelError, match="no model 'nope'"):
        registry.set_current("nope")
    # An id that is no folder name is unknown like any other (never a path outside).
    with pytest.raises(ModelError, match=r"no model '\.\./escape' \(known: default, "):
        registry.load("../escape")
    with pytest.raises(ModelError, match=rf"no model 'nope' \(known: default, {first}, {second}\)"):
        registry.load("nope")


def test_a_broken_folder_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "m").mkdir()
    with pytest.raises(ModelError, match=r"no meta\.json"):
        load_model(tmp_path / "m")
    (tmp_path / "m" / "model.txt").write_text("tree\n", encoding="utf-8")
    (tmp_path / "m" / "meta.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ModelError, match="not valid JSON"):
        load_model(tmp_path / "m")
