"""Train the default model shipped in the package (model/default/) on the corpus store.

Usage::

    .venv/bin/python scripts/train_default_model.py CORPUS_DIR [--out model/default]
        [--seed 0] [--table FILE.md]

``CORPUS_DIR`` is the folder scripts/build_corpus.py filled (its ``repos.yaml`` and
store): public repositories mined, labelled and featured by teamlens's own stages. The
training rows are the mature labelled non-merge changes of every corpus repository; the
columns are the features the registry allows the default model to read
(teamlens.feature_registry: ``default_model``, not the public benchmark's ``jit_*``
columns, nothing about a person, nothing tied to one repository's teams) that the store
holds for the corpus, so `teamlens review` computes exactly the columns the model reads.

Validation is leave-one-repository-out (LORO): for each repository, every contender is
fitted on the other repositories only and scored on all of its mature changes; the
LightGBM settings are chosen by the mean LORO ROC-AUC (inside the corpus only; the
six repositories held out for acceptance are never read). Printed per repository: ROC-AUC,
PR-AUC and Popt of LightGBM, logistic regression and lines added alone (the ranking by
``la``), on all
changes and on code changes (a source file touched) and docs/config-only changes
separately. The final model is then fitted on every corpus repository and saved with its
card (the card's figures are the pooled LORO predictions, each change scored by a model
that never saw its repository). LightGBM is single-threaded.

The earlier public-benchmark mode (the ISSTA 2021 JIT data's seven size features) is
gone: benchmarks/bench_model.py still measures teamlens on that benchmark.
"""

from __future__ import annotations

import argparse
import math
import shutil
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from teamlens.config import load_config
from teamlens.feature_registry import FEATURES, Group, Stage
from teamlens.model.calibration import brier, fit_calibrator
from teamlens.model.card import CalibrationReport, render_card
from teamlens.model.dataset import JitData, load_store
from teamlens.model.estimator import ModelKind, RiskClassifier
from teamlens.model.evaluation import LIGHTGBM_GRID, Contender, best_f1_threshold, fit_contender
from teamlens.model.levels import record_levels
from teamlens.model.metrics import Ranking, evaluate_scores
from teamlens.model.registry import ModelMeta, day_window, save_model
from teamlens.store import Store

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "model" / "default"
K = 5
#: Fewer inducing (or clean) changes than this in a table cell: no figures ("n/a").
MIN_OF_EACH = 5
HELD_OUT_NAMES = frozenset({"flask", "click", "requests", "httpx", "cobra", "express"})
#: LightGBM settings compared by mean LORO ROC-AUC (the evaluation grid, and a smaller
#: and a more regularised variant); the best is the shipped model's.
GRID: tuple[Mapping[str, Any], ...] = (
    *LIGHTGBM_GRID,
    {"learning_rate": 0.05, "num_leaves": 15, "min_child_samples": 100, "n_estimators": 300},
)


def default_model_columns() -> tuple[str, ...]:
    """The registry's columns the default model may read (never ``jit_*``)."""
    return tuple(
        f.name for f in FEATURES if f.model and f.default_model and f.group is not Group.JIT
    )


@dataclass(frozen=True)
class Scores:
    """ROC-AUC, PR-AUC and Popt of one contender on one set of changes."""

    changes: int
    defects: int
    roc_auc: float
    pr_auc: float
    popt: float


def _scores(y: npt.NDArray[np.int64], risk: npt.NDArray[np.float64], effort: Any) -> Scores:
    defects = int(y.sum())
    if min(defects, len(y) - defects) < MIN_OF_EACH:
        return Scores(len(y), defects, math.nan, math.nan, math.nan)
    m = evaluate_scores(y, risk, effort, 0.5, Ranking.RISK)
    return Scores(len(y), int(y.sum()), m.roc_auc, m.pr_auc, m.popt)


def load_corpus(corpus: Path) -> tuple[JitData, tuple[str, ...]]:
    """The labelled corpus changes and the feature columns the model reads."""
    config = load_config(corpus / "repos.yaml")
    repos = [r.name for r in config.repositories]
    if HELD_OUT_NAMES & set(repos):
        raise SystemExit(f"held-out repositories in the corpus: {HELD_OUT_NAMES & set(repos)}")
    data = load_store(Store(config.data_dir), repos).labelled
    usable = [
        c
        for c in default_model_columns()
        if c in data.frame.columns and data.frame[c].notna().any() and data.frame[c].nunique() > 1
    ]
    features = tuple(usable)
    frame = data.frame.assign(code=data.frame["language"].notna())
    return replace(data, frame=frame, features=features), features


