"""Why a change looks risky, in sentences a reader can act on.

A model splits each prediction into per-feature contributions in log-odds (for
LightGBM ``pred_contrib``, the trees' SHAP values; for a logistic model coefficient
times standardised value): any object with a ``contributions(frame)`` method that
returns one column per feature plus ``bias`` (:class:`Contributor`). The features that
raise the risk the most become sentences, built from the feature registry's templates
(teamlens.feature_registry) and compared with the typical change of a
:class:`~teamlens.model.levels.Reference`: "adds 1,622 lines, more than 98 % of this
repository's recent changes".

A feature becomes a reason only when the reason is true and usable:

* its value is known (a feature the review could not compute is never a reason) and
  finite; numbers are written without a sign on zero;
* it is not a by-product of formatting: blank and comment-only line counts and the
  count of parsed files are never reasons (:data:`NEVER_REASONS`);
* it is about something the change has: nothing about "the changed functions" when it
  changes none, nothing about team shares when no team owns its files
  (:data:`REQUIRES`), no age of 0 days (which means new files, not recent ones);
* its value lies on the side that the sentence calls risky, beyond the typical values
  of the reference (between its 40th and 60th percentiles, never a reason): a count
  above them ("more than p %"), a share or an age on the side named by
  :data:`DIRECTIONS`, a yes/no feature in its risky state (:data:`RISKY_FLAG`). A
  contribution that raises the risk while the value is typical or below is dropped,
  so that a small number never reads as a large one. Without a reference, a count
  must at least be above zero and the sentence carries no comparison;
* one sentence where two say the same ("adds 364 lines" and "adds 364 lines in new
  files": :data:`OVERLAPS`), and files and directories in one;
* at most three, strongest first.

Sentences speak of the change and its files only, never of a person.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

from teamlens.feature_registry import BY_NAME
from teamlens.model.levels import Reference

if TYPE_CHECKING:
    import pandas as pd

#: Features that are never a reason: layout and tool artefacts a reader cannot act on.
NEVER_REASONS: frozenset[str] = frozenset(
    {"comment_lines_added", "whitespace_lines_added", "code_metrics_files"}
)


class Direction(StrEnum):
    """Which values of a feature a risk-raising sentence may speak of."""

    HIGH = "high"  # above the typical change (counts, sizes)
    LOW = "low"  # below the typical change
    EITHER = "either"  # either side; the comparison says which


#: Features whose concerning side is not "more". Every other numeric feature is HIGH.
DIRECTIONS: Mapping[str, Direction] = {
    "owner_share": Direction.LOW,
    "age": Direction.EITHER,
    "functions_age": Direction.EITHER,
}
#: Features that speak of something only some changes have: the feature that must be
#: above zero for the sentence to be about anything.
REQUIRES: Mapping[str, str] = {
    "functions_age": "functions_changed",
    "functions_prior_changes": "functions_changed",
    "functions_prior_fixes": "functions_changed",
    "complexity_before": "functions_changed",
    "complexity_after": "functions_changed",
    "largest_function_complexity": "functions_changed",
    "max_complexity_increase": "functions_changed",
    "owner_share": "n_teams",
}
#: A general feature and a more specific one that say the same when their values are
#: equal ("adds 364 lines" and "adds 364 lines in new files"): then only the specific
#: sentence is told, with both contributions.
OVERLAPS: tuple[tuple[str, str], ...] = (("la", "la_new_files"), ("nf", "files_added"))
#: Features whose value 0 means "new" rather than "small": never a reason at 0.
ZERO_MEANS_NEW: frozenset[str] = frozenset({"age", "functions_age"})
#: Yes/no features and the value a risk-raising sentence may speak of.
RISKY_FLAG: Mapping[str, float] = {"fix": 1.0, "tests_touched": 0.0}
#: How the comparison reads for a value above / below the typical change.
_MORE, _LESS = "more than", "less than"
_COMPARE: Mapping[str, tuple[str, str]] = {
    "owner_share": ("a higher share than in", "a lower share than in"),
    "age": ("longer ago than for", "more recently than for"),
    "functions_age": ("longer ago than for", "more recently than for"),
}


class Contributor(Protocol):
    """A model that splits its log-odds per feature."""

    def contributions(self, x: pd.DataFrame) -> pd.DataFrame:
        """One column per feature plus ``bias``, one row per change, in log-odds."""
        ...


@dataclass(frozen=True)
class Reason:
    """One feature's push on a change's risk, and how it reads."""

    feature: str
    value: float
    contribution: float  # log-odds; positive raises the risk
    sentence: str
    #: Where the value stands in the reference: "more than `percent` %" (above the
    #: typical values) or "less than" (below); None without a comparison.
    percent: int | None = None


def clean_number(value: float) -> float:
    """`value` without a negative zero (-0.0 and tiny negative rounding noise read 0)."""
    return 0.0 if abs(value) < 1e-9 else value + 0.0


def describe(column: str, value: float) -> str:
    """The registry's sentence for one value of the feature stored in `column`."""
    spec = BY_NAME.get(column)
    number = clean_number(value)
    if spec is None:
        return f"{column} is {number:g}"
    return spec.describe(number)


def _files_in_directories(nf: float, nd: float) -> str:
    files = "1 file" if round(nf) == 1 else f"{nf:,.0f} files"
    dirs = "1 directory" if round(nd) == 1 else f"{nd:,.0f} directories"
    return f"touches {files} in {dirs}"


