"""Risk levels and reasons on a mined repository: fixed thresholds vs the repository's own
distribution, and unfiltered contributions vs teamlens's reasons.

Usage::

    .venv/bin/python benchmarks/bench_levels.py --config repos.yaml [--repo NAME]
        [--model ID] [--changes 300] [--json]

The repository must be mined, labelled and featurised (``teamlens mine``, ``label``,
``features``). With the model (the current one by default) it measures, side by side:

1. **Levels** on the newest 20 % of the repository's non-merge changes (its recent
   window): how many are low, medium and high by the fixed thresholds of repos.yaml
   (``review.medium``, ``review.high``: the anchor, what reviews did before), by the
   model's training distribution (its ``levels.json``) and by the repository's own recent
   changes (model.reference, what reviews do now); and, where SZZ labels are mature, the
   share of defect-inducing changes per level (does "high" mean more defects?).
2. **Reasons** for the newest ``--changes`` changes, from their stored features: the
   anchor is the previous rule (the three largest positive contributions, each in its
   registry sentence, no filter), against model.explain with the repository's reference.
   Counted: reasons per change, reasons that read "nan" or "-0.0", blank-line,
   comment-line or parsed-file counts, entropy on a single-file change, and reasons on a
   size-like value at or below the repository's median (a small number told as a reason).

Only aggregate counts are printed: no commit id, no per-change risk or level.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from teamlens.config import load_config
from teamlens.model.explain import DIRECTIONS, RISKY_FLAG, Direction, describe, explain
from teamlens.model.levels import (
    LevelBasis,
    Reference,
    RiskLevel,
    build_reference,
    model_frame,
    training_reference,
)
from teamlens.model.reference import RECENT_CHANGES, recent_changes
from teamlens.model.registry import Registry, SavedModel
from teamlens.store import Store

_LABELS_SQL = "SELECT sha, is_inducing FROM changes WHERE repo = ?"


def _fixed(risk: float, medium: float, high: float) -> RiskLevel:
    if risk >= high:
        return RiskLevel.HIGH
    if risk >= medium:
        return RiskLevel.MEDIUM
    return RiskLevel.LOW


def levels_table(
    risks: np.ndarray,
    labels: pd.Series,
    schemes: dict[str, Any],
) -> dict[str, dict[str, Any]]:
    """Per scheme: changes per level, and the defect-inducing share where labelled."""
    out: dict[str, dict[str, Any]] = {}
    for name, level_of in schemes.items():
        levels = [level_of(float(r)) for r in risks]
        row: dict[str, Any] = {}
        for level in RiskLevel:
            mask = np.array([lv is level for lv in levels])
            known = labels[mask].dropna()
            row[level.value] = int(mask.sum())
            row[f"{level.value}_inducing"] = (
                round(float(known.astype(float).mean()), 3) if len(known) else None
            )
            row[f"{level.value}_labelled"] = len(known)
        out[name] = row
    return out


def anchor_reasons(model: SavedModel, row: pd.DataFrame, top: int = 3) -> list[tuple[str, str]]:
    """The previous rule: the `top` largest positive contributions, worded, no filter."""
    contributions = model.classifier.contributions(row).iloc[0].drop("bias")
    raising = contributions[contributions > 0].sort_values(ascending=False, kind="stable")
    out = []
    for feature in list(raising.index)[:top]:
        column = model.meta.columns.get(str(feature), str(feature))
        value = float(row.iloc[0][str(feature)])
        text = describe(column, value) if not math.isnan(value) else f"{column} is nan"
        out.append((str(feature), text))
    return out


def _small(feature: str, column: str, value: float, reference: Reference) -> bool:
    """A size-like value at or below the repository's median."""
    if column in RISKY_FLAG or DIRECTIONS.get(column, Direction.HIGH) is not Direction.HIGH:
        return False
    grid = reference.quantiles.get(feature)
    return grid is not None and not math.isnan(value) and value <= grid[49]


