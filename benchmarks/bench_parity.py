"""One feature pipeline on a real repository: the review's features against the store's.

Usage::

    .venv/bin/python benchmarks/bench_parity.py PATH/TO/CLONE DATA_DIR [--changes 300]

Mines the clone into a store under DATA_DIR and computes its features (``teamlens mine``
and ``teamlens features``), then reviews the newest ``--changes`` non-merge changes C of
its main line as ``teamlens review --base C^ --head C`` does, twice:

* **store history**: the review with the mined store (the default when the repository
  is mined), against the stored row of C, every registry column;
* **git history**: the review with no store (history from one ``git log`` of C^), on
  every column it computes (the function history is named unavailable there).

Prints the mismatches per column side by side (a mismatch: the values differ and are
not both NaN), and the median seconds per review against ``git diff --stat`` of the same
change (the anchor). Use a repository that is not held out for acceptance (e.g.
pallets/werkzeug).
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import yaml

KEY = "bench-key-0123456789abcdef-not-secret"


def _config(path: Path, repo: Path, data_dir: Path) -> Path:
    doc = {
        "data_dir": str(data_dir),
        "repositories": [{"name": "bench", "path": str(repo)}],
        "privacy": {"key_env": "BENCH_PARITY_KEY"},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return path


def _equal(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("repo", type=Path)
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--changes", type=int, default=300)
    args = parser.parse_args(argv)
    os.environ["BENCH_PARITY_KEY"] = KEY

    from teamlens.bot.change import compute_change
    from teamlens.config import load_config
    from teamlens.feature_registry import model_features
    from teamlens.features.changes import build_features
    from teamlens.features.pipeline import values_row
    from teamlens.mining.tasks import mine_all
    from teamlens.store import Store

    work = Path(tempfile.mkdtemp(prefix="bench-parity-"))
    config = load_config(_config(work / "store" / "repos.yaml", args.repo, args.data_dir))
    bare = load_config(_config(work / "bare" / "repos.yaml", args.repo, work / "no-store"))
    started = time.perf_counter()
    mine_all(config)
    mined = time.perf_counter()
    build_features(config, config.repositories[0])
    featured = time.perf_counter()
    print(f"mine {mined - started:.1f}s, features {featured - mined:.1f}s", flush=True)

    stored = {
        row["sha"]: values_row(row)
        for row in Store(config.data_dir).read("change_features", "bench").to_pylist()
    }
    log = subprocess.run(
        ["git", "log", "--first-parent", "--no-merges", "--format=%H %P", "HEAD"],
        cwd=args.repo, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    shas = [line.split()[0] for line in log.splitlines() if len(line.split()) == 2]
    shas = [s for s in shas if s in stored][: args.changes]

    columns = model_features()
    store_miss: Counter[str] = Counter()
    git_miss: Counter[str] = Counter()
    git_unavailable: Counter[str] = Counter()
    store_changes = git_changes = 0
    seconds_store: list[float] = []
    seconds_git: list[float] = []
    anchor: list[float] = []
    for i, sha in enumerate(shas, start=1):
        row = stored[sha]
        clock = time.perf_counter()
        change = compute_change(config, config.repositories[0], f"{sha}^", sha)
        seconds_store.append(time.perf_counter() - clock)
        wrong = [c for c in columns if not _equal(change.features[c], row[c])]
        store_miss.update(wrong)
        store_changes += bool(wrong)
        clock = time.perf_counter()
        change = compute_change(bare, bare.repositories[0], f"{sha}^", sha)
        seconds_git.append(time.perf_counter() - clock)
        git_unavailable.update(change.unavailable)
        wrong = [
            c
            for c in columns
            if c not in change.unavailable and not _equal(change.features[c], row[c])
        ]
        git_miss.update(wrong)
        git_changes += bool(wrong)
        clock = time.perf_counter()
        subprocess.run(
            ["git", "diff", "--stat", f"{sha}^", sha], cwd=args.repo, capture_output=True,
            check=True,
        )  # fmt: skip
        anchor.append(time.perf_counter() - clock)
        if i % 50 == 0:
            print(f"{i}/{len(shas)} reviewed", file=sys.stderr, flush=True)

    n = len(shas)
    print(f"\n{n} non-merge changes of the main line, {len(columns)} registry columns each")
    print(f"{'column':<28} {'store history':>14} {'git history':>12}")
    for column in columns:
        if store_miss[column] or git_miss[column] or git_unavailable[column]:
            git = "n/a" if git_unavailable[column] == n else str(git_miss[column])
            print(f"{column:<28} {store_miss[column]:>14} {git:>12}")
    print(f"{'(all other columns)':<28} {0:>14} {0:>12}")
    print(
        f"changes with any mismatch: store history {store_changes} of {n}, "
        f"git history {git_changes} of {n}"
    )
    print(
        f"median seconds per review: store history {statistics.median(seconds_store):.3f}, "
        f"git history {statistics.median(seconds_git):.3f}; anchor `git diff --stat` "
        f"{statistics.median(anchor):.3f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
