"""The line model: how likely a later fix is to touch an added line of code.

A logistic regression on sixteen facts of the line, its function and its file
(:data:`LINE_FEATURES`), trained on SZZ's line-level ground truth (mining.szz_lines: the
added lines of a change that a fix within the label window deleted or changed) of the
corpus's defect-inducing changes, never on the held-out repositories. Lines are ranked
within one change, so only the order of the scores matters, and the model is fitted on
what sets a line apart from the other lines of its change (:func:`fit_line_model`). The
shipped model (``default/lines.json``, about 1 KB, rebuilt by
``scripts/build_line_model.py``) is read on first use only: a review that points at no
line never loads it.

What the facts are (features.code_metrics.line_facts): where the line sits (inside a
function, how complex that function is after the change and how much more complex than
before, a new function, how deeply nested), what starts on it (decision points, calls,
returns and raises, exception handlers), how big it is (code tokens, words new to the
file) and the history the change continues (changes and fixes of the function before,
fixes of the file in the last 90 days), and whether the file is test code.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from teamlens.errors import TeamlensError
from teamlens.features.lines import ChangeLine

#: The shipped line model, beside the default change model.
DEFAULT_LINE_MODEL = Path(__file__).resolve().parent / "default" / "lines.json"

LINE_FEATURES = (
    "in_function",
    "complexity",  # log(1 + the function's complexity after the change)
    "new_function",
    "complexity_growth",  # log(1 + growth of the function's complexity), 0 when none
    "nesting",
    "decisions",
    "calls",
    "exits",
    "handlers",
    "tokens",  # log(1 + code tokens on the line)
    "new_words",  # log(1 + words new to the file)
    "function_prior_changes",  # log(1 + ...)
    "function_prior_fixes",  # log(1 + ...)
    "file_recent_fixes",  # log(1 + fix commits on the file in the 90 days before)
    "file_lines_added",  # log(1 + added lines of code in the file)
    "is_test",
)


class LineModelError(TeamlensError):
    "The line model file is missing or malformed"


@dataclass(frozen=True)
class LineHistory:
    """What the change continues, for one line: its function's and its file's past."""

    function_prior_changes: int = 0
    function_prior_fixes: int = 0
    file_recent_fixes: int = 0


def line_vector(line: ChangeLine, history: LineHistory) -> list[float]:
    """The values of :data:`LINE_FEATURES` for one line."""
    f = line.facts
    inside = f.function is not None
    after = f.complexity or 0
    growth = max(after - f.complexity_before, 0) if f.complexity_before is not None else 0
    return [
        float(inside),
        math.log1p(after),
        float(inside and f.complexity_before is None),
        math.log1p(growth),
        float(min(f.nesting, 8)),
        float(min(f.decisions, 4)),
        float(min(f.calls, 4)),
        float(min(f.exits, 2)),
        float(min(f.handlers, 2)),
        math.log1p(f.tokens),
        math.log1p(f.new_words),
        math.log1p(history.function_prior_changes),
        math.log1p(history.function_prior_fixes),
        math.log1p(history.file_recent_fixes),
        math.log1p(line.file_lines_added),
        float(line.is_test),
    ]


@dataclass(frozen=True)
class LineModel:
    """Standardised logistic regression over :data:`LINE_FEATURES`."""

    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float
    trained_on: tuple[str, ...] = ()  # the corpus repositories (public project names)
    lines: int = 0  # training lines
    fixed: int = 0  # of which a later fix touched

    def scores(self, rows: Sequence[Sequence[float]] | np.ndarray) -> np.ndarray:
        """Log-odds per row (rows of :func:`line_vector`)."""
        x = np.asarray(rows, dtype=np.float64).reshape(-1, len(self.features))
        z = (x - np.asarray(self.mean)) / np.asarray(self.scale)
        return np.asarray(z @ np.asarray(self.coef) + self.intercept, dtype=np.float64)

    def as_json(self) -> dict[str, object]:
        return {
            "kind": "logistic",
            "features": list(self.features),
            "mean": [round(v, 6) for v in self.mean],
            "scale": [round(v, 6) for v in self.scale],
            "coef": [round(v, 6) for v in self.coef],
            "intercept": round(self.intercept, 6),
            "trained_on": list(self.trained_on),
            "lines": self.lines,
            "fixed": self.fixed,
        }

    @classmethod
    def from_json(cls, data: object) -> LineModel:
        try:
            assert isinstance(data, dict)
            model = cls(
                features=tuple(str(v) for v in data["features"]),
                mean=tuple(float(v) for v in data["mean"]),
                scale=tuple(float(v) for v in data["scale"]),
                coef=tuple(float(v) for v in data["coef"]),
                intercept=float(data["intercept"]),
                trained_on=tuple(str(v) for v in data.get("trained_on", ())),
                lines=int(data.get("lines", 0)),
                fixed=int(data.get("fixed", 0)),
            )
        except (AssertionError, KeyError, TypeError, ValueError) as exc:
            raise LineModelError(f"not a line model: {exc}") from None
        if model.features != LINE_FEATURES or not (
            len(model.mean) == len(model.scale) == len(model.coef) == len(LINE_FEATURES)
        ):
            raise LineModelError("the line model's features are not this version's")
        return model

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.as_json(), indent=1) + "\n", encoding="utf-8")


def fit_line_model(
    rows: np.ndarray,
    fixed: np.ndarray,
    changes: Sequence[str],
    repos: Sequence[str] = (),
    c: float = 1.0,
) -> LineModel:
    """Fit the line model to rows of :func:`line_vector`, whether a fix touched each line,
    and the change each line belongs to.

    The lines are ranked within their change, so the model learns what sets a line apart
    from the other lines of its change: every feature is centred on its change's mean
    before fitting (a change's size or history, the same for all its lines, teaches
    nothing about which of them). Classes are weighted to balance. Scoring needs no
    centring: subtracting a change's means shifts all its scores alike.
    """
    from sklearn.linear_model import LogisticRegression

    x = np.asarray(rows, dtype=np.float64)
    y = np.asarray(fixed, dtype=np.int64)
    _, group = np.unique(np.asarray(changes), return_inverse=True)
    counts = np.bincount(group)
    means = np.column_stack(
        [np.bincount(group, weights=x[:, j]) / counts for j in range(x.shape[1])]
    )
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale == 0] = 1.0
    fitted = LogisticRegression(C=c, max_iter=2000, class_weight="balanced").fit(
        (x - means[group]) / scale, y
    )
    return LineModel(
        LINE_FEATURES,
        tuple(float(v) for v in mean),
        tuple(float(v) for v in scale),
        tuple(float(v) for v in fitted.coef_[0]),
        float(fitted.intercept_[0]),
        tuple(sorted(set(repos))),
        len(y),
        int(y.sum()),
    )


@functools.cache
def default_line_model() -> LineModel:
    """The shipped line model, read once on first use."""
    try:
        data = json.loads(DEFAULT_LINE_MODEL.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise LineModelError(f"cannot read the shipped line model: {exc}") from None
    return LineModel.from_json(data)
