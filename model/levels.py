"""Risk levels from a distribution of changes, and where a change's features stand in it.

A risk number says little on its own: one model's 0.2 is another's 0.6, and on one
repository nearly every change scores below 0.3. A level says where the change stands
among other changes scored by the same model:

* **high**: among the riskiest 10 % (:data:`HIGH_SHARE`),
* **medium**: among the riskiest 30 %, not the riskiest 10 % (the next :data:`MEDIUM_SHARE`),
* **low**: the rest.

A :class:`Reference` holds the two cut points and, per feature, the values at 1 %, 2 %,
..., 99 % of the same changes, which the reasons use to compare a change with the
typical one ("adds 1,622 lines, more than 98 % of this repository's recent changes").

Two kinds of reference exist. A repository's own (``model.reference``): its recent
non-merge changes in the store, scored by the model; a private figure, cached in the
data folder. And a model's training distribution, written beside the model as
``levels.json`` (:func:`record_levels`) for a repository that has no store yet, such
as a fresh user's first review with the shipped default model.

Only aggregates are kept: two score quantiles and 99 quantiles per feature over at
least :data:`MIN_CHANGES` changes (by at least k people, when the data knows its
people). No minimum, no maximum, no commit id, no per-change value.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from teamlens.errors import TeamlensError, write_failure

if TYPE_CHECKING:
    import pandas as pd

    from teamlens.model.dataset import JitData
    from teamlens.model.registry import ModelMeta, SavedModel

#: Share of the reference changes that are "high".
HIGH_SHARE = 0.10
#: Share of the reference changes that are "medium" (the next ones below the high).
MEDIUM_SHARE = 0.20
#: The fewest changes a reference is built from (a 10 % cut of fewer says nothing).
MIN_CHANGES = 50
#: The percentiles kept per feature: 1 %, 2 %, ..., 99 % (never the minimum or maximum).
PERCENTILES: tuple[int, ...] = tuple(range(1, 100))
#: A value between these percentiles of the reference is typical: a reason never speaks
#: of it as large or small (see :meth:`Reference.percent_below`).
TYPICAL: tuple[int, int] = (40, 60)
#: The file beside a model that holds its training distribution's reference.
LEVELS_FILE = "levels.json"
LEVELS_VERSION = 1


class LevelsError(TeamlensError):
    """A levels file is unreadable, malformed or cannot be written."""


class RiskLevel(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class LevelBasis(StrEnum):
    """What the levels and comparisons are relative to."""

    REPOSITORY = "repository"  # the repository's recent changes, scored by the model
    TRAINING = "training"  # the changes the model was trained on
    FIXED = "fixed"  # no distribution: the fixed thresholds review.medium and review.high


#: How each basis names its changes in a sentence.
POPULATION: Mapping[LevelBasis, str] = {
    LevelBasis.REPOSITORY: "this repository's recent changes",
    LevelBasis.TRAINING: "the changes the model was trained on",
    LevelBasis.FIXED: "",
}


def _percent(share: float) -> str:
    return f"{share * 100:.0f} %"


@dataclass(frozen=True)
class Reference:
    """Cut points of the risk and quantiles of the features over a set of changes.

    ``medium_from`` and ``high_from`` are the risks at 1 - :data:`HIGH_SHARE` -
    :data:`MEDIUM_SHARE` and 1 - :data:`HIGH_SHARE` of the changes (the lower empirical
    quantile, a value some change has); a risk strictly above a cut point is in the level
    above it. ``quantiles`` maps a feature to its values at :data:`PERCENTILES`.
    """

    basis: LevelBasis
    changes: int
    medium_from: float
    high_from: float
    quantiles: Mapping[str, tuple[float, ...]] = field(default_factory=dict)

    @property
    def population(self) -> str:
        return POPULATION[self.basis]

    def level(self, risk: float) -> RiskLevel:
        if risk > self.high_from:
            return RiskLevel.HIGH
        if risk > self.medium_from:
            return RiskLevel.MEDIUM
        return RiskLevel.LOW

    def meaning(self, level: RiskLevel) -> str:
        """What the level says, e.g. "among the riskiest 10 % of this repository's recent
        changes"."""
        return level_meaning(level, self.basis)

    def percent_below(self, feature: str, value: float) -> int | None:
        """For a value above the typical ones (above the 60th percentile, :data:`TYPICAL`):
        a p such that at least p % of the changes have a smaller value (the largest such
        percentile). None for a typical or small value, or when the feature has no
        quantiles."""
        grid = self.quantiles.get(feature)
        if not grid or math.isnan(value) or value <= grid[TYPICAL[1] - 1]:
            return None
        return max(p for p, q in zip(PERCENTILES, grid, strict=True) if q < value)

    def percent_above(self, feature: str, value: float) -> int | None:
        """For a value below the typical ones (below the 40th percentile): a p such that at
        least p % of the changes have a larger value. None for a typical or large value,
        or without quantiles."""
        grid = self.quantiles.get(feature)
        if not grid or math.isnan(value) or value >= grid[TYPICAL[0] - 1]:
            return None
        return 100 - min(p for p, q in zip(PERCENTILES, grid, strict=True) if q > value)

    def to_json(self) -> dict[str, Any]:
        return {
            "version": LEVELS_VERSION,
            "basis": self.basis.value,
            "changes": self.changes,
            "high_share": HIGH_SHARE,
            "medium_share": MEDIUM_SHARE,
            "medium_from": self.medium_from,
            "high_from": self.high_from,
            "percentiles": list(PERCENTILES),
            "quantiles": {f: list(q) for f, q in sorted(self.quantiles.items())},
        }

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> Reference:
        """Read what :meth:`to_json` wrote.

        Raises
        ------
        LevelsError
            Another version, other shares or percentiles, or a malformed field.
        """
        try:
            if doc["version"] != LEVELS_VERSION or list(doc["percentiles"]) != list(PERCENTILES):
                raise LevelsError("levels: another version or other percentiles")
            if (doc["high_share"], doc["medium_share"]) != (HIGH_SHARE, MEDIUM_SHARE):
                raise LevelsError("levels: cut at other shares")
            quantiles = {
                str(f): tuple(float(v) for v in q) for f, q in dict(doc["quantiles"]).items()
            }
            if any(len(q) != len(PERCENTILES) for q in quantiles.values()):
                raise LevelsError("levels: a feature has the wrong number of quantiles")
            return cls(
                basis=LevelBasis(doc["basis"]),
                changes=int(doc["changes"]),
                medium_from=float(doc["medium_from"]),
                high_from=float(doc["high_from"]),
                quantiles=quantiles,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise LevelsError(f"levels: missing or malformed field ({exc})") from exc


def level_meaning(level: RiskLevel, basis: LevelBasis) -> str:
    """The sentence that says what a level means against `basis`."""
    if basis is LevelBasis.FIXED:
        return {
            RiskLevel.HIGH: "the model's risk is at or above the configured high threshold "
            "(review.high); no distribution of changes to compare with yet",
            RiskLevel.MEDIUM: "the model's risk is at or above the configured medium threshold "
            "(review.medium); no distribution of changes to compare with yet",
            RiskLevel.LOW: "the model's risk is below the configured medium threshold "
            "(review.medium); no distribution of changes to compare with yet",
        }[level]
    population = POPULATION[basis]
    high, upper = _percent(HIGH_SHARE), _percent(HIGH_SHARE + MEDIUM_SHARE)
    return {
        RiskLevel.HIGH: f"among the riskiest {high} of {population}",
        RiskLevel.MEDIUM: f"among the riskiest {upper} of {population}, not the riskiest {high}",
        RiskLevel.LOW: f"not among the riskiest {upper} of {population}",
    }[level]


def feature_quantiles(values: npt.ArrayLike) -> tuple[float, ...] | None:
    """The values at :data:`PERCENTILES` of the finite values, or None for fewer than
    :data:`MIN_CHANGES` of them."""
    array = np.asarray(values, dtype=np.float64)
    array = array[np.isfinite(array)]
    if len(array) < MIN_CHANGES:
        return None
    grid = np.quantile(array, np.asarray(PERCENTILES) / 100, method="inverted_cdf")
    return tuple(float(v) + 0.0 for v in grid)


def build_reference(
    basis: LevelBasis, risks: npt.ArrayLike, features: pd.DataFrame
) -> Reference | None:
    """A reference from the model's risks of some changes and their features (one row per
    change, one column per model feature); None for fewer than :data:`MIN_CHANGES`."""
    scores = np.asarray(risks, dtype=np.float64)
    scores = scores[np.isfinite(scores)]
    if len(scores) < MIN_CHANGES:
        return None
    medium, high = np.quantile(
        scores, [1 - HIGH_SHARE - MEDIUM_SHARE, 1 - HIGH_SHARE], method="inverted_cdf"
    )
    quantiles = {
        str(name): grid
        for name in features.columns
        if (grid := feature_quantiles(features[name])) is not None
    }
    return Reference(basis, len(scores), float(medium), float(high), quantiles)


def model_frame(meta: ModelMeta, frame: pd.DataFrame) -> pd.DataFrame:
    """The model's features from `frame`: each from the column the model names for it,
    else from a column of the feature's own name, else unknown (NaN)."""
    import pandas as pd  # slow to import: a review of one change never needs it

    columns: dict[str, pd.Series] = {}
    for feature in meta.features:
        column = meta.columns.get(feature, feature)
        source = column if column in frame.columns else feature
        if source in frame.columns:
            columns[feature] = pd.to_numeric(frame[source], errors="coerce").astype(np.float64)
        else:
            columns[feature] = pd.Series(np.nan, index=frame.index, dtype=np.float64)
    return pd.DataFrame(columns, index=frame.index).reset_index(drop=True)


def distinct_people(frame: pd.DataFrame) -> int | None:
    """How many people stand behind the rows (the private ``people`` column), or None
    when the data does not say (a public dataset)."""
    if "people" not in frame.columns:
        return None
    return int(frame["people"].dropna().nunique())


def record_levels(model: SavedModel, data: JitData, k: int) -> Reference | None:
    """Write the reference of `data` (the changes `model` was trained on) as
    ``levels.json`` in the model's folder; returns it, or None when the data has fewer
    than :data:`MIN_CHANGES` changes or (when it knows its people) fewer than `k` people:
    then no file is written and reviews fall back to review.medium and review.high.

    Raises
    ------
    LevelsError
        The file could not be written.
    """
    people = distinct_people(data.frame)
    if len(data) < MIN_CHANGES or (people is not None and people < k):
        return None
    x = model_frame(model.meta, data.frame)
    risks = model.classifier.predict_proba(x)[:, 1]
    reference = build_reference(LevelBasis.TRAINING, risks, x)
    if reference is not None:
        write_reference(model.path / LEVELS_FILE, reference)
    return reference


def write_reference(path: Path, reference: Reference) -> None:
    """Write a reference as JSON, atomically and readable by its owner only."""
    write_private_json(path, reference.to_json())


def write_private_json(path: Path, doc: Mapping[str, Any]) -> None:
    """Write `doc` as JSON to `path` atomically (a temporary file, then a rename), mode
    0600 in a folder created 0700.

    Raises
    ------
    LevelsError
        The file could not be written (nothing is left behind).
    """
    text = json.dumps(doc, indent=1, sort_keys=True) + "\n"
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise LevelsError(f"levels not saved: {write_failure(exc, path)}") from exc


def read_reference(path: Path) -> Reference | None:
    """The reference in `path`; None when there is no such file.

    Raises
    ------
    LevelsError
        The file is not valid JSON or not a reference of this version.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise LevelsError(f"{path}: cannot read ({exc.strerror})") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LevelsError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise LevelsError(f"{path}: not a levels file")
    try:
        return Reference.from_json(doc)
    except LevelsError as exc:
        raise LevelsError(f"{path}: {exc}") from None


def training_reference(model: SavedModel) -> Reference | None:
    """The training distribution's reference recorded beside `model`, if any.

    Raises
    ------
    LevelsError
        The model's levels.json is unreadable or malformed.
    """
    return read_reference(model.path / LEVELS_FILE)
