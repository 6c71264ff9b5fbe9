"""Time the team trends report on a ``team_period`` table the size of a 20,000-change store.

Usage::

    .venv/bin/python benchmarks/bench_report.py [--changes 20000] [--weeks 104]
        [--teams 8] [--repeat 5] [--skip-store] [--save FOLDER]

Two parts:

1. **Synthetic table**: a ``team_period`` table as a 20,000-change store would give with
   weekly periods (8 teams, ``(all teams)`` and ``(no team)`` over 104 weeks, with
   hidden weeks, weeks rolled up into months and provisional recent weeks; synthetic
   values). :func:`time_report` times ``render_html`` and ``write_csv`` on it (median
   of ``--repeat`` runs).
2. **Real store** (only when ``dashboard.team_period.build_team_period`` exists): writes
   a store with as many synthetic changes (commits, file changes, features, labels,
   review facts), times ``build_team_period`` once, then the report on its table.

Target: the whole report (aggregation + HTML + CSV) from a 20,000-change store in under
10 s. ``--save FOLDER`` keeps the last HTML page and CSV files for a look.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import importlib.util
import math
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa

from teamlens.aggregates import ALL_TEAMS, SCHEMA, UNOWNED
from teamlens.dashboard.report import render_html, write_csv

FIRST_MONDAY = dt.date(2023, 1, 2)
K = 5
Z95 = 1.959963984540054


def _wilson(successes: int, trials: int) -> tuple[float | None, float | None]:
    if trials == 0:
        return None, None
    p = successes / trials
    z2 = Z95 * Z95
    denominator = 1 + z2 / trials
    centre = (p + z2 / (2 * trials)) / denominator
    half = Z95 * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def _figures(rng: random.Random, changes: int, provisional: bool, team: str) -> dict[str, Any]:
    labelled = changes if not provisional else rng.randint(0, changes // 2)
    inducing = sum(1 for _ in range(labelled) if rng.random() < 0.18)
    low, high = _wilson(inducing, labelled)
    risks = [rng.betavariate(2, 5) for _ in range(changes)]
    return {
        "changes": changes,
        "churn": sum(rng.randint(2, 400) for _ in range(changes)),
        "labelled_changes": labelled,
        "defect_inducing": inducing,
        "defect_rate": inducing / labelled if labelled else None,
        "defect_rate_low": low,
        "defect_rate_high": high,
        "provisional": provisional,
        "mean_risk": sum(risks) / len(risks) if risks else None,
        "high_risk_share": sum(1 for r in risks if r >= 0.6) / len(risks) if risks else None,
        "review_coverage": rng.uniform(0.6, 1.0),
        "median_hours_to_first_review": rng.uniform(0.5, 60.0),
        "hotspots": [f"{team}/pkg{rng.randint(0, 20)}/module{i}.py" for i in range(3)],
    }


def _row(team: str, period: str, start: dt.date, **values: Any) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(SCHEMA.names)
    row.update(team=team, period=period, period_start=start, suppressed=False, rolled_up=False)
    row.update(values)
    return row


def synthetic_table(
    changes: int = 20_000,
    teams: int = 8,
    weeks: int = 104,
    provisional_weeks: int = 26,
    seed: int = 7,
) -> pa.Table:
    """A ``team_period`` table (weekly) as a store of ``changes`` changes would give.

    Team sizes differ: the last team is small, so many of its weeks are hidden or
    rolled up into months; the others are hidden now and then.
    """
    rng = random.Random(seed)  # noqa: S311 - synthetic data, not security
    names = [f"team-{i:02d}" for i in range(teams)] + [UNOWNED]
    weights = [1.0 + i % 3 for i in range(teams - 1)] + [0.3, 0.6]
    per_week = changes / weeks / sum(weights)
    rows: list[dict[str, Any]] = []
    for name, weight in zip(names, weights, strict=True):
        by_month: dict[dt.date, list[tuple[dt.date, int, int]]] = {}
        for w in range(weeks):
            start = FIRST_MONDAY + dt.timedelta(weeks=w)
            n = max(0, round(rng.gauss(per_week * weight, per_week * weight / 3)))
            people = min(n, max(1, round(rng.gauss(6 * weight, 2))))
            if n:
                by_month.setdefault(start.replace(day=1), []).append((start, n, people))
        for month, cells in by_month.items():
            month_people = sum(people for _, _, people in cells) // 2
            rolled = False
            for start, n, people in cells:
                provisional = start >= FIRST_MONDAY + dt.timedelta(weeks=weeks - provisional_weeks)
                if people >= K:
                    rows.append(_row(name, "week", start, **_figures(rng, n, provisional, name)))
                    continue
                reason = f"fewer than {K} contributors"
                if month_people >= K:
                    reason += "; shown in its month"
                    if not rolled:
                        rolled = True
                        total = sum(c[1] for c in cells)
                        figures = _figures(rng, total, provisional, name)
                        rows.append(_row(name, "month", month, rolled_up=True, **figures))
                rows.append(_row(name, "week", start, suppressed=True, reason=reason))
    for w in range(weeks):
        start = FIRST_MONDAY + dt.timedelta(weeks=w)
        provisional = w >= weeks - provisional_weeks
        total = round(changes / weeks)
        rows.append(_row(ALL_TEAMS, "week", start, **_figures(rng, total, provisional, "all")))
    return pa.Table.from_pylist(rows, schema=SCHEMA)


def _median_seconds(action: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def time_report(
    table: pa.Table, *, period: str = "week", k: int = K, repeat: int = 5, save: Path | None = None
) -> dict[str, float]:
    """Median seconds of ``render_html``, ``write_csv`` and both, and the page's size."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = save or Path(tmp)

        def render() -> str:
            return render_html(table, period=period, k=k, generated="benchmark")

        def csv_files() -> list[Path]:
            return write_csv(table, folder)

        render_s = _median_seconds(render, repeat)
        csv_s = _median_seconds(csv_files, repeat)
        page = render()
        if save is not None:
            save.mkdir(parents=True, exist_ok=True)
            (save / "report.html").write_text(page, encoding="utf-8")
    return {
        "rows": float(table.num_rows),
        "render_s": render_s,
        "csv_s": csv_s,
        "report_s": render_s + csv_s,
        "html_kb": len(page.encode("utf-8")) / 1024,
    }


