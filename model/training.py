"""`teamlens train`: fit, choose, calibrate, evaluate, write a model folder, pick current.

The newest 20 % of the labelled changes (after a gap of the label-maturity window) is
the held-out test window. Inside the older changes, the newest part is the validation
window (model.evaluation): it tunes LightGBM, fits each contender's calibration map and
**chooses the kind of model** (LightGBM, logistic regression or their blend) by
validation ROC-AUC, never by the test window. The chosen model, fitted on the older
changes and calibrated, is then scored on the test window next to every contender,
with Brier and a reliability table before and after calibration, and, for data from
the store, next to the current model (the shipped default when none was trained). The
one with the higher ROC-AUC on that window becomes current; the card says which and why.

Nothing is trained when the data and settings are exactly those of a model the registry
holds (:mod:`teamlens.model.freshness`): :func:`train` returns :class:`UpToDate`.
"""

from __future__ import annotations

import math
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from teamlens.model.calibration import brier
from teamlens.model.card import CalibrationReport, render_card
from teamlens.model.dataset import FEATURE_DEFINITIONS, DatasetError, JitData
from teamlens.model.estimator import RiskClassifier
from teamlens.model.evaluation import Choice, SplitResult, choose, evaluate_split
from teamlens.model.fingerprints import FingerprintBook
from teamlens.model.freshness import data_fingerprint
from teamlens.model.levels import record_levels
from teamlens.model.metrics import roc_auc
from teamlens.model.registry import (
    ModelError,
    ModelMeta,
    Registry,
    SavedModel,
    day_window,
    save_model,
)
from teamlens.model.split import holdout

MIN_CHANGES = 200
MIN_DEFECTS = 20
TEST_SHARE = 0.2


@dataclass(frozen=True)
class TrainReport:
    model: SavedModel
    evaluation: SplitResult
    current: str
    challenger_auc: float | None  # the previous current model on the same window
    reasons: tuple[str, ...]
    choice: Choice


@dataclass(frozen=True)
class UpToDate:
    """Nothing was trained: the registry holds a model of exactly this data."""

    model_id: str  # the model trained on the same data and settings
    current: str

    @property
    def message(self) -> str:
        return f"model: up to date (no new matured labels; {self.model_id} has the same data)"


@dataclass(frozen=True)
class Fingerprinting:
    """Where training-data fingerprints are kept, and the key (None: a public dataset)."""

    book: FingerprintBook
    key: bytes | None


def check_enough(data: JitData) -> None:
    """Refuse to train on too little mature data, with a reason a user can act on."""
    defects = int(data.y().sum()) if len(data) else 0
    if len(data) < MIN_CHANGES or defects < MIN_DEFECTS or defects == len(data):
        raise DatasetError(
            f"{data.source}: {len(data)} labelled changes, {defects} defect-inducing; "
            f"training needs at least {MIN_CHANGES} changes with {MIN_DEFECTS} of each kind "
            "(younger changes stay unlabelled until the maturity window has passed)"
        )


def score_saved(model: SavedModel, data: JitData) -> npt.NDArray[np.float64]:
    """A saved model's risk for each change of `data` (reading the columns it names)."""
    columns = [model.meta.columns.get(f, f) for f in model.meta.features]
    missing = [c for c in columns if c not in data.frame.columns]
    if missing:
        raise ModelError(f"model {model.model_id} reads column(s) the data lacks: {missing}")
    x = data.frame.loc[:, columns].astype(np.float64)
    x.columns = list(model.meta.features)
    return model.classifier.predict_proba(x)[:, 1]


