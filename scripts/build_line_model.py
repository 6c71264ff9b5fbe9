"""Rebuild the line model shipped in the package (model/default/lines.json).

Usage::

    .venv/bin/python scripts/build_line_model.py CORPUS_DIR/repos.yaml
        [--cache DIR] [--limit 150] [--seed 0] [--out model/default/lines.json]

Reads the corpus that scripts/build_corpus.py mined and labelled (its repos.yaml, store
and clones; the held-out repositories are refused): for a seeded sample of ``--limit``
defect-inducing changes per repository, every added line of code with its facts and
whether a fix within the label window touched it (model.line_data). Fits the line model
(model.lines, a logistic regression over sixteen line facts) on all of them and writes
it. How well it ranks, leave one repository out: benchmarks/bench_lines.py, with the
same rows (pass the same ``--cache``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from teamlens.config import load_config
from teamlens.model.line_data import corpus_line_table
from teamlens.model.lines import DEFAULT_LINE_MODEL, LINE_FEATURES, fit_line_model


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("config", type=Path, help="the corpus repos.yaml")
    parser.add_argument("--cache", type=Path, help="folder for the line rows per repository")
    parser.add_argument("--limit", type=int, default=150, help="changes per repository")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=DEFAULT_LINE_MODEL)
    args = parser.parse_args(argv)
    table = corpus_line_table(
        load_config(args.config),
        args.cache,
        args.limit,
        args.seed,
        log=lambda s: print(s, file=sys.stderr),
    )
    rows = np.column_stack([np.asarray(table[c].to_pylist()) for c in LINE_FEATURES])
    fixed = np.asarray(table["fixed"].to_pylist(), dtype=np.int64)
    changes = table["sha"].to_pylist()
    model = fit_line_model(rows, fixed, changes, table["repo"].to_pylist())
    model.save(args.out)
    print(
        f"{args.out.name}: {model.lines:,} lines ({model.fixed:,} touched by a fix) of "
        f"{len(model.trained_on)} repositories"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
