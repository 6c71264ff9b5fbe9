"""Logistic and blended models, calibration, and the choice made on the validation window."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from teamlens.model.calibration import (
    CalibrationMethod,
    Calibrator,
    brier,
    choose_method,
    fit_calibrator,
)
from teamlens.model.dataset import JitData
from teamlens.model.estimator import ModelFilesError, ModelKind, RiskClassifier
from teamlens.model.evaluation import (
    BLEND_MARGIN,
    Contender,
    Fitted,
    choose,
    evaluate_split,
)
from teamlens.model.logistic import LogisticFormatError, LogisticModel
from teamlens.model.registry import ModelMeta, load_model, save_model
from teamlens.model.split import holdout


def _data(n: int = 800, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = pd.DataFrame(
        {
            "la": rng.integers(0, 500, n),
            "nf": rng.integers(1, 20, n),
            "owner_share": np.where(rng.random(n) < 0.2, np.nan, rng.random(n)),
        }
    ).astype(float)
    logit = np.log1p(x["la"]) + x["nf"] / 5 - 9
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return x, y.to_numpy()


def _meta(kind: str, features: tuple[str, ...]) -> ModelMeta:
    return ModelMeta(
        model_id="m",
        created="2026-01-01T00:00:00Z",
        source="store:demo",
        features=features,
        columns={f: f for f in features},
        definitions={},
        dropped=(),
        window={"train_start": 0, "train_end": 86_400, "test_start": 0, "test_end": 0},
        params={"n_estimators": 30, "seed": 0},
        threshold=0.5,
        metrics={},
        kind=kind,
    )


@pytest.mark.parametrize("kind", list(ModelKind))
def test_every_kind_round_trips_through_a_model_folder(kind: ModelKind, tmp_path: Path) -> None:
    x, y = _data()
    model = RiskClassifier(kind=kind.value, n_estimators=30).fit(x, y)
    model.calibrate(fit_calibrator(y, model.raw_risk(x)))
    saved = save_model(tmp_path / "m", _meta(kind.value, tuple(x.columns)), model, "# card\n")
    names = {p.name for p in saved.path.iterdir()}
    assert ("model.txt" in names) == (kind is not ModelKind.LOGISTIC)
    assert ("logistic.json" in names) == (kind is not ModelKind.LIGHTGBM)
    assert "calibration.json" in names
    loaded = load_model(tmp_path / "m")
    assert loaded.meta.kind == kind.value
    assert loaded.classifier.model_kind is kind
    np.testing.assert_allclose(loaded.classifier.predict_proba(x), model.predict_proba(x))
    # Contributions add up to the raw log-odds, whatever the kind.
    parts = loaded.classifier.contributions(x.head(20))
    np.testing.assert_allclose(parts.sum(axis=1), model.raw_logit(x.head(20)), atol=1e-6)


def test_the_logistic_model_is_portable_json(tmp_path: Path) -> None:
    x, y = _data()
    model = RiskClassifier(kind="logistic").fit(x, y)
    doc = json.loads(model.files()["logistic.json"])
    assert doc["features"] == ["la", "nf", "owner_share"]
    assert doc["class_weight"] == "balanced"
    # Scoring by hand from the JSON gives the model's own log-odds.
    values = x.to_numpy(dtype=float, copy=True)
    medians = np.asarray(doc["medians"])
    values = np.where(np.isnan(values), medians, values)
    z = (np.log1p(np.clip(values, 0, None)) - doc["means"]) / np.asarray(doc["scales"])
    np.testing.assert_allclose(z @ doc["coefficients"] + doc["intercept"], model.raw_logit(x))
    # Class weighting: the mean raw risk is near one half, far above the defect rate.
    assert y.mean() < 0.4 and abs(model.raw_risk(x).mean() - 0.5) < 0.1
    broken = {**doc, "scales": [0.0] * 3}
    with pytest.raises(LogisticFormatError, match="scales must be positive"):
        LogisticModel.from_json(broken)
    with pytest.raises(ModelFilesError, match=r"a logistic model needs logistic\.json"):
        RiskClassifier.from_files({}, {"kind": "logistic"})
    with pytest.raises(ModelFilesError, match="unknown model kind"):
        RiskClassifier.from_files({}, {"kind": "forest"})


def test_calibration_brings_the_risk_to_the_observed_rate() -> None:
    x, y = _data(3000, seed=1)
    fit_x, fit_y, valid_x, valid_y = x[:2000], y[:2000], x[2000:], y[2000:]
    model = RiskClassifier(kind="logistic").fit(fit_x, fit_y)  # class-weighted: too high
    raw = model.raw_risk(valid_x)
    calibrator = fit_calibrator(valid_y, raw, CalibrationMethod.PLATT)
    after = calibrator.apply(raw)
    assert raw.mean() > valid_y.mean() + 0.1
    assert abs(after.mean() - valid_y.mean()) < 0.02
    assert brier(valid_y, after) < brier(valid_y, raw)
    # Calibration never changes which of two changes ranks higher.
    for method in (CalibrationMethod.PLATT, CalibrationMethod.ISOTONIC):
        mapped = fit_calibrator(valid_y, raw, method).apply(raw)
        order = np.argsort(raw, kind="stable")
        assert np.all(np.diff(mapped[order]) >= 0)
        distinct = np.diff(raw[order]) > 0
        assert np.all(np.diff(mapped[order])[distinct] > 0)
    stored = Calibrator.from_json(json.loads(json.dumps(calibrator.to_json())))
    np.testing.assert_allclose(stored.apply(raw), after)


def test_the_calibration_method_depends_on_the_validation_window() -> None:
    assert choose_method(np.zeros(50, dtype=np.int64)) is CalibrationMethod.NONE
    assert choose_method(np.array([0, 1] * 100)) is CalibrationMethod.PLATT
    assert choose_method(np.array([0] * 900 + [1] * 200)) is CalibrationMethod.ISOTONIC
    one_class = fit_calibrator(np.zeros(10), np.linspace(0.1, 0.9, 10))
    assert one_class.method is CalibrationMethod.NONE
    assert np.array_equal(one_class.apply([0.3]), [0.3])


def _fitted(contender: Contender, auc: float) -> Fitted:
    return Fitted(contender, RiskClassifier(), ("la",), 0.5, {}, auc)


def test_the_choice_reads_validation_figures_only() -> None:
    singles = {
        Contender.LIGHTGBM: _fitted(Contender.LIGHTGBM, 0.70),
        Contender.LOGISTIC: _fitted(Contender.LOGISTIC, 0.74),
        Contender.LAPREDICT: _fitted(Contender.LAPREDICT, 0.99),  # a baseline: never chosen
    }
    assert choose(singles).chosen is Contender.LOGISTIC
    close = {**singles, Contender.BLEND: _fitted(Contender.BLEND, 0.74 + BLEND_MARGIN / 2)}
    assert choose(close).chosen is Contender.LOGISTIC  # the blend has not earned its place
    ahead = {**singles, Contender.BLEND: _fitted(Contender.BLEND, 0.74 + 2 * BLEND_MARGIN)}
    assert choose(ahead).chosen is Contender.BLEND
    tie = {c: replace(f, validation_auc=0.7) for c, f in singles.items()}
    assert choose(tie).chosen is Contender.LOGISTIC  # the simpler model on a tie
    unknown = {c: replace(f, validation_auc=math.nan) for c, f in singles.items()}
    assert choose(unknown).chosen is Contender.LIGHTGBM
    assert "validation ROC-AUC" in choose(ahead).reason


def test_evaluation_fits_every_contender_and_the_choice_ignores_the_test_window() -> None:
    x, y = _data(1200, seed=2)
    frame = x.assign(
        id=[f"c{i}" for i in range(len(x))],
        time=np.arange(len(x)) * 3600,
        label=y,
        effort=x["la"],
    )
    data = JitData(frame, ("la", "nf", "owner_share"), "test")
    split = holdout(data.times(), 0.2, 0)
    result = evaluate_split(data, split, tune=False)
    assert set(result.results) == set(Contender)
    before = choose(result.fitted).chosen
    # Flipping every test label changes the test figures, never the choice.
    flipped = frame.assign(label=np.where(np.arange(len(y)) >= split.test[0], 1 - y, y))
    again = evaluate_split(replace(data, frame=flipped), split, tune=False)
    assert choose(again.fitted).chosen is before
    assert again.results[before].metrics.roc_auc < 0.5 < result.results[before].metrics.roc_auc
    for contender in (Contender.LIGHTGBM, Contender.LOGISTIC, Contender.BLEND):
        model = result.fitted[contender].model
        assert isinstance(model, RiskClassifier)
        assert model.calibrator_.method is not CalibrationMethod.NONE
    assert result.as_dict()["choice"]["chosen"] == before.value


def _saved_meta(root: Path, model_id: str, created: str, labelled: int, **extra: object) -> None:
    meta = replace(
        _meta("lightgbm", ("la",)),
        model_id=model_id,
        created=created,
        labelled_changes=labelled,
        **extra,  # type: ignore[arg-type]
    )
    (root / model_id).mkdir(parents=True)
    (root / model_id / "meta.json").write_text(json.dumps(meta.to_json()), encoding="utf-8")


def test_new_labels_are_counted_since_the_last_model_of_the_same_data(tmp_path: Path) -> None:
    from teamlens.model.freshness import new_labels_since
    from teamlens.model.registry import Registry

    registry = Registry(tmp_path / "models")
    frame = pd.DataFrame(
        {
            "id": [f"c{i}" for i in range(300)],
            "time": np.arange(300),
            "label": [1.0, 0.0] * 120 + [np.nan] * 60,  # 240 labelled
            "effort": 1.0,
            "la": 1.0,
        }
    )
    data = JitData(frame, ("la",), "store:demo")
    assert new_labels_since(registry, data) is None  # no model of this data: train
    _saved_meta(registry.root, "old", "2026-01-01T00:00:00Z", 150)
    _saved_meta(registry.root, "newer", "2026-02-01T00:00:00Z", 200)
    _saved_meta(registry.root, "past", "2026-03-01T00:00:00Z", 100, until=86_400)
    _saved_meta(registry.root, "other", "2026-03-01T00:00:00Z", 10, source="store:x")
    since = new_labels_since(registry, data)
    assert since is not None and (since.model_id, since.new) == ("newer", 40)
    registry.set_current("old")  # the current model, when it is of the same data
    since = new_labels_since(registry, data)
    assert since is not None and (since.model_id, since.new) == ("old", 90)


def test_retired_models_leave_no_fingerprint(tmp_path: Path) -> None:
    from teamlens.model.fingerprints import FingerprintBook
    from teamlens.model.registry import Registry, retire_models

    registry = Registry(tmp_path / "models")
    _saved_meta(registry.root, "kept", "2026-01-01T00:00:00Z", 10, opt_out="now")
    _saved_meta(registry.root, "stale", "2026-01-02T00:00:00Z", 10, opt_out="before")
    book = FingerprintBook(tmp_path)
    book.record("kept", "hmac-sha256:aa", {"kept", "stale"})
    book.record("stale", "hmac-sha256:bb", {"kept", "stale"})
    assert book.model_with("hmac-sha256:bb", set(registry.ids())) == "stale"
    assert retire_models(registry, "now", nobody_opted_out=False) == ["stale"]
    assert book.read() == {"kept": "hmac-sha256:aa"}
