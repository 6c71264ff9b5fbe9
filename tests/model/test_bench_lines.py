"""benchmarks/bench_lines.py: the per-change metrics and the three rankings, exact values on
hand-made lines, and the line model's fit on within-change contrasts."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from teamlens.model.lines import LINE_FEATURES, LineModel, LineModelError, fit_line_model

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import bench_lines as bench


def _table(fixed: list[bool], complexity: list[int], sha: str = "c1") -> pa.Table:
    n = len(fixed)
    return pa.table(
        {
            "repo": ["r"] * n,
            "sha": [sha] * n,
            "fixed": fixed,
            "function_complexity": complexity,
            "line_nesting": [0] * n,
        }
    )


def test_metrics_of_one_change_for_the_three_rankings() -> None:
    # Ten lines, the eighth fixed; it sits in the most complex function.
    fixed = [False] * 10
    fixed[7] = True
    complexity = [1] * 10
    complexity[7] = 9
    scores = np.arange(10, dtype=np.float64)  # the last line first: the fixed one third
    found = bench.score_changes(_table(fixed, complexity), scores)
    ours, random, complex_first = (found[name][0] for name in bench.RANKINGS)
    assert ours == bench.ChangeScore(top5=1.0, recall20=0.0, ifa=2.0)
    # Random: 1 - C(9,5)/C(10,5) = 0.5; the first 2 of 10 lines hold it with 2/10; 9/2.
    assert random == bench.ChangeScore(top5=0.5, recall20=0.2, ifa=4.5)
    assert complex_first == bench.ChangeScore(top5=1.0, recall20=1.0, ifa=0.0)


def test_a_change_without_a_fixed_line_is_not_scored() -> None:
    found = bench.score_changes(_table([False] * 4, [1] * 4), np.zeros(4))
    assert all(found[name] == [] for name in bench.RANKINGS)


def test_the_fit_learns_within_change_contrasts() -> None:
    # In every change the line with more tokens is the one a fix touches, if any; every
    # line of odd changes has more calls (a change-level difference that says nothing
    # about which line).
    rng = np.random.default_rng(0)
    rows, fixed, changes = [], [], []
    for change in range(200):
        for line in range(10):
            values = [0.0] * len(LINE_FEATURES)
            values[LINE_FEATURES.index("tokens")] = float(line == 3) + rng.normal(0, 0.1)
            values[LINE_FEATURES.index("calls")] = float(change % 2) * 3
            rows.append(values)
            # Fixed lines are mostly in the changes without the extra calls.
            fixed.append(int(line == 3 and (change % 2 == 0 or change < 20)))
            changes.append(f"c{change}")
    model = fit_line_model(np.array(rows), np.array(fixed), changes, ["r"])
    coef = dict(zip(LINE_FEATURES, model.coef, strict=True))
    assert coef["tokens"] > 1.0
    assert abs(coef["calls"]) < 1e-6  # constant within every change: nothing learned
    again = LineModel.from_json(model.as_json())
    assert np.allclose(again.scores(rows[:10]), model.scores(rows[:10]), atol=1e-4)


def test_a_model_file_of_other_features_is_refused() -> None:
    data = {"features": ["tokens"], "mean": [0], "scale": [1], "coef": [1], "intercept": 0}
    with pytest.raises(LineModelError):
        LineModel.from_json(data)
