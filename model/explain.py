"""Why a change looks risky, in plain sentences, from LightGBM's feature contributions.

LightGBM splits each prediction into per-feature contributions in log-odds
(``pred_contrib``; the SHAP values of the trees). The features that raise the risk the
most become short sentences about the change, such as "touches 14 files in 5
directories" or "the touched files had 6 fixes in the last 90 days". Sentences speak
of the change and its files only, never of a person.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import pandas as pd

from teamlens.model.estimator import RiskClassifier


@dataclass(frozen=True)
class Reason:
    """One feature's push on a change's risk."""

    feature: str
    value: float
    contribution: float  # log-odds; positive raises the risk
    sentence: str


def _n(value: float) -> str:
    return f"{value:,.0f}"


def _plural(value: float, one: str, many: str) -> str:
    return f"{_n(value)} {one if round(value) == 1 else many}"


_SENTENCES: Mapping[str, Callable[[float], str]] = {
    "ns": lambda v: f"spans {_plural(v, 'subsystem', 'subsystems')} (top-level folders)",
    "nd": lambda v: f"touches {_plural(v, 'directory', 'directories')}",
    "nf": lambda v: f"touches {_plural(v, 'file', 'files')}",
    "entropy": lambda v: f"spreads its edits over its files (entropy {v:.1f} bits)",
    "la": lambda v: f"adds {_plural(v, 'line', 'lines')}",
    "ld": lambda v: f"deletes {_plural(v, 'line', 'lines')}",
    "lt": lambda v: f"the touched files held {_plural(v, 'line', 'lines')} before the change",
    "fix": lambda v: "is a bug fix" if v else "is not a bug fix",
    "ndev": lambda v: (
        f"the touched files had {_plural(v, 'earlier contributor', 'earlier contributors')}"
    ),
    "age": lambda v: f"the touched files last changed {v:.0f} days earlier on average",
    "nuc": lambda v: f"the touched files had {_plural(v, 'earlier change', 'earlier changes')}",
    "n_teams": lambda v: f"touches files of {_plural(v, 'team', 'teams')}",
    "owner_share": lambda v: (
        f"{v * 100:.0f} % of earlier changes to these files stayed within one team"
    ),
    "recent_fixes": lambda v: (
        f"the touched files had {_plural(v, 'fix', 'fixes')} in the last 90 days"
    ),
    "tests_touched": lambda v: "touches tests too" if v else "changes no test files",
    "code_metrics_files": lambda v: (
        f"changes {_plural(v, 'parsed source file', 'parsed source files')}"
    ),
    "functions_changed": lambda v: f"changes {_plural(v, 'function', 'functions')}",
    "complexity_before": lambda v: f"the changed functions had complexity {_n(v)} before",
    "complexity_after": lambda v: f"the changed functions have complexity {_n(v)} after",
    "max_complexity_increase": lambda v: (
        f"a function's cyclomatic complexity grew by {_n(v)}"
        if v > 0
        else "no function's complexity grew"
    ),
    "largest_function_complexity": lambda v: (
        f"the most complex changed function has complexity {_n(v)}"
    ),
    "comment_lines_added": lambda v: (
        f"adds {_plural(v, 'comment-only line', 'comment-only lines')}"
    ),
    "whitespace_lines_added": lambda v: f"adds {_plural(v, 'blank line', 'blank lines')}",
}


def sentence(feature: str, value: float) -> str:
    """The plain sentence for one feature's value."""
    make = _SENTENCES.get(feature)
    return make(value) if make is not None else f"{feature} is {value:g}"


def explain(classifier: RiskClassifier, row: pd.DataFrame, top: int = 3) -> list[Reason]:
    """The (at most `top`) features that raise this one change's risk the most.

    `row` is a one-row frame with the classifier's features. Files and directories are
    told together ("touches 14 files in 5 directories") when both raise the risk.
    """
    if len(row) != 1:
        raise ValueError(f"explain() takes one change, got {len(row)} rows")
    contributions = classifier.contributions(row).iloc[0].drop("bias")
    values = row.iloc[0]
    raising = contributions[contributions > 0].sort_values(ascending=False, kind="stable")
    reasons: list[Reason] = []
    for feature, push in raising.items():
        name = str(feature)
        value = float(values[name])
        text = sentence(name, value)
        if name in ("nf", "nd") and {"nf", "nd"} <= set(raising.index):
            if any(r.feature in ("nf", "nd") for r in reasons):
                continue
            nf, nd = float(values["nf"]), float(values["nd"])
            text = (
                f"touches {_plural(nf, 'file', 'files')} in "
                f"{_plural(nd, 'directory', 'directories')}"
            )
            push = float(raising["nf"] + raising["nd"])
        reasons.append(Reason(name, value, float(push), text))
    reasons.sort(key=lambda r: -r.contribution)
    return reasons[:top]
