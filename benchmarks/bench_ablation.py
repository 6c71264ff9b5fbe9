"""What each feature group adds: a leave-one-repository-out ablation on the corpus.

Usage::

    .venv/bin/python benchmarks/bench_ablation.py CORPUS_DIR [--seed 0] [--json]
        [--save FILE]

``CORPUS_DIR`` is a folder scripts/build_corpus.py filled (its ``repos.yaml`` and store);
it is only read. The changes, the columns and the training code are the default model's
(scripts/train_default_model.py: ``load_corpus``, ``loro_predictions``): the mature
labelled non-merge changes of every corpus repository, the registry columns the default
model may read that the corpus holds, LightGBM with the shipped default model's settings
(model/default/meta.json: its parameters and weighting), single-threaded, fixed seed.

The columns are split into the feature groups of :class:`AblationGroup`, from the
feature registry (teamlens.feature_registry): each column's stage, and for the code
stage whether features.code_metrics.structure defines it. For every group with columns
in the default model, leave-one-repository-out (each repository scored by a model fitted
on the others) ROC-AUC, PR-AUC and Popt (model.metrics; Popt in the order of risk) of

- all the default model's columns,
- all minus the group,
- the group alone,

next to ``la`` alone (the ranking by lines added, nothing fitted) and LApredict
(logistic regression on ``la``, fitted on the other repositories): the mean and the
median over repositories, on all changes and on code changes only (a change touching
at least one parsed source file). A repository counts when it has at least 5 inducing
and 5 clean changes in the subset, and at least 5 people (k-anonymity: no figure of a
smaller team, even inside a mean). Only these aggregates are printed: no repository's
own figure, no change, no person.

``--json`` prints one JSON object instead of the tables; ``--save FILE`` writes it too.
The six repositories held out for acceptance are refused (load_corpus).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from teamlens.feature_registry import Feature, Stage, feature
from teamlens.features.code_metrics.structure import STRUCTURE_FEATURES
from teamlens.model.evaluation import Contender
from teamlens.model.metrics import Ranking, evaluate_scores
from teamlens.model.registry import DEFAULT_MODEL_DIR, load_model

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import train_default_model as training

K = 5
#: Fewer inducing (or clean) changes than this in a repository's subset: not counted.
MIN_OF_EACH = 5
SUBSETS = ("all", "code")
METRICS = ("roc_auc", "pr_auc", "popt")
#: RiskClassifier arguments the benchmark sets itself, not taken from the default model.
_OWN_ARGUMENTS = frozenset({"seed", "num_threads", "kind", "balanced"})


class AblationGroup(StrEnum):
    """A family of change features, as the ablation adds or removes them."""

    DIFF = "diff size and diffusion"
    HISTORY = "history"
    FUNCTIONS = "functions' history"
    METRICS = "code metrics"
    STRUCTURE = "code structure"
    TOKENS = "code tokens"
    TEAM = "team/review"


def group_of(f: Feature) -> AblationGroup:
    """The ablation group of one registry feature.

    The review stage and the team columns (which the default model may not read) are
    team/review; the history stage splits into the touched functions' history
    (``functions_*``) and the files'; the code stage into the structure of the added and
    removed code (features.code_metrics.structure) and the other code metrics.
    """
    if f.stage is Stage.REVIEW or "team" in f.name or f.name.startswith("owner"):
        return AblationGroup.TEAM
    if f.stage is Stage.HISTORY:
        return AblationGroup.FUNCTIONS if f.name.startswith("functions_") else AblationGroup.HISTORY
    if f.stage is Stage.CODE:
        return AblationGroup.STRUCTURE if f.name in STRUCTURE_FEATURES else AblationGroup.METRICS
    if f.stage is Stage.TOKENS:
        return AblationGroup.TOKENS
    return AblationGroup.DIFF


def group_columns(columns: Sequence[str]) -> dict[AblationGroup, tuple[str, ...]]:
    """Every group's share of `columns` (registry names), in the columns' order."""
    return {g: tuple(c for c in columns if group_of(feature(c)) is g) for g in AblationGroup}


@dataclass(frozen=True)
class Variant:
    """One contender of the table: a feature set fitted with LightGBM, or a baseline."""

    name: str
    columns: tuple[str, ...]  # empty for a baseline (nothing fitted on a feature set)
    group: str | None = None  # the group the variant removes or keeps alone


def variants(columns: tuple[str, ...]) -> list[Variant]:
    """All columns, then per group with columns: all minus it and it alone."""
    found = [Variant("all default-model features", columns)]
    for group, mine in group_columns(columns).items():
        if not mine:
            continue
        if len(mine) < len(columns):
            rest = tuple(c for c in columns if c not in mine)
            found.append(Variant(f"all minus {group.value}", rest, group.value))
        found.append(Variant(f"{group.value} alone", mine, group.value))
    return found


@dataclass(frozen=True)
class Row:
    """One variant on one subset: mean and median over the repositories that count."""

    variant: str
    subset: str
    columns: int
    repositories: int
    roc_auc_mean: float
    roc_auc_median: float
    pr_auc_mean: float
    pr_auc_median: float
    popt_mean: float
    popt_median: float


def _center(values: list[float]) -> tuple[float, float]:
    if not values:
        return math.nan, math.nan
    return float(np.mean(values)), float(statistics.median(values))


def ablation_rows(
    frame: pd.DataFrame,
    scores: Mapping[str, npt.NDArray[np.float64]],
    columns: Mapping[str, int],
    k: int = K,
) -> list[Row]:
    """The table: per variant and subset, the metrics' mean and median over repositories.

    ``frame`` has one row per change: ``repo``, ``label``, ``effort``, ``code`` (a
    parsed source file touched) and ``people`` (a pseudonym); ``scores`` one risk per
    change for each variant (out-of-repository predictions), ``columns`` its column count.
    """
    repo = frame["repo"].to_numpy()
    code = frame["code"].to_numpy(dtype=bool)
    people = frame.groupby("repo")["people"].nunique()
    counted = [r for r in sorted(set(repo)) if people[r] >= k]
    rows = []
    for name, risk in scores.items():
        for subset in SUBSETS:
            per_metric: dict[str, list[float]] = {m: [] for m in METRICS}
            for r in counted:
                mask = repo == r
                if subset == "code":
                    mask = mask & code
                y = frame.loc[mask, "label"].to_numpy(dtype=np.int64)
                defects = int(y.sum())
                if min(defects, len(y) - defects) < MIN_OF_EACH:
                    continue
                effort = frame.loc[mask, "effort"].to_numpy(dtype=np.float64)
                m = evaluate_scores(y, risk[mask], effort, 0.5, Ranking.RISK)
                for metric in METRICS:
                    per_metric[metric].append(float(getattr(m, metric)))
            centers = [x for metric in METRICS for x in _center(per_metric[metric])]
            rows.append(Row(name, subset, columns[name], len(per_metric["roc_auc"]), *centers))
    return rows


def _cell(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.3f}"


def markdown(rows: Sequence[Row], subset: str) -> list[str]:
    """One subset's table; the change in mean ROC-AUC against all the columns."""
    chosen = [r for r in rows if r.subset == subset]
    base = next((r.roc_auc_mean for r in chosen if r.variant.startswith("all default")), math.nan)
    lines = [
        "| features | columns | repositories | ROC-AUC mean | ROC-AUC median | "
        "Δ mean ROC-AUC vs all | PR-AUC mean | PR-AUC median | Popt mean | Popt median |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in chosen:
        delta = r.roc_auc_mean - base
        lines.append(
            f"| {r.variant} | {r.columns or '-'} | {r.repositories} | {_cell(r.roc_auc_mean)} | "
            f"{_cell(r.roc_auc_median)} | {'n/a' if math.isnan(delta) else f'{delta:+.3f}'} | "
            f"{_cell(r.pr_auc_mean)} | {_cell(r.pr_auc_median)} | {_cell(r.popt_mean)} | "
            f"{_cell(r.popt_median)} |"
        )
    return lines


def default_settings() -> tuple[dict[str, Any], bool]:
    """The shipped default model's LightGBM parameters and whether repositories weigh alike."""
    params = dict(load_model(DEFAULT_MODEL_DIR).meta.params)
    balanced = bool(params.get("balanced", False))
    return {k: v for k, v in params.items() if k not in _OWN_ARGUMENTS}, balanced


def run(corpus: Path, seed: int) -> dict[str, Any]:
    started = time.monotonic()
    data, columns = training.load_corpus(corpus)
    params, balanced = default_settings()
    groups = group_columns(columns)
    print(
        f"{len(data):,} labelled changes ({int(data.y().sum()):,} inducing) in "
        f"{data.frame['repo'].nunique()} repositories; {len(columns)} columns; LightGBM "
        f"{params}, {'repositories' if balanced else 'changes'} weigh alike",
        file=sys.stderr,
    )
    scores: dict[str, npt.NDArray[np.float64]] = {}
    sizes: dict[str, int] = {}
    for variant in variants(columns):
        t = time.monotonic()
        choice = training.Choice(params, balanced, variant.columns)
        found = training.loro_predictions(data, choice, seed, (Contender.LIGHTGBM,))
        scores[variant.name] = found[Contender.LIGHTGBM]
        sizes[variant.name] = len(variant.columns)
        print(f"{variant.name}: {time.monotonic() - t:.0f} s", file=sys.stderr)
    la = data.frame["la"].to_numpy(dtype=np.float64)
    scores["la alone (no model)"] = la / (1.0 + la)
    sizes["la alone (no model)"] = 0
    lapredict = training.Choice(params, balanced, ("la",))
    found = training.loro_predictions(data, lapredict, seed, (Contender.LAPREDICT,))
    scores["LApredict"] = found[Contender.LAPREDICT]
    sizes["LApredict"] = 1
    rows = ablation_rows(data.frame, scores, sizes)
    return {
        "changes": len(data),
        "inducing": int(data.y().sum()),
        "repositories": int(data.frame["repo"].nunique()),
        "code_changes": int(data.frame["code"].sum()),
        "settings": {**params, "balanced": balanced, "seed": seed, "num_threads": 1},
        "groups": {g.value: list(c) for g, c in groups.items()},
        "rows": [asdict(r) for r in rows],
        "seconds": round(time.monotonic() - started, 1),
    }


def render(result: Mapping[str, Any]) -> str:
    rows = [Row(**r) for r in result["rows"]]
    out = [
        f"{result['changes']:,} mature labelled changes ({result['inducing']:,} inducing; "
        f"{result['code_changes']:,} code changes) in {result['repositories']} repositories; "
        "leave-one-repository-out; LightGBM with the default model's settings "
        f"{result['settings']}",
        "",
        "Groups (columns of the default model): "
        + "; ".join(f"{g}: {len(c)}" for g, c in result["groups"].items()),
    ]
    for subset, title in (("all", "All changes"), ("code", "Code changes only")):
        out += ["", f"{title}:", "", *markdown(rows, subset)]
    out += ["", f"{result['seconds']:.0f} s"]
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path, help="the folder build_corpus.py filled (read only)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--save", type=Path, help="also write the JSON object to this file")
    args = parser.parse_args(argv)
    if not (args.corpus / "repos.yaml").is_file():
        print(
            f"skipped: {args.corpus} is not a corpus data folder (no repos.yaml; build it "
            "with scripts/build_corpus.py)",
            file=sys.stderr,
        )
        return 0
    result = run(args.corpus, args.seed)
    text = json.dumps(result, indent=2)
    if args.save:
        args.save.write_text(text + "\n", encoding="utf-8")
    print(text if args.json else render(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
