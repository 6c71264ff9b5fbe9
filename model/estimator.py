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

import json
from collections.abc import Mapping
from enum import StrEnum
from typing import Any, Self

import lightgbm as lgb
import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin

from teamlens.model.calibration import CalibrationError, CalibrationMethod, Calibrator
from teamlens.model.logistic import LogisticFormatError, LogisticModel, fit_logistic

LIGHTGBM_FILE = "model.txt"
LOGISTIC_FILE = "logistic.json"
CALIBRATION_FILE = "calibration.json"
MODEL_FILES = (LIGHTGBM_FILE, LOGISTIC_FILE, CALIBRATION_FILE)


class ModelKind(StrEnum):
    LIGHTGBM = "lightgbm"
    LOGISTIC = "logistic"
    BLEND = "blend"


class ModelFilesError(ValueError):
    """The files of a saved classifier are missing, malformed or disagree."""


class NotFittedError(RuntimeError):
    """The classifier was used before `fit` (or `from_model_text`)."""


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
        self.booster_: lgb.Booster | None = None
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

    def _booster(self) -> lgb.Booster:
        self._check_fitted()
        booster: lgb.Booster | None = getattr(self, "booster_", None)
        if booster is None:
            raise NotFittedError(f"a {self.kind} classifier has no LightGBM model")
        return booster

    def _logistic(self) -> LogisticModel:
        self._check_fitted()
        model: LogisticModel | None = getattr(self, "logistic_", None)
        if model is None:
            raise NotFittedError(f"a {self.kind} classifier has no logistic regression")
        return model

    def _matrix(self, x: pd.DataFrame) -> pd.DataFrame:
        self._check_fitted()
        missing = [f for f in self.feature_names_ if f not in x.columns]
        if missing:
            raise ValueError(f"missing feature column(s): {', '.join(missing)}")
        return x.loc[:, list(self.feature_names_)].astype(np.float64)

    def raw_logit(self, x: pd.DataFrame) -> npt.NDArray[np.float64]:
        """Uncalibrated log-odds of a defect, per row."""
        matrix = self._matrix(x)
        kind = self.model_kind
        parts: list[npt.NDArray[np.float64]] = []
        if kind in (ModelKind.LIGHTGBM, ModelKind.BLEND):
            parts.append(np.asarray(self._booster().predict(matrix, raw_score=True), float))
        if kind in (ModelKind.LOGISTIC, ModelKind.BLEND):
            parts.append(self._logistic().logit(matrix))
        if kind is ModelKind.BLEND:
            return self.blend_weight * parts[0] + (1 - self.blend_weight) * parts[1]
        return parts[0]

    def raw_risk(self, x: pd.DataFrame) -> npt.NDArray[np.float64]:
        """Uncalibrated risk (what the calibration map reads)."""
        return np.asarray(1 / (1 + np.exp(-self.raw_logit(x))), dtype=np.float64)

    def predict_proba(self, x: pd.DataFrame) -> npt.NDArray[np.float64]:
        calibrator: Calibrator = getattr(self, "calibrator_", Calibrator())
        risk = calibrator.apply(self.raw_risk(x))
        return np.column_stack([1 - risk, risk])

    def predict(self, x: pd.DataFrame, threshold: float = 0.5) -> npt.NDArray[np.int64]:
        return (self.predict_proba(x)[:, 1] >= threshold).astype(np.int64)

    def contributions(self, x: pd.DataFrame) -> pd.DataFrame:
        """Per-row feature contributions in log-odds.

        One column per feature plus ``bias``; each row sums to the raw (uncalibrated)
        log-odds of its risk. LightGBM: ``pred_contrib`` (the trees' SHAP values);
        logistic: coefficient times standardised value; a blend: their weighted sum.
        """
        matrix = self._matrix(x)
        kind = self.model_kind
        parts: list[npt.NDArray[np.float64]] = []
        if kind in (ModelKind.LIGHTGBM, ModelKind.BLEND):
            parts.append(np.asarray(self._booster().predict(matrix, pred_contrib=True), float))
        if kind in (ModelKind.LOGISTIC, ModelKind.BLEND):
            parts.append(self._logistic().contributions(matrix))
        raw = parts[0]
        if kind is ModelKind.BLEND:
            raw = self.blend_weight * parts[0] + (1 - self.blend_weight) * parts[1]
        return pd.DataFrame(raw, columns=[*self.feature_names_, "bias"])

    def model_text(self) -> str:
        """The LightGBM text model (``model.txt`` of a model folder)."""
        return str(self._booster().model_to_string())

    def files(self) -> dict[str, str]:
        """What a model folder stores for this classifier: file name -> text."""
        self._check_fitted()
        out: dict[str, str] = {}
        if getattr(self, "booster_", None) is not None:
            out[LIGHTGBM_FILE] = self.model_text()
        if getattr(self, "logistic_", None) is not None:
            doc = self._logistic().to_json()
            out[LOGISTIC_FILE] = json.dumps(doc, indent=2, sort_keys=True) + "\n"
        calibrator: Calibrator = getattr(self, "calibrator_", Calibrator())
        if calibrator.method is not CalibrationMethod.NONE:
            out[CALIBRATION_FILE] = json.dumps(calibrator.to_json(), indent=2) + "\n"
        return out

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
        try:
            kind = model.model_kind
        except ValueError:
            raise ModelFilesError(f"unknown model kind {model.kind!r}") from None
        needs = {
            ModelKind.LIGHTGBM: (LIGHTGBM_FILE,),
            ModelKind.LOGISTIC: (LOGISTIC_FILE,),
            ModelKind.BLEND: (LIGHTGBM_FILE, LOGISTIC_FILE),
        }[kind]
        absent = [name for name in needs if name not in files]
        if absent:
            raise ModelFilesError(f"a {kind.value} model needs {', '.join(absent)}")
        names: list[list[str]] = []
        model.booster_ = None
        model.logistic_ = None
        try:
            if LIGHTGBM_FILE in needs:
                model.booster_ = lgb.Booster(model_str=files[LIGHTGBM_FILE])
                names.append(list(model.booster_.feature_name()))
            if LOGISTIC_FILE in needs:
                model.logistic_ = LogisticModel.from_json(json.loads(files[LOGISTIC_FILE]))
                names.append(list(model.logistic_.features))
            model.calibrator_ = (
                Calibrator.from_json(json.loads(files[CALIBRATION_FILE]))
                if CALIBRATION_FILE in files
                else Calibrator()
            )
        except lgb.basic.LightGBMError as exc:
            raise ModelFilesError(f"{LIGHTGBM_FILE}: not a LightGBM model ({exc})") from exc
        except (json.JSONDecodeError, LogisticFormatError, CalibrationError) as exc:
            raise ModelFilesError(f"malformed JSON model file ({exc})") from exc
        if any(n != names[0] for n in names):
            raise ModelFilesError("the model files list different features")
        model._set_fitted(names[0])
        return model

    @classmethod
    def from_model_text(cls, text: str, params: dict[str, Any] | None = None) -> RiskClassifier:
        """A fitted LightGBM classifier from a LightGBM text model."""
        return cls.from_files({LIGHTGBM_FILE: text}, params)
