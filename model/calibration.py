"""Calibrated probabilities: a map from a model's raw risk to an observed defect rate.

The map is fitted on the **validation window** (the newest part of the training window,
scored by the model fitted on the older part), never on the test window, and stored in
the model folder as ``calibration.json``; the refitted model applies it. Two methods:

``platt``
    a logistic curve on the raw log-odds, ``sigmoid(slope * logit(r) + offset)``: two
    numbers, smooth and monotone; the default.
``isotonic``
    a non-decreasing step function (pooled adjacent violators), interpolated between
    its knots, with ties broken by the raw risk (adding at most :data:`TIE_BREAK`), so
    that calibration never changes which of two changes ranks higher; used only when
    the validation window holds at least :data:`ISOTONIC_MIN_CHANGES` changes and
    :data:`ISOTONIC_MIN_DEFECTS` defects, because with fewer it follows noise.

A validation window with a single class gives ``none`` (the raw risk, unchanged).

>>> import numpy as np
>>> raw = np.array([0.1, 0.2, 0.3, 0.6, 0.7, 0.9])
>>> calibrator = fit_calibrator(np.array([0, 0, 1, 0, 1, 1]), raw)
>>> calibrator.method.value
'platt'
>>> bool(np.all(np.diff(calibrator.apply(raw)) >= 0))
True
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np
import numpy.typing as npt

ISOTONIC_MIN_CHANGES = 1000
ISOTONIC_MIN_DEFECTS = 100
#: Calibrated risk stays strictly inside (0, 1): a step function can reach 0 or 1 on a
#: validation window, and no change is certainly clean or certainly a defect. The map's
#: output is squeezed linearly into [FLOOR, 1 - FLOOR].
FLOOR = 1e-4
#: Isotonic steps are flat; this much of the raw risk keeps the ranking strict.
TIE_BREAK = 1e-6


class CalibrationError(ValueError):
    """A calibration.json that is not one teamlens wrote."""


class CalibrationMethod(StrEnum):
    NONE = "none"
    PLATT = "platt"
    ISOTONIC = "isotonic"


def _logit(risk: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    clipped = np.clip(risk, 1e-9, 1 - 1e-9)
    return np.asarray(np.log(clipped / (1 - clipped)), dtype=np.float64)


@dataclass(frozen=True)
class Calibrator:
    """The stored map from raw risk to calibrated risk."""

    method: CalibrationMethod = CalibrationMethod.NONE
    slope: float = 1.0  # Platt
    offset: float = 0.0  # Platt
    knots: tuple[float, ...] = ()  # isotonic: raw risks, increasing
    values: tuple[float, ...] = ()  # isotonic: calibrated risk at each knot
    changes: int = 0  # validation changes it was fitted on
    defects: int = 0

    def apply(self, risk: npt.ArrayLike) -> npt.NDArray[np.float64]:
        raw = np.asarray(risk, dtype=np.float64)
        if self.method is CalibrationMethod.PLATT:
            out = 1 / (1 + np.exp(-(self.slope * _logit(raw) + self.offset)))
        elif self.method is CalibrationMethod.ISOTONIC:
            out = np.interp(raw, self.knots, self.values) * (1 - TIE_BREAK) + TIE_BREAK * raw
        else:
            return raw
        # Squeezed, not clipped, into [FLOOR, 1 - FLOOR]: clipping would tie the extremes.
        return np.asarray(FLOOR + (1 - 2 * FLOOR) * out, dtype=np.float64)

    def to_json(self) -> dict[str, Any]:
        return {
            "method": self.method.value,
            "slope": self.slope,
            "offset": self.offset,
            "knots": list(self.knots),
            "values": list(self.values),
            # The window's size only: a defect count of a few weeks of changes says more
            # about the people behind them than a published model needs to.
            "fitted_on": {"window": "validation", "changes": self.changes},
        }

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> Calibrator:
        try:
            fitted = doc.get("fitted_on", {})
            calibrator = cls(
                method=CalibrationMethod(doc["method"]),
                slope=float(doc.get("slope", 1.0)),
                offset=float(doc.get("offset", 0.0)),
                knots=tuple(float(v) for v in doc.get("knots", ())),
                values=tuple(float(v) for v in doc.get("values", ())),
                changes=int(fitted.get("changes", 0)),
                defects=int(fitted.get("defects", 0)),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise CalibrationError(f"missing or malformed field ({exc})") from exc
        numbers = (calibrator.slope, calibrator.offset, *calibrator.knots, *calibrator.values)
        if not all(math.isfinite(v) for v in numbers):
            raise CalibrationError("every number must be finite")
        if calibrator.method is CalibrationMethod.ISOTONIC and (
            not calibrator.knots
            or len(calibrator.knots) != len(calibrator.values)
            or bool(np.any(np.diff(calibrator.knots) < 0))
        ):
            raise CalibrationError("isotonic knots must be increasing, one value each")
        return calibrator


def choose_method(y: npt.NDArray[np.int64]) -> CalibrationMethod:
    """The method for a validation window with these labels (see the module docstring)."""
    defects = int(y.sum())
    if defects == 0 or defects == len(y):
        return CalibrationMethod.NONE
    if len(y) >= ISOTONIC_MIN_CHANGES and defects >= ISOTONIC_MIN_DEFECTS:
        return CalibrationMethod.ISOTONIC
    return CalibrationMethod.PLATT


def fit_calibrator(
    y: npt.ArrayLike, risk: npt.ArrayLike, method: CalibrationMethod | None = None
) -> Calibrator:
    """Fit the map from `risk` (raw, on the validation window) to the labels `y`."""
    labels = np.asarray(y, dtype=np.int64)
    raw = np.asarray(risk, dtype=np.float64)
    chosen = choose_method(labels) if method is None else method
    changes, defects = len(labels), int(labels.sum())
    none = Calibrator(CalibrationMethod.NONE, changes=changes, defects=defects)
    if chosen is CalibrationMethod.NONE or len(np.unique(labels)) < 2:
        return none
    # scikit-learn (with SciPy) takes about a second to import: only fitting needs it.
    from sklearn.isotonic import IsotonicRegression
    from sklearn.linear_model import LogisticRegression

    if chosen is CalibrationMethod.PLATT:
        fit = LogisticRegression(C=1e6, max_iter=1000).fit(_logit(raw)[:, None], labels)
        if not fit.coef_[0][0] > 0:  # the model ranks the window backwards: leave it raw
            return none
        return Calibrator(
            CalibrationMethod.PLATT,
            slope=float(fit.coef_[0][0]),
            offset=float(fit.intercept_[0]),
            changes=changes,
            defects=defects,
        )
    iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(raw, labels)
    return Calibrator(
        CalibrationMethod.ISOTONIC,
        knots=tuple(float(v) for v in iso.X_thresholds_),
        values=tuple(float(v) for v in iso.y_thresholds_),
        changes=changes,
        defects=defects,
    )


def brier(y: npt.ArrayLike, risk: npt.ArrayLike) -> float:
    """Mean squared difference between risk and outcome (lower is better)."""
    labels = np.asarray(y, dtype=np.float64)
    if len(labels) == 0:
        return math.nan
    return float(np.mean((np.asarray(risk, dtype=np.float64) - labels) ** 2))
