"""Train the default model shipped in the package (model/default/) on the public JIT data.

Usage::

    .venv/bin/python scripts/train_default_model.py [DATA_DIR] [--out model/default]

``DATA_DIR`` holds the four Kamei-format CSVs of the ISSTA 2021 replication package
(openstack, qt, platform, jdt); by default the shared data folder beside the project.

Only the features teamlens computes with the benchmark's own definitions are used:
ns, nd, nf, entropy, la and lt as the benchmark counts them (files that existed and
whose text changed; nf counts distinct file names), read from teamlens's ``jit_*``
columns, and ld, which both define alike. fix, ndev, age and nuc are defined
differently (docs/evaluation.md, "The default model"), and exp, rexp and sexp describe
people: none of them is used.

Per project the changes are sorted by date; the first 80 % of every project, pooled,
train the model (its settings chosen on the newest 20 % of that pool); the last 20 %
of every project is the held-out window whose figures the card reports.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from teamlens.model.card import render_card
from teamlens.model.dataset import FEATURE_DEFINITIONS, JitData, load_kamei_csv
from teamlens.model.evaluation import Contender, fit_contender, score
from teamlens.model.registry import ModelMeta, save_model
from teamlens.model.split import holdout

PROJECTS = ("openstack", "qt", "platform", "jdt")
FEATURES = ("ns", "nd", "nf", "entropy", "la", "ld", "lt")
COLUMNS = {
    "ns": "jit_ns",
    "nd": "jit_nd",
    "nf": "jit_nf",
    "entropy": "jit_entropy",
    "la": "jit_la",
    "ld": "ld",
    "lt": "jit_lt",
}
DEFINITIONS = {
    **{f: FEATURE_DEFINITIONS[f] for f in FEATURES},
    "ns": "subsystems of the changed files that existed before",
    "nd": "directories of the changed files that existed before",
    "nf": "distinct file names among the changed files that existed before",
    "entropy": "entropy (bits) of modified lines over the changed files that existed before",
    "la": "lines added to files that existed before",
    "lt": "lines before the change in the changed files that existed before",
}
DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "jit"
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "model" / "default"


def _restrict(data: JitData) -> JitData:
    return JitData(data.frame, FEATURES, data.source, data.dropped)


def _pool(parts: list[JitData], source: str) -> JitData:
    frame = pd.concat([p.frame for p in parts], ignore_index=True)
    frame = frame.sort_values("time", kind="stable").reset_index(drop=True)
    return JitData(frame, FEATURES, source, parts[0].dropped)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", nargs="?", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    trains, tests = [], []
    for project in PROJECTS:
        path = args.data_dir / f"{project}_k_feature.csv"
        if not path.is_file():
            print(f"skipped: {path} is missing", file=sys.stderr)
            return 1
        data = _restrict(load_kamei_csv(path))
        split = holdout(data.times(), 0.2, 0)
        trains.append(data.rows(split.train))
        tests.append((project, data.rows(split.test)))
    source = "dataset:" + "+".join(f"{p}_k_feature.csv" for p in PROJECTS)
    train = _pool(trains, source)
    fitted = {c: fit_contender(c, train, seed=args.seed) for c in Contender}
    notes = [
        "Trained on the first 80 % (by date) of each of four public projects of the "
        "ISSTA 2021 JIT benchmark (Zeng et al.), pooled; figures are on the last 20 % of "
        "each project, pooled. Per-project ROC-AUC below.",
        "Features are the benchmark's definitions, which teamlens computes identically in "
        "its jit_* columns (and ld); fix, ndev, age and nuc differ in definition and are "
        "not used (docs/evaluation.md).",
    ]
    for project, test in tests:
        cells = ", ".join(
            f"{c.value} {score(fitted[c], test).metrics.roc_auc:.3f}" for c in Contender
        )
        notes.append(f"{project}: {len(test)} held-out changes; ROC-AUC {cells}")
    pooled_test = _pool([t for _, t in tests], source)
    results = {c: score(fitted[c], pooled_test) for c in Contender}
    lgbm = fitted[Contender.LIGHTGBM]
    times = np.concatenate([train.times(), pooled_test.times()])
    meta = ModelMeta(
        model_id="default",
        created=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        source=source,
        features=FEATURES,
        columns=COLUMNS,
        definitions=DEFINITIONS,
        dropped=train.dropped,
        window={
            "train_start": int(train.times().min()),
            "train_end": int(train.times().max()),
            "test_start": int(pooled_test.times().min()),
            "test_end": int(times.max()),
        },
        params={**lgbm.params, "seed": args.seed},
        threshold=lgbm.threshold,
        metrics={c.value: r.metrics.as_dict() for c, r in results.items()},
        notes=tuple(notes),
    )
    card = render_card(
        meta,
        pooled_test,
        lgbm.risk(pooled_test),
        k=5,
        effort_aware={c.value: r.effort_aware.as_dict() for c, r in results.items()},
    )
    model = lgbm.model
    from teamlens.model.estimator import RiskClassifier

    assert isinstance(model, RiskClassifier)
    shutil.rmtree(args.out, ignore_errors=True)
    save_model(args.out, meta, model, card)
    for line in notes[2:]:
        print(line)
    print(
        "pooled ROC-AUC: "
        + ", ".join(f"{c.value} {r.metrics.roc_auc:.3f}" for c, r in results.items())
    )
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
