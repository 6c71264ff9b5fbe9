"""The model card: what a model is for, what it saw, how well it does and for whom.

Written as Markdown into every model folder, which is published (anyone who can read the
folder sees it). Group figures (the calibration bins, ROC-AUC per team and per language)
obey the disclosure rules of the team figures (teamlens.disclosure): a group needs k
distinct people behind its test changes and no one person making most of them, and no
group is shown whose changes, set against the whole test window and the other shown
groups, would leave fewer than k people (an overlapping team, the last calibration bin).
A group whose ROC-AUC is more than :data:`MARKEDLY_WORSE` below the whole test window's
is flagged.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd

from teamlens.disclosure import Statistic, protect, too_few, unsafe
from teamlens.model.dataset import JitData
from teamlens.model.metrics import roc_auc
from teamlens.model.registry import ModelMeta

MARKEDLY_WORSE = 0.05
CALIBRATION_BINS = 10
_KIND_TEXT = {
    "lightgbm": "LightGBM, binary objective, single-threaded, deterministic for its seed",
    "logistic": "logistic regression on log(1 + x), standardised, classes weighted "
    "inversely to their frequency (coefficients and scaling in logistic.json)",
    "blend": "a blend of LightGBM and logistic regression: their log-odds averaged",
}
_METRIC_NAMES = {
    "roc_auc": "ROC-AUC",
    "pr_auc": "PR-AUC",
    "f1": "F1",
    "mcc": "MCC",
    "brier": "Brier (lower is better)",
    "recall_at_20_effort": "Recall@20%Effort",
    "effort_at_20_recall": "Effort@20%Recall (lower is better)",
    "popt": "Popt",
    "ifa": "IFA (lower is better)",
}


@dataclass(frozen=True)
class CalibrationReport:
    """Calibration on the test window: the map's method, and Brier before and after it."""

    method: str  # model.calibration.CalibrationMethod
    fitted_on: int  # validation changes the map was fitted on
    brier_before: float
    brier_after: float
    raw_risk: npt.NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))

    def as_dict(self) -> dict[str, object]:
        return {
            "method": self.method,
            "fitted_on": f"validation window ({self.fitted_on} changes)",
            "test_brier_before": None if math.isnan(self.brier_before) else self.brier_before,
            "test_brier_after": None if math.isnan(self.brier_after) else self.brier_after,
        }


@dataclass(frozen=True)
class CalibrationBin:
    low: float
    high: float
    changes: int
    mean_risk: float
    observed_rate: float
    rows: tuple[int, ...] = ()  # the test changes in the bin (row numbers)


def reliability_table(
    y: npt.NDArray[np.int64], risk: npt.NDArray[np.float64], bins: int = CALIBRATION_BINS
) -> list[CalibrationBin]:
    """Predicted risk against the observed defect rate, in equal-width risk bins."""
    edges = np.linspace(0, 1, bins + 1)
    index = np.clip(np.digitize(risk, edges[1:-1]), 0, bins - 1)
    table = []
    for b in range(bins):
        mask = index == b
        if mask.any():
            table.append(
                CalibrationBin(
                    float(edges[b]),
                    float(edges[b + 1]),
                    int(mask.sum()),
                    float(risk[mask].mean()),
                    float(y[mask].mean()),
                    tuple(int(i) for i in np.flatnonzero(mask)),
                )
            )
    return table


def _people_of(test: JitData) -> dict[str, str]:
    """Each test change's person; on a public dataset (no people) each change its own."""
    if "people" in test.frame.columns:
        return {str(i): str(p) for i, p in enumerate(test.frame["people"])}
    return {str(i): f"change {i}" for i in range(len(test))}


def hidden_groups(groups: Mapping[str, Sequence[int]], test: JitData, k: int) -> dict[str, str]:
    """The groups (name -> test rows) that may not be shown, with the reason.

    The whole test window is published (the metrics); a group fails alone (fewer than k
    people, one dominant) or because it would isolate such a set against the window and
    the other groups (teamlens.disclosure.protect).
    """
    person_of = _people_of(test)
    window = Statistic("window", frozenset(person_of), known=True)
    hidden: dict[str, str] = {}
    candidates = []
    for name, rows in groups.items():
        members = frozenset(str(i) for i in rows)
        if too_few(members, person_of, k):
            hidden[name] = f"suppressed (< {k} people)"
        elif unsafe(members, person_of, k, 0.5):
            hidden[name] = "suppressed (one person made most of its changes)"
        else:
            candidates.append(Statistic(name, members))
    for held in protect([window, *candidates], person_of, k):
        hidden[str(held)] = f"hidden (with the others it would leave < {k} people)"
    return hidden


