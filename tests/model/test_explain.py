"""pred_contrib turned into plain sentences about the change."""

from __future__ import annotations

import numpy as np
import pandas as pd

from teamlens.model.estimator import RiskClassifier
from teamlens.model.explain import explain, sentence


def _classifier() -> RiskClassifier:
    rng = np.random.default_rng(5)
    n = 2000
    x = pd.DataFrame(
        {
            "nf": rng.integers(1, 20, n),
            "nd": rng.integers(1, 8, n),
            "recent_fixes": rng.integers(0, 10, n),
            "la": rng.integers(0, 400, n),
        }
    ).astype(float)
    logit = 0.3 * x["nf"] + 0.5 * x["nd"] + 0.4 * x["recent_fixes"] - 6
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int).to_numpy()
    return RiskClassifier(n_estimators=150).fit(x, y)


def test_a_risky_row_is_explained_by_what_raises_its_risk() -> None:
    row = pd.DataFrame({"nf": [14.0], "nd": [5.0], "recent_fixes": [6.0], "la": [40.0]})
    reasons = explain(_classifier(), row)
    texts = [r.sentence for r in reasons]
    assert "touches 14 files in 5 directories" in texts
    assert "the touched files had 6 fixes in the last 90 days" in texts
    assert all(r.contribution > 0 for r in reasons)
    assert reasons == sorted(reasons, key=lambda r: -r.contribution)
    assert len(reasons) <= 3


def test_a_safe_row_has_no_reason_to_worry() -> None:
    row = pd.DataFrame({"nf": [1.0], "nd": [1.0], "recent_fixes": [0.0], "la": [5.0]})
    assert explain(_classifier(), row) == []


def test_sentences_are_about_the_change() -> None:
    assert sentence("la", 1) == "adds 1 line"
    assert sentence("max_complexity_increase", 7) == "a function's cyclomatic complexity grew by 7"
    assert sentence("tests_touched", 0) == "changes no test files"
    assert sentence("unknown_feature", 2.5) == "unknown_feature is 2.5"
