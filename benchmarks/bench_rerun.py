"""A second `teamlens run` with nothing new: how long, where the time goes, what it trains.

Side by side in one run, interleaved so that both see the same machine load:

* **anchor**: teamlens as of an earlier commit (``--anchor COMMIT``, exported with
  ``git archive`` from this repository);
* **teamlens**: this commit (``--commit``, default HEAD), exported the same way, so that
  edits in the working tree cannot change the code under test.

Each gets its own copy of the store (``cp -a`` of the configuration's data folder), runs
once to make sure the run is complete (not timed), then ``--runs`` more times with
nothing new. Printed: the median, minimum and maximum wall time of those runs, the
median time of each stage (from the time each stage's first progress line appears,
teamlens only: the anchor's stages are not named), the longest stretch without output,
and how many model folders the timed runs added (should be 0).

    .venv/bin/python benchmarks/bench_rerun.py --config DIR/repos.yaml --anchor 3012346 \\
        --work /scratch/rerun

LightGBM is single-threaded (OMP_NUM_THREADS=1); nothing is trained in the timed runs.
"""

from __future__ import annotations

import argparse
import itertools
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
STAGES = ("mine", "github", "label", "features", "train", "summary", "report")


@dataclass(frozen=True)
class Timed:
    seconds: float
    cpu: float  # user + system seconds of the run's process tree
    lines: list[tuple[float, str]]
    models: int


def export(commit: str, target: Path) -> Path:
    """The teamlens source tree of `commit`, exported into `target`."""
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", commit], capture_output=True, check=True
    )
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive.stdout, check=True)
    return target


def copy_config(config: Path, work: Path) -> Path:
    """A repos.yaml in `work` with its own copy of the data folder, other paths absolute."""
    doc = yaml.safe_load(config.read_text(encoding="utf-8"))
    base = config.resolve().parent
    data = base / doc.get("data_dir", ".teamlens")
    shutil.copytree(data, work / "data", symlinks=True)
    doc["data_dir"] = str(work / "data")
    for repo in doc["repositories"]:
        if "path" in repo:
            repo["path"] = str(base / repo["path"])
    privacy = doc.get("privacy", {})
    if "key_file" in privacy:
        privacy["key_file"] = str(base / privacy["key_file"])
    if "clones_dir" in doc:
        doc["clones_dir"] = str(base / doc["clones_dir"])
    out = work / "repos.yaml"
    out.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return out


def run_once(source: Path, config: Path) -> Timed:
    env = {**os.environ, "PYTHONPATH": str(source), "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "teamlens", "run", "--config", str(config)]
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    # cwd: `python -m` puts the current folder first on sys.path, before PYTHONPATH.
    child = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        text=True,
        cwd=config.parent,
    )
    assert child.stdout is not None
    lines = [(time.monotonic() - started, line.rstrip("\n")) for line in child.stdout]
    if child.wait() != 0:
        raise SystemExit("teamlens run failed:\n" + "\n".join(x for _, x in lines))
    seconds = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - used.ru_utime - used.ru_stime
    models = config.parent / "data" / "models"
    count = sum(1 for p in models.iterdir() if p.is_dir()) if models.is_dir() else 0
    return Timed(seconds, cpu, lines, count)


def stage_seconds(timed: Timed) -> dict[str, float]:
    """Each named stage: from its first line to the next stage's first line (or the end)."""
    starts: list[tuple[str, float]] = []
    for at, line in timed.lines:
        word = line.split(" ", 1)[0].rstrip(":")
        if word in STAGES and (not starts or starts[-1][0] != word):
            starts.append((word, at))
    ends = [at for _, at in starts[1:]] + [timed.seconds]
    return {name: end - at for (name, at), end in zip(starts, ends, strict=True)}


def silence(timed: Timed) -> float:
    times = [0.0, *(at for at, _ in timed.lines), timed.seconds]
    return max(b - a for a, b in itertools.pairwise(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", type=Path, required=True, help="repos.yaml of a built store")
    parser.add_argument("--anchor", required=True, help="the commit to compare with")
    parser.add_argument("--commit", default="HEAD", help="the commit measured (default HEAD)")
    parser.add_argument("--work", type=Path, required=True, help="scratch folder (replaced)")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    if args.work.exists():
        shutil.rmtree(args.work)
    variants = {"anchor": args.anchor, "teamlens": args.commit}
    sources = {v: export(c, args.work / v / "src") for v, c in variants.items()}
    configs = {v: copy_config(args.config, args.work / v) for v in variants}
    first = {v: run_once(sources[v], configs[v]) for v in variants}
    timed: dict[str, list[Timed]] = {v: [] for v in variants}
    for _ in range(args.runs):
        for v in variants:
            timed[v].append(run_once(sources[v], configs[v]))

    load = os.getloadavg()[0]
    print(f"second `teamlens run` with nothing new, {args.runs} runs each, load {load:.1f}")
    print(
        "| variant | commit | median s | min s | max s | median CPU s | longest silence s "
        "| models added |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for v, c in variants.items():
        secs = [t.seconds for t in timed[v]]
        added = timed[v][-1].models - first[v].models
        print(
            f"| {v} | {c} | {statistics.median(secs):.2f} | {min(secs):.2f} | {max(secs):.2f} "
            f"| {statistics.median(t.cpu for t in timed[v]):.2f} "
            f"| {max(silence(t) for t in timed[v]):.1f} | {added} |"
        )
    per_stage = [stage_seconds(t) for t in timed["teamlens"]]
    names = [s for s in STAGES if any(s in p for p in per_stage)]
    print("\nteamlens, median seconds per stage (start-up before the first stage: "
          f"{statistics.median(t.lines[0][0] for t in timed['teamlens']):.2f} s)")  # fmt: skip
    print("| " + " | ".join(names) + " |")
    print("|" + "---:|" * len(names))
    print("| " + " | ".join(f"{statistics.median(p.get(s, 0.0) for p in per_stage):.2f}"
                            for s in names) + " |")  # fmt: skip
    print("\nteamlens, last timed run's output:")
    for at, line in timed["teamlens"][-1].lines:
        print(f"  {at:6.2f}  {line}")


if __name__ == "__main__":
    main()