def train(
    data: JitData,
    registry: Registry,
    k: int,
    gap_days: float,
    seed: int = 0,
    tune: bool = True,
    log: Callable[[str], None] | None = None,
    until: int | None = None,
    fingerprints: Fingerprinting | None = None,
) -> TrainReport:
    """Train on `data` (labelled rows only), save the model, and choose the current one.

    `until` (unix seconds) records that `data` is the store as known on that date
    (model.asof made it so). With `fingerprints`, the training data's fingerprint is
    recorded for the new model (:func:`train_if_new` checks it first).

    The model records the opt-out fingerprint the data was purged under
    (``data.opt_out``, :func:`model.dataset.applied_opt_out`), so that a changed list
    later retires it (:func:`model.registry.retire_models`). The training window is
    recorded in whole UTC days.
    """
    labelled = data.labelled
    check_enough(labelled)
    split = holdout(labelled.times(), TEST_SHARE, gap_days)
    result = evaluate_split(labelled, split, seed=seed, tune=tune, log=log)
    choice = choose(result.fitted)
    fitted = result.fitted[choice.chosen]
    if log is not None:
        log(f"calibrating {choice.chosen.value} and scoring it on the test window")
    test = labelled.rows(split.test)
    risk = fitted.risk(test)
    ours = result.results[choice.chosen].metrics.roc_auc
    classifier = _as_classifier(fitted.model)
    calibration = _calibration(classifier, test, risk)

    reasons: list[str] = [f"Model choice on the validation window: {choice.reason}."]
    previous_id = registry.current_id()
    challenger_auc: float | None = None
    if data.source.startswith("store:"):
        try:
            previous = registry.load(previous_id)
            other = score_saved(previous, test)
            if len(np.unique(test.y())) == 2:
                challenger_auc = roc_auc(test.y(), other)
        except ModelError as exc:
            reasons.append(f"the current model {previous_id!r} could not be compared: {exc}")
    model_id = registry.new_id(data.source)
    become_current = challenger_auc is None or (not math.isnan(ours) and ours >= challenger_auc)
    if until is not None:
        # A model of the past is for replaying past reviews; the current model may have
        # been trained on this model's test window, so the comparison says nothing.
        become_current = False
        reasons.append(
            "trained as of a past date to replay reviews: not made current "
            "(`teamlens models --current ID` makes it so)."
        )
    elif challenger_auc is not None:
        verdict = "becomes current" if become_current else f"stays behind {previous_id!r}"
        reasons.append(
            f"ROC-AUC on the held-out window: this model {ours:.3f}, the current model "
            f"{previous_id!r} {challenger_auc:.3f}: this model {verdict}."
        )
    elif data.source.startswith("dataset:"):
        reasons.append("trained on a public dataset; becomes current (no model to compare on it)")
    meta = ModelMeta(
        model_id=model_id,
        created=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        source=data.source,
        features=fitted.features,
        columns={f: f for f in fitted.features},
        definitions={f: FEATURE_DEFINITIONS.get(f, "") for f in fitted.features},
        dropped=data.dropped,
        window=day_window(result.window),
        params={**fitted.params, **classifier.get_params(), "seed": seed},
        threshold=fitted.threshold,
        metrics={c.value: r.metrics.as_dict() for c, r in result.results.items()},
        opt_out=data.opt_out,
        kind=classifier.model_kind.value,
        choice=choice.as_dict(),
        calibration=calibration.as_dict(),
        until=None if until is None else day_window({"until": until})["until"],
        labelled_changes=len(labelled),
    )
    if log is not None:
        log(f"writing the model folder and card of {model_id}")
    card = render_card(
        meta,
        test,
        risk,
        k,
        effort_aware={c.value: r.effort_aware.as_dict() for c, r in result.results.items()},
        choice=reasons,
        calibration=calibration,
    )
    saved = save_model(registry.folder(model_id), meta, classifier, card)
    record_levels(saved, labelled, k)  # levels.json: cut points of its training changes
    if become_current:
        try:
            registry.set_current(model_id)
        except ModelError:
            # All or nothing: a model whose card says it became current, and did not,
            # would mislead; the next run trains it again.
            shutil.rmtree(saved.path, ignore_errors=True)
            raise
    if fingerprints is not None:
        fingerprint = _fingerprint(data, fingerprints, seed, tune, gap_days, until)
        fingerprints.book.record(model_id, fingerprint, set(registry.ids()))
    return TrainReport(saved, result, registry.current_id(), challenger_auc, tuple(reasons), choice)


def _fingerprint(
    data: JitData,
    fingerprints: Fingerprinting,
    seed: int,
    tune: bool,
    gap_days: float,
    until: int | None,
) -> str:
    settings = {"seed": seed, "tune": tune, "gap_days": gap_days, "until": until}
    return data_fingerprint(data, settings, fingerprints.key)


def train_if_new(
    data: JitData,
    registry: Registry,
    k: int,
    gap_days: float,
    fingerprints: Fingerprinting,
    seed: int = 0,
    tune: bool = True,
    log: Callable[[str], None] | None = None,
    until: int | None = None,
) -> TrainReport | UpToDate:
    """:func:`train`, unless a model in the registry was trained on exactly this data
    with these settings: then nothing is trained and :class:`UpToDate` names it."""
    check_enough(data.labelled)
    fingerprint = _fingerprint(data, fingerprints, seed, tune, gap_days, until)
    same = fingerprints.book.model_with(fingerprint, set(registry.ids()))
    if same is not None:
        return UpToDate(same, registry.current_id())
    return train(data, registry, k, gap_days, seed, tune, log, until, fingerprints)


def _calibration(
    classifier: RiskClassifier, test: JitData, calibrated: npt.NDArray[np.float64]
) -> CalibrationReport:
    """Brier and risk on the test window, before and after the calibration map."""
    raw = classifier.raw_risk(test.x().loc[:, list(classifier.feature_names_)])
    y = test.y()
    return CalibrationReport(
        method=classifier.calibrator_.method.value,
        fitted_on=classifier.calibrator_.changes,
        brier_before=brier(y, raw),
        brier_after=brier(y, calibrated),
        raw_risk=raw,
    )


def _as_classifier(model: object) -> RiskClassifier:
    if not isinstance(model, RiskClassifier):
        raise TypeError("a saved model must be a RiskClassifier")
    return model
