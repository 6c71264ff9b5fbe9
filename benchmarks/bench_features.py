"""Time the whole labelling pipeline on one repository: mine, label, features.

Usage::

    .venv/bin/python benchmarks/bench_features.py PATH/TO/REPO [--skip-label]

Runs each `teamlens` command once in a fresh temporary data folder (the repository is
only read) and prints wall time, peak memory, and the per-stage breakdown that
`teamlens features` reports. Target: a 17,000-commit repository in minutes, not hours.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TEAMLENS = Path(sys.executable).parent / "teamlens"


def run(args: list[str], config: Path) -> tuple[float, float, str]:
    """Wall seconds, peak RSS in MB and stdout of one teamlens command."""
    started = time.monotonic()
    proc = subprocess.Popen(
        [str(TEAMLENS), *args, "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"teamlens {' '.join(args)} failed")
    return time.monotonic() - started, usage.ru_maxrss / 1024, out.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("repo", type=Path)
    parser.add_argument("--skip-label", action="store_true", help="do not run SZZ")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "repos.yaml"
        config.write_text(
            f"data_dir: {tmp}/data\nrepositories:\n  - name: bench\n"
            f"    path: {args.repo.resolve()}\nprivacy:\n  key_file: {tmp}/key\n",
            encoding="utf-8",
        )
        commands = [["mine"], ["label"], ["features"]]
        if args.skip_label:
            commands.remove(["label"])
        print(f"repository: {args.repo}")
        print(f"{'command':<10} {'seconds':>9} {'peak MB':>8}  output")
        total = 0.0
        for command in commands:
            seconds, peak, out = run(
                [*command, "--quiet"] if command != ["features"] else command, config
            )
            total += seconds
            print(f"{command[0]:<10} {seconds:>9.1f} {peak:>8.0f}  {out}")
        print(f"{'total':<10} {total:>9.1f}")


if __name__ == "__main__":
    main()