# --- a real store (when the aggregation exists) ------------------------------------------


def _store_tables(changes: int, teams: int, weeks: int, seed: int) -> dict[str, pa.Table]:
    """Synthetic facts of one repository: commits, files, features, labels, reviews."""
    from teamlens.store import SCHEMAS

    rng = random.Random(seed)  # noqa: S311 - synthetic data, not security
    start = dt.datetime.combine(FIRST_MONDAY, dt.time(), tzinfo=dt.UTC)
    span = dt.timedelta(weeks=weeks).total_seconds()
    mature = start + dt.timedelta(weeks=weeks - 26)
    people = [[f"p{t:02d}-{i:02d}" for i in range(3 + 2 * (t % 4))] for t in range(teams)]
    commits, files, features, labels, reviews = [], [], [], [], []
    for n in range(changes):
        when = start + dt.timedelta(seconds=span * n / changes)
        team = rng.randrange(teams)
        sha = f"{n:040x}"
        paths = [f"team{team}/pkg{rng.randint(0, 20)}/m{rng.randint(0, 9)}.py"]
        if rng.random() < 0.2:
            paths.append(f"shared/util{rng.randint(0, 5)}.py")
        added, deleted = rng.randint(1, 300), rng.randint(0, 150)
        is_fix = rng.random() < 0.15
        commits.append(
            {
                "repo": "bench",
                "sha": sha,
                "parent_shas": [f"{n - 1:040x}"] if n else [],
                "is_merge": False,
                "author_time": when,
                "author_tz": 0,
                "commit_time": when,
                "committer_tz": 0,
                "author_id": rng.choice(people[team]),
                "committer_id": "c",
                "message_subject": "fix" if is_fix else "change",
                "is_fix": is_fix,
                "n_files": len(paths),
                "added": added,
                "deleted": deleted,
            }
        )
        files += [
            {"repo": "bench", "sha": sha, "path": p, "change_type": "M", "added": added,
             "deleted": deleted, "is_binary": False, "is_submodule": False, "language": "python"}
            for p in paths
        ]  # fmt: skip
        owners = [f"team-{team:02d}"] if not paths[0].startswith("shared") else []
        features.append(
            {"repo": "bench", "sha": sha, "commit_time": when, "ns": 1, "nd": len(paths),
             "nf": len(paths), "entropy": rng.random(), "la": added, "ld": deleted,
             "lt": rng.randint(0, 2000), "fix": is_fix, "ndev": rng.randint(1, 9),
             "age": rng.uniform(0, 300), "nuc": rng.randint(1, 20), "owning_teams": owners,
             "n_teams": len(owners), "owner_share": rng.random()}
        )  # fmt: skip
        if when < mature:
            labels.append(
                {
                    "repo": "bench",
                    "sha": sha,
                    "variant": "r-szz",
                    "is_inducing": rng.random() < 0.18,
                }
            )
        if rng.random() < 0.7:
            reviewed = rng.random() < 0.85
            reviews.append(
                {"repo": "bench", "sha": sha, "number": n, "reviewed": reviewed,
                 "review_rounds": 1, "hours_to_first_review": rng.uniform(0.2, 50) if reviewed
                 else None, "n_reviewers": 1}
            )  # fmt: skip
    rows = {
        "commits": commits,
        "file_changes": files,
        "change_features": features,
        "change_labels": labels,
        "change_reviews": reviews,
    }
    return {name: pa.Table.from_pylist(data, schema=SCHEMAS[name]) for name, data in rows.items()}


