"""The defect-risk classifier behind the scikit-learn estimator contract, of three kinds.

``kind`` chooses what :meth:`RiskClassifier.fit` learns:

``lightgbm``
    LightGBM gradient-boosted trees (``booster_``);
``logistic``
    a standardised, class-weighted logistic regression on log-transformed features
    (``logistic_``, :mod:`teamlens.model.logistic`);
``blend``
    both, their log-odds averaged with weight ``blend_weight`` on LightGBM.

Parameters are set in ``__init__`` and only stored there; ``fit`` learns and returns
``self``; what it learns ends in ``_`` (``booster_``, ``logistic_``, ``calibrator_``,
``feature_names_``, ``classes_``, ``n_features_in_``). :meth:`RiskClassifier.calibrate`
sets a calibration map (:mod:`teamlens.model.calibration`), fitted elsewhere on a
validation window; :meth:`predict_proba` returns calibrated risk, and
:meth:`contributions` splits the raw (uncalibrated) log-odds, which the map turns into
risk without changing the order of two changes. A fitted classifier is written as
files (:meth:`files`): ``model.txt`` (the LightGBM text model), ``logistic.json`` and
``calibration.json``, each only when the kind has it.

The same seed gives the same model: LightGBM runs deterministically
(``deterministic``, ``force_row_wise``) and single-threaded by default; on a busy
two-core machine two threads were ten times slower than one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self

import lightgbm as lgb
import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin

from teamlens.model.calibration import Calibrator
from teamlens.model.logistic import LogisticModel, fit_logistic
from teamlens.model.scorer import (
    CALIBRATION_FILE,
    LIGHTGBM_FILE,
    LOGISTIC_FILE,
    MODEL_FILES,
    Booster,
    ModelFilesError,
    ModelKind,
    NotFittedError,
    RiskScorer,
)

__all__ = [
    "CALIBRATION_FILE",
    "LIGHTGBM_FILE",
    "LOGISTIC_FILE",
    "MODEL_FILES",
    "ModelFilesError",
    "ModelKind",
    "NotFittedError",
    "RiskClassifier",
]


class RiskClassifier(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """Binary classifier predicting whether a change induces a defect (see the module).

    The LightGBM defaults are the configuration chosen by time-ordered validation on
    the training part of the public JIT benchmark (docs/evaluation.md): small trees, a
    low learning rate and row and feature subsampling, which suit tabular change
    metrics with a few thousand rows. ``logistic_c`` is the inverse regularisation
    strength of the logistic regression.
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
        kind: str = ModelKind.LIGHTGBM.value,
        logistic_c: float = 1.0,
        blend_weight: float = 0.5,
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
        self.kind = kind
        self.logistic_c = logistic_c
        self.blend_weight = blend_weight

    @property
    def model_kind(self) -> ModelKind:
        return ModelKind(self.kind)

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
        kind = self.model_kind
        self.booster_: Booster | None = None
        self.logistic_: LogisticModel | None = None
        if kind in (ModelKind.LIGHTGBM, ModelKind.BLEND):
            data = lgb.Dataset(
                x.astype(np.float64),
                label=labels,
                weight=None if sample_weight is None else np.asarray(sample_weight, dtype=float),
                feature_name=[str(c) for c in x.columns],
                free_raw_data=True,
                params={"verbosity": -1},
            )
            self.booster_ = lgb.train(
                self.lightgbm_params(), data, num_boost_round=self.n_estimators
            )
        if kind in (ModelKind.LOGISTIC, ModelKind.BLEND):
            self.logistic_ = fit_logistic(x.astype(np.float64), labels, self.seed, self.logistic_c)
        self.calibrator_ = Calibrator()
        self._set_fitted(list(map(str, x.columns)))
        return self

    def calibrate(self, calibrator: Calibrator) -> Self:
        """Use `calibrator` (fitted on a validation window) for :meth:`predict_proba`."""
        self._check_fitted()
        self.calibrator_ = calibrator
        return self

    def _set_fitted(self, names: list[str]) -> None:
        self.feature_names_ = tuple(names)
        self.n_features_in_ = len(names)
        self.classes_ = np.array([0, 1])

    def _check_fitted(self) -> None:
        if not hasattr(self, "feature_names_"):
            raise NotFittedError("the classifier is not fitted; call fit() first")

    def _booster(self) -> Booster:
        self._check_fitted()
        booster: Booster | None = getattr(self, "booster_", None)
        if booster is None:
            raise NotFittedError(f"a {self.kind} classifier has no LightGBM model")
        return booster

    def _logistic(self) -> LogisticModel:
        self._check_fitted()
        model: LogisticModel | None = getattr(self, "logistic_", None)
        if model is None:
            raise NotFittedError(f"a {self.kind} classifier has no logistic regression")
        return model

    def scorer(self) -> RiskScorer:
        """The fitted model for scoring (model.scorer): every prediction goes through it."""
        self._check_fitted()
        return RiskScorer(
            self.model_kind,
            tuple(self.feature_names_),
            getattr(self, "booster_", None),
            getattr(self, "logistic_", None),
            getattr(self, "calibrator_", Calibrator()),
            self.blend_weight,
        )

    def raw_logit(self, x: pd.DataFrame) -> npt.NDArray[np.float64]:
        """Uncalibrated log-odds of a defect, per row."""
        return self.scorer().raw_logit(x)

    def raw_risk(self, x: pd.DataFrame) -> npt.NDArray[np.float64]:
        """Uncalibrated risk (what the calibration map reads)."""
        return self.scorer().raw_risk(x)

    def predict_proba(self, x: pd.DataFrame) -> npt.NDArray[np.float64]:
        return self.scorer().predict_proba(x)

    def predict(self, x: pd.DataFrame, threshold: float = 0.5) -> npt.NDArray[np.int64]:
        return self.scorer().predict(x, threshold)

    def contributions(self, x: pd.DataFrame) -> pd.DataFrame:
        """Per-row feature contributions in log-odds (:meth:`RiskScorer.contributions`)."""
        return self.scorer().contributions(x)

    def risk_of(self, values: Mapping[str, float]) -> float:
        return self.scorer().risk_of(values)

    def contributions_of(self, values: Mapping[str, float]) -> dict[str, float]:
        return self.scorer().contributions_of(values)

    def model_text(self) -> str:
        """The LightGBM text model (``model.txt`` of a model folder)."""
        return str(self._booster().model_to_string())

    def files(self) -> dict[str, str]:
        """What a model folder stores for this classifier: file name -> text."""
        return self.scorer().files()

    @classmethod
    def blend_of(
        cls, lightgbm: RiskClassifier, logistic: RiskClassifier, weight: float = 0.5
    ) -> RiskClassifier:
        """A fitted blend of two fitted classifiers on the same features (uncalibrated)."""
        if lightgbm.feature_names_ != logistic.feature_names_:
            raise ValueError("a blend needs two models of the same features")
        params = {**lightgbm.get_params(), "kind": ModelKind.BLEND.value, "blend_weight": weight}
        params["logistic_c"] = logistic.logistic_c
        model = cls(**params)
        model.booster_ = lightgbm._booster()
        model.logistic_ = logistic._logistic()
        model.calibrator_ = Calibrator()
        model._set_fitted(list(lightgbm.feature_names_))
        return model

    @classmethod
    def from_files(
        cls, files: Mapping[str, str], params: Mapping[str, Any] | None = None
    ) -> RiskClassifier:
        """A fitted classifier from the texts :meth:`files` wrote.

        Raises
        ------
        ModelFilesError
            A file its kind needs is missing or malformed, or the files name different
            features.
        """
        model = cls(**dict(params or {}))
        scorer = RiskScorer.from_files(files, model.kind, model.blend_weight)
        model.booster_ = scorer.booster
        model.logistic_ = scorer.logistic
        model.calibrator_ = scorer.calibrator
        model._set_fitted(list(scorer.feature_names_))
        return model

    @classmethod
    def from_model_text(cls, text: str, params: dict[str, Any] | None = None) -> RiskClassifier:
        """A fitted LightGBM classifier from a LightGBM text model."""
        return cls.from_files({LIGHTGBM_FILE: text}, params)