@dataclass(frozen=True)
class GroupResult:
    kind: str  # "team" or "language"
    name: str
    changes: int
    defect_rate: float
    roc_auc: float | None  # None: suppressed or undefined
    note: str


def group_results(test: JitData, risk: npt.NDArray[np.float64], k: int) -> list[GroupResult]:
    """ROC-AUC per team and per language on the test changes, disclosure-controlled."""
    overall = roc_auc(test.y(), risk) if len(np.unique(test.y())) == 2 else math.nan
    frame = test.frame.reset_index(drop=True).assign(_risk=risk, _row=range(len(test)))
    parts: dict[str, tuple[str, str, pd.DataFrame]] = {}
    groups: dict[str, list[int]] = {}
    for kind in ("team", "language"):
        if not test.has(kind):
            continue
        rows = frame.explode(kind) if kind == "team" else frame
        rows = rows[rows[kind].notna()]
        for name, part in rows.groupby(kind, sort=True):
            key = f"{kind}:{name}"
            parts[key] = (kind, str(name), part)
            groups[key] = [int(i) for i in part["_row"]]
    hidden = hidden_groups(groups, test, k)
    results: list[GroupResult] = []
    for key, (kind, name, part) in parts.items():
        if key in hidden:
            results.append(GroupResult(kind, name, len(part), math.nan, None, hidden[key]))
            continue
        y = part["label"].to_numpy(dtype=np.int64)
        scores = part["_risk"].to_numpy()
        auc = roc_auc(y, scores) if len(np.unique(y)) == 2 else math.nan
        note = ""
        if math.isnan(auc):
            note = "one class only"
        elif not math.isnan(overall) and auc < overall - MARKEDLY_WORSE:
            note = f"**markedly worse** than overall ({overall:.3f})"
        results.append(
            GroupResult(
                kind, name, len(part), float(y.mean()), None if math.isnan(auc) else auc, note
            )
        )
    return results


def _fmt(value: object) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return "n/a" if math.isnan(value) else f"{value:.3f}"
    return str(value)


def _when(seconds: int) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(seconds))


def _reliability_lines(
    test: JitData, y: npt.NDArray[np.int64], risk: npt.NDArray[np.float64], k: int
) -> list[str]:
    lines = [
        "| predicted risk | changes | mean predicted | observed defect rate |",
        "|---|---|---|---|",
    ]
    bins = reliability_table(y, risk)
    hidden = hidden_groups({f"{b.low:.1f}": b.rows for b in bins}, test, k)
    for b in bins:
        if f"{b.low:.1f}" in hidden:
            lines.append(f"| {b.low:.1f}-{b.high:.1f} | - | - | {hidden[f'{b.low:.1f}']} |")
            continue
        lines.append(
            f"| {b.low:.1f}-{b.high:.1f} | {b.changes} | {b.mean_risk:.3f} | "
            f"{b.observed_rate:.3f} |"
        )
    return lines


