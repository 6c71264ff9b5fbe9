"""Evaluation metrics for just-in-time defect prediction.

Conventions shared by every function here:

* ``y`` holds labels, 0 or 1, one per change; 1 means the change induced a defect.
* ``score`` is the predicted probability that a change is defect-inducing; a higher
  score means riskier.
* ``effort`` is the non-negative cost of inspecting a change; callers pass ``la + ld``
  (lines added plus lines deleted), as Kamei et al. (TSE 2013) do.
* A *ranking* is an integer index order: ``order[0]`` is the position (in ``y``,
  ``score`` and ``effort``) of the change inspected first. :func:`risk_order` and
  :func:`effort_aware_order` build one; the effort-aware metrics take ``(y, effort,
  order)`` so that any ranking can be evaluated.
* A change is predicted defect-inducing at threshold ``t`` iff ``score >= t``.
* A metric that is undefined on its input returns ``float("nan")``: the AUCs when ``y``
  has one class only, the effort-aware metrics when there is no defect-inducing change.
  :meth:`Metrics.as_dict` turns NaN into ``None`` for JSON. F1 and MCC are 0.0 where
  their denominator is zero.
* If the total effort is zero, every change counts as effort 1 in the effort-aware
  metrics (inspection order is then measured in changes).
* Names in :data:`LOWER_IS_BETTER` are the metrics where a lower value is better; for
  all others higher is better.
* Bad input (length mismatch, empty input, labels other than 0/1, non-finite scores,
  negative or non-finite effort, an order that is not a permutation, a share outside
  (0, 1]) raises :class:`MetricError`.

The definitions, with formulas and references, are in ``docs/evaluation.md``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from enum import StrEnum
from typing import ClassVar

import numpy as np
import numpy.typing as npt
from sklearn.metrics import (
    average_precision_score,
    f1_score,
    matthews_corrcoef,
    roc_auc_score,
)

DEFAULT_SHARE = 0.2
LOWER_IS_BETTER: frozenset[str] = frozenset({"brier", "effort_at_20_recall", "ifa"})

# Relative slack for comparing a cumulative sum with a budget such as 0.2 * E, so that a
# change that meets the budget exactly is not lost to floating-point rounding.
_REL_TOL = 1e-9


class MetricError(ValueError):
    """The input to a metric is malformed (length, emptiness, labels, effort, order)."""


class Ranking(StrEnum):
    """Which inspection order the effort-aware metrics of :func:`evaluate_scores` use."""

    RISK = "risk"
    EFFORT_AWARE = "effort-aware"


@dataclass(frozen=True)
class Metrics:
    """All metrics of one set of predictions; NaN where a metric is undefined."""

    LOWER_IS_BETTER: ClassVar[frozenset[str]] = LOWER_IS_BETTER

    roc_auc: float
    pr_auc: float
    f1: float
    mcc: float
    brier: float
    recall_at_20_effort: float
    effort_at_20_recall: float
    popt: float
    ifa: float

    def as_dict(self) -> dict[str, float | None]:
        """Return the metrics by name, with NaN turned into ``None`` (for JSON)."""
        out: dict[str, float | None] = {}
        for field in fields(self):
            value = float(getattr(self, field.name))
            out[field.name] = None if math.isnan(value) else value
        return out


# --- input checks ---------------------------------------------------------------------


def _one_d(values: npt.ArrayLike, name: str) -> npt.NDArray[np.generic]:
    """Return ``values`` as a non-empty one-dimensional numeric array."""
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise MetricError(f"{name} must be one-dimensional, got {arr.ndim} dimensions")
    if arr.size == 0:
        raise MetricError(f"{name} is empty")
    if arr.dtype.kind not in "biuf":
        raise MetricError(f"{name} must be numeric, got dtype {arr.dtype}")
    return arr


def _same_length(n: int, arr: npt.NDArray[np.generic], name: str) -> None:
    """Raise unless ``arr`` has ``n`` elements."""
    if arr.size != n:
        raise MetricError(f"{name} has {arr.size} elements, y has {n}")


def _labels(y: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """Return ``y`` as 0/1 integers, raising unless every label is 0 or 1."""
    arr = _one_d(y, "y")
    if not np.isin(arr, (0, 1)).all():
        raise MetricError("y must hold only 0 and 1")
    return arr.astype(np.int64)


def _finite_scores(score: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Return ``score`` as finite floats."""
    out = _one_d(score, "score").astype(np.float64)
    if not np.isfinite(out).all():
        raise MetricError("score must be finite")
    return out