def _comparison(
    column: str, feature: str, value: float, reference: Reference | None
) -> tuple[bool, int | None, str]:
    """(usable, percent, suffix) for a numeric feature's value."""
    direction = DIRECTIONS.get(column, Direction.HIGH)
    more, less = _COMPARE.get(column, (_MORE, _LESS))
    if reference is None or feature not in reference.quantiles:
        # No distribution to compare with: only a count above zero can be a reason.
        return (direction is not Direction.LOW and value > 0, None, "")
    population = reference.population
    above = reference.percent_below(feature, value)
    if above is not None and direction is not Direction.LOW:
        return True, above, f", {more} {above} % of {population}"
    below = reference.percent_above(feature, value)
    if below is not None and direction is not Direction.HIGH:
        return True, below, f", {less} {below} % of {population}"
    return False, None, ""


def _about_nothing(column: str, value: float, facts: Mapping[str, float]) -> bool:
    """Whether the sentence would speak of something the change does not have."""
    if column in ZERO_MEANS_NEW and value <= 0:
        return True
    needed = REQUIRES.get(column)
    if needed is None or needed not in facts:
        return False
    have = float(facts[needed])
    return not math.isnan(have) and have <= 0


def explain(
    model: Contributor,
    row: pd.DataFrame | Mapping[str, float],
    reference: Reference | None = None,
    columns: Mapping[str, str] | None = None,
    top: int = 3,
    facts: Mapping[str, float] | None = None,
    unknown: Collection[str] = (),
) -> list[Reason]:
    """The (at most `top`) usable reasons that raise this one change's risk the most.

    `row` is a one-row frame with the model's features, or the features by name;
    `columns` maps a feature to the
    store column it reads (whose registry entry words the sentence; by default the
    feature's own name); `reference` is the distribution the values are compared with;
    `facts` are all the change's features by column (the model may read fewer), for
    :data:`REQUIRES`; `unknown` names the columns the review could not compute (never a
    reason, whatever value stands in for them). Files and directories are told together
    ("touches 14 files in 5 directories") when both raise the risk.
    """
    if isinstance(row, Mapping):
        values = {str(f): float(v) for f, v in row.items()}
        # A model scorer splits one change without pandas (model.scorer.RiskScorer).
        one = getattr(model, "contributions_of", None)
        if one is not None:
            pushes = {str(f): float(v) for f, v in one(values).items()}
        else:
            import pandas as pd

            frame = pd.DataFrame([values], columns=list(values))
            pushes = {str(f): float(v) for f, v in model.contributions(frame).iloc[0].items()}
    else:
        if len(row) != 1:
            raise ValueError(f"explain() takes one change, got {len(row)} rows")
        values = {str(f): float(v) for f, v in row.iloc[0].items()}
        pushes = {str(f): float(v) for f, v in model.contributions(row).iloc[0].items()}
    pushes.pop("bias", None)
    # strongest first; equal pushes in the model's feature order
    raising = sorted(((f, p) for f, p in pushes.items() if p > 0), key=lambda fp: -fp[1])
    names = columns or {}
    known = {names.get(str(f), str(f)): float(v) for f, v in values.items()}
    known.update(facts or {})
    candidates: list[Reason] = []
    for feature, push in raising:
        column = names.get(feature, feature)
        value = float(values[feature])
        if column in NEVER_REASONS or column in unknown or not math.isfinite(value):
            continue
        if _about_nothing(column, value, known):
            continue
        if column in RISKY_FLAG:
            if value == RISKY_FLAG[column]:
                candidates.append(Reason(feature, value, float(push), describe(column, value)))
            continue
        usable, percent, suffix = _comparison(column, feature, value, reference)
        if usable:
            text = describe(column, value) + suffix
            candidates.append(Reason(feature, value, float(push), text, percent))
    return _joined(_merged(candidates, names), names, values)[:top]


def _merged(candidates: list[Reason], columns: Mapping[str, str]) -> list[Reason]:
    """:data:`OVERLAPS`: one sentence where a general and a specific one say the same."""
    for general, specific in OVERLAPS:
        by_column = {columns.get(r.feature, r.feature): r for r in candidates}
        wide, narrow = by_column.get(general), by_column.get(specific)
        if wide is None or narrow is None or wide.value != narrow.value:
            continue
        both = replace(narrow, contribution=wide.contribution + narrow.contribution)
        candidates = [both if r is narrow else r for r in candidates if r is not wide]
    return candidates


def _joined(
    candidates: list[Reason], columns: Mapping[str, str], values: Mapping[str, float]
) -> list[Reason]:
    """Files and directories in one sentence when both are reasons; strongest first."""
    by_column = {columns.get(r.feature, r.feature): r for r in candidates}
    files, dirs = by_column.get("nf"), by_column.get("nd")
    if files is not None and dirs is not None:
        nd = float(values[dirs.feature])
        suffix = files.sentence[len(describe("nf", files.value)) :]
        together = Reason(
            files.feature,
            files.value,
            files.contribution + dirs.contribution,
            _files_in_directories(files.value, nd) + suffix,
            files.percent,
        )
        candidates = [together if r is files else r for r in candidates if r is not dirs]
    return sorted(candidates, key=lambda r: -r.contribution)
