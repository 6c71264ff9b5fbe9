"""Scoring with a fitted model: risk, log-odds and per-feature contributions.

:class:`RiskScorer` is what a model folder loads into (model.registry): the LightGBM
text model read through LightGBM's C library (:class:`~teamlens.model.booster.TextBooster`,
no ``lightgbm``, scikit-learn or SciPy import), the logistic regression's numbers, the
calibration map. Scoring takes a frame with the model's feature columns, or, for one
change, a mapping of feature name to value (:meth:`RiskScorer.risk_of`,
:meth:`RiskScorer.contributions_of`), which needs no pandas. The estimator that trains
(model.estimator.RiskClassifier) scores through the same code.

``kind`` says what is scored (:class:`ModelKind`): ``lightgbm`` (the trees), ``logistic``,
or ``blend`` (both, their log-odds averaged with weight ``blend_weight`` on LightGBM).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import numpy.typing as npt

from teamlens.model.calibration import CalibrationError, CalibrationMethod, Calibrator
from teamlens.model.logistic import LogisticFormatError, LogisticModel

if TYPE_CHECKING:
    import pandas as pd

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


class Booster(Protocol):
    """What scoring needs of a LightGBM model (``lightgbm.Booster`` or TextBooster)."""

    def predict(self, data: Any, *, raw_score: bool = ..., pred_contrib: bool = ...) -> Any: ...

    def feature_name(self) -> list[str]: ...

    def model_to_string(self) -> str: ...


@dataclass(frozen=True)
class RiskScorer:
    """A fitted model, for scoring only (see the module)."""

    kind: ModelKind
    feature_names_: tuple[str, ...]
    booster: Booster | None = None
    logistic: LogisticModel | None = None
    calibrator: Calibrator = field(default_factory=Calibrator)
    blend_weight: float = 0.5

    @property
    def model_kind(self) -> ModelKind:
        return self.kind

    def _needs_booster(self) -> Booster:
        if self.booster is None:
            raise NotFittedError(f"a {self.kind.value} classifier has no LightGBM model")
        return self.booster

    def _needs_logistic(self) -> LogisticModel:
        if self.logistic is None:
            raise NotFittedError(f"a {self.kind.value} classifier has no logistic regression")
        return self.logistic

    def _matrix(self, x: Any) -> npt.NDArray[np.float64]:
        """Rows of the model's features in its order: from a frame by column name, or a
        2-D array already in that order."""
        if hasattr(x, "columns"):
            missing = [f for f in self.feature_names_ if f not in x.columns]
            if missing:
                raise ValueError(f"missing feature column(s): {', '.join(missing)}")
            x = x.loc[:, list(self.feature_names_)].to_numpy(dtype=np.float64)
        matrix = np.asarray(x, dtype=np.float64)
        if matrix.ndim != 2 or matrix.shape[1] != len(self.feature_names_):
            raise ValueError(f"expected rows of {len(self.feature_names_)} features")
        return matrix

    def _vector(self, values: Mapping[str, float]) -> npt.NDArray[np.float64]:
        """One change's features (missing ones NaN) as a one-row matrix."""
        return np.array(
            [[float(values.get(f, math.nan)) for f in self.feature_names_]], dtype=np.float64
        )

    def _raw_logit(self, matrix: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        parts: list[npt.NDArray[np.float64]] = []
        if self.kind in (ModelKind.LIGHTGBM, ModelKind.BLEND):
            booster = self._needs_booster()
            parts.append(np.asarray(booster.predict(matrix, raw_score=True), dtype=np.float64))
        if self.kind in (ModelKind.LOGISTIC, ModelKind.BLEND):
            parts.append(self._needs_logistic().logit(matrix))
        if self.kind is ModelKind.BLEND:
            return self.blend_weight * parts[0] + (1 - self.blend_weight) * parts[1]
        return parts[0]

    def _contributions(self, matrix: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        parts: list[npt.NDArray[np.float64]] = []
        if self.kind in (ModelKind.LIGHTGBM, ModelKind.BLEND):
            booster = self._needs_booster()
            parts.append(np.asarray(booster.predict(matrix, pred_contrib=True), dtype=np.float64))
        if self.kind in (ModelKind.LOGISTIC, ModelKind.BLEND):
            parts.append(self._needs_logistic().contributions(matrix))
        if self.kind is ModelKind.BLEND:
            return self.blend_weight * parts[0] + (1 - self.blend_weight) * parts[1]
        return parts[0]

    def raw_logit(self, x: Any) -> npt.NDArray[np.float64]:
        """Uncalibrated log-odds of a defect, per row."""
        return self._raw_logit(self._matrix(x))

    def raw_risk(self, x: Any) -> npt.NDArray[np.float64]:
        """Uncalibrated risk (what the calibration map reads)."""
        return np.asarray(1 / (1 + np.exp(-self.raw_logit(x))), dtype=np.float64)

    def predict_proba(self, x: Any) -> npt.NDArray[np.float64]:
        risk = self.calibrator.apply(self.raw_risk(x))
        return np.column_stack([1 - risk, risk])

    def predict(self, x: Any, threshold: float = 0.5) -> npt.NDArray[np.int64]:
        return (self.predict_proba(x)[:, 1] >= threshold).astype(np.int64)

    def contributions(self, x: pd.DataFrame) -> pd.DataFrame:
        """Per-row feature contributions in log-odds: one column per feature plus
        ``bias``; each row sums to the raw (uncalibrated) log-odds of its risk.
        LightGBM: ``pred_contrib`` (the trees' SHAP values); logistic: coefficient times
        standardised value; a blend: their weighted sum."""
        import pandas as pd

        raw = self._contributions(self._matrix(x))
        return pd.DataFrame(raw, columns=[*self.feature_names_, "bias"])

    def risk_of(self, values: Mapping[str, float]) -> float:
        """The calibrated risk of one change, from its features by name (missing: NaN)."""
        raw = 1 / (1 + np.exp(-self._raw_logit(self._vector(values))))
        return float(self.calibrator.apply(raw)[0])

    def contributions_of(self, values: Mapping[str, float]) -> dict[str, float]:
        """:meth:`contributions` of one change, by feature name, and ``bias``."""
        raw = self._contributions(self._vector(values))[0]
        return dict(zip([*self.feature_names_, "bias"], map(float, raw), strict=True))

    def files(self) -> dict[str, str]:
        """What a model folder stores for this model: file name -> text."""
        out: dict[str, str] = {}
        if self.booster is not None:
            out[LIGHTGBM_FILE] = str(self.booster.model_to_string())
        if self.logistic is not None:
            doc = self.logistic.to_json()
            out[LOGISTIC_FILE] = json.dumps(doc, indent=2, sort_keys=True) + "\n"
        if self.calibrator.method is not CalibrationMethod.NONE:
            out[CALIBRATION_FILE] = json.dumps(self.calibrator.to_json(), indent=2) + "\n"
        return out

    @classmethod
    def from_files(
        cls,
        files: Mapping[str, str],
        kind: str = ModelKind.LIGHTGBM.value,
        blend_weight: float = 0.5,
    ) -> RiskScorer:
        """A scorer from the texts of a model folder (see :data:`MODEL_FILES`).

        Raises
        ------
        ModelFilesError
            A file its kind needs is missing or malformed, or the files name different
            features.
        """
        from teamlens.model.booster import BoosterError, TextBooster

        try:
            model_kind = ModelKind(kind)
        except ValueError:
            raise ModelFilesError(f"unknown model kind {kind!r}") from None
        needs = {
            ModelKind.LIGHTGBM: (LIGHTGBM_FILE,),
            ModelKind.LOGISTIC: (LOGISTIC_FILE,),
            ModelKind.BLEND: (LIGHTGBM_FILE, LOGISTIC_FILE),
        }[model_kind]
        absent = [name for name in needs if name not in files]
        if absent:
            raise ModelFilesError(f"a {model_kind.value} model needs {', '.join(absent)}")
        names: list[list[str]] = []
        booster: TextBooster | None = None
        logistic: LogisticModel | None = None
        try:
            if LIGHTGBM_FILE in needs:
                booster = TextBooster(files[LIGHTGBM_FILE])
                names.append(booster.feature_name())
            if LOGISTIC_FILE in needs:
                logistic = LogisticModel.from_json(json.loads(files[LOGISTIC_FILE]))
                names.append(list(logistic.features))
            calibrator = (
                Calibrator.from_json(json.loads(files[CALIBRATION_FILE]))
                if CALIBRATION_FILE in files
                else Calibrator()
            )
        except BoosterError as exc:
            raise ModelFilesError(f"{LIGHTGBM_FILE}: not a LightGBM model ({exc})") from exc
        except (json.JSONDecodeError, LogisticFormatError, CalibrationError) as exc:
            raise ModelFilesError(f"malformed JSON model file ({exc})") from exc
        if any(n != names[0] for n in names):
            raise ModelFilesError("the model files list different features")
        return cls(model_kind, tuple(names[0]), booster, logistic, calibrator, blend_weight)