def _scores(score: npt.ArrayLike, n: int) -> npt.NDArray[np.float64]:
    """Return ``score`` as finite floats, one per change."""
    out = _finite_scores(score)
    _same_length(n, out, "score")
    return out


def _probabilities(score: npt.ArrayLike, n: int) -> npt.NDArray[np.float64]:
    """Return ``score`` as floats in [0, 1], one per change."""
    out = _scores(score, n)
    if ((out < 0.0) | (out > 1.0)).any():
        raise MetricError("score must be a probability in [0, 1]")
    return out


def _efforts(effort: npt.ArrayLike, n: int) -> npt.NDArray[np.float64]:
    """Return ``effort`` as finite non-negative floats, one per change."""
    arr = _one_d(effort, "effort")
    _same_length(n, arr, "effort")
    out = arr.astype(np.float64)
    if not np.isfinite(out).all():
        raise MetricError("effort must be finite")
    if (out < 0.0).any():
        raise MetricError("effort must be non-negative")
    return out


def _order(order: npt.ArrayLike, n: int) -> npt.NDArray[np.intp]:
    """Return ``order`` as indices, raising unless it is a permutation of ``range(n)``."""
    arr = np.asarray(order)
    if arr.ndim != 1 or arr.dtype.kind not in "iu":
        raise MetricError("order must be a one-dimensional array of integer indices")
    _same_length(n, arr, "order")
    if not np.array_equal(np.sort(arr), np.arange(n)):
        raise MetricError("order must be a permutation of range(len(y))")
    return arr.astype(np.intp)


def _share(share: float) -> float:
    """Return ``share``, raising unless it lies in (0, 1]."""
    if not 0.0 < share <= 1.0:
        raise MetricError(f"share must lie in (0, 1], got {share}")
    return float(share)


def _threshold(threshold: float) -> float:
    """Return ``threshold``, raising unless it is finite."""
    if not math.isfinite(threshold):
        raise MetricError(f"threshold must be finite, got {threshold}")
    return float(threshold)


# --- threshold-independent metrics ----------------------------------------------------


def roc_auc(y: npt.ArrayLike, score: npt.ArrayLike) -> float:
    """Area under the ROC curve; NaN when ``y`` has one class only."""
    labels = _labels(y)
    scores = _scores(score, labels.size)
    if np.unique(labels).size < 2:
        return math.nan
    return float(roc_auc_score(labels, scores))


def pr_auc(y: npt.ArrayLike, score: npt.ArrayLike) -> float:
    """Area under the precision-recall curve (average precision); NaN with one class."""
    labels = _labels(y)
    scores = _scores(score, labels.size)
    if np.unique(labels).size < 2:
        return math.nan
    return float(average_precision_score(labels, scores))


def brier(y: npt.ArrayLike, score: npt.ArrayLike) -> float:
    """Brier score: the mean squared difference between ``score`` and ``y``."""
    labels = _labels(y)
    scores = _probabilities(score, labels.size)
    return float(np.mean((scores - labels) ** 2))


# --- threshold metrics ----------------------------------------------------------------


def _predicted(score: npt.NDArray[np.float64], threshold: float) -> npt.NDArray[np.int64]:
    """Predicted labels: 1 iff ``score >= threshold``."""
    return (score >= threshold).astype(np.int64)


def f1(y: npt.ArrayLike, score: npt.ArrayLike, threshold: float = 0.5) -> float:
    """F1 of the class 1 at ``threshold``; 0.0 when precision or recall is undefined."""
    labels = _labels(y)
    predicted = _predicted(_scores(score, labels.size), _threshold(threshold))
    return float(f1_score(labels, predicted, zero_division=0))


