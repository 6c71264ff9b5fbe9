"""Feature contributions turned into reasons a reader can act on: true, comparable with
the typical change, never NaN, never -0.0, never a layout count."""

from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np
import pandas as pd
import pytest

from teamlens.model.estimator import RiskClassifier
from teamlens.model.explain import NEVER_REASONS, Reason, clean_number, describe, explain
from teamlens.model.levels import LevelBasis, Reference, build_reference


def _training() -> tuple[pd.DataFrame, np.ndarray]:
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
    return x, y


@pytest.fixture(scope="module")
def gbm() -> tuple[RiskClassifier, Reference]:
    x, y = _training()
    model = RiskClassifier(n_estimators=150).fit(x, y)
    reference = build_reference(LevelBasis.REPOSITORY, model.predict_proba(x)[:, 1], x)
    assert reference is not None
    return model, reference


class Linear:
    """A logistic model's contributions: coefficient x standardised value, missing values
    imputed with `fill` (as a model that saw them in training would place them)."""

    def __init__(self, coef: Mapping[str, float], typical: Mapping[str, float]) -> None:
        self.coef, self.typical = dict(coef), dict(typical)

    def contributions(self, x: pd.DataFrame) -> pd.DataFrame:
        out = pd.DataFrame(
            {
                f: c * (x[f].fillna(self.typical[f] + 10) - self.typical[f])
                for f, c in self.coef.items()
            }
        )
        out["bias"] = -2.0
        return out


def _reference(
    rows: Mapping[str, list[float]], basis: LevelBasis = LevelBasis.REPOSITORY
) -> Reference:
    frame = pd.DataFrame(rows, dtype=float)
    ref = build_reference(basis, np.linspace(0, 1, len(frame)), frame)
    assert ref is not None
    return ref


def _texts(reasons: list[Reason]) -> list[str]:
    return [r.sentence for r in reasons]


def test_a_risky_row_is_explained_and_compared_with_the_repository(
    gbm: tuple[RiskClassifier, Reference],
) -> None:
    model, reference = gbm
    row = pd.DataFrame({"nf": [14.0], "nd": [7.0], "recent_fixes": [8.0], "la": [40.0]})
    reasons = explain(model, row, reference)
    texts = _texts(reasons)
    files = next(t for t in texts if t.startswith("touches 14 files in 7 directories, more than "))
    percent = int(re.findall(r"more than (\d+) %", files)[0])
    x, _ = _training()
    # True of the data: at least that share of the changes touch fewer files.
    assert (x["nf"] < 14).mean() >= percent / 100 > 0.5
    assert files.endswith(" % of this repository's recent changes")
    assert any(t.startswith("the touched files had 8 fixes in the last 90 days, more than ")
               for t in texts)  # fmt: skip
    assert all(r.contribution > 0 for r in reasons)
    assert reasons == sorted(reasons, key=lambda r: -r.contribution)
    assert len(reasons) <= 3
    # 5 directories is typical here (the 60th percentile): files are told alone.
    typical = row.assign(nd=[5.0])
    assert "touches 14 files, more than " in " ".join(_texts(explain(model, typical, reference)))


def test_a_safe_row_has_no_reason_to_worry(gbm: tuple[RiskClassifier, Reference]) -> None:
    model, reference = gbm
    row = pd.DataFrame({"nf": [1.0], "nd": [1.0], "recent_fixes": [0.0], "la": [5.0]})
    assert explain(model, row, reference) == []


def test_a_small_value_that_raises_risk_never_reads_as_large() -> None:
    # Fewer lines than typical raises this model's risk; entropy 0 (one file) too.
    model = Linear({"la": -0.01, "entropy": -1.0}, {"la": 100, "entropy": 1.5})
    reference = _reference({"la": list(range(0, 400, 4)), "entropy": [1.5] * 100})
    row = pd.DataFrame({"la": [3.0], "entropy": [-0.0]})
    assert model.contributions(row).iloc[0][["la", "entropy"]].gt(0).all()
    assert explain(model, row, reference) == []
    # Without a reference nothing is compared: a count must at least be above zero.
    nothing = pd.DataFrame({"la": [0.0], "entropy": [-0.0]})
    assert explain(model, nothing) == []
    assert _texts(explain(model, row)) == ["adds 3 lines"]


def test_unknown_values_layout_counts_and_parsed_files_are_never_reasons() -> None:
    coef = {"ndev": 1.0, "whitespace_lines_added": 5.0, "comment_lines_added": 5.0,
            "code_metrics_files": 5.0, "la": 0.1}  # fmt: skip
    typical = dict.fromkeys(coef, 1.0)
    model = Linear(coef, typical)
    reference = _reference({name: list(range(100)) for name in coef})
    row = pd.DataFrame(
        {
            "ndev": [np.nan],
            "whitespace_lines_added": [36.0],
            "comment_lines_added": [40.0],
            "code_metrics_files": [5.0],
            "la": [90.0],
        }
    )
    assert model.contributions(row).iloc[0].drop("bias").gt(0).all()  # all raise the risk
    reasons = explain(model, row, reference)
    assert [r.feature for r in reasons] == ["la"]
    assert (
        reasons[0].sentence == "adds 90 lines, more than 90 % of this repository's recent changes"
    )
    assert {"whitespace_lines_added", "comment_lines_added"} <= NEVER_REASONS
    # A feature the review could not compute is no reason, whatever stands in for it.
    assert explain(model, row, reference, unknown=("la",)) == []
    for text in _texts(reasons):
        assert "nan" not in text and "-0" not in text and "blank" not in text


