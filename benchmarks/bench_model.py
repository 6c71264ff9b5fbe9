"""Defect-prediction benchmark: LightGBM against logistic regression and LApredict.

Usage::

    .venv/bin/python benchmarks/bench_model.py [DATA_DIR] [--seed 0] [--json] [--save FILE]

``DATA_DIR`` holds the public Kamei-format CSVs (``<project>_k_feature.csv``, from the
replication package of Zeng et al., ISSTA 2021); by default the shared data folder
``../shared/data/jit`` beside the project. Without it the benchmark exits 0 after
saying why it skipped.

For each project: sort by date, train on the first 80 %, test on the last 20 % (the
split of the published results), no gap. ``exp``, ``rexp`` and ``sexp`` are dropped.
Each contender is tuned inside the training 80 % only (model.evaluation: the newest
20 % of the training rows validate LightGBM's configuration and every contender's F1
threshold), refitted on the training 80 %, and scores the test 20 % once.

Printed: per project and on the mean of the four, every metric for LightGBM, logistic
regression on the same features, their blend, and LApredict (logistic regression on
``la``), with the published LApredict ROC-AUC beside them; then whether LightGBM
reaches a mean ROC-AUC of 0.77 and beats both baselines on the mean of every metric;
then the kind ``teamlens train`` would save for each project (chosen on the validation
window inside the training 80 %), its test ROC-AUC, and its test Brier before and after
the calibration map fitted on that validation window.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from teamlens.model.calibration import brier
from teamlens.model.dataset import load_kamei_csv
from teamlens.model.estimator import RiskClassifier
from teamlens.model.evaluation import (
    Contender,
    SplitResult,
    choose,
    evaluate_split,
    mean_metrics,
)
from teamlens.model.metrics import LOWER_IS_BETTER
from teamlens.model.split import holdout

PROJECTS = ("openstack", "qt", "platform", "jdt")
#: ROC-AUC of LApredict on this split, from ResultAnalysis/RQ4-T8/result.csv of the
#: replication package (the data folder's README).
PUBLISHED_LAPREDICT = {"openstack": 0.749, "qt": 0.744, "platform": 0.746, "jdt": 0.676}
TARGET_AUC = 0.77
DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "jit"
METRICS = (
    "roc_auc",
    "pr_auc",
    "f1",
    "mcc",
    "brier",
    "recall_at_20_effort",
    "effort_at_20_recall",
    "popt",
    "ifa",
)


def run(data_dir: Path, seed: int, log: Any) -> dict[str, Any]:
    per_project: dict[str, SplitResult] = {}
    seconds: dict[str, float] = {}
    chosen: dict[str, dict[str, Any]] = {}
    for project in PROJECTS:
        data = load_kamei_csv(data_dir / f"{project}_k_feature.csv")
        split = holdout(data.times(), test_share=0.2, gap_days=0)
        log(f"{project}: {len(split.train)} train, {len(split.test)} test changes")
        started = time.perf_counter()
        result = per_project[project] = evaluate_split(data, split, seed=seed)
        seconds[project] = time.perf_counter() - started
        choice = choose(result.fitted)
        model = result.fitted[choice.chosen].model
        test = data.rows(split.test)
        assert isinstance(model, RiskClassifier)
        chosen[project] = {
            "kind": choice.chosen.value,
            "roc_auc": result.results[choice.chosen].metrics.roc_auc,
            "calibration": model.calibrator_.method.value,
            "brier_before": brier(test.y(), model.raw_risk(test.x())),
            "brier_after": brier(test.y(), model.predict_proba(test.x())[:, 1]),
        }
    means = mean_metrics(list(per_project.values()))
    lgbm = means[Contender.LIGHTGBM.value]
    ahead: dict[str, bool] = {}
    for name in METRICS:
        ours = lgbm[name]
        others = [means[c.value][name] for c in (Contender.LOGISTIC, Contender.LAPREDICT)]
        if ours is None or any(o is None for o in others):
            ahead[name] = False
        elif name in LOWER_IS_BETTER:
            ahead[name] = all(ours < o for o in others if o is not None)
        else:
            ahead[name] = all(ours > o for o in others if o is not None)
    return {
        "projects": {p: r.as_dict() for p, r in per_project.items()},
        "seconds": seconds,
        "mean": means,
        "chosen": chosen,
        "chosen_mean_roc_auc": sum(c["roc_auc"] for c in chosen.values()) / len(chosen),
        "published_lapredict_roc_auc": PUBLISHED_LAPREDICT,
        "target_roc_auc": TARGET_AUC,
        "target_met": (lgbm["roc_auc"] or 0) >= TARGET_AUC,
        "ahead_of_both_baselines": ahead,
        "seed": seed,
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def _number(value: float | None) -> str:
    return "   n/a" if value is None else f"{value:6.3f}"


def print_table(result: dict[str, Any]) -> None:
    contenders = [c.value for c in Contender]
    header = f"{'project':<10} {'model':<10} " + " ".join(f"{m[:11]:>11}" for m in METRICS)
    print(header)
    print("-" * len(header))
    rows = [(p, r["models"]) for p, r in result["projects"].items()]
    rows.append(("mean", result["mean"]))
    for project, models in rows:
        for contender in contenders:
            values = models[contender]
            cells = " ".join(f"{_number(values[m]):>11}" for m in METRICS)
            print(f"{project:<10} {contender:<10} {cells}")
        published = result["published_lapredict_roc_auc"]
        reference = (
            sum(published.values()) / len(published) if project == "mean" else published[project]
        )
        print(f"{project:<10} {'published':<10} {reference:>11.3f}  (LApredict ROC-AUC)")
    print()
    mean_auc = result["mean"]["lightgbm"]["roc_auc"]
    verdict = "PASS" if result["target_met"] else "FAIL"
    print(f"LightGBM mean ROC-AUC {mean_auc:.3f}; target >= {TARGET_AUC}: {verdict}")
    ahead = result["ahead_of_both_baselines"]
    behind = [m for m, ok in ahead.items() if not ok]
    print(
        "ahead of both baselines on the mean of every metric: "
        + ("PASS" if not behind else f"FAIL (not on {', '.join(behind)})")
    )
    print("The model teamlens train would save (kind chosen on the validation window):")
    for project, c in result["chosen"].items():
        print(
            f"  {project}: {c['kind']}, test ROC-AUC {c['roc_auc']:.3f}; calibration "
            f"{c['calibration']}: test Brier {c['brier_before']:.3f} before, "
            f"{c['brier_after']:.3f} after"
        )
    print(f"  mean ROC-AUC of the chosen models: {result['chosen_mean_roc_auc']:.3f}")
    print("LightGBM configuration chosen per project (validation inside the training 80 %):")
    for project, r in result["projects"].items():
        print(f"  {project}: {r['lightgbm_params']}; thresholds {r['thresholds']}")
    print(f"seconds per project: {result['seconds']}; load average {result['load_average']}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", nargs="?", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--save", type=Path, help="also write the JSON object to this file")
    args = parser.parse_args(argv)
    missing = [p for p in PROJECTS if not (args.data_dir / f"{p}_k_feature.csv").is_file()]
    if missing:
        print(
            f"skipped: the JIT benchmark files are not in {args.data_dir} "
            f"(missing {', '.join(missing)})",
            file=sys.stderr,
        )
        return 0

    def log(message: str) -> None:
        if not args.json:
            print(message, file=sys.stderr, flush=True)

    result = run(args.data_dir, args.seed, log)
    if args.save is not None:
        args.save.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    if args.json:
        print(json.dumps(result))
    else:
        print_table(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
