"""Reading written cells back: what a cell of changes.csv says about its change."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from teamlens.model.export.generalise import (
    _CATEGORY_COLUMNS,
    _ENTROPY_COLUMNS,
    _FLAG_COLUMNS,
    _SHARE_COLUMNS,
    ATTACKER_COLUMNS,
    BUCKETED_COLUMNS,
    bucket,
)

_UNKNOWN_TEXT = "unknown"
_DAY_SECONDS = 86_400


@dataclass(frozen=True)
class Range:
    """What one cell of changes.csv says about a change's value.

    Ordered columns: ``low <= value <= high`` (``value < high`` when `open_high`), or a
    missing value when `missing`; entropy and shares are compared rounded to 9 digits, as
    :func:`codes` rounds them. Periods are in unix seconds (commit time, UTC). Categories:
    the value is one of `names`, or missing when `missing`. ``Range()`` says nothing.
    """

    low: float = -math.inf
    high: float = math.inf
    open_high: bool = False
    missing: bool = False
    names: frozenset[str] | None = None

    def holds(self, values: Sequence[object] | pd.Series) -> npt.NDArray[np.bool_]:
        """Which of `values` (raw values as git shows them: seconds, counts, names, None
        or NaN for missing) the cell is consistent with."""
        if self.names is not None:
            seen = pd.Series(list(values), dtype=object)
            missing = seen.isna().to_numpy()
            named = seen.map(str).isin(self.names).to_numpy()
            return np.asarray(np.where(missing, self.missing, named), dtype=np.bool_)
        x = np.round(np.asarray(values, dtype=np.float64), 9)
        with np.errstate(invalid="ignore"):
            inside = (x >= self.low) & ((x < self.high) if self.open_high else (x <= self.high))
        return np.asarray(np.where(np.isnan(x), self.missing, inside), dtype=np.bool_)


def _month_start(label: str) -> tuple[float, float]:
    """[start, end) in unix seconds of a month ``2024-01`` or a day ``2024-01-15``."""
    parts = [int(p) for p in label.split("-")]
    if len(parts) == 3:
        start = pd.Timestamp(year=parts[0], month=parts[1], day=parts[2], tz="UTC")
        return start.timestamp(), start.timestamp() + _DAY_SECONDS
    if len(parts) != 2 or not 1 <= parts[1] <= 12:
        raise ValueError(label)
    start = pd.Timestamp(year=parts[0], month=parts[1], day=1, tz="UTC")
    return start.timestamp(), (start + pd.offsets.MonthBegin(1)).timestamp()


def _bound(text: str, top: bool) -> float:
    """A count as :func:`written` writes it: ``%g`` loses digits from a million on, so an
    exponent form snaps back to the bucket bound it was (2^n low, 2^n - 1 top)."""
    value = float(text)
    if "e" in text.lower() and abs(value) >= 1:
        shift = 1.0 if top and value > 0 else 0.0
        power = 2.0 ** round(math.log2(abs(value) + shift))
        value = math.copysign(power - shift, value)
    return value


def _bucket_low(value: float) -> float:
    """The smallest value of the bucket a written low bound names (negatives mirror: the
    bucket -4 holds -7..-4); a value that is no bucket bound stands for itself."""
    if value < 0 and bucket(value) == value:
        return 2 * value + 1
    return value


def read_range(column: str, text: str) -> Range:
    """The inverse of :func:`written`: what the cell `text` of `column` says about a change.

    Every text :func:`written` produces is read as the set of values whose code lies in
    the class's range (periods: the months, counts: the buckets, entropy and shares: the
    steps, categories: the names). Exact values, as exports wrote them before ranges (a
    day ``2024-01-15``, a count ``37``, an entropy ``1.25``), are read as themselves. An
    empty cell says nothing.

    Raises
    ------
    ValueError
        `text` is no value or range of `column`.
    """
    text = text.strip()
    if not text:
        return Range()
    if column in _CATEGORY_COLUMNS:
        names = set(text.split("|"))
        missing = _UNKNOWN_TEXT in names
        return Range(missing=missing, names=frozenset(names - {_UNKNOWN_TEXT}))
    low_text, dots, high_text = text.partition("..")
    if column == "period":
        start, end = _month_start(low_text)
        if dots:
            end = _month_start(high_text)[1]
        return Range(start, end, open_high=True)
    if column in BUCKETED_COLUMNS or column in _FLAG_COLUMNS:
        low = _bucket_low(_bound(low_text, top=False))
        high = _bound(high_text, top=True) if dots else _bound(low_text, top=False)
        if not low <= high:  # NaN too
            raise ValueError(text)
        return Range(low, high)
    if column not in (*_ENTROPY_COLUMNS, *_SHARE_COLUMNS):
        raise ValueError(f"{column}: not an exported column")
    parts = text.split("|")
    missing = _UNKNOWN_TEXT in parts
    real = [p for p in parts if p != _UNKNOWN_TEXT]
    if len(real) > 1:
        raise ValueError(text)
    if not real:
        return Range(math.inf, -math.inf, missing=True)  # only a missing value
    low_text, dots, high_text = real[0].partition("..")
    low = float(low_text)
    if math.isnan(low):
        raise ValueError(text)
    if not dots:  # an exact value, to the digits it was written with
        decimals = len(low_text.partition(".")[2]) if "e" not in low_text.lower() else 9
        slack = 0.5 * 10.0**-decimals
        return Range(low - slack, low + slack, missing=missing)
    high = float(high_text)
    if not low <= high:  # NaN too
        raise ValueError(text)
    # Shares: "a..1" includes a share of 1 (written caps the top at 1).
    open_high = not (column in _SHARE_COLUMNS and high == 1.0)
    return Range(low, high, open_high=open_high, missing=missing)


def read_ranges(
    row: Mapping[str, str], columns: Sequence[str] = ATTACKER_COLUMNS
) -> dict[str, Range]:
    """:func:`read_range` of each of `columns` in a row of changes.csv (read as text)."""
    return {column: read_range(column, row.get(column, "")) for column in columns}
