"""`teamlens review`: risk, level, reasons and suggestions for one change.

The risk comes from the current model (the shipped default until a trained model wins,
docs/evaluation.md), reading the change's features by the columns the model names. The
level says where that risk stands among other changes scored by the same model
(model.levels): the repository's own recent changes when it has a store
(model.reference), else the changes the model was trained on, else the fixed thresholds
``review.medium`` and ``review.high``. The reasons are the model's feature contributions
compared with the same changes (model.explain); the suggestions come from the rules
(bot.rules) and from past review comments on similar code (bot.similar), when GitHub
data was mined.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

from teamlens.bot.change import compute_change
from teamlens.bot.domain import (
    ChangeUnderReview,
    Level,
    NothingToReview,
    ReviewResult,
    Suggestion,
)
from teamlens.bot.rules import suggest
from teamlens.config import Config, ReviewConfig
from teamlens.model.explain import explain
from teamlens.model.levels import LevelBasis, Reference, RiskLevel, level_meaning
from teamlens.model.reference import reference_for
from teamlens.model.registry import Registry, SavedModel


def level_of(risk: float, review: ReviewConfig) -> Level:
    """The level by the fixed thresholds of repos.yaml (when no distribution is known)."""
    if risk >= review.high:
        return Level.HIGH
    if risk >= review.medium:
        return Level.MEDIUM
    return Level.LOW


def level_and_meaning(
    risk: float, reference: Reference | None, review: ReviewConfig
) -> tuple[Level, str]:
    """The level of `risk` against `reference` (else the fixed thresholds), and what it
    means in a sentence."""
    if reference is None:
        level = level_of(risk, review)
        return level, level_meaning(RiskLevel(level.value), LevelBasis.FIXED)
    found = reference.level(risk)
    return Level(found.value), reference.meaning(found)


def model_values(model: SavedModel, change: ChangeUnderReview) -> dict[str, float]:
    """The model's features by name, read from the change's columns (missing: NaN)."""
    return {
        feature: float(change.features.get(model.meta.columns.get(feature, feature), math.nan))
        for feature in model.meta.features
    }


def assess(
    config: Config,
    change: ChangeUnderReview,
    model: SavedModel | None = None,
    extra: Sequence[Suggestion] = (),
    timings: dict[str, float] | None = None,
) -> ReviewResult:
    """Score and explain `change`, and run the suggestion rules on it."""
    started = time.perf_counter()
    model = model or Registry.for_data_dir(config.data_dir).current()
    row = model_values(model, change)  # one change: scored without pandas
    risk = model.classifier.risk_of(row)
    reference = reference_for(config.data_dir, model, change.repo, config.privacy.k)
    level, meaning = level_and_meaning(risk, reference, config.review)
    found = explain(
        model.classifier,
        row,
        reference,
        model.meta.columns,
        facts=change.features,
        unknown=change.unavailable,
    )
    reasons = tuple(r.sentence for r in found)
    if timings is not None:
        timings["model"] = timings.get("model", 0.0) + time.perf_counter() - started
    review = config.review
    suggestions = suggest(
        change, review.rules, review.disabled_rules, extra, review.enabled_rules, review.ignore
    )
    from teamlens.bot.lines import line_suggestions, risky_lines_for

    started = time.perf_counter()
    lines = risky_lines_for(config, change, level)  # medium and high risk only
    if timings is not None and lines:
        timings["lines"] = timings.get("lines", 0.0) + time.perf_counter() - started
    return ReviewResult(
        change, risk, level, reasons, (*suggestions, *line_suggestions(lines)),
        model.model_id, meaning, risky_lines=lines,
    )  # fmt: skip


def review_local(
    config: Config,
    repo_name: str | None,
    base: str,
    head: str,
    model: SavedModel | None = None,
    timings: dict[str, float] | None = None,
) -> ReviewResult:
    """Review the change base...head of a configured repository."""
    change = _local_change(config, repo_name, base, head, timings)
    return _assess_local(config, change, model, timings)


def review_local_or_nothing(
    config: Config,
    repo_name: str | None,
    base: str,
    head: str,
    model: SavedModel | None = None,
    timings: dict[str, float] | None = None,
) -> ReviewResult | NothingToReview:
    """Like :func:`review_local`, but a change with no commits between the merge base and
    head, or with an empty diff, is not scored: :class:`NothingToReview`."""
    change = _local_change(config, repo_name, base, head, timings)
    if not change.files:
        return NothingToReview(change.repo, change.base, change.head)
    return _assess_local(config, change, model, timings)


def _local_change(
    config: Config,
    repo_name: str | None,
    base: str,
    head: str,
    timings: dict[str, float] | None,
) -> ChangeUnderReview:
    repo = config.repository(repo_name) if repo_name else config.repositories[0]
    return compute_change(config, repo, base, head, timings)


def _assess_local(
    config: Config,
    change: ChangeUnderReview,
    model: SavedModel | None,
    timings: dict[str, float] | None,
) -> ReviewResult:
    from teamlens.bot.similar_comments import similar_suggestions

    return assess(config, change, model, similar_suggestions(config, change), timings)
