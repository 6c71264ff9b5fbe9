"""`teamlens train`: fit, evaluate against the baselines, write a model folder, pick current.

One held-out window decides everything: the newest 20 % of the labelled changes (after
a gap of the label-maturity window). The LightGBM model trained on the older changes
is scored there next to logistic regression and LApredict, and, for data from the
store, next to the current model (the shipped default when none was trained). The one
with the higher ROC-AUC on that window becomes current; the card says which and why.
"""

from __future__ import annotations

import math
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from teamlens.model.card import render_card
from teamlens.model.dataset import FEATURE_DEFINITIONS, DatasetError, JitData
from teamlens.model.estimator import RiskClassifier
from teamlens.model.evaluation import Contender, SplitResult, evaluate_split
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
) -> TrainReport:
    """Train on `data` (labelled rows only), save the model, and choose the current one.

    The model records the opt-out fingerprint the data was purged under
    (``data.opt_out``, :func:`model.dataset.applied_opt_out`), so that a changed list
    later retires it (:func:`model.registry.retire_models`). The training window is
    recorded in whole UTC days.
    """
    labelled = data.labelled
    check_enough(labelled)
    split = holdout(labelled.times(), TEST_SHARE, gap_days)
    result = evaluate_split(labelled, split, seed=seed, tune=tune, log=log)
    fitted = result.fitted[Contender.LIGHTGBM]
    test = labelled.rows(split.test)
    risk = fitted.risk(test)
    ours = result.results[Contender.LIGHTGBM].metrics.roc_auc

    reasons: list[str] = []
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
    if challenger_auc is not None:
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
        params={**fitted.params, "seed": seed},
        threshold=fitted.threshold,
        metrics={c.value: r.metrics.as_dict() for c, r in result.results.items()},
        opt_out=data.opt_out,
    )
    card = render_card(
        meta,
        test,
        risk,
        k,
        effort_aware={c.value: r.effort_aware.as_dict() for c, r in result.results.items()},
        choice=reasons,
    )
    saved = save_model(registry.folder(model_id), meta, _as_classifier(fitted.model), card)
    record_levels(saved, labelled, k)  # levels.json: cut points of its training changes
    if become_current:
        try:
            registry.set_current(model_id)
        except ModelError:
            # All or nothing: a model whose card says it became current, and did not,
            # would mislead; the next run trains it again.
            shutil.rmtree(saved.path, ignore_errors=True)
            raise
    return TrainReport(saved, result, registry.current_id(), challenger_auc, tuple(reasons))


def _as_classifier(model: object) -> RiskClassifier:
    if not isinstance(model, RiskClassifier):
        raise TypeError("the LightGBM contender must be a RiskClassifier")
    return model
