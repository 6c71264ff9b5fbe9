"""Scoring a Kamei-format CSV with a saved model, and saying which features were used.

``teamlens score --dataset CSV --model ID`` reads ``_id`` and the model's features from
the CSV (``entrophy`` is read as ``entropy``, as in :func:`model.dataset.load_kamei_csv`)
and writes one row per change: ``_id`` and the model's calibrated ``risk``. A feature
the model needs and the CSV lacks is an error naming it; a cell that is not a number
is an error naming the column and the file line. An empty cell is a missing value, as
the store has them (``owner_share`` of files without history): the model fills it
(LightGBM's missing-value branch, logistic regression's training median), and the
command says how many there were per column. Other columns are ignored.

The CSV is the user's own data (e.g. a public JIT dataset): its ids are not commits of
the store, and nothing of the store is read.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from teamlens.model.dataset import KAMEI_FEATURES, DatasetError, JitData
from teamlens.model.registry import SavedModel


def missing_features(data: JitData) -> tuple[str, ...]:
    """Kamei features a public dataset lacks (trained and evaluated without them)."""
    if not data.source.startswith("dataset:"):
        return ()
    return tuple(f for f in KAMEI_FEATURES if f not in data.features)


def features_line(used: tuple[str, ...], missing: tuple[str, ...], what: str) -> str:
    """``features used (7): ns, nd, ...; missing from the CSV: ndev (...)``."""
    line = f"features used ({len(used)}): {', '.join(used) or 'none'}"
    if missing:
        line += f"; missing from the data, so {what} without them: {', '.join(missing)}"
    return line


@dataclass(frozen=True)
class Scores:
    """A model's risk for each row of a CSV."""

    ids: tuple[str, ...]
    risk: npt.NDArray[np.float64]
    features: tuple[str, ...]  # the model's features, all read from the CSV
    ignored: tuple[str, ...]  # CSV columns the model does not read
    empty: dict[str, int]  # feature -> empty cells, scored as missing values

    def to_csv(self) -> str:
        frame = pd.DataFrame({"_id": list(self.ids), "risk": self.risk})
        buffer = io.StringIO()
        frame.to_csv(buffer, index=False, float_format="%.6f")
        return buffer.getvalue()


def read_scoring_csv(path: Path) -> pd.DataFrame:
    """The CSV as text cells, `entrophy` renamed; one-line errors for unreadable files."""
    if not path.is_file():
        raise DatasetError(f"{path}: no such file")
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise DatasetError(f"{path}: not a readable CSV file ({exc})") from exc
    if raw.empty:
        raise DatasetError(f"{path}: no rows")
    return raw.rename(columns={"entrophy": "entropy"})


def score_csv(model: SavedModel, path: Path) -> Scores:
    """Score every row of the Kamei-format CSV at `path` with `model`.

    Raises
    ------
    DatasetError
        The file is missing or unreadable, has no rows, lacks ``_id`` or a feature the
        model needs, or a cell of one is empty or not a number (column and line named).
    """
    raw = read_scoring_csv(path)
    if "_id" not in raw.columns:
        raise DatasetError(f"{path}: missing column _id (one id per change)")
    features = tuple(model.meta.features)
    lacking = [f for f in features if f not in raw.columns]
    if lacking:
        raise DatasetError(
            f"{path}: model {model.model_id} needs feature column(s) the CSV lacks: "
            f"{', '.join(lacking)} (it reads {', '.join(features)})"
        )
    x = pd.DataFrame({name: _optional_numbers(path, raw, name) for name in features})
    risk = np.asarray(model.classifier.predict_proba(x)[:, 1], dtype=np.float64)
    ignored = tuple(c for c in raw.columns if c not in features and c != "_id")
    empty = {name: int(x[name].isna().sum()) for name in features if x[name].isna().any()}
    return Scores(tuple(raw["_id"].astype(str)), risk, features, ignored, empty)


def _optional_numbers(path: Path, raw: pd.DataFrame, name: str) -> pd.Series:
    """A feature column as floats, empty cells NaN; any other non-number is an error."""
    values = pd.to_numeric(raw[name], errors="coerce").astype(np.float64)
    given = raw[name].notna().to_numpy()
    bad = given & ~np.isfinite(values.to_numpy(dtype=np.float64, na_value=np.nan))
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise DatasetError(
            f"{path}: column {name} on line {first + 2} is "
            f"{str(raw[name].iloc[first])[:40]!r}, not a number ({int(bad.sum())} such row(s))"
        )
    return values