def render_card(
    meta: ModelMeta,
    test: JitData,
    risk: npt.NDArray[np.float64],
    k: int,
    effort_aware: Mapping[str, Mapping[str, float | None]] | None = None,
    choice: Sequence[str] = (),
    calibration: CalibrationReport | None = None,
) -> str:
    """The model card as Markdown."""
    w = meta.window
    lines = [
        f"# Model card: {meta.model_id}",
        "",
        f"- Created: {meta.created}",
        f"- Data: `{meta.source}`",
        f"- Trained on changes from {_when(w['train_start'])} to {_when(w['train_end'])}; "
        f"evaluated on {len(test)} held-out changes from {_when(w['test_start'])} to "
        f"{_when(w['test_end'])}, each newer than the training changes of its repository "
        "(time-ordered; never shuffled).",
        f"- {_KIND_TEXT.get(meta.kind, meta.kind)}. "
        f"Parameters: `{dict(meta.params)}`. Decision threshold (F1 and MCC): "
        f"{meta.threshold:.3f}, chosen on the newest part of the training window.",
    ]
    if meta.until is not None:
        lines.append(
            f"- Trained as of {_when(meta.until)}: only changes committed before that day, "
            "with the labels known then (a defect fixed later counts as unknown or clean)."
        )
    if meta.choice:
        aucs = meta.choice.get("validation_roc_auc", {})
        shown = ", ".join(f"{c} {_fmt(v)}" for c, v in aucs.items())
        lines.append(
            f"- Kind chosen on the validation window (never the test window): "
            f"**{meta.choice.get('chosen', meta.kind)}**; validation ROC-AUC {shown}."
        )
        figures = meta.choice.get("validation_figures", {})
        if any(figures.values()):
            lines += [
                "",
                "| validation window | ROC-AUC | PR-AUC | Brier (raw risk) |",
                "|---|---|---|---|",
            ]
            for name, f in figures.items():
                lines.append(
                    f"| {name} | {_fmt(f.get('roc_auc'))} | {_fmt(f.get('pr_auc'))} | "
                    f"{_fmt(f.get('brier_raw'))} |"
                )
    lines += [
        "",
        "## Intended use",
        "",
        "The predicted risk that a **change** induces a defect, to focus review effort. "
        "It is not a measure of any person: no feature describes an individual, "
        "identities are pseudonymised before storage, and no output is keyed by person.",
        "",
    ]
    if meta.dropped:
        lines += [
            "Individual features present in the data and **dropped**: "
            + ", ".join(f"`{f}`" for f in meta.dropped)
            + " (they describe the author's experience, not the change).",
            "",
        ]
    else:
        lines += ["The individual features `exp`, `rexp` and `sexp` are never used.", ""]
    lines += ["## Features", "", "| feature | reads column | definition |", "|---|---|---|"]
    for f in meta.features:
        lines.append(f"| `{f}` | `{meta.columns.get(f, f)}` | {meta.definitions.get(f, '')} |")
    lines += ["", "## Metrics on the held-out window", ""]
    contenders = list(meta.metrics)
    lines.append("| metric | " + " | ".join(contenders) + " |")
    lines.append("|---|" + "---|" * len(contenders))
    for key, label in _METRIC_NAMES.items():
        cells = [_fmt(meta.metrics[c].get(key)) for c in contenders]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "`logistic`: logistic regression on the same features (log-transformed, "
        "standardised, class-weighted); `blend`: the log-odds of both averaged; "
        "`lapredict`: logistic regression on `la` alone. Every contender's risk is "
        "calibrated on the validation window. Effort is la + ld. "
        "Definitions: docs/evaluation.md.",
    ]
    if effort_aware:
        lines += ["", "Effort-aware ranking (risk per line of effort):", ""]
        lines.append("| metric | " + " | ".join(effort_aware) + " |")
        lines.append("|---|" + "---|" * len(effort_aware))
        for key in ("recall_at_20_effort", "effort_at_20_recall", "popt", "ifa"):
            cells = [_fmt(effort_aware[c].get(key)) for c in effort_aware]
            lines.append(f"| {_METRIC_NAMES[key]} | " + " | ".join(cells) + " |")
    y = test.y()
    lines += ["", "## Calibration", ""]
    tables = [("calibrated", risk)]
    if calibration is not None:
        lines.append(
            f"Calibration map: {calibration.method}, fitted on the validation window "
            f"({calibration.fitted_on} changes). Brier on the test window (lower is better): "
            f"before {_fmt(calibration.brier_before)}, after {_fmt(calibration.brier_after)}."
        )
        lines.append("")
        if len(calibration.raw_risk) == len(y):
            tables = [("before calibration", calibration.raw_risk), ("after calibration", risk)]
    for title, scores in tables:
        if len(tables) > 1:
            lines += [f"Reliability, {title}:", ""]
        lines += _reliability_lines(test, y, scores, k)
        lines.append("")
    lines.pop()
    groups = group_results(test, risk, k)
    lines += ["", "## By team and language", ""]
    if not groups:
        lines.append("The data has no team or language columns.")
    else:
        lines += [
            f"Groups with fewer than k = {k} people behind their test changes, or most of "
            "them by one person, are suppressed, and so is a group that the others would "
            "reveal (an overlapping team).",
            "",
            "| group | name | test changes | defect rate | ROC-AUC | note |",
            "|---|---|---|---|---|---|",
        ]
        for g in groups:
            if g.roc_auc is None and g.note.startswith("suppressed"):
                lines.append(f"| {g.kind} | {g.name} | - | - | - | {g.note} |")
            else:
                lines.append(
                    f"| {g.kind} | {g.name} | {g.changes} | {_fmt(g.defect_rate)} | "
                    f"{_fmt(g.roc_auc)} | {g.note} |"
                )
    if choice or meta.notes:
        lines += ["", "## Notes", ""]
        lines += [f"- {line}" for line in (*meta.notes, *choice)]
    return "\n".join(lines) + "\n"
