"""evaluate scores the test window's code changes apart from docs/config-only changes."""

from __future__ import annotations

import numpy as np
import pandas as pd

from teamlens.model.dataset import JitData
from teamlens.model.evaluation import Contender, evaluate_split
from teamlens.model.reporting import evaluation_json, evaluation_text
from teamlens.model.split import holdout


def _changes(docs_people: int = 6) -> JitData:
    """400 changes by 8 people: large code changes are the risky ones; docs/config ones
    are clean and written by the first `docs_people` of them."""
    rng = np.random.default_rng(0)
    n = 400
    is_code = rng.random(n) < 0.6
    people = [f"p{i % (8 if code else docs_people)}" for i, code in enumerate(is_code)]
    la = rng.integers(1, 400, n).astype(float)
    label = (is_code & (la > 250)).astype(np.int64)
    frame = pd.DataFrame(
        {
            "id": [f"c{i}" for i in range(n)],
            "time": np.arange(n, dtype=np.int64) * 86_400,
            "label": label,
            "effort": la,
            "la": la,
            "language": ["Python" if code else None for code in is_code],
            "people": people,
        }
    )
    return JitData(frame, ("la",), "test")


def test_the_code_subset_is_the_test_changes_in_a_language() -> None:
    data = _changes()
    split = holdout(data.times(), gap_days=1)
    result = evaluate_split(
        data, split, tune=False, contenders=(Contender.LIGHTGBM, Contender.LAPREDICT)
    )
    test = data.frame.iloc[split.test]
    code = test["language"].notna()
    assert result.code is not None
    assert result.code.code_rows == int(code.sum())
    assert result.code.other_rows == int((~code).sum()) > 0
    assert result.code.code_inducing == int(test.loc[code, "label"].sum()) > 0
    assert result.code.other_inducing == 0
    # Among code changes la separates the labels exactly; the large clean docs/config
    # changes blur that on all changes, so the two figures really come from two sets.
    all_auc = result.results[Contender.LAPREDICT].metrics.roc_auc
    code_auc = result.code.results[Contender.LAPREDICT].metrics.roc_auc
    assert code_auc == 1.0 > all_auc
    text = evaluation_text(data, [result])
    assert f"test changes touching code: {result.code.code_rows}; docs/config-only: " in text
    assert "code changes only (ranking by risk):" in text


def test_a_dataset_without_languages_has_no_code_subset() -> None:
    data = _changes()
    data = JitData(data.frame.drop(columns="language"), data.features, "csv")
    result = evaluate_split(data, holdout(data.times()), tune=False)
    assert result.code is None
    assert "code changes only" not in evaluation_text(data, [result])


def test_a_part_of_fewer_than_k_people_withholds_the_split() -> None:
    """One person writes every docs change: the split beside the window's figures would
    give that person's count of inducing docs changes."""
    data = _changes(docs_people=1)
    result = evaluate_split(data, holdout(data.times(), gap_days=1), tune=False, k=5)
    assert result.code is not None and result.code.withheld
    assert result.code.results == {}
    text = evaluation_text(data, [result])
    assert "not shown apart: fewer than k people" in text
    assert "test changes touching code" not in text
    assert "code changes only" not in text
    assert evaluation_json(data, [result])["code_changes"] is None
    assert result.as_dict()["code_changes"] == {
        "withheld": "fewer than k people behind one of the two parts"
    }