def store_table(
    folder: Path, changes: int, teams: int, weeks: int, period: str = "week"
) -> tuple[pa.Table, float] | None:
    """Build a store and its ``team_period`` table; ``None`` without the aggregation."""
    if importlib.util.find_spec("teamlens.dashboard.team_period") is None:
        return None
    module = importlib.import_module("teamlens.dashboard.team_period")
    if not hasattr(module, "build_team_period"):
        return None
    from teamlens.config import Config, PrivacyConfig, RepositoryConfig
    from teamlens.store import RepoState, Store

    data_dir = folder / "data"
    with Store(data_dir).writer("bench") as writer:
        writer.commit(_store_tables(changes, teams, weeks, seed=11), RepoState())
    config = Config(
        path=folder / "repos.yaml",
        data_dir=data_dir,
        clones_dir=folder / "clones",
        repositories=(RepositoryConfig(name="bench", path=folder),),
        privacy=PrivacyConfig(k=K),
    )
    started = time.perf_counter()
    report = module.build_team_period(config, period)
    seconds = time.perf_counter() - started
    table = module.read_team_period(data_dir) if hasattr(module, "read_team_period") else None
    if table is None:
        import pyarrow.parquet as pq

        table = pq.read_table(report.path)
    return table, seconds


def _print(name: str, result: dict[str, float]) -> None:
    print(
        f"{name:<10} {int(result['rows']):>6} rows  render_html {result['render_s']:.3f} s  "
        f"write_csv {result['csv_s']:.3f} s  report {result['report_s']:.3f} s  "
        f"page {result['html_kb']:.0f} KiB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--changes", type=int, default=20_000)
    parser.add_argument("--teams", type=int, default=8)
    parser.add_argument("--weeks", type=int, default=104)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--skip-store", action="store_true", help="only the synthetic table")
    parser.add_argument("--save", type=Path, help="keep the last page and CSV files here")
    args = parser.parse_args()

    table = synthetic_table(args.changes, args.teams, args.weeks)
    print(
        f"{args.changes} changes, {args.teams} teams, {args.weeks} weeks; medians of {args.repeat}"
    )
    _print("synthetic", time_report(table, repeat=args.repeat, save=args.save))
    if args.skip_store:
        return
    with tempfile.TemporaryDirectory() as tmp:
        try:
            built = store_table(Path(tmp), args.changes, args.teams, args.weeks)
        except Exception as exc:  # the aggregation is someone else's work in progress
            print(f"store      skipped: build_team_period failed ({type(exc).__name__}: {exc})")
            return
    if built is None:
        print("store      skipped: dashboard.team_period.build_team_period does not exist yet")
        return
    store, aggregate_s = built
    result = time_report(store, repeat=args.repeat)
    _print("store", result)
    total = aggregate_s + result["report_s"]
    verdict = "ok" if total < 10 else "over the 10 s target"
    print(f"whole report from the store: aggregation {aggregate_s:.2f} s + report "
          f"{result['report_s']:.2f} s = {total:.2f} s ({verdict})")  # fmt: skip


if __name__ == "__main__":
    main()
