"""Time the per-change code features on one repository's recent changes.

Usage::

    .venv/bin/python benchmarks/bench_code_features.py PATH/TO/REPO [--changes 300]

Reads the newest non-merge changes of the repository's HEAD (their ``git diff -U0``
line numbers and both versions of every changed file, read once up front and not
timed), then times, per change and side by side:

* **metrics** (anchor): ``file_code_metrics`` on every parsed file, what ``teamlens
  features`` computes today;
* **metrics + structure**: ``file_code_analysis``, both from one parse;
* **structure alone**: ``file_code_structure``;
* **tokens**: ``file_code_tokens`` on every source file, then ``change_code_tokens``.

The contenders take turns on each change, best of ``--repeat`` runs (default 3), so
load from other processes hits them alike. Prints the median and 90th percentile
milliseconds per change, and the totals. The repository is only read.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from teamlens.features.code_metrics import (
    change_code_structure,
    file_code_analysis,
    file_code_metrics,
    file_code_structure,
)
from teamlens.features.code_tokens import change_code_tokens, comment_style, file_code_tokens
from teamlens.features.diffs import iter_diffs
from teamlens.mining.blobs import BlobReader
from teamlens.mining.syntax import parser_for

MAX_PARSE_BYTES = 1_000_000  # as teamlens features: larger files are not parsed
FileInput = tuple[str, bytes | None, bytes | None, list[int], list[int]]


def load(repo: Path, count: int) -> list[list[FileInput]]:
    """Every changed file (path, before, after, deleted, added) of the newest changes."""
    shas = subprocess.run(
        ["git", "rev-list", "--no-merges", f"--max-count={count}", "HEAD"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    changes: list[list[FileInput]] = []
    with BlobReader.open(repo) as blobs:
        for sha, diffs in iter_diffs(repo, shas):
            files: list[FileInput] = []
            for diff in diffs:
                path = diff.new_path or diff.old_path
                if path is None:
                    continue
                before = (
                    blobs.read(f"{sha}^", diff.old_path, MAX_PARSE_BYTES) if diff.old_path else None
                )
                after = blobs.read(sha, diff.new_path, MAX_PARSE_BYTES) if diff.new_path else None
                if (diff.old_path and before is None) or (diff.new_path and after is None):
                    continue
                files.append((path, before, after, diff.deleted, diff.added))
            changes.append(files)
    return changes


Work = Callable[[list[FileInput]], None]


def per_change(
    changes: list[list[FileInput]], contenders: dict[str, Work], repeat: int
) -> dict[str, list[float]]:
    """Milliseconds per change for each contender: the contenders take turns on each
    change (so a load change on the machine hits them alike), best of ``repeat``."""
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for files in changes:
        for name, work in contenders.items():
            best = float("inf")
            for _ in range(repeat):
                started = time.perf_counter()
                work(files)
                best = min(best, time.perf_counter() - started)
            times[name].append(best * 1000)
    return times


def metrics(files: list[FileInput]) -> None:
    for file in files:
        if parser_for(file[0]) is not None:
            file_code_metrics(*file)


def analysis(files: list[FileInput]) -> None:
    found = [file_code_analysis(*f) for f in files if parser_for(f[0]) is not None]
    change_code_structure(a.structure for a in found if a is not None)


def structure(files: list[FileInput]) -> None:
    found = [file_code_structure(*f) for f in files if parser_for(f[0]) is not None]
    change_code_structure(s for s in found if s is not None)


def tokens(files: list[FileInput]) -> None:
    found = [file_code_tokens(*f) for f in files if comment_style(f[0]) is not None]
    change_code_tokens(t for t in found if t is not None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("repo", type=Path)
    parser.add_argument("--changes", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3, help="best of N per change")
    args = parser.parse_args()
    changes = load(args.repo, args.changes)
    files = sum(len(c) for c in changes)
    print(f"{len(changes)} changes, {files} files read")
    print(f"{'contender':<22} {'median ms':>10} {'p90 ms':>8} {'total s':>8}")
    contenders: dict[str, Work] = {
        "metrics (anchor)": metrics,
        "metrics + structure": analysis,
        "structure alone": structure,
        "tokens": tokens,
    }
    per_change(changes[:20], contenders, 1)  # warm the parsers and caches
    for name, times in per_change(changes, contenders, args.repeat).items():
        p90 = statistics.quantiles(times, n=10)[-1]
        median, total = statistics.median(times), sum(times) / 1000
        print(f"{name:<22} {median:>10.2f} {p90:>8.2f} {total:>8.2f}")


if __name__ == "__main__":
    main()