def _classifier(choice: Choice, seed: int) -> RiskClassifier:
    return RiskClassifier(seed=seed, num_threads=1, kind=choice.kind.value, **choice.params)


@dataclass(frozen=True)
class Choice:
    """One candidate of the model selection: LightGBM settings, weighting, columns."""

    params: Mapping[str, Any]
    balanced: bool  # every repository weighs the same in training (else every change)
    features: tuple[str, ...]
    kind: ModelKind = ModelKind.LIGHTGBM

    def describe(self) -> str:
        weighting = "repositories weigh alike" if self.balanced else "changes weigh alike"
        what = f"LightGBM {dict(self.params)}" if self.kind is ModelKind.LIGHTGBM else ""
        if self.kind is ModelKind.BLEND:
            what = f"blend of logistic regression and LightGBM {dict(self.params)}"
        elif self.kind is ModelKind.LOGISTIC:
            what = "logistic regression"
        return f"{what}, {weighting}, {len(self.features)} features"


def repository_weights(data: JitData) -> npt.NDArray[np.float64]:
    """Per change 1 / (its repository's changes), scaled to a mean of 1."""
    counts = data.frame["repo"].map(data.frame["repo"].value_counts())
    weights = 1.0 / counts.to_numpy(dtype=np.float64)
    return np.asarray(weights / weights.mean(), dtype=np.float64)


def fit_lightgbm(data: JitData, choice: Choice, seed: int) -> RiskClassifier:
    weights = repository_weights(data) if choice.balanced else None
    x = data.frame.loc[:, list(choice.features)].astype(np.float64)
    return _classifier(choice, seed).fit(x, data.y(), sample_weight=weights)


def loro_predictions(
    data: JitData, choice: Choice, seed: int, contenders: Sequence[Contender]
) -> dict[Contender, npt.NDArray[np.float64]]:
    """Out-of-repository risk for every change, per contender."""
    data = replace(data, features=choice.features)
    repo = data.frame["repo"].to_numpy()
    out = {c: np.full(len(data), np.nan) for c in contenders}
    for name in sorted(set(repo)):
        test_rows = np.flatnonzero(repo == name)
        train = data.rows(np.flatnonzero(repo != name))
        test = data.rows(test_rows)
        for contender in contenders:
            if contender is Contender.LIGHTGBM:
                model = fit_lightgbm(train, choice, seed)
                risk = model.predict_proba(test.x())[:, 1]
            else:
                risk = fit_contender(contender, train, seed, tune=False).risk(test)
            out[contender][test_rows] = risk
    return out


def _mean_auc(data: JitData, risk: npt.NDArray[np.float64]) -> float:
    aucs = []
    for _, part in data.frame.assign(_risk=risk).groupby("repo"):
        y = part["label"].to_numpy(dtype=np.int64)
        if 0 < y.sum() < len(y):
            aucs.append(_scores(y, part["_risk"].to_numpy(), part["effort"]).roc_auc)
    return float(np.mean(aucs))


def loro_table(
    data: JitData, predictions: Mapping[str, npt.NDArray[np.float64]]
) -> list[dict[str, Any]]:
    """One row per repository and subset (all, code, docs/config-only) and contender."""
    rows: list[dict[str, Any]] = []
    frame = data.frame
    for name in sorted(frame["repo"].unique()):
        in_repo = (frame["repo"] == name).to_numpy()
        people = frame.loc[in_repo, "people"].nunique()
        for subset, mask in (
            ("all", in_repo),
            ("code", in_repo & frame["code"].to_numpy()),
            ("docs/config", in_repo & ~frame["code"].to_numpy()),
        ):
            y = frame.loc[mask, "label"].to_numpy(dtype=np.int64)
            effort = frame.loc[mask, "effort"].to_numpy(dtype=np.float64)
            row: dict[str, Any] = {"repo": name, "subset": subset, "people": int(people)}
            for key, risk in predictions.items():
                row[key] = _scores(y, risk[mask], effort)
            rows.append(row)
    return rows


def _cell(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.3f}"