def mcc(y: npt.ArrayLike, score: npt.ArrayLike, threshold: float = 0.5) -> float:
    """Matthews correlation coefficient at ``threshold``; 0.0 when undefined.

    MCC is undefined when a row or column of the confusion matrix is all zero (one class
    in ``y`` or in the predictions); that case returns 0.0 without calling scikit-learn.
    """
    labels = _labels(y)
    predicted = _predicted(_scores(score, labels.size), _threshold(threshold))
    if np.unique(labels).size < 2 or np.unique(predicted).size < 2:
        return 0.0
    return float(matthews_corrcoef(labels, predicted))


# --- rankings -------------------------------------------------------------------------


def _descending(
    key: npt.NDArray[np.float64], effort: npt.NDArray[np.float64]
) -> npt.NDArray[np.intp]:
    """Indices by ``key`` descending, then effort ascending, then position ascending."""
    position = np.arange(key.size)
    # np.lexsort sorts by the last key first; every key is ascending.
    return np.lexsort((position, effort, -key)).astype(np.intp)


def risk_order(score: npt.ArrayLike, effort: npt.ArrayLike) -> npt.NDArray[np.intp]:
    """Inspection order by score descending; ties by smaller effort, then position."""
    scores = _finite_scores(score)
    efforts = _efforts(effort, scores.size)
    return _descending(scores, efforts)


def effort_aware_order(score: npt.ArrayLike, effort: npt.ArrayLike) -> npt.NDArray[np.intp]:
    """Inspection order by ``score / max(effort, 1)`` descending; ties as in risk_order."""
    scores = _finite_scores(score)
    efforts = _efforts(effort, scores.size)
    density = scores / np.maximum(efforts, 1.0)
    return _descending(density, efforts)


# --- effort-aware metrics -------------------------------------------------------------


