"""Train and compare the contenders on a time-ordered split.

Three contenders, always side by side, fitted on the same training rows and scored on
the same test rows:

``lightgbm``
    :class:`model.estimator.RiskClassifier` on every feature of the data.
``logistic``
    Logistic regression on the same features, each ``log(1 + x)``-transformed and
    standardised (Kamei et al. 2013 log-transform the skewed change metrics); missing
    values (e.g. ``owner_share`` of a file without history) get the training median.
``lapredict``
    Logistic regression on ``la`` alone (Zeng et al., ISSTA 2021, "LApredict").

Tuning happens inside the training rows only: their newest ``VALIDATION_SHARE`` is a
validation window (time-ordered, with the same gap). LightGBM's configuration is the
one of :data:`LIGHTGBM_GRID` with the best validation ROC-AUC; each contender's
decision threshold (for F1 and MCC) is the one that maximises F1 on its validation
predictions. The contender is then refitted on all training rows. The test rows are
scored once, after every choice is made.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from teamlens.model.dataset import JitData
from teamlens.model.estimator import RiskClassifier
from teamlens.model.metrics import Metrics, Ranking, evaluate_scores, roc_auc
from teamlens.model.split import SplitError, TimeSplit, holdout

VALIDATION_SHARE = 0.2

#: LightGBM configurations tried on the validation window (then refitted on all
#: training rows). Chosen as a small neighbourhood of good settings by time-ordered
#: validation on the training 80 % of the public JIT benchmark; see docs/evaluation.md.
LIGHTGBM_GRID: tuple[Mapping[str, Any], ...] = (
    {"learning_rate": 0.02, "num_leaves": 7, "min_child_samples": 50, "n_estimators": 500},
    {"learning_rate": 0.02, "num_leaves": 15, "min_child_samples": 200, "n_estimators": 500},
    {"learning_rate": 0.02, "num_leaves": 31, "min_child_samples": 50, "n_estimators": 200},
    {"learning_rate": 0.05, "num_leaves": 7, "min_child_samples": 200, "n_estimators": 200},
)


class Contender(StrEnum):
    LIGHTGBM = "lightgbm"
    LOGISTIC = "logistic"
    LAPREDICT = "lapredict"


class Scorer(Protocol):
    def predict_proba(self, x: pd.DataFrame) -> npt.NDArray[np.float64]: ...


@dataclass(frozen=True)
class Fitted:
    """A fitted contender: what scores changes, on which columns, at which threshold."""

    contender: Contender
    model: Scorer
    features: tuple[str, ...]
    threshold: float
    params: Mapping[str, Any] = field(default_factory=dict)
    validation_auc: float = math.nan

    def risk(self, data: JitData) -> npt.NDArray[np.float64]:
        x = data.frame.loc[:, list(self.features)].astype(np.float64)
        return np.asarray(self.model.predict_proba(x)[:, 1], dtype=np.float64)


def _log1p(x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    return np.log1p(np.clip(x, 0, None))


def _logistic(seed: int) -> Any:
    return make_pipeline(
        SimpleImputer(strategy="median", keep_empty_features=True),
        FunctionTransformer(_log1p),
        StandardScaler(),
        LogisticRegression(max_iter=5000, random_state=seed),
    )


def _fit(
    contender: Contender, data: JitData, params: Mapping[str, Any], seed: int
) -> tuple[Scorer, tuple[str, ...]]:
    if contender is Contender.LIGHTGBM:
        model = RiskClassifier(seed=seed, **params)
        return model.fit(data.x(), data.y()), data.features
    if contender is Contender.LOGISTIC:
        pipeline = _logistic(seed).fit(data.x().to_numpy(), data.y())
        return _ArrayScorer(pipeline, data.features), data.features
    if "la" not in data.features:
        raise SplitError("LApredict needs the feature la")
    plain = LogisticRegression(random_state=seed).fit(data.frame[["la"]].to_numpy(), data.y())
    return _ArrayScorer(plain, ("la",)), ("la",)


@dataclass(frozen=True)
class _ArrayScorer:
    """A scikit-learn model fitted on a plain array, fed the same columns in order."""

    model: Any
    columns: tuple[str, ...]

    def predict_proba(self, x: pd.DataFrame) -> npt.NDArray[np.float64]:
        values = x.loc[:, list(self.columns)].to_numpy(dtype=np.float64)
        return np.asarray(self.model.predict_proba(values), dtype=np.float64)


def best_f1_threshold(y: npt.NDArray[np.int64], risk: npt.NDArray[np.float64]) -> float:
    """The score threshold with the highest F1 on (y, risk); 0.5 when y has no positive."""
    positives = int(y.sum())
    if positives == 0 or len(y) == 0:
        return 0.5
    order = np.argsort(-risk, kind="stable")
    sorted_risk, hits = risk[order], np.cumsum(y[order])
    k = np.arange(1, len(y) + 1)
    f1 = 2 * hits / (k + positives)
    # Only cut between distinct scores: all rows with the threshold's score are in.
    last_of_tie = np.append(sorted_risk[1:] != sorted_risk[:-1], True)
    best = int(np.argmax(np.where(last_of_tie, f1, -1)))
    return float(sorted_risk[best])


def fit_contender(
    contender: Contender,
    train: JitData,
    seed: int = 0,
    gap_days: float = 0,
    tune: bool = True,
    grid: Sequence[Mapping[str, Any]] = LIGHTGBM_GRID,
) -> Fitted:
    """Choose settings on the training rows' newest window, then refit on all of them."""
    candidates: Sequence[Mapping[str, Any]] = grid if contender is Contender.LIGHTGBM else [{}]
    if not tune:
        candidates = [candidates[0]]
    try:
        inner = holdout(train.times(), VALIDATION_SHARE, gap_days)
    except SplitError:
        inner = None
    best: tuple[float, Mapping[str, Any], float] = (math.nan, candidates[0], 0.5)
    if inner is not None and len(np.unique(train.rows(inner.train).y())) == 2:
        fit_part, valid = train.rows(inner.train), train.rows(inner.test)
        for params in candidates:
            model, features = _fit(contender, fit_part, params, seed)
            scored = Fitted(contender, model, features, 0.5)
            risk = scored.risk(valid)
            auc = roc_auc(valid.y(), risk) if len(np.unique(valid.y())) == 2 else math.nan
            if math.isnan(best[0]) or auc > best[0]:
                best = (auc, params, best_f1_threshold(valid.y(), risk))
    auc, params, threshold = best
    model, features = _fit(contender, train, params, seed)
    return Fitted(contender, model, features, threshold, dict(params), auc)