def markdown_table(rows: list[dict[str, Any]], subset: str) -> list[str]:
    """The LORO table of one subset, with the mean over repositories."""
    lines = [
        "| held-out repository | changes | inducing | ROC-AUC LightGBM | ROC-AUC logistic | "
        "ROC-AUC la alone | PR-AUC LightGBM | PR-AUC la alone | Popt LightGBM | "
        "Popt la alone |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    chosen = [r for r in rows if r["subset"] == subset]
    for r in chosen:
        lgb, log, la = r["lightgbm"], r["logistic"], r["la"]
        if r["people"] < K:
            lines.append(f"| {r['repo']} | - | - | suppressed (< {K} people) |" + " |" * 6)
            continue
        lines.append(
            f"| {r['repo']} | {lgb.changes:,} | {lgb.defects:,} | {_cell(lgb.roc_auc)} | "
            f"{_cell(log.roc_auc)} | {_cell(la.roc_auc)} | {_cell(lgb.pr_auc)} | "
            f"{_cell(la.pr_auc)} | {_cell(lgb.popt)} | {_cell(la.popt)} |"
        )
    shown = [r for r in chosen if r["people"] >= K]

    def mean(contender: str, metric: str) -> str:
        values = [getattr(r[contender], metric) for r in shown]
        values = [v for v in values if not math.isnan(v)]
        return f"**{np.mean(values):.3f}**" if values else "n/a"

    changes = sum(r["lightgbm"].changes for r in shown)
    defects = sum(r["lightgbm"].defects for r in shown)
    lines.append(
        f"| mean of {len(shown)} | {changes:,} | {defects:,} | {mean('lightgbm', 'roc_auc')} | "
        f"{mean('logistic', 'roc_auc')} | {mean('la', 'roc_auc')} | "
        f"{mean('lightgbm', 'pr_auc')} | {mean('la', 'pr_auc')} | "
        f"{mean('lightgbm', 'popt')} | {mean('la', 'popt')} |"
    )
    return lines


def _day(seconds: int) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(seconds))


def write_card_header(meta: ModelMeta, data: JitData, repos: Sequence[str]) -> list[str]:
    w = meta.window
    return [
        f"# Model card: {meta.model_id}",
        "",
        f"- Created: {meta.created}",
        f"- Data: {len(data):,} mature labelled non-merge changes of {len(repos)} public "
        f"repositories mined by teamlens (model/corpus.yaml: {', '.join(repos)}), from "
        f"{_day(w['train_start'])} to {_day(w['train_end'])}; labels from teamlens's default "
        "SZZ variant.",
        "- Validated leave-one-repository-out: every figure below scores each change with a "
        "model fitted on the other repositories only, then pools the changes. The shipped "
        "model is fitted on all of them with the settings the mean LORO ROC-AUC chose.",
        "- LightGBM, binary objective, single-threaded, deterministic for its seed. "
        f"Parameters: `{dict(meta.params)}`. Decision threshold (F1 and MCC): "
        f"{meta.threshold:.3f}, the best F1 on the pooled LORO predictions.",
        "",
    ]


