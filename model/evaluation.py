"""Train and compare the contenders on a time-ordered split, and choose one.

Four contenders, always side by side, fitted on the same training rows and scored on
the same test rows:

``lightgbm``
    :class:`model.estimator.RiskClassifier` (kind ``lightgbm``) on every feature.
``logistic``
    The same class, kind ``logistic``: logistic regression on the same features, each
    ``log(1 + x)``-transformed and standardised (Kamei et al. 2013 log-transform the
    skewed change metrics), classes weighted inversely to their frequency; missing
    values (e.g. ``owner_share`` of a file without history) get the training median.
``blend``
    The two above, their log-odds averaged (weight :data:`BLEND_WEIGHT`, fixed, so
    that nothing more is tuned on the validation window).
``lapredict``
    Logistic regression on ``la`` alone (Zeng et al., ISSTA 2021, "LApredict"), a
    baseline that is never chosen.

Tuning happens inside the training rows only: their newest ``VALIDATION_SHARE`` is a
validation window (time-ordered, with the same gap). LightGBM's configuration is the
one of :data:`LIGHTGBM_GRID` with the best validation ROC-AUC. Each contender's
calibration map (:mod:`teamlens.model.calibration`) is fitted on its validation
predictions, and its decision threshold (for F1 and MCC) is the one that maximises F1
on its calibrated validation predictions. The contender is then refitted on all
training rows and keeps the map. :func:`choose` picks the model to save from the
validation figures alone (:data:`CHOOSABLE`, the blend only when it beats both by
:data:`BLEND_MARGIN`). The test rows are scored once, after every choice is made.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.linear_model import LogisticRegression

from teamlens.model.calibration import fit_calibrator
from teamlens.model.dataset import JitData
from teamlens.model.estimator import ModelKind, RiskClassifier
from teamlens.model.metrics import Metrics, Ranking, evaluate_scores, pr_auc, roc_auc
from teamlens.model.split import SplitError, TimeSplit, holdout

VALIDATION_SHARE = 0.2
#: The blend's weight on LightGBM's log-odds (the rest on logistic regression's).
BLEND_WEIGHT = 0.5
#: Validation ROC-AUC by which the blend must beat both its parts to be chosen: a
#: model twice as complex has to earn its place.
BLEND_MARGIN = 0.005

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
    BLEND = "blend"
    LAPREDICT = "lapredict"


#: The contenders a saved model can be, in the order preferred on a tie.
CHOOSABLE: tuple[Contender, ...] = (Contender.LOGISTIC, Contender.LIGHTGBM, Contender.BLEND)


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
    #: Labels and raw (uncalibrated) risk on the validation window, from the model
    #: fitted on the older training rows; empty when there was no validation window.
    validation_y: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    validation_risk: npt.NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))

    def risk(self, data: JitData) -> npt.NDArray[np.float64]:
        x = data.frame.loc[:, list(self.features)].astype(np.float64)
        return np.asarray(self.model.predict_proba(x)[:, 1], dtype=np.float64)


def _fit(
    contender: Contender, data: JitData, params: Mapping[str, Any], seed: int
) -> tuple[Scorer, tuple[str, ...]]:
    if contender is Contender.LIGHTGBM:
        model = RiskClassifier(seed=seed, **params)
        return model.fit(data.x(), data.y()), data.features
    if contender is Contender.LOGISTIC:
        model = RiskClassifier(kind=ModelKind.LOGISTIC.value, seed=seed, **params)
        return model.fit(data.x(), data.y()), data.features
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
    best: tuple[float, Mapping[str, Any], npt.NDArray[np.float64]] = (
        math.nan,
        candidates[0],
        np.zeros(0),
    )
    valid_y = np.zeros(0, dtype=np.int64)
    if inner is not None and len(np.unique(train.rows(inner.train).y())) == 2:
        fit_part, valid = train.rows(inner.train), train.rows(inner.test)
        valid_y = valid.y()
        for params in candidates:
            model, features = _fit(contender, fit_part, params, seed)
            risk = _raw_risk(model, valid, features)
            auc = roc_auc(valid_y, risk) if len(np.unique(valid_y)) == 2 else math.nan
            if math.isnan(best[0]) or auc > best[0]:
                best = (auc, params, risk)
    auc, params, valid_risk = best
    model, features = _fit(contender, train, params, seed)
    return _finish(Fitted(contender, model, features, 0.5, dict(params), auc, valid_y, valid_risk))


def _raw_risk(model: Scorer, data: JitData, features: Sequence[str]) -> npt.NDArray[np.float64]:
    x = data.frame.loc[:, list(features)].astype(np.float64)
    if isinstance(model, RiskClassifier):
        return model.raw_risk(x)
    return np.asarray(model.predict_proba(x)[:, 1], dtype=np.float64)


def _finish(fitted: Fitted) -> Fitted:
    """Calibrate a RiskClassifier on its validation predictions; set the F1 threshold."""
    risk = fitted.validation_risk
    if isinstance(fitted.model, RiskClassifier) and len(risk):
        calibrator = fit_calibrator(fitted.validation_y, risk)
        fitted.model.calibrate(calibrator)
        risk = calibrator.apply(risk)
    threshold = best_f1_threshold(fitted.validation_y, risk) if len(risk) else 0.5
    return replace(fitted, threshold=threshold)


def blend(lightgbm: Fitted, logistic: Fitted, weight: float = BLEND_WEIGHT) -> Fitted:
    """The blend of two fitted contenders: refitted models combined, validation risk too."""
    a, b = lightgbm.model, logistic.model
    if not isinstance(a, RiskClassifier) or not isinstance(b, RiskClassifier):
        raise TypeError("a blend combines two RiskClassifiers")
    model = RiskClassifier.blend_of(a, b, weight)
    risk = np.zeros(0)
    auc = math.nan
    y = lightgbm.validation_y
    if len(lightgbm.validation_risk) and len(logistic.validation_risk):
        logit = weight * _logit(lightgbm.validation_risk) + (1 - weight) * _logit(
            logistic.validation_risk
        )
        risk = 1 / (1 + np.exp(-logit))
        auc = roc_auc(y, risk) if len(np.unique(y)) == 2 else math.nan
    params = {**lightgbm.params, "blend_weight": weight}
    return _finish(Fitted(Contender.BLEND, model, lightgbm.features, 0.5, params, auc, y, risk))


def _logit(risk: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    clipped = np.clip(risk, 1e-12, 1 - 1e-12)
    return np.asarray(np.log(clipped / (1 - clipped)), dtype=np.float64)


@dataclass(frozen=True)
class Choice:
    """The contender chosen on the validation window, and why."""

    chosen: Contender
    validation_auc: Mapping[Contender, float]
    reason: str
    #: Per contender on the validation window: ROC-AUC, PR-AUC and Brier of the raw
    #: (uncalibrated) risk, and the number of changes.
    validation: Mapping[Contender, Mapping[str, float | None]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "chosen": self.chosen.value,
            "window": "validation (the newest part of the training window)",
            "validation_roc_auc": {
                c.value: None if math.isnan(v) else v for c, v in self.validation_auc.items()
            },
            "validation_figures": {c.value: dict(v) for c, v in self.validation.items()},
            "reason": self.reason,
        }


def validation_figures(fitted: Fitted) -> dict[str, float | None]:
    """A contender's figures on the validation window (empty when there was none)."""
    y, risk = fitted.validation_y, fitted.validation_risk
    if not len(risk):
        return {}
    both = len(np.unique(y)) == 2

    def known(value: float) -> float | None:
        return None if math.isnan(value) else float(value)

    return {
        "roc_auc": known(fitted.validation_auc),
        "pr_auc": known(pr_auc(y, risk)) if both else None,
        "brier_raw": float(np.mean((risk - y) ** 2)),
        "changes": float(len(y)),
    }


