"""Logistic regression in a portable form: coefficients and scaling, kept as JSON.

The logistic contender (and the logistic half of a blend) reads each feature as
``log(1 + max(x, 0))`` (Kamei et al. 2013 log-transform the skewed change metrics),
fills a missing value with the training median, standardises with the training mean
and standard deviation, and weighs the classes inversely to their frequency
(``class_weight="balanced"``), so that a rare defect class is not drowned by clean
changes. Everything needed to score a change is a handful of numbers per feature,
written to ``logistic.json`` in a model folder: no pickle, no scikit-learn version
to match when it is read back.

>>> import pandas as pd
>>> x = pd.DataFrame({"la": [1.0, 5, 40, 300, 2, 80]})
>>> model = fit_logistic(x, [0, 0, 1, 1, 0, 1])
>>> model.features
('la',)
>>> bool(model.logit(x)[3] > model.logit(x)[0])
True
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    import pandas as pd

FORMAT = "teamlens-logistic-1"


class LogisticFormatError(ValueError):
    """A logistic.json that is not one teamlens wrote."""


@dataclass(frozen=True)
class LogisticModel:
    """A fitted standardised logistic regression over log-transformed features."""

    features: tuple[str, ...]
    medians: tuple[float, ...]  # fills missing values, per feature (raw units)
    means: tuple[float, ...]  # of log1p(x), per feature
    scales: tuple[float, ...]  # standard deviation of log1p(x) (1 when constant)
    coefficients: tuple[float, ...]  # per standardised feature
    intercept: float

    def standardised(self, x: pd.DataFrame | npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """The features as the regression sees them (missing filled, log, standardised).

        `x`: a frame with the model's feature columns, or rows already in its order."""
        if isinstance(x, np.ndarray):
            values = np.array(x, dtype=np.float64, copy=True)
        else:
            values = x.loc[:, list(self.features)].to_numpy(dtype=np.float64, copy=True)
        medians = np.asarray(self.medians, dtype=np.float64)
        missing = np.isnan(values)
        values[missing] = np.broadcast_to(medians, values.shape)[missing]
        logged = np.log1p(np.clip(values, 0, None))
        standard = (logged - np.asarray(self.means)) / np.asarray(self.scales)
        return np.asarray(standard, dtype=np.float64)

    def logit(self, x: pd.DataFrame | npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """Log-odds of a defect for each row."""
        logit = self.standardised(x) @ np.asarray(self.coefficients) + self.intercept
        return np.asarray(logit, dtype=np.float64)

    def contributions(self, x: pd.DataFrame | npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """Per row, each feature's push in log-odds, then the intercept; rows sum to the logit.

        A feature at its training mean (of log1p) pushes by 0.
        """
        parts = self.standardised(x) * np.asarray(self.coefficients)
        return np.column_stack([parts, np.full(len(parts), self.intercept)])

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "transform": "log1p(max(x, 0)), missing -> median, then (v - mean) / scale",
            "class_weight": "balanced",
            "features": list(self.features),
            "medians": list(self.medians),
            "means": list(self.means),
            "scales": list(self.scales),
            "coefficients": list(self.coefficients),
            "intercept": self.intercept,
        }

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> LogisticModel:
        try:
            if doc.get("format") != FORMAT:
                raise LogisticFormatError(f"format {doc.get('format')!r}, expected {FORMAT!r}")
            features = tuple(str(f) for f in doc["features"])
            columns = [
                tuple(float(v) for v in doc[name])
                for name in ("medians", "means", "scales", "coefficients")
            ]
            intercept = float(doc["intercept"])
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise LogisticFormatError(f"missing or malformed field ({exc})") from exc
        if any(len(c) != len(features) for c in columns):
            raise LogisticFormatError("every per-feature list must have one value per feature")
        if any(s <= 0 for s in columns[2]) or not all(math.isfinite(v) for c in columns for v in c):
            raise LogisticFormatError("scales must be positive and every value finite")
        medians, means, scales, coefficients = columns
        return cls(features, medians, means, scales, coefficients, intercept)


def fit_logistic(x: pd.DataFrame, y: npt.ArrayLike, seed: int = 0, c: float = 1.0) -> LogisticModel:
    """Fit the class-weighted, standardised logistic regression on `x` (one column per feature)."""
    from sklearn.linear_model import LogisticRegression  # slow to import: fitting only

    values = x.to_numpy(dtype=np.float64, copy=True)
    with np.errstate(all="ignore"):
        medians = np.nanmedian(np.where(np.isnan(values), np.nan, values), axis=0)
    medians = np.where(np.isnan(medians), 0.0, medians)  # a column with no value at all
    missing = np.isnan(values)
    values[missing] = np.broadcast_to(medians, values.shape)[missing]
    logged = np.log1p(np.clip(values, 0, None))
    means = logged.mean(axis=0)
    scales = logged.std(axis=0)
    scales = np.where(scales > 0, scales, 1.0)
    standard = (logged - means) / scales
    regression = LogisticRegression(
        C=c, class_weight="balanced", max_iter=5000, random_state=seed
    ).fit(standard, np.asarray(y, dtype=np.int64))
    return LogisticModel(
        features=tuple(str(f) for f in x.columns),
        medians=tuple(float(v) for v in medians),
        means=tuple(float(v) for v in means),
        scales=tuple(float(v) for v in scales),
        coefficients=tuple(float(v) for v in regression.coef_[0]),
        intercept=float(regression.intercept_[0]),
    )
