"""The model card is published: its per-group figures are disclosure-controlled too."""

from __future__ import annotations

import numpy as np
import pandas as pd

from teamlens.model.card import group_results, hidden_groups, reliability_table
from teamlens.model.dataset import JitData


def _test_window() -> JitData:
    """30 changes of 10 people on core; 4 of one person on examples (owned by the
    overlapping team core-and-examples too)."""
    rows = [
        {"people": f"p{i % 10}", "team": ["core", "core-and-examples"], "language": "Python",
         "label": i % 3 == 0}
        for i in range(30)
    ] + [
        {"people": "loner", "team": ["examples", "core-and-examples"], "language": "Python",
         "label": True}
        for _ in range(4)
    ]  # fmt: skip
    frame = pd.DataFrame(rows).assign(la=1.0)
    frame["label"] = frame["label"].astype(np.int64)
    return JitData(frame, ("la",), "test")


def test_overlapping_teams_in_a_card_do_not_difference_to_one_person() -> None:
    test = _test_window()
    risk = np.linspace(0.05, 0.5, len(test))
    shown = {(g.kind, g.name) for g in group_results(test, risk, 5) if g.roc_auc is not None}
    hidden = {(g.kind, g.name): g.note for g in group_results(test, risk, 5)}
    # The whole window is published (the metrics): core is the window minus the loner.
    assert ("team", "core") not in shown
    assert hidden[("team", "core")].startswith("hidden")
    assert hidden[("team", "examples")].startswith("suppressed")
    # core-and-examples and Python are all of the window: nothing new to subtract.
    assert ("team", "core-and-examples") in shown and ("language", "Python") in shown


def test_a_calibration_bin_of_one_person_is_hidden_and_cannot_be_subtracted() -> None:
    test = _test_window()
    risk = np.array([0.15] * 30 + [0.95] * 4)  # the loner's changes alone in the top bin
    bins = reliability_table(test.y(), risk)
    hidden = hidden_groups({f"{b.low:.1f}": b.rows for b in bins}, test, 5)
    assert hidden["0.9"].startswith("suppressed")
    # With one bin hidden, the other would equal the window minus it: hidden too.
    assert hidden["0.1"].startswith("hidden")