def select(
    data: JitData, features: tuple[str, ...], seed: int
) -> tuple[Choice, dict[Contender, npt.NDArray[np.float64]], list[str]]:
    """The candidate with the best mean LORO ROC-AUC, its LightGBM predictions, a log.

    First every LightGBM setting of :data:`GRID`, with changes or repositories weighing
    alike; then, with the best of them, logistic regression and the blend of both; then,
    from the best, leaving out one stage's features at a time (history, code) while that
    raises the mean.
    """
    log: list[str] = []

    def run(choice: Choice) -> tuple[float, dict[Contender, npt.NDArray[np.float64]]]:
        t = time.monotonic()
        found = loro_predictions(data, choice, seed, (Contender.LIGHTGBM,))
        auc = _mean_auc(data, found[Contender.LIGHTGBM])
        line = f"LORO mean ROC-AUC {auc:.4f}: {choice.describe()}"
        print(f"{line} ({time.monotonic() - t:.0f} s)", file=sys.stderr)
        log.append(line)
        return auc, found

    best: tuple[float, Choice, dict[Contender, npt.NDArray[np.float64]]] | None = None
    for params in GRID:
        for balanced in (False, True):
            choice = Choice(params, balanced, features)
            auc, found = run(choice)
            if best is None or auc > best[0]:
                best = (auc, choice, found)
    assert best is not None
    for kind in (ModelKind.LOGISTIC, ModelKind.BLEND):
        choice = replace(best[1], kind=kind)
        auc, found = run(choice)
        if auc > best[0]:
            best = (auc, choice, found)
    by_name = {f.name: f for f in FEATURES}
    for stage in (Stage.HISTORY, Stage.CODE):
        kept = tuple(f for f in best[1].features if by_name[f].stage is not stage)
        if kept == best[1].features:
            continue
        choice = replace(best[1], features=kept)
        auc, found = run(choice)
        if auc > best[0]:
            best = (auc, choice, found)
    return best[1], best[2], log


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path, help="the folder build_corpus.py filled")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--table", type=Path, help="also write the LORO tables (Markdown)")
    parser.add_argument(
        "--quick", action="store_true", help="no search: the first settings, all features"
    )
    args = parser.parse_args()
    started = time.monotonic()
    data, features = load_corpus(args.corpus)
    repos = tuple(sorted(data.frame["repo"].unique()))
    print(
        f"{len(data):,} labelled changes ({int(data.y().sum()):,} inducing) in {len(repos)} "
        f"repositories; {len(features)} features: {', '.join(features)}",
        file=sys.stderr,
    )
    if args.quick:
        choice = Choice(GRID[0], False, features)
        predictions = loro_predictions(data, choice, args.seed, (Contender.LIGHTGBM,))
        search = ["no search in this run (--quick): the first LightGBM settings, all features"]
    else:
        choice, predictions, search = select(data, features, args.seed)
    features = choice.features
    la = data.frame["la"].to_numpy(dtype=np.float64)
    scores: dict[str, npt.NDArray[np.float64]] = {
        "lightgbm": predictions[Contender.LIGHTGBM],
        "logistic": loro_predictions(data, choice, args.seed, (Contender.LOGISTIC,))[
            Contender.LOGISTIC
        ],
        # Lines added alone: the ranking by la (no model, nothing to fit).
        "la": la / (1.0 + la),
    }
    rows = loro_table(data, scores)
    tables: list[str] = []
    for subset, title in (
        ("all", "All mature changes"),
        ("code", "Code changes (a source file touched)"),
        ("docs/config", "Docs/config-only changes (no source file)"),
    ):
        tables += ["", f"{title}:", "", *markdown_table(rows, subset)]
    print("\n".join(tables))
    if args.table:
        args.table.write_text("\n".join(tables).lstrip() + "\n", encoding="utf-8")

    # The shipped model: all corpus repositories, the chosen settings.
    # Calibrated on the pooled out-of-repository predictions: how risk from a model that
    # never saw a repository turns out there.
    model = fit_lightgbm(data, choice, args.seed)
    y, effort = data.y(), data.effort()
    raw = scores["lightgbm"]
    calibrator = fit_calibrator(y, raw)
    model.calibrate(calibrator)
    oof = calibrator.apply(raw)
    scores["lightgbm"] = oof
    threshold = best_f1_threshold(y, oof)
    calibration = CalibrationReport(
        calibrator.method.value, len(y), brier(y, raw), brier(y, oof), raw
    )
    metrics = {
        key: evaluate_scores(y, risk, effort, threshold, Ranking.RISK).as_dict()
        for key, risk in scores.items()
    }
    effort_aware = {
        key: evaluate_scores(y, risk, effort, threshold, Ranking.EFFORT_AWARE).as_dict()
        for key, risk in scores.items()
    }
    times = data.times()
    window = {
        "train_start": int(times.min()),
        "train_end": int(times.max()),
        "test_start": int(times.min()),
        "test_end": int(times.max()),
    }
    by_name = {f.name: f for f in FEATURES}
    meta = ModelMeta(
        model_id="default",
        created=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        source="corpus:" + ",".join(repos),
        features=features,
        columns={f: f for f in features},
        definitions={f: by_name[f].definition for f in features},
        dropped=data.dropped,
        window=day_window(window),
        params={**model.get_params(), "seed": args.seed, "balanced": choice.balanced},
        threshold=threshold,
        metrics=metrics,
        kind=model.model_kind.value,
        choice={"chosen": choice.kind.value, "reason": f"mean LORO ROC-AUC: {choice.describe()}"},
        calibration={
            **calibration.as_dict(),
            "fitted_on": f"pooled leave-one-repository-out predictions ({len(y)} changes)",
        },
        labelled_changes=len(data),
        notes=(
            "Metrics are pooled leave-one-repository-out predictions (each repository scored "
            "by a model fitted on the others); per-repository figures: docs/evaluation.md, "
            "'The default model'.",
            f"Chosen by mean LORO ROC-AUC (inside the corpus only): {choice.describe()}.",
            "`la`: the ranking by lines added alone (no model).",
            *search,
        ),
    )
    card = render_card(meta, data, oof, K, effort_aware=effort_aware, calibration=calibration)
    card = card.replace(
        "fitted on the validation window", "fitted on the pooled out-of-repository predictions"
    ).replace("Brier on the test window", "Brier on those predictions (in-sample for the map)")
    body = card[card.index("## Intended use") :] if "## Intended use" in card else card
    card = "\n".join(write_card_header(meta, data, repos)) + "\n" + body
    card += "\n## Leave-one-repository-out, per repository\n" + "\n".join(tables) + "\n"
    shutil.rmtree(args.out, ignore_errors=True)
    record_levels(save_model(args.out, meta, model, card), data, K)  # levels.json
    size = (args.out / "model.txt").stat().st_size
    print(
        f"written to {args.out} (model.txt {size / 1e6:.2f} MB) in "
        f"{time.monotonic() - started:.0f} s",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
