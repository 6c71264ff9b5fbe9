"""Evaluation results as JSON (the interface contract) and as a plain-text table."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from teamlens.model.dataset import JitData
from teamlens.model.evaluation import SplitResult, choose, mean_metrics
from teamlens.model.metrics import LOWER_IS_BETTER

COLUMNS = (
    ("roc_auc", "ROC-AUC"),
    ("pr_auc", "PR-AUC"),
    ("f1", "F1"),
    ("mcc", "MCC"),
    ("brier", "Brier"),
    ("recall_at_20_effort", "R@20%E"),
    ("effort_at_20_recall", "E@20%R"),
    ("popt", "Popt"),
    ("ifa", "IFA"),
)


def _mean_effort_aware(results: Sequence[SplitResult]) -> dict[str, dict[str, float | None]]:
    out: dict[str, dict[str, float | None]] = {}
    for contender in results[0].results:
        values: dict[str, list[float]] = {}
        for r in results:
            for name, value in r.results[contender].effort_aware.as_dict().items():
                if value is not None:
                    values.setdefault(name, []).append(value)
        out[contender.value] = {n: sum(v) / len(v) for n, v in values.items()}
    return out


def evaluation_json(data: JitData, results: Sequence[SplitResult]) -> dict[str, Any]:
    """``{"models": {"lightgbm": {...}, "logistic": {...}, "lapredict": {...}}, ...}``.

    ``models`` holds the metrics of the one split, or their means over the rolling
    origins; ``splits`` has each split's own figures.
    """
    return {
        "models": mean_metrics(list(results)),
        "code_changes": None
        if any(r.code is not None and r.code.withheld for r in results)
        else mean_metrics(list(results), code_only=True),
        "effort_aware_ranking": _mean_effort_aware(results),
        "splits": [r.as_dict() for r in results],
        "data": {
            "source": data.source,
            "labelled_changes": len(data),
            "features": list(data.features),
            "dropped_individual_features": list(data.dropped),
        },
        "lower_is_better": sorted(LOWER_IS_BETTER),
    }


def _cell(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _table(title: str, metrics: dict[str, dict[str, float | None]]) -> list[str]:
    lines = [title, f"{'model':<10} " + " ".join(f"{label:>8}" for _, label in COLUMNS)]
    for contender, values in metrics.items():
        lines.append(
            f"{contender:<10} " + " ".join(f"{_cell(values.get(k)):>8}" for k, _ in COLUMNS)
        )
    return lines


def evaluation_text(data: JitData, results: Sequence[SplitResult]) -> str:
    doc = evaluation_json(data, results)
    lines = [f"data: {data.source}, {len(data)} labelled changes"]
    if data.dropped:
        lines.append(f"individual features dropped: {', '.join(data.dropped)}")
    for i, r in enumerate(results, start=1):
        w = r.window
        lines.append(
            f"split {i}: train {r.train_rows} changes "
            f"({_day(w['train_start'])} to {_day(w['train_end'])}), "
            f"test {r.test_rows} ({_day(w['test_start'])} to {_day(w['test_end'])}), "
            f"test defect rate {r.test_defect_rate:.3f}"
        )
        lines.append(f"  model choice (validation window): {choose(r.fitted).reason}")
    title = "metrics" if len(results) == 1 else f"mean over {len(results)} rolling origins"
    lines += ["", *_table(f"{title} (ranking by risk):", doc["models"])]
    lines += ["", *_table("effort-aware ranking (risk per line):", doc["effort_aware_ranking"])]
    lines += _code_lines(results)
    lines.append("")
    lines.append(
        "Brier, E@20%R (effort at 20 % recall) and IFA: lower is better; the rest higher. "
        "Effort is la + ld. See docs/evaluation.md."
    )
    return "\n".join(lines)


def _code_lines(results: Sequence[SplitResult]) -> list[str]:
    """The code changes' table, and what the docs/config-only changes were."""
    subsets = [r.code for r in results if r.code is not None]
    if not subsets:
        return []
    if any(s.withheld for s in subsets):
        return [
            "",
            "code and docs/config-only changes are not shown apart: fewer than k people "
            "stand behind one of the two parts of a test window.",
        ]
    code = sum(s.code_rows for s in subsets)
    other = sum(s.other_rows for s in subsets)
    other_bad = sum(s.other_inducing for s in subsets)
    lines = [
        "",
        f"test changes touching code: {code}; docs/config-only: {other} "
        f"({other_bad} of them labelled defect-inducing). Figures on all changes include "
        "the docs/config-only ones, which are easy to rank clean.",
    ]
    metrics = mean_metrics(list(results), code_only=True)
    if metrics:
        lines += ["", *_table("code changes only (ranking by risk):", metrics)]
    return lines


def _day(seconds: int) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(seconds))
