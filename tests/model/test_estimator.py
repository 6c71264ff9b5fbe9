"""RiskClassifier follows the scikit-learn contract and is deterministic."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from teamlens.model.estimator import NotFittedError, RiskClassifier


def _data(n: int = 600, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = pd.DataFrame(
        {
            "la": rng.integers(0, 500, n),
            "nf": rng.integers(1, 20, n),
            "noise": rng.normal(size=n),
        }
    ).astype(float)
    risk = 1 / (1 + np.exp(-(x["la"] / 100 + x["nf"] / 5 - 4)))
    y = (rng.random(n) < risk).astype(int)
    return x, y


def test_parameters_live_in_init_and_fit_returns_self() -> None:
    model = RiskClassifier(num_leaves=5, seed=3)
    assert model.get_params()["num_leaves"] == 5
    assert not hasattr(model, "booster_")  # __init__ learns nothing
    copy = clone(model)
    assert copy.get_params() == model.get_params()
    x, y = _data()
    assert model.fit(x, y) is model
    assert model.feature_names_ == ("la", "nf", "noise")
    assert model.n_features_in_ == 3
    assert model.classes_.tolist() == [0, 1]
    assert model.lightgbm_params()["num_threads"] == 1


def test_same_seed_same_model_other_seed_other_model() -> None:
    x, y = _data()
    a = RiskClassifier(seed=1, n_estimators=50).fit(x, y)
    b = RiskClassifier(seed=1, n_estimators=50).fit(x, y)
    c = RiskClassifier(seed=2, n_estimators=50).fit(x, y)
    assert a.model_text() == b.model_text()
    assert np.array_equal(a.predict_proba(x), b.predict_proba(x))
    assert not np.array_equal(a.predict_proba(x), c.predict_proba(x))


def test_it_learns_the_signal() -> None:
    x, y = _data(seed=1)
    model = RiskClassifier(n_estimators=100).fit(x, y)
    test_x, test_y = _data(seed=2)
    risk = model.predict_proba(test_x)[:, 1]
    assert risk[test_y == 1].mean() > risk[test_y == 0].mean() + 0.2


def test_contributions_sum_to_the_log_odds() -> None:
    x, y = _data()
    model = RiskClassifier(n_estimators=50).fit(x, y)
    contributions = model.contributions(x.head(5))
    assert list(contributions.columns) == ["la", "nf", "noise", "bias"]
    risk = model.predict_proba(x.head(5))[:, 1]
    assert np.allclose(contributions.sum(axis=1), np.log(risk / (1 - risk)))


def test_unfitted_or_missing_columns_fail_clearly() -> None:
    with pytest.raises(NotFittedError):
        RiskClassifier().predict_proba(pd.DataFrame({"la": [1.0]}))
    x, y = _data()
    model = RiskClassifier(n_estimators=10).fit(x, y)
    with pytest.raises(ValueError, match="missing feature column"):
        model.predict_proba(x.drop(columns=["nf"]))
    with pytest.raises(ValueError, match="0 or 1"):
        RiskClassifier().fit(x, np.full(len(x), 2))