def _inspection_effort(effort: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """The effort used for inspection curves: every change costs 1 if the total is 0."""
    if float(effort.sum()) == 0.0:
        return np.ones_like(effort)
    return effort


def _ranked(
    y: npt.ArrayLike, effort: npt.ArrayLike, order: npt.ArrayLike
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """Check the inputs and return labels and inspection effort in inspection order."""
    labels = _labels(y)
    efforts = _inspection_effort(_efforts(effort, labels.size))
    idx = _order(order, labels.size)
    return labels[idx], efforts[idx]


def recall_at_effort(
    y: npt.ArrayLike, effort: npt.ArrayLike, order: npt.ArrayLike, share: float = DEFAULT_SHARE
) -> float:
    """Share of defect-inducing changes found within ``share`` of the total effort.

    Changes are inspected in ``order`` while the cumulative effort, including the change
    itself, stays at or below ``share * E``. NaN when there is no defect-inducing change.
    """
    budget_share = _share(share)
    labels, efforts = _ranked(y, effort, order)
    defects = int(labels.sum())
    if defects == 0:
        return math.nan
    total = float(efforts.sum())
    budget = budget_share * total * (1.0 + _REL_TOL)
    inspected = np.cumsum(efforts) <= budget
    return float(labels[inspected].sum()) / defects


def effort_at_recall(
    y: npt.ArrayLike, effort: npt.ArrayLike, order: npt.ArrayLike, share: float = DEFAULT_SHARE
) -> float:
    """Share of the total effort spent when ``share`` of the defects have been found.

    The cumulative effort over E at the first position in ``order`` where the cumulative
    number of defect-inducing changes reaches ``share * D``. Lower is better. NaN when
    there is no defect-inducing change.
    """
    target_share = _share(share)
    labels, efforts = _ranked(y, effort, order)
    defects = int(labels.sum())
    if defects == 0:
        return math.nan
    target = target_share * defects * (1.0 - _REL_TOL)
    first = int(np.argmax(np.cumsum(labels) >= target))
    return float(np.cumsum(efforts)[first] / efforts.sum())


def _curve_area(labels: npt.NDArray[np.int64], efforts: npt.NDArray[np.float64]) -> float:
    """Area under cumulative defect share against cumulative effort share, from (0, 0).

    ``labels`` and ``efforts`` are in inspection order; the area uses the trapezoid rule.
    """
    x = np.concatenate(([0.0], np.cumsum(efforts) / efforts.sum()))
    h = np.concatenate(([0.0], np.cumsum(labels) / labels.sum()))
    return float(np.sum(np.diff(x) * (h[1:] + h[:-1]) / 2.0))


def popt(y: npt.ArrayLike, effort: npt.ArrayLike, order: npt.ArrayLike) -> float:
    """Normalised area under the effort-based cumulative lift chart (Popt).

    ``1 - (area_opt - area_model) / (area_opt - area_worst)``. The optimal ranking puts
    defect-inducing changes first and each group by effort ascending; the worst puts
    clean changes first and each group by effort descending. NaN when there is no
    defect-inducing change, no clean change, or the optimal and worst areas are equal.
    """
    labels = _labels(y)
    efforts = _inspection_effort(_efforts(effort, labels.size))
    idx = _order(order, labels.size)
    defects = int(labels.sum())
    if defects in (0, labels.size):
        return math.nan
    position = np.arange(labels.size)
    best = np.lexsort((position, efforts, 1 - labels))
    worst = np.lexsort((position, -efforts, labels))
    area_opt = _curve_area(labels[best], efforts[best])
    area_worst = _curve_area(labels[worst], efforts[worst])
    if math.isclose(area_opt, area_worst, rel_tol=_REL_TOL, abs_tol=_REL_TOL):
        return math.nan
    area_model = _curve_area(labels[idx], efforts[idx])
    return 1.0 - (area_opt - area_model) / (area_opt - area_worst)


def ifa(y: npt.ArrayLike, order: npt.ArrayLike) -> int:
    """Initial false alarms: clean changes inspected before the first defect-inducing one.

    0 when the first change in ``order`` is defect-inducing; ``len(y)`` (every change is
    clean, so all are false alarms) when no change is defect-inducing.
    """
    labels = _labels(y)
    ranked = labels[_order(order, labels.size)]
    hits = np.flatnonzero(ranked)
    return int(hits[0]) if hits.size else int(labels.size)


# --- everything at once ---------------------------------------------------------------


def _ranking(ranking: Ranking | str) -> Ranking:
    """Return ``ranking`` as a :class:`Ranking`, raising MetricError if unknown."""
    try:
        return Ranking(ranking)
    except ValueError:
        known = ", ".join(r.value for r in Ranking)
        raise MetricError(f"unknown ranking {ranking!r}; expected one of {known}") from None


def evaluate_scores(
    y: npt.ArrayLike,
    score: npt.ArrayLike,
    effort: npt.ArrayLike,
    threshold: float = 0.5,
    ranking: Ranking | str = Ranking.RISK,
) -> Metrics:
    """Compute every metric of one set of predictions.

    ``threshold`` applies to F1 and MCC; ``ranking`` chooses the inspection order of the
    effort-aware metrics (recall at 20 % effort, effort at 20 % recall, Popt, IFA).
    """
    chosen = _ranking(ranking)
    labels = _labels(y)
    scores = _probabilities(score, labels.size)
    efforts = _efforts(effort, labels.size)
    if chosen is Ranking.RISK:
        order = risk_order(scores, efforts)
    else:
        order = effort_aware_order(scores, efforts)
    return Metrics(
        roc_auc=roc_auc(labels, scores),
        pr_auc=pr_auc(labels, scores),
        f1=f1(labels, scores, threshold),
        mcc=mcc(labels, scores, threshold),
        brier=brier(labels, scores),
        recall_at_20_effort=recall_at_effort(labels, efforts, order, DEFAULT_SHARE),
        effort_at_20_recall=effort_at_recall(labels, efforts, order, DEFAULT_SHARE),
        popt=popt(labels, efforts, order),
        ifa=float(ifa(labels, order)),
    )