def choose(fitted: Mapping[Contender, Fitted]) -> Choice:
    """The contender to save, from validation ROC-AUC only (never the test window).

    The best of :data:`CHOOSABLE` present; a tie goes to the simpler model, and the
    blend must beat both its parts by :data:`BLEND_MARGIN`. Without a validation
    window (too short a history) LightGBM, the design's default, is kept.
    """
    aucs: dict[Contender, float] = {c: fitted[c].validation_auc for c in CHOOSABLE if c in fitted}
    figures = {c: validation_figures(fitted[c]) for c in aucs}
    known = {c: a for c, a in aucs.items() if not math.isnan(a)}
    if not known:
        kept = Contender.LIGHTGBM if Contender.LIGHTGBM in fitted else next(iter(aucs))
        return Choice(kept, aucs, "no validation window; the default kind is kept", figures)
    singles = {c: a for c, a in known.items() if c is not Contender.BLEND}
    chosen = Contender.BLEND
    if singles:
        chosen = max(singles, key=lambda c: (singles[c], -CHOOSABLE.index(c)))
        blended = known.get(Contender.BLEND)
        if blended is not None and blended >= singles[chosen] + BLEND_MARGIN:
            chosen = Contender.BLEND
    others = ", ".join(f"{c.value} {a:.3f}" for c, a in known.items() if c is not chosen)
    reason = (
        f"{chosen.value} has the best validation ROC-AUC ({known[chosen]:.3f}; {others}); "
        f"a blend must beat both its parts by {BLEND_MARGIN}"
    )
    return Choice(chosen, aucs, reason, figures)


@dataclass(frozen=True)
class ContenderResult:
    contender: Contender
    metrics: Metrics  # effort-aware metrics on the risk ranking
    effort_aware: Metrics  # the same, ranking by risk per line of effort
    threshold: float
    params: Mapping[str, Any]
    validation_auc: float


