"""Generalisation: every quasi-identifier of the export as an ordered code, and how a
class of codes is written (``4..15``, ``2024-01..2024-03``, ``python|go``)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd

from teamlens.model.dataset import JIT_COMPATIBLE_COLUMNS, KAMEI_FEATURES, TEAMLENS_FEATURES

EXPORT_COLUMNS: tuple[str, ...] = (
    "repo",
    "period",
    *KAMEI_FEATURES,
    *TEAMLENS_FEATURES,
    *JIT_COMPATIBLE_COLUMNS,
    "language",
    "label",
)
#: Every exported column an attacker can recompute from the repository: all but the label.
QUASI_IDENTIFIERS: tuple[str, ...] = tuple(c for c in EXPORT_COLUMNS if c != "label")
#: What ``git log --numstat -M`` alone gives for a commit (the measured attacker's view).
ATTACKER_COLUMNS: tuple[str, ...] = (
    "repo",
    "period",
    "fix",
    "ns",
    "nd",
    "nf",
    "entropy",
    "la",
    "ld",
    "language",
)
_ENTROPY_COLUMNS = ("entropy", "jit_entropy")
_SHARE_COLUMNS = ("owner_share",)
_FLAG_COLUMNS = ("fix", "tests_touched")
_CATEGORY_COLUMNS = ("repo", "language")
#: Counts (and ``age`` in whole days) in logarithmic buckets: 0, 1, 2-3, 4-7, 8-15, ...
BUCKETED_COLUMNS: tuple[str, ...] = tuple(
    c
    for c in QUASI_IDENTIFIERS
    if c not in ("period", *_CATEGORY_COLUMNS, *_ENTROPY_COLUMNS, *_SHARE_COLUMNS, *_FLAG_COLUMNS)
)
#: Entropy (bits) and owner_share are rounded down to a multiple of these steps first.
ENTROPY_STEP = 0.5
SHARE_STEP = 0.25
_UNKNOWN = -1.0  # the code of a missing value (an unknown share, no language)


def bucket(value: float) -> float:
    """The lower bound of `value`'s bucket: 0, or the largest power of two <= value.

    Negative values mirror positive ones (-5 -> -4); NaN stays NaN.
    """
    if math.isnan(value):
        return value
    whole = math.floor(abs(value))
    if whole == 0:
        return 0.0
    bound = 1 << (whole.bit_length() - 1)
    return float(bound if value > 0 else -bound)


def _round_down(value: float, step: float) -> float:
    if math.isnan(value):
        return _UNKNOWN
    # Rounded first: the same entropy summed in another order must land in the same bucket.
    return math.floor(round(value, 9) / step) * step


def _month(times: pd.Series) -> npt.NDArray[np.float64]:
    stamps = pd.to_datetime(times.astype(np.int64), unit="s", utc=True)
    months = stamps.dt.year * 12 + stamps.dt.month - 1
    return np.asarray(months, dtype=np.float64)


def codes(
    frame: pd.DataFrame, columns: Sequence[str], categories: dict[str, dict[str, int]]
) -> npt.NDArray[np.float64]:
    """One row per change, one ordered code per column: what the export generalises.

    `frame` has ``time`` (unix seconds) for ``period``. `categories` maps the values of
    ``repo`` and ``language`` to codes; values it lacks are added.
    """
    out = np.empty((len(frame), len(columns)), dtype=np.float64)
    for j, column in enumerate(columns):
        if column == "period":
            out[:, j] = _month(frame["time"])
            continue
        values = frame[column]
        if column in _CATEGORY_COLUMNS:
            known = categories.setdefault(column, {})
            out[:, j] = [
                _UNKNOWN if v is None or v != v else known.setdefault(str(v), len(known))
                for v in values
            ]
        elif column in BUCKETED_COLUMNS:
            out[:, j] = [bucket(v) for v in values.astype(np.float64)]
        elif column in _ENTROPY_COLUMNS:
            out[:, j] = [_round_down(v, ENTROPY_STEP) for v in values.astype(np.float64)]
        elif column in _SHARE_COLUMNS:
            out[:, j] = [_round_down(v, SHARE_STEP) for v in values.astype(np.float64)]
        else:  # flags
            out[:, j] = (values.astype(np.float64) > 0).astype(np.float64)
    return out


def _label(month: int) -> str:
    return f"{month // 12}-{month % 12 + 1:02d}"


def _span(lo: str, hi: str) -> str:
    return lo if lo == hi else f"{lo}..{hi}"


def written(
    column: str, lo: float, hi: float, present: Sequence[float], categories: dict[str, int]
) -> str:
    """How a class's codes of `column` (from `lo` to `hi`; the distinct `present`) are written.

    Counts: inclusive ranges of values (``4..15``); entropy and shares: ``a..b`` means
    a <= value < b (a share of 1 included); periods: ``2024-01..2024-03``; categories:
    the values present, ``|``-separated. A missing share or language is ``unknown``.
    """
    if column == "period":
        return _span(_label(int(lo)), _label(int(hi)))
    if column in _CATEGORY_COLUMNS:
        names = {code: name for name, code in categories.items()}
        return "|".join(sorted(names.get(int(c), "unknown") for c in present))
    if column in BUCKETED_COLUMNS:
        top = hi * 2 - 1 if hi >= 1 else hi
        return _span(f"{lo:g}", f"{top:g}")
    if column in _FLAG_COLUMNS:
        return _span(f"{lo:g}", f"{hi:g}")
    step = ENTROPY_STEP if column in _ENTROPY_COLUMNS else SHARE_STEP
    parts = ["unknown"] if lo == _UNKNOWN else []
    real = [c for c in present if c != _UNKNOWN]
    if real:
        top = max(real) + step
        if column in _SHARE_COLUMNS:
            top = min(top, 1.0)
        parts.append(f"{min(real):g}..{top:g}")
    return "|".join(parts)
