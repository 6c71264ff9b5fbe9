"""Risky lines: does teamlens's line ranking find the lines a later fix touched?

Usage::

    .venv/bin/python benchmarks/bench_lines.py --config CORPUS/repos.yaml \\
        [--cache DIR] [--limit 150] [--seed 0] [--json] [--write-model FILE]
        [--held-out HELD_OUT/repos.yaml]

For every repository of a mined and labelled corpus (``scripts/build_corpus.py``; the
held-out repositories are refused): a seeded sample of ``--limit`` defect-inducing
changes (the default SZZ variant's links), their added lines of code, and the SZZ
line-level ground truth: the lines a fix within the label window deleted or changed
(mining.szz_lines). Changes where no added line of code was touched are left out.

Leave one repository out: the line model (model.lines) is fitted on the other
repositories' lines and ranks the held-back repository's lines within each change.
Three rankings of the same lines, from one run:

* **teamlens**: the line model's score, highest first;
* **random**: the expected value over all orders (exact, no sampling);
* **complex first**: lines of the most complex function first (cyclomatic complexity
  after the change), then the most deeply nested, then in diff order.

Per change: Top-5 accuracy (a fixed line among the first five), recall at 20 % of the
added lines (the share of fixed lines among the first 20 %, at least one line) and IFA
(lines looked at in vain before the first fixed one). Per repository the share of
changes with a Top-5 hit, the mean recall and the median IFA; then all changes pooled,
and the median over repositories.

``--held-out`` (a repos.yaml of held-out repositories, mined and labelled the same way)
adds one last row: their changes ranked by the line model fitted on every corpus
repository; nothing is fitted or tuned on them.

``--write-model`` also fits the line model on every repository and writes it (what
``scripts/build_line_model.py`` does).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from teamlens.config import load_config  # noqa: E402
from teamlens.model.line_data import corpus_line_table  # noqa: E402
from teamlens.model.lines import LINE_FEATURES, fit_line_model  # noqa: E402

RANKINGS = ("teamlens", "random", "complex first")


@dataclass(frozen=True)
class ChangeScore:
    top5: float
    recall20: float
    ifa: float


def _ranked(fixed: np.ndarray, order: np.ndarray) -> ChangeScore:
    hits = fixed[order]
    n = len(hits)
    k = max(1, math.ceil(0.2 * n))
    first = int(np.argmax(hits)) if hits.any() else n
    return ChangeScore(float(hits[:5].any()), float(hits[:k].sum() / hits.sum()), float(first))


def _random(fixed: np.ndarray) -> ChangeScore:
    """Expected values over every order of the change's lines."""
    n, f = len(fixed), int(fixed.sum())
    k = max(1, math.ceil(0.2 * n))
    top = min(5, n)
    miss = math.comb(n - f, top) / math.comb(n, top)
    return ChangeScore(1 - miss, k / n, (n - f) / (f + 1))


def score_changes(table: pa.Table, scores: np.ndarray) -> dict[str, list[ChangeScore]]:
    """Per ranking, one score per change of `table` (rows of one or more repositories)."""
    sha = np.asarray(table["sha"].to_pylist())
    fixed = np.asarray(table["fixed"].to_pylist(), dtype=bool)
    complexity = np.asarray(table["function_complexity"].to_pylist(), dtype=np.float64)
    nesting = np.asarray(table["line_nesting"].to_pylist(), dtype=np.float64)
    found: dict[str, list[ChangeScore]] = {name: [] for name in RANKINGS}
    starts = np.flatnonzero(np.r_[True, sha[1:] != sha[:-1]])
    for start, stop in zip(starts, [*starts[1:], len(sha)], strict=True):
        rows = slice(start, stop)
        hit = fixed[rows]
        if not hit.any():
            continue
        position = np.arange(stop - start)
        found["teamlens"].append(_ranked(hit, np.lexsort((position, -scores[rows]))))
        found["random"].append(_random(hit))
        found["complex first"].append(
            _ranked(hit, np.lexsort((position, -nesting[rows], -complexity[rows])))
        )
    return found


def _matrix(table: pa.Table) -> np.ndarray:
    return np.column_stack([np.asarray(table[c].to_pylist()) for c in LINE_FEATURES])


def _summary(scores: Sequence[ChangeScore]) -> dict[str, float]:
    return {
        "top5": statistics.fmean(s.top5 for s in scores),
        "recall20": statistics.fmean(s.recall20 for s in scores),
        "ifa": statistics.median(s.ifa for s in scores),
    }