@dataclass(frozen=True)
class SubsetResult:
    """The test window's code changes, scored apart from docs/config-only changes.

    A code change touches at least one file in a programming language (the store's
    ``language`` column, ``teamlens.mining.languages``); the others change docs, config
    or data only. Labels rarely call those inducing, so they are easy to rank clean and
    flatter a model's figures on all changes (docs/evaluation.md).
    """

    code_rows: int
    code_inducing: int
    other_rows: int
    other_inducing: int
    results: Mapping[Contender, ContenderResult]
    #: Fewer than k people (but some) behind the code or the docs/config-only changes: nothing of
    #: the split is shown (its counts beside the window's would give the other part).
    withheld: bool = False

    def as_dict(self) -> dict[str, Any]:
        if self.withheld:
            return {"withheld": "fewer than k people behind one of the two parts"}
        return {
            "code_rows": self.code_rows,
            "code_inducing": self.code_inducing,
            "docs_config_only_rows": self.other_rows,
            "docs_config_only_inducing": self.other_inducing,
            "models": {c.value: r.metrics.as_dict() for c, r in self.results.items()},
        }


@dataclass(frozen=True)
class SplitResult:
    window: Mapping[str, int]
    train_rows: int
    test_rows: int
    test_defect_rate: float
    results: Mapping[Contender, ContenderResult]
    fitted: Mapping[Contender, Fitted]
    #: None when the data does not say which changes are code (a Kamei CSV).
    code: SubsetResult | None = None

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
            "lightgbm_params": dict(self.results[Contender.LIGHTGBM].params)
            if Contender.LIGHTGBM in self.results
            else {},
            "choice": choose(self.fitted).as_dict(),
            "code_changes": None if self.code is None else self.code.as_dict(),
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
    k: int = 5,
) -> SplitResult:
    """Fit every contender on the split's training rows and score it on its test rows.

    The test window's code and docs/config-only changes are scored apart when at least
    `k` people stand behind each part (data with a ``people`` column)."""
    train, test = data.rows(split.train), data.rows(split.test)
    if len(np.unique(train.y())) < 2:
        raise SplitError("the training window holds only one class; need both labels")
    fitted: dict[Contender, Fitted] = {}
    results: dict[Contender, ContenderResult] = {}
    needed = list(contenders)
    if Contender.BLEND in needed:  # the blend is made of these two
        needed += [c for c in (Contender.LIGHTGBM, Contender.LOGISTIC) if c not in needed]
    for contender in needed:
        if contender is Contender.BLEND:
            continue
        if log is not None:
            log(f"fitting {contender.value} on {len(train)} changes")
        fitted[contender] = fit_contender(contender, train, seed, split.gap_days, tune)
    if Contender.BLEND in needed:
        fitted[Contender.BLEND] = blend(fitted[Contender.LIGHTGBM], fitted[Contender.LOGISTIC])
    fitted = {c: fitted[c] for c in needed}
    for contender, one in fitted.items():
        results[contender] = score(one, test)
    return SplitResult(
        split.window(data.times()),
        len(train),
        len(test),
        float(test.y().mean()),
        results,
        fitted,
        _code_subset(test, fitted, k),
    )


def _code_subset(test: JitData, fitted: Mapping[Contender, Fitted], k: int) -> SubsetResult | None:
    """Every contender scored on the test window's code changes only."""
    if not test.has("language") or not test.has("people"):
        return None
    is_code = test.frame["language"].notna().to_numpy()
    code = test.rows(np.flatnonzero(is_code))
    other = test.rows(np.flatnonzero(~is_code))
    # An empty part gives nothing away; a part of fewer than k people would.
    if any(0 < part.frame["people"].nunique() < k for part in (code, other)):
        return SubsetResult(0, 0, 0, 0, {}, withheld=True)

    # Scored only with both classes: a one-class subset has no ranking to judge.
    both = len(np.unique(code.y())) == 2
    results = {c: score(one, code) for c, one in fitted.items()} if both else {}
    return SubsetResult(len(code), int(code.y().sum()), len(other), int(other.y().sum()), results)


def mean_metrics(
    results: Sequence[SplitResult], code_only: bool = False
) -> dict[str, dict[str, float | None]]:
    """Per contender, the mean of each metric over several splits (NaN ignored).

    With `code_only`, over the splits' code changes (splits without any are skipped).
    """
    if code_only:
        scored = [r.code.results for r in results if r.code is not None and r.code.results]
    else:
        scored = [r.results for r in results]
    out: dict[str, dict[str, float | None]] = {}
    if not scored:
        return out
    for contender in scored[0]:
        rows = [asdict(one[contender].metrics) for one in scored]
        means: dict[str, float | None] = {}
        for name in rows[0]:
            values = [float(row[name]) for row in rows if not math.isnan(float(row[name]))]
            means[name] = float(np.mean(values)) if values else None
        out[contender.value] = means
    return out