def test_at_most_three_strongest_first() -> None:
    coef = {"la": 1.0, "ld": 2.0, "nuc": 3.0, "recent_fixes": 4.0}
    model = Linear(coef, dict.fromkeys(coef, 0.0))
    reference = _reference({name: [0.0] * 60 + [1.0] * 40 for name in coef})
    row = pd.DataFrame({name: [2.0] for name in coef})
    reasons = explain(model, row, reference)
    assert [r.feature for r in reasons] == ["recent_fixes", "nuc", "ld"]
    assert _texts(reasons)[0] == (
        "the touched files had 2 fixes in the last 90 days, more than 99 % of this "
        "repository's recent changes"
    )


def test_yes_no_features_speak_only_of_their_risky_state() -> None:
    model = Linear({"fix": 1.0, "tests_touched": -1.0}, {"fix": 0.0, "tests_touched": 1.0})
    flags = {"fix": [0.0, 1.0] * 50, "tests_touched": [0.0, 1.0] * 50}
    reference = _reference(flags)
    risky = pd.DataFrame({"fix": [1.0], "tests_touched": [0.0]})
    assert sorted(_texts(explain(model, risky, reference))) == [
        "changes no test files",
        "is a bug fix",
    ]
    # The same features pushing the other way for the other state say nothing.
    other = Linear({"fix": -1.0, "tests_touched": 1.0}, {"fix": 1.0, "tests_touched": 0.0})
    calm = pd.DataFrame({"fix": [0.0], "tests_touched": [1.0]})
    assert other.contributions(calm).iloc[0][["fix", "tests_touched"]].gt(0).all()
    assert explain(other, calm, reference) == []


def test_a_low_share_and_a_recent_age_are_compared_on_their_side() -> None:
    model = Linear({"owner_share": -2.0, "age": -0.1}, {"owner_share": 0.9, "age": 200.0})
    reference = _reference(
        {"owner_share": list(np.linspace(0.3, 1.0, 100)), "age": list(range(0, 1000, 10))},
        LevelBasis.TRAINING,
    )
    row = pd.DataFrame({"owner_share": [0.35], "age": [12.0]})
    share, age = sorted(_texts(explain(model, row, reference)))
    assert share.startswith(
        "35% of earlier changes to these files stayed within one team, a lower share than in "
    )
    assert share.endswith(" % of the changes the model was trained on")
    assert age.startswith(
        "the touched files last changed 12 days earlier on average, more recently than for "
    )
    # A high share raising the risk is not a reason (the sentence would say nothing of use).
    high = pd.DataFrame({"owner_share": [0.99], "age": [500.0]})
    inverted = Linear({"owner_share": 2.0, "age": 0.0}, {"owner_share": 0.9, "age": 0.0})
    assert explain(inverted, high, reference) == []


def test_columns_choose_the_sentence_of_the_stored_definition() -> None:
    # The shipped default model calls its feature "la" but reads jit_la (existing files).
    model = Linear({"la": 1.0}, {"la": 0.0})
    row = pd.DataFrame({"la": [40.0]})
    (reason,) = explain(model, row, None, {"la": "jit_la"})
    assert reason.sentence == "adds 40 lines to existing files"


def test_numbers_never_read_as_minus_zero() -> None:
    assert str(clean_number(-0.0)) == "0.0"
    assert str(clean_number(-1e-12)) == "0.0"
    assert describe("entropy", -0.0) == "keeps its edits in one file"
    assert describe("la", 1622.0) == "adds 1,622 lines"
    assert describe("unknown_feature", -0.0) == "unknown_feature is 0"


def test_two_sentences_that_say_the_same_are_told_once() -> None:
    coef = {"la": 1.0, "la_new_files": 1.0, "nf": 1.0, "files_added": 0.5}
    model = Linear(coef, dict.fromkeys(coef, 0.0))
    reference = _reference({name: list(range(100)) for name in coef})
    all_new = pd.DataFrame({"la": [364.0], "la_new_files": [364.0], "nf": [90.0],
                            "files_added": [80.0]})  # fmt: skip
    reasons = explain(model, all_new, reference)
    assert [r.sentence.split(",")[0] for r in reasons] == [
        "adds 364 lines in new files",  # carries both contributions: the strongest
        "touches 90 files",
        "adds 80 new files",
    ]
    assert reasons[0].contribution == pytest.approx(2 * 364.0)
    some_new = all_new.assign(la_new_files=[100.0])
    texts = [r.sentence.split(",")[0] for r in explain(model, some_new, reference)]
    assert texts[0] == "adds 364 lines" and "adds 100 lines in new files" in texts