def evaluate(table: pa.Table) -> dict[str, object]:
    """Leave-one-repository-out evaluation of the three rankings."""
    repos = sorted(set(table["repo"].to_pylist()))
    repo_col = np.asarray(table["repo"].to_pylist())
    sha = np.asarray(table["sha"].to_pylist())
    x = _matrix(table)
    y = np.asarray(table["fixed"].to_pylist(), dtype=np.int64)
    per_repo: dict[str, dict[str, object]] = {}
    pooled: dict[str, list[ChangeScore]] = {name: [] for name in RANKINGS}
    for repo in repos:
        held = repo_col == repo
        model = fit_line_model(x[~held], y[~held], sha[~held], [r for r in repos if r != repo])
        part = table.filter(pa.array(held))
        found = score_changes(part, model.scores(x[held]))
        lines_per_change = np.unique(np.asarray(part["sha"].to_pylist()), return_counts=True)[1]
        per_repo[repo] = {
            "changes": len(found["teamlens"]),
            "lines": int(held.sum()),
            "median_lines": float(np.median(lines_per_change)),
            "fixed_share": float(y[held].mean()),
            **{name: _summary(found[name]) for name in RANKINGS},
        }
        for name in RANKINGS:
            pooled[name] += found[name]
    medians = {
        name: {
            metric: statistics.median(
                float(per_repo[r][name][metric])  # type: ignore[index]
                for r in repos
            )
            for metric in ("top5", "recall20", "ifa")
        }
        for name in RANKINGS
    }
    return {
        "repositories": per_repo,
        "pooled": {
            "changes": len(pooled["teamlens"]),
            "lines": len(y),
            **{name: _summary(pooled[name]) for name in RANKINGS},
        },
        "median_over_repositories": medians,
    }


def evaluate_held_out(corpus: pa.Table, held: pa.Table) -> dict[str, object]:
    """The three rankings on held-out rows, the line model fitted on the whole corpus."""
    y = np.asarray(corpus["fixed"].to_pylist(), dtype=np.int64)
    model = fit_line_model(_matrix(corpus), y, corpus["sha"].to_pylist())
    found = score_changes(held, model.scores(_matrix(held)))
    return {
        "repositories": sorted(set(held["repo"].to_pylist())),
        "changes": len(found["teamlens"]),
        "lines": held.num_rows,
        **{name: _summary(found[name]) for name in RANKINGS},
    }


def _row(name: str, changes: object, cells: dict[str, object]) -> str:
    def cell(metric: str, fmt: str) -> str:
        return " / ".join(
            format(float(cells[r][metric]), fmt)  # type: ignore[index]
            for r in RANKINGS
        )

    return (
        f"| {name} | {changes} | {cell('top5', '.0%')} | {cell('recall20', '.0%')} "
        f"| {cell('ifa', '.1f')} |"
    )


def table_markdown(result: dict[str, object]) -> str:
    """The result as a Markdown table: teamlens / random / complex first in each cell."""
    lines = [
        "| repository | changes | Top-5 accuracy | recall at 20 % of lines | median IFA |",
        "|---|---:|---|---|---|",
    ]
    per_repo = result["repositories"]
    assert isinstance(per_repo, dict)
    for repo, cells in per_repo.items():
        lines.append(_row(repo, cells["changes"], cells))
    pooled = result["pooled"]
    assert isinstance(pooled, dict)
    lines.append(_row("**all changes pooled**", pooled["changes"], pooled))
    medians = result["median_over_repositories"]
    assert isinstance(medians, dict)
    lines.append(_row("**median over repositories**", len(per_repo), medians))
    held = result.get("held_out")
    if isinstance(held, dict):
        names = ", ".join(held["repositories"])
        lines.append(_row(f"held out ({names}), fitted on all above", held["changes"], held))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", type=Path, required=True, help="the corpus repos.yaml")
    parser.add_argument("--cache", type=Path, help="folder for the line rows per repository")
    parser.add_argument("--limit", type=int, default=150, help="changes per repository")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--write-model", type=Path, help="also fit on all and write here")
    parser.add_argument(
        "--held-out",
        type=Path,
        help="a repos.yaml of held-out repositories: scored by the model fitted on the "
        "whole corpus (never fitted or tuned on), one last row",
    )
    args = parser.parse_args(argv)
    config = load_config(args.config)
    started = time.perf_counter()
    table = corpus_line_table(
        config, args.cache, args.limit, args.seed, log=lambda s: print(s, file=sys.stderr)
    )
    result = evaluate(table)
    if args.held_out is not None:
        held = corpus_line_table(
            load_config(args.held_out),
            args.cache,
            args.limit,
            args.seed,
            log=lambda s: print(s, file=sys.stderr),
            held_out=True,
        )
        result["held_out"] = evaluate_held_out(table, held)
    result["seconds"] = round(time.perf_counter() - started, 1)
    if args.json:
        print(json.dumps(result, indent=1))
    else:
        print("Each cell: teamlens / random (expected) / complex first\n")
        print(table_markdown(result))
        print(f"\n{result['seconds']} s")
    if args.write_model is not None:
        x = _matrix(table)
        y = np.asarray(table["fixed"].to_pylist(), dtype=np.int64)
        changes = table["sha"].to_pylist()
        fit_line_model(x, y, changes, table["repo"].to_pylist()).save(args.write_model)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