def reasons_table(
    model: SavedModel, frame: pd.DataFrame, x: pd.DataFrame, reference: Reference
) -> dict[str, dict[str, Any]]:
    counts: dict[str, Counter[str]] = {"anchor": Counter(), "teamlens": Counter()}
    examples: Counter[str] = Counter()
    nf_column = next((f for f, c in model.meta.columns.items() if c in ("nf", "jit_nf")), None)
    for i in range(len(x)):
        row = x.iloc[[i]].reset_index(drop=True)
        facts = {str(c): float(v) for c, v in frame.iloc[i].items() if _number(v)}
        single = nf_column is not None and float(row.iloc[0][nf_column]) <= 1
        risky = reference.level(float(model.classifier.predict_proba(row)[0, 1]))
        found = {
            "anchor": anchor_reasons(model, row),
            "teamlens": [
                (r.feature, r.sentence)
                for r in explain(model.classifier, row, reference, model.meta.columns, 3, facts)
            ],
        }
        for name, reasons in found.items():
            c = counts[name]
            c["changes"] += 1
            c["reasons"] += len(reasons)
            c["changes with a reason"] += bool(reasons)
            c["medium or high changes"] += risky is not RiskLevel.LOW
            c["medium or high changes without a reason"] += (
                risky is not RiskLevel.LOW and not reasons
            )
            for feature, text in reasons:
                column = model.meta.columns.get(feature, feature)
                value = float(row.iloc[0][feature])
                c["reads nan"] += "nan" in text.lower()
                c["reads -0.0"] += bool(re.search(r"-0(\.0)?\b", text))
                c["blank or comment lines"] += "blank" in text or "comment-only" in text
                c["parsed source files"] += "parsed source file" in text
                c["entropy on a single-file change"] += single and "entropy" in column
                c["small value told as a reason"] += _small(feature, column, value, reference)
                c["compared with the repository"] += "% of this repository's" in text
                if name == "teamlens":
                    examples[re.sub(r"\d[\d,.]*\d|\d", "N", text)] += 1
    return {
        **{name: dict(c) for name, c in counts.items()},
        "common_teamlens_sentences": dict(examples.most_common(8)),
    }


def _number(value: object) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--repo", default=None)
    parser.add_argument("--model", default=None, help="model id (default: the current one)")
    parser.add_argument("--changes", type=int, default=300)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    started = time.monotonic()
    config = load_config(args.config)
    repo = args.repo or config.repositories[0].name
    registry = Registry.for_data_dir(config.data_dir)
    model = registry.load(args.model) if args.model else registry.current()
    store = Store(config.data_dir)
    everything = recent_changes(store, repo, limit=10**9)  # newest first
    if everything.empty:
        print(f"{repo}: no changes with features; run teamlens features", file=sys.stderr)
        return 1
    window = everything.iloc[: max(1, len(everything) // 5)].reset_index(drop=True)
    labels_rows = store.query(_LABELS_SQL, [repo]).rows
    labels = dict(labels_rows)
    window_labels = pd.Series([labels.get(s) for s in window["sha"]], dtype=object)
    x_window = model_frame(model.meta, window)
    risks = model.classifier.predict_proba(x_window)[:, 1]
    recent = everything.iloc[:RECENT_CHANGES].reset_index(drop=True)
    x_recent = model_frame(model.meta, recent)
    own = build_reference(
        LevelBasis.REPOSITORY, model.classifier.predict_proba(x_recent)[:, 1], x_recent
    )
    if own is None:
        print(f"{repo}: too few changes for a reference of its own", file=sys.stderr)
        return 1
    trained = training_reference(model)
    review = config.review
    schemes: dict[str, Any] = {
        f"fixed thresholds {review.medium}/{review.high} (anchor)": lambda r: _fixed(
            r, review.medium, review.high
        )
    }
    if trained is not None:
        schemes["training distribution (levels.json)"] = trained.level
    schemes["repository's recent changes (teamlens)"] = own.level
    result: dict[str, Any] = {
        "repo": repo,
        "model": model.model_id,
        "window_changes": len(window),
        "reference_changes": own.changes,
        "risk_quantiles_window": [
            round(float(q), 4) for q in np.quantile(risks, [0.5, 0.7, 0.9, 0.99])
        ],
        "levels": levels_table(risks, window_labels, schemes),
        "reasons": reasons_table(
            model,
            everything.iloc[: args.changes].reset_index(drop=True),
            model_frame(model.meta, everything.iloc[: args.changes]),
            own,
        ),
        "seconds": round(time.monotonic() - started, 1),
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"{repo}, model {model.model_id}: newest {len(window)} non-merge changes; reference "
          f"= the newest {own.changes}")  # fmt: skip
    print("risk quantiles in the window (50/70/90/99 %):", result["risk_quantiles_window"])
    print("\n| levels | low | medium | high | inducing low / medium / high |")
    print("|---|---:|---:|---:|---|")
    for name, row in result["levels"].items():
        rates = " / ".join(
            "-" if row[f"{lv.value}_inducing"] is None else f"{row[f'{lv.value}_inducing']:.0%}"
            for lv in RiskLevel
        )
        print(f"| {name} | {row['low']} | {row['medium']} | {row['high']} | {rates} |")
    reasons: dict[str, Any] = result["reasons"]
    keys = [k for k in reasons["anchor"] if k != "changes"] + [
        k for k in reasons["teamlens"] if k not in reasons["anchor"]
    ]
    print(f"\nreasons for the newest {reasons['anchor']['changes']} changes")
    print("| count | unfiltered top 3 (anchor) | teamlens |\n|---|---:|---:|")
    for key in dict.fromkeys(keys):
        if key == "changes":
            continue
        print(f"| {key} | {reasons['anchor'].get(key, 0)} | {reasons['teamlens'].get(key, 0)} |")
    print("\nmost common teamlens sentences (numbers as N):")
    for text, n in reasons["common_teamlens_sentences"].items():
        print(f"  {n:4d}  {text}")
    print(f"\n{result['seconds']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