@dataclass(frozen=True)
class ContenderResult:
    contender: Contender
    metrics: Metrics  # effort-aware metrics on the risk ranking
    effort_aware: Metrics  # the same, ranking by risk per line of effort
    threshold: float
    params: Mapping[str, Any]
    validation_auc: float


@dataclass(frozen=True)
class SplitResult:
    window: Mapping[str, int]
    train_rows: int
    test_rows: int
    test_defect_rate: float
    results: Mapping[Contender, ContenderResult]
    fitted: Mapping[Contender, Fitted]

    def as_dict(self) -> dict[str, Any]:
        return {
            "window": dict(self.window),
            "train_rows": self.train_rows,
            "test_rows": self.test_rows,
            "test_defect_rate": self.test_defect_rate,
            "models": {c.value: r.metrics.as_dict() for c, r in self.results.items()},
            "effort_aware_ranking": {
                c.value: r.effort_aware.as_dict() for c, r in self.results.items()
            },
            "thresholds": {c.value: r.threshold for c, r in self.results.items()},
            "lightgbm_params": dict(self.results[Contender.LIGHTGBM].params),
        }


def score(fitted: Fitted, test: JitData) -> ContenderResult:
    """A fitted contender's metrics on `test`."""
    risk = fitted.risk(test)
    y, effort = test.y(), test.effort()
    return ContenderResult(
        fitted.contender,
        evaluate_scores(y, risk, effort, fitted.threshold, Ranking.RISK),
        evaluate_scores(y, risk, effort, fitted.threshold, Ranking.EFFORT_AWARE),
        fitted.threshold,
        fitted.params,
        fitted.validation_auc,
    )


def evaluate_split(
    data: JitData,
    split: TimeSplit,
    seed: int = 0,
    tune: bool = True,
    contenders: Sequence[Contender] = tuple(Contender),
    log: Callable[[str], None] | None = None,
) -> SplitResult:
    """Fit every contender on the split's training rows and score it on its test rows."""
    train, test = data.rows(split.train), data.rows(split.test)
    if len(np.unique(train.y())) < 2:
        raise SplitError("the training window holds only one class; need both labels")
    fitted: dict[Contender, Fitted] = {}
    results: dict[Contender, ContenderResult] = {}
    for contender in contenders:
        if log is not None:
            log(f"fitting {contender.value} on {len(train)} changes")
        fitted[contender] = fit_contender(contender, train, seed, split.gap_days, tune)
        results[contender] = score(fitted[contender], test)
    return SplitResult(
        split.window(data.times()),
        len(train),
        len(test),
        float(test.y().mean()),
        results,
        fitted,
    )


def mean_metrics(results: Sequence[SplitResult]) -> dict[str, dict[str, float | None]]:
    """Per contender, the mean of each metric over several splits (NaN ignored)."""
    out: dict[str, dict[str, float | None]] = {}
    for contender in results[0].results:
        rows = [asdict(r.results[contender].metrics) for r in results]
        means: dict[str, float | None] = {}
        for name in rows[0]:
            values = [float(row[name]) for row in rows if not math.isnan(float(row[name]))]
            means[name] = float(np.mean(values)) if values else None
        out[contender.value] = means
    return out
