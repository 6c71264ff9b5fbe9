"""The LightGBM text model scored through LightGBM's C library (model.booster) gives
exactly what the ``lightgbm`` package gives, and a loaded model folder scores without
importing scikit-learn, SciPy, pandas or the ``lightgbm`` package."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

from teamlens.model.booster import BoosterError, TextBooster
from teamlens.model.estimator import RiskClassifier
from teamlens.model.registry import DEFAULT_MODEL_DIR, load_model
from teamlens.model.scorer import RiskScorer


def _rows(names: list[str], n: int = 200, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.exponential(30.0, size=(n, len(names)))
    x[rng.random(x.shape) < 0.1] = np.nan  # missing values go down LightGBM's default side
    return x


def test_raw_scores_and_contributions_equal_the_lightgbm_package() -> None:
    text = (DEFAULT_MODEL_DIR / "model.txt").read_text(encoding="utf-8")
    ours, theirs = TextBooster(text), lgb.Booster(model_str=text)
    assert ours.feature_name() == theirs.feature_name()
    x = _rows(ours.feature_name())
    np.testing.assert_array_equal(
        ours.predict(x, raw_score=True), theirs.predict(x, raw_score=True)
    )
    contrib = ours.predict(x, pred_contrib=True)
    assert contrib.shape == (len(x), len(ours.feature_name()) + 1)
    np.testing.assert_array_equal(contrib, theirs.predict(x, pred_contrib=True))
    frame = pd.DataFrame(x[:, ::-1], columns=ours.feature_name()[::-1])  # by column name
    np.testing.assert_array_equal(
        ours.predict(frame, raw_score=True), ours.predict(x, raw_score=True)
    )


def test_a_fitted_model_scores_the_same_after_a_round_trip(tmp_path: Path) -> None:
    names = ["la", "nf", "entropy"]
    x = pd.DataFrame(_rows(names, 600, seed=1), columns=names).fillna(0.0)
    y = (x["la"] + 10 * x["nf"] > 400).astype(int).to_numpy()
    fitted = RiskClassifier(n_estimators=40).fit(x, y)
    loaded = RiskScorer.from_files(fitted.files())
    np.testing.assert_array_equal(loaded.predict_proba(x), fitted.predict_proba(x))
    one = {"la": 120.0, "nf": 3.0}  # entropy missing: NaN, as LightGBM treats it
    row = pd.DataFrame([{**one, "entropy": np.nan}])
    assert loaded.risk_of(one) == fitted.predict_proba(row)[0, 1]
    parts = loaded.contributions_of(one)
    assert list(parts) == [*names, "bias"]
    assert parts == dict(fitted.contributions(row).iloc[0])


def test_a_broken_model_text_is_one_error() -> None:
    with pytest.raises(BoosterError):
        TextBooster("tree\nnot a model\n")


def test_loading_the_shipped_model_imports_no_heavy_package() -> None:
    """What makes `teamlens review` start in well under a second (docs/review.md)."""
    code = (
        "import sys\n"
        "from teamlens.model.registry import DEFAULT_MODEL_DIR, load_model\n"
        "model = load_model(DEFAULT_MODEL_DIR)\n"
        "risk = model.classifier.risk_of({'la': 300.0, 'nf': 4.0})\n"
        "heavy = {'pandas', 'pyarrow', 'duckdb', 'sklearn', 'scipy', 'lightgbm'}\n"
        "print(json.dumps([risk, sorted(heavy & {m.split('.')[0] for m in sys.modules})]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", "import json\n" + code],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    risk, loaded = json.loads(out)
    assert 0 < risk < 1
    assert loaded == []
    shipped = load_model(DEFAULT_MODEL_DIR).classifier
    assert risk == shipped.risk_of({"la": 300.0, "nf": 4.0})
