"""The defect-risk classifier: LightGBM behind the scikit-learn estimator contract.

Parameters are set in ``__init__`` and only stored there; :meth:`RiskClassifier.fit`
learns and returns ``self``; what it learns ends in ``_`` (``booster_``,
``feature_names_``, ``classes_``, ``n_features_in_``). The same seed gives the same
model: LightGBM runs deterministically (``deterministic``, ``force_row_wise``) and
single-threaded by default; on a busy two-core machine two threads were ten times
slower than one.
"""

from __future__ import annotations

from typing import Any, Self

import lightgbm as lgb
import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin


class NotFittedError(RuntimeError):
    """The classifier was used before `fit` (or `from_model_text`)."""


class RiskClassifier(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """Binary LightGBM gradient-boosted trees predicting whether a change induces a defect.

    The defaults are the configuration chosen by time-ordered validation on the
    training part of the public JIT benchmark (docs/evaluation.md): small trees, a low
    learning rate and row and feature subsampling, which suit tabular change metrics
    with a few thousand rows.
    """

    def __init__(
        self,
        n_estimators: int = 500,
        learning_rate: float = 0.02,
        num_leaves: int = 7,
        min_child_samples: int = 50,
        feature_fraction: float = 0.7,
        bagging_fraction: float = 0.8,
        reg_lambda: float = 0.0,
        seed: int = 0,
        num_threads: int = 1,
    ) -> None:
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.feature_fraction = feature_fraction
        self.bagging_fraction = bagging_fraction
        self.reg_lambda = reg_lambda
        self.seed = seed
        self.num_threads = num_threads

    def lightgbm_params(self) -> dict[str, Any]:
        """The parameters handed to ``lightgbm.train``."""
        return {
            "objective": "binary",
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_child_samples": self.min_child_samples,
            "feature_fraction": self.feature_fraction,
            "bagging_fraction": self.bagging_fraction,
            "bagging_freq": 1 if self.bagging_fraction < 1 else 0,
            "lambda_l2": self.reg_lambda,
            "seed": self.seed,
            "num_threads": self.num_threads,
            "deterministic": True,
            "force_row_wise": True,
            "verbosity": -1,
        }

    def fit(
        self,
        x: pd.DataFrame,
        y: npt.ArrayLike,
        sample_weight: npt.ArrayLike | None = None,
    ) -> Self:
        labels = np.asarray(y, dtype=np.int64)
        if set(np.unique(labels)) - {0, 1}:
            raise ValueError("labels must be 0 or 1")
        data = lgb.Dataset(
            x.astype(np.float64),
            label=labels,
            weight=None if sample_weight is None else np.asarray(sample_weight, dtype=float),
            feature_name=[str(c) for c in x.columns],
            free_raw_data=True,
            params={"verbosity": -1},
        )
        self.booster_ = lgb.train(self.lightgbm_params(), data, num_boost_round=self.n_estimators)
        self._set_fitted(list(map(str, x.columns)))
        return self

    def _set_fitted(self, names: list[str]) -> None:
        self.feature_names_ = tuple(names)
        self.n_features_in_ = len(names)
        self.classes_ = np.array([0, 1])

    def _booster(self) -> lgb.Booster:
        booster: lgb.Booster | None = getattr(self, "booster_", None)
        if booster is None:
            raise NotFittedError("the classifier is not fitted; call fit() first")
        return booster

    def _matrix(self, x: pd.DataFrame) -> pd.DataFrame:
        self._booster()
        missing = [f for f in self.feature_names_ if f not in x.columns]
        if missing:
            raise ValueError(f"missing feature column(s): {', '.join(missing)}")
        return x.loc[:, list(self.feature_names_)].astype(np.float64)

    def predict_proba(self, x: pd.DataFrame) -> npt.NDArray[np.float64]:
        risk = np.asarray(self._booster().predict(self._matrix(x)), dtype=np.float64)
        return np.column_stack([1 - risk, risk])

    def predict(self, x: pd.DataFrame, threshold: float = 0.5) -> npt.NDArray[np.int64]:
        return (self.predict_proba(x)[:, 1] >= threshold).astype(np.int64)

    def contributions(self, x: pd.DataFrame) -> pd.DataFrame:
        """Per-row feature contributions in log-odds (LightGBM ``pred_contrib``).

        One column per feature plus ``bias``; each row sums to the logit of its risk.
        """
        raw = self._booster().predict(self._matrix(x), pred_contrib=True)
        return pd.DataFrame(np.asarray(raw), columns=[*self.feature_names_, "bias"])

    def model_text(self) -> str:
        """The LightGBM text model (what a model folder stores)."""
        return str(self._booster().model_to_string())

    @classmethod
    def from_model_text(cls, text: str, params: dict[str, Any] | None = None) -> RiskClassifier:
        """A fitted classifier from a LightGBM text model."""
        model = cls(**(params or {}))
        model.booster_ = lgb.Booster(model_str=text)
        model._set_fitted(list(model.booster_.feature_name()))
        return model
