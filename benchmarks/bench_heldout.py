"""Acceptance benchmark: teamlens on the six held-out repositories (issue 15's targets).

Usage::

    .venv/bin/python benchmarks/bench_heldout.py --data-dir DIR [--mirrors DIR]
        [--repo NAME ...] [--model FOLDER] [--rebuild] [--no-update] [--setup-only]
        [--seed 0] [--json] [--save FILE]

The six repositories (pallets/flask, pallets/click, psf/requests, encode/httpx,
spf13/cobra, expressjs/express) are never used to train or tune anything in teamlens;
this benchmark only measures on them, at the pinned commits of :data:`HELDOUT`.

For each repository, in ``DIR/<name>/``:

1. ``repo/``: a clone (from ``--mirrors DIR/<owner>+<name>/repo`` when it exists, else
   from GitHub) with the pinned commit checked out as branch ``heldout``;
   ``teamlens/``: the data folder, filled by ``teamlens mine``, ``label`` and
   ``features`` (incremental, so a second run reuses it; ``--rebuild`` starts the data
   folder afresh but keeps PyDriller's cache, which depends on the repository only;
   ``--no-update`` skips the commands). The key file is ``DIR/key``, outside every
   data folder.
2. Labels from two labellers for the same changes: teamlens's default SZZ labels (the
   store) and PyDriller's B-SZZ (``pydriller.Git.get_commits_last_modified_lines``) run
   by this benchmark on the fix commits teamlens identifies (``is_fix``, one parent),
   so only the labeller differs. PyDriller's links are cached in
   ``pydriller-bszz.json`` with the seconds each fix took. Only **mature** changes
   count: made at least ``labels.maturity_days`` before the repository's last commit.
3. Contenders, each scored against both label sources:

   * on all mature changes: the shipped default model (``model/default/``, or
     ``--model FOLDER``) and ``la`` (lines added) alone;
   * on a time-ordered split of the mature changes (the newest 20 % tested; training on
     changes at least the maturity window older, as ``teamlens train`` does): the
     in-repository model ``teamlens train`` would save (``teamlens``: the kind it
     chooses on the validation window), each kind it chooses from (LightGBM, logistic
     regression, their blend) and LApredict (``teamlens.model.evaluation``, all
     trained on teamlens's labels: what a user gets), and the default model and ``la``
     on the same test rows.

   Metrics: ROC-AUC, PR-AUC and Popt (ranking by predicted risk, and by risk per line of
   effort, ``Popt-ea``; effort = la + ld), for all changes, **code** changes (touching
   at least one file with a source extension, ``teamlens.mining.languages``) and
   **docs/config-only** changes (touching none) separately.

Output: one table per label source and scope, per repository and the mean over the
repositories where a metric is defined, then the targets and whether each is met.
``--json`` prints one JSON object instead; ``--save FILE`` writes that object too.
Progress goes to stderr. Nothing printed names a person or a change.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from teamlens.config import load_config
from teamlens.mining.languages import language_of
from teamlens.model.dataset import JitData, load_store
from teamlens.model.evaluation import Contender, choose, evaluate_split
from teamlens.model.metrics import effort_aware_order, popt, pr_auc, risk_order, roc_auc
from teamlens.model.registry import DEFAULT_MODEL_DIR, SavedModel, load_model
from teamlens.model.split import DAY, SplitError, holdout
from teamlens.model.training import score_saved
from teamlens.store import Store

TEAMLENS = Path(sys.executable).parent / "teamlens"
TEST_SHARE = 0.2


@dataclass(frozen=True)
class HeldOut:
    """A held-out repository at the commit the benchmark measures."""

    slug: str  # owner/name on GitHub
    commit: str

    @property
    def name(self) -> str:
        return self.slug.split("/", 1)[1]


#: The held-out six, pinned (each repository's default-branch head when first measured).
HELDOUT: tuple[HeldOut, ...] = (
    HeldOut("pallets/flask", "2ac89889f4cc330eabd50f295dcef02828522c69"),
    HeldOut("pallets/click", "2c8cd3ac958a7eb316d67f2d316c27086c4c0369"),
    HeldOut("psf/requests", "1f6589ec3a1ee910f9a65cc3ceac60b26677bc0e"),
    HeldOut("encode/httpx", "ae1b9f66238f75ced3ced5e4485408435de10768"),
    HeldOut("spf13/cobra", "adbc8813901bba65827259daa8e22ff94ec1f30e"),
    HeldOut("expressjs/express", "a3714473feb3d2908add734d340e7755fd85e0a3"),
)

LABELS = ("teamlens", "pydriller")
SUBSETS = ("all", "code", "docs")
SCOPES = ("mature", "test")
MATURE_CONTENDERS = ("default", "la")
#: "teamlens" is the kind `teamlens train` would save (chosen on the validation window).
TEST_CONTENDERS = ("default", "la", "teamlens", "lightgbm", "logistic", "blend", "lapredict")
METRICS = ("roc_auc", "pr_auc", "popt", "popt_ea")

Log = Callable[[str], None]


# --- pure parts ------------------------------------------------------------------------


def is_code_change(paths: Iterable[str | None]) -> bool:
    """A code change touches at least one file with a source extension (old or new path)."""
    return any(p is not None and language_of(p) is not None for p in paths)


def mature_mask(times: npt.NDArray[np.int64], last_time: int, maturity_days: float) -> Any:
    """Changes made at least `maturity_days` before the repository's last commit."""
    return np.asarray(times <= last_time - maturity_days * DAY, dtype=bool)


@dataclass(frozen=True)
class Scores:
    """One contender's metrics on one set of changes (NaN where undefined)."""

    n: int
    defects: int
    roc_auc: float
    pr_auc: float
    popt: float  # changes inspected by predicted risk
    popt_ea: float  # changes inspected by predicted risk per line of effort

    def as_dict(self) -> dict[str, float | int | None]:
        return {
            k: (None if isinstance(v, float) and math.isnan(v) else v)
            for k, v in asdict(self).items()
        }


def score_changes(
    y: npt.NDArray[np.int64], score: npt.NDArray[np.float64], effort: npt.NDArray[np.float64]
) -> Scores:
    """ROC-AUC, PR-AUC and both Popts of one score over the changes (y, effort)."""
    n, defects = len(y), int(np.sum(y))
    if n == 0:
        return Scores(0, 0, math.nan, math.nan, math.nan, math.nan)
    return Scores(
        n,
        defects,
        roc_auc(y, score),
        pr_auc(y, score),
        popt(y, effort, risk_order(score, effort)),
        popt(y, effort, effort_aware_order(score, effort)),
    )


def subset_scores(
    y: npt.NDArray[np.int64],
    score: npt.NDArray[np.float64],
    effort: npt.NDArray[np.float64],
    code: npt.NDArray[np.bool_],
) -> dict[str, Scores]:
    """:func:`score_changes` on all changes, the code changes and the docs/config-only ones."""
    return {
        "all": score_changes(y, score, effort),
        "code": score_changes(y[code], score[code], effort[code]),
        "docs": score_changes(y[~code], score[~code], effort[~code]),
    }


#: results[label source][scope][contender][subset] -> Scores
Results = dict[str, dict[str, dict[str, dict[str, Scores]]]]


def mean_table(per_repo: Sequence[Results]) -> dict[str, Any]:
    """Per label source, scope, contender, subset and metric: the mean over repositories
    where the metric is defined, and how many repositories that is."""
    out: dict[str, Any] = {}
    for label in LABELS:
        for scope in SCOPES:
            contenders = MATURE_CONTENDERS if scope == "mature" else TEST_CONTENDERS
            for contender in contenders:
                for subset in SUBSETS:
                    cell: dict[str, Any] = {}
                    for metric in METRICS:
                        values = [
                            getattr(r[label][scope][contender][subset], metric)
                            for r in per_repo
                            if contender in r.get(label, {}).get(scope, {})
                        ]
                        defined = [v for v in values if not math.isnan(v)]
                        cell[metric] = statistics.fmean(defined) if defined else None
                        cell[f"{metric}_repositories"] = len(defined)
                    out.setdefault(label, {}).setdefault(scope, {}).setdefault(contender, {})[
                        subset
                    ] = cell
    return out


def targets(per_repo: Mapping[str, Results], means: Mapping[str, Any]) -> dict[str, Any]:
    """Issue 15's two held-out targets, per label source, on all (mature) changes."""
    out: dict[str, Any] = {}
    for label in LABELS:
        mature = {n: r[label]["mature"] for n, r in per_repo.items() if label in r}
        above_la = {
            n: bool(m["default"]["all"].roc_auc > m["la"]["all"].roc_auc) for n, m in mature.items()
        }
        test = means[label]["test"]
        ours = test["teamlens"]["all"]
        ahead = {
            f"{metric} ahead of {other}": (
                ours[metric] is not None
                and test[other]["all"][metric] is not None
                and ours[metric] > test[other]["all"][metric]
            )
            for other in ("lapredict", "logistic")
            for metric in ("roc_auc", "popt")
        }
        default_mean = means[label]["mature"]["default"]["all"]["roc_auc"]
        out[label] = {
            "default_above_la_on_each": above_la,
            "default_above_la_met": bool(above_la) and all(above_la.values()),
            "default_mean_roc_auc": default_mean,
            "default_mean_met": default_mean is not None and default_mean >= 0.80,
            "in_repo_mean_roc_auc": ours["roc_auc"],
            "in_repo_mean_met": ours["roc_auc"] is not None and ours["roc_auc"] >= 0.82,
            "in_repo_ahead": ahead,
            "in_repo_ahead_met": all(ahead.values()),
        }
    return out


def _fmt(value: float | None) -> str:
    return (
        "-" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.3f}"
    )


def render_summary(doc: Mapping[str, Any]) -> str:
    """Compact Markdown: ROC-AUC per repository (columns) for each label source and
    subset, then the means of every metric on all changes."""
    repos = doc["repositories"]
    names = [n for n, e in repos.items() if "results" in e]
    rows = [("mature", c) for c in MATURE_CONTENDERS] + [("test", c) for c in TEST_CONTENDERS]
    lines: list[str] = []
    for label in LABELS:
        for subset in SUBSETS:
            cells = {
                (scope, c): [
                    repos[n]["results"][label][scope].get(c, {}).get(subset) for n in names
                ]
                for scope, c in rows
            }
            if all(s is None or s["roc_auc"] is None for v in cells.values() for s in v):
                continue
            lines += ["", f"ROC-AUC, labels {label}, {subset} changes:"]
            lines += ["", "| scope | contender | " + " | ".join(names) + " | mean |"]
            lines.append("|---|---|" + "---:|" * (len(names) + 1))
            for scope, c in rows:
                if all(s is None for s in cells[(scope, c)]):
                    continue
                values = [_fmt(s["roc_auc"] if s else None) for s in cells[(scope, c)]]
                mean = doc["mean"][label][scope][c][subset]["roc_auc"]
                lines.append(f"| {scope} | {c} | " + " | ".join(values) + f" | {_fmt(mean)} |")
    lines += ["", "Means over the repositories, all changes:", ""]
    lines.append("| labels | scope | contender | ROC-AUC | PR-AUC | Popt | Popt-ea |")
    lines.append("|---|---|---|---:|---:|---:|---:|")
    for label in LABELS:
        for scope, c in rows:
            cell = doc["mean"][label][scope][c]["all"]
            if cell["roc_auc_repositories"] == 0 and cell["roc_auc"] is None:
                continue
            shown = " | ".join(_fmt(cell[m]) for m in METRICS)
            lines.append(f"| {label} | {scope} | {c} | {shown} |")
    return "\n".join(lines).lstrip("\n")


def render_tables(doc: Mapping[str, Any]) -> str:
    """Markdown tables: per label source and scope, repositories then means."""
    lines: list[str] = []
    repos = doc["repositories"]
    scope_titles = {
        "mature": "all mature changes",
        "test": f"time-ordered test window (newest {TEST_SHARE:.0%} of the mature changes)",
    }
    for label in LABELS:
        for scope in SCOPES:
            contenders = MATURE_CONTENDERS if scope == "mature" else TEST_CONTENDERS
            lines += ["", f"### Labels: {label}; {scope_titles[scope]}", ""]
            head = ["repository", "contender"]
            for subset in SUBSETS:
                head += [f"{subset} n (defects)", "ROC", "PR", "Popt", "Popt-ea"]
            lines.append("| " + " | ".join(head) + " |")
            lines.append("|" + "|".join(["---", "---"] + ["---:"] * (len(head) - 2)) + "|")
            for name, entry in repos.items():
                block = entry.get("results", {}).get(label, {}).get(scope, {})
                for contender in contenders:
                    if contender not in block:
                        continue
                    row = [name, contender]
                    for subset in SUBSETS:
                        s = block[contender][subset]
                        row += [f"{s['n']} ({s['defects']})"]
                        row += [_fmt(s[m]) for m in METRICS]
                    lines.append("| " + " | ".join(row) + " |")
            for contender in contenders:
                row = ["**mean**", contender]
                for subset in SUBSETS:
                    cell = doc["mean"][label][scope][contender][subset]
                    row.append(f"({cell['roc_auc_repositories']} repos)")
                    row += [_fmt(cell[m]) for m in METRICS]
                lines.append("| " + " | ".join(row) + " |")
    lines += ["", "### Targets (all changes of each scope)", ""]
    for label, t in doc["targets"].items():
        above = ", ".join(
            f"{n} {'yes' if ok else 'NO'}" for n, ok in t["default_above_la_on_each"].items()
        )
        lines.append(
            f"- labels {label}: default model above `la` on each: "
            f"{'met' if t['default_above_la_met'] else 'not met'} ({above}); "
            f"default mean ROC-AUC {_fmt(t['default_mean_roc_auc'])} (>= 0.80: "
            f"{'met' if t['default_mean_met'] else 'not met'}); in-repository mean ROC-AUC "
            f"{_fmt(t['in_repo_mean_roc_auc'])} (>= 0.82: "
            f"{'met' if t['in_repo_mean_met'] else 'not met'}); ahead of LApredict and "
            f"logistic on ROC-AUC and Popt: {'met' if t['in_repo_ahead_met'] else 'not met'} "
            f"({', '.join(k for k, ok in t['in_repo_ahead'].items() if not ok) or 'all'}"
            f"{' behind' if not t['in_repo_ahead_met'] else ''})"
        )
    return "\n".join(lines).lstrip("\n")


# --- one repository's changes ----------------------------------------------------------


@dataclass(frozen=True)
class RepoChanges:
    """A repository's changes as the benchmark scores them."""

    data: JitData  # every change with features and teamlens's labels, oldest first
    code: npt.NDArray[np.bool_]  # per change: touches a source file
    last_time: int  # the repository's last commit (unix seconds)
    maturity_days: int

    def mature(self) -> tuple[JitData, npt.NDArray[np.bool_]]:
        keep = mature_mask(self.data.times(), self.last_time, self.maturity_days)
        return self.data.rows(np.flatnonzero(keep)), self.code[keep]


_PATHS_SQL = "SELECT sha, list(path), list(old_path) FROM file_changes WHERE repo = ? GROUP BY sha"


def load_changes(store: Store, repo: str, maturity_days: int) -> RepoChanges:
    """The repository's changes from the store, with the code/docs split and last commit."""
    data = load_store(store, [repo])
    touched = {
        sha: is_code_change([*(paths or []), *(old or [])])
        for sha, paths, old in store.query(_PATHS_SQL, [repo]).rows
    }
    code = np.array([touched.get(sha, False) for sha in data.frame["id"]], dtype=bool)
    (last,) = store.query(
        "SELECT max(epoch(commit_time))::BIGINT FROM commits WHERE repo = ?", [repo]
    ).rows[0]
    return RepoChanges(data, code, int(last), maturity_days)


def with_model_columns(store: Store, repo: str, data: JitData, model: SavedModel) -> JitData:
    """`data` plus any ``changes`` column the model reads that the dataset loader skips."""
    wanted = [model.meta.columns.get(f, f) for f in model.meta.features]
    missing = [c for c in dict.fromkeys(wanted) if c not in data.frame.columns]
    if not missing:
        return data
    columns = ", ".join(f'"{c}"::DOUBLE AS "{c}"' for c in missing)
    # Column names come from the model folder's meta.json, quoted; the value is a parameter.
    sql = f"SELECT sha AS id, {columns} FROM changes WHERE repo = ?"  # noqa: S608
    result = store.query(sql, [repo])
    extra = pd.DataFrame(result.rows, columns=result.columns)
    frame = data.frame.merge(extra, on="id", how="left", validate="one_to_one")
    return replace(data, frame=frame)


def model_risk(model: SavedModel, data: JitData) -> npt.NDArray[np.float64]:
    """The saved model's risk for each change, as `teamlens train` scores a saved model."""
    return np.asarray(score_saved(model, data), dtype=np.float64)


def pydriller_labels(ids: Iterable[str], inducing: set[str]) -> npt.NDArray[np.int64]:
    return np.array([1 if sha in inducing else 0 for sha in ids], dtype=np.int64)


def evaluate_repository(
    changes: RepoChanges,
    pydriller_inducing: set[str],
    model: SavedModel,
    seed: int = 0,
    tune: bool = True,
    log: Log | None = None,
) -> tuple[Results, dict[str, Any]]:
    """Every contender against both label sources on one repository's mature changes.

    Returns the results and facts about the data (counts, the split).
    """
    mature, code = changes.mature()
    known = mature.frame["label"].notna().to_numpy()
    mature, code = mature.rows(np.flatnonzero(known)).labelled, code[known]
    y = {
        "teamlens": mature.y(),
        "pydriller": pydriller_labels(mature.frame["id"], pydriller_inducing),
    }
    effort = mature.effort()
    default = model_risk(model, mature)
    la = mature.frame["la"].to_numpy(dtype=np.float64)
    results: Results = {label: {"mature": {}, "test": {}} for label in LABELS}
    for label in LABELS:
        results[label]["mature"]["default"] = subset_scores(y[label], default, effort, code)
        results[label]["mature"]["la"] = subset_scores(y[label], la, effort, code)
    facts: dict[str, Any] = {
        "changes": len(changes.data),
        "mature_changes": len(mature),
        "mature_code_changes": int(code.sum()),
        "maturity_days": changes.maturity_days,
    }
    try:
        split = holdout(mature.times(), TEST_SHARE, changes.maturity_days)
        result = evaluate_split(mature, split, seed=seed, tune=tune, log=log)
    except SplitError as exc:
        facts["split_error"] = str(exc)
        return results, facts
    test = mature.rows(split.test)
    tcode, teffort = code[split.test], test.effort()
    choice = choose(result.fitted)
    risks = {
        "default": default[split.test],
        "la": la[split.test],
        "teamlens": result.fitted[choice.chosen].risk(test),
        **{c.value: f.risk(test) for c, f in result.fitted.items()},
    }
    for label in LABELS:
        ty = y[label][split.test]
        for contender in TEST_CONTENDERS:
            if contender in risks:
                scores = subset_scores(ty, risks[contender], teffort, tcode)
                results[label]["test"][contender] = scores
    facts["split"] = {
        "train_changes": len(split.train),
        "test_changes": len(split.test),
        "gap_days": changes.maturity_days,
        "chosen": choice.chosen.value,
        "lightgbm_params": dict(result.fitted[Contender.LIGHTGBM].params),
        "features": list(result.fitted[Contender.LIGHTGBM].features),
    }
    return results, facts


def results_as_dict(results: Results) -> dict[str, Any]:
    return {
        label: {
            scope: {c: {s: v.as_dict() for s, v in subsets.items()} for c, subsets in block.items()}
            for scope, block in scopes.items()
        }
        for label, scopes in results.items()
    }


# --- set-up: clone, teamlens stages, PyDriller -------------------------------------------


@dataclass(frozen=True)
class Workspace:
    """Where one held-out repository's clone, data folder and caches live."""

    root: Path
    repo: HeldOut

    @property
    def folder(self) -> Path:
        return self.root / self.repo.name

    @property
    def clone(self) -> Path:
        return self.folder / "repo"

    @property
    def data_dir(self) -> Path:
        return self.folder / "teamlens"

    @property
    def config(self) -> Path:
        return self.folder / "repos.yaml"

    @property
    def pydriller_cache(self) -> Path:
        return self.folder / "pydriller-bszz.json"


def git(*args: str) -> str:
    done = subprocess.run(["git", *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"git {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout


def prepare_clone(ws: Workspace, mirrors: Path | None, log: Log) -> None:
    """Clone once; check out the pinned commit as branch ``heldout``."""
    if not (ws.clone / ".git").is_dir():
        owner, name = ws.repo.slug.split("/")
        mirror = mirrors / f"{owner}+{name}" / "repo" if mirrors else None
        source = (
            str(mirror) if mirror and mirror.exists() else f"https://github.com/{ws.repo.slug}.git"
        )
        log(f"{ws.repo.name}: cloning")
        ws.folder.mkdir(parents=True, exist_ok=True)
        git("clone", "--quiet", source, str(ws.clone))
    head = git("-C", str(ws.clone), "rev-parse", "--abbrev-ref", "HEAD").strip()
    if head != "heldout" or git("-C", str(ws.clone), "rev-parse", "HEAD").strip() != ws.repo.commit:
        git("-C", str(ws.clone), "checkout", "--quiet", "-B", "heldout", ws.repo.commit)


def write_config(ws: Workspace) -> None:
    # JSON strings are valid YAML scalars and quote any path safely.
    ws.config.write_text(
        f"data_dir: {json.dumps(str(ws.data_dir))}\n"
        "repositories:\n"
        f"  - name: {ws.repo.name}\n"
        f"    path: {json.dumps(str(ws.clone))}\n"
        "    branch: heldout\n"
        "privacy:\n"
        f"  key_file: {json.dumps(str(ws.root / 'key'))}\n",
        encoding="utf-8",
    )


def run_stages(ws: Workspace, log: Log) -> dict[str, float]:
    """`teamlens mine`, `label` and `features` (incremental); seconds of each."""
    seconds: dict[str, float] = {}
    for stage in ("mine", "label", "features"):
        log(f"{ws.repo.name}: teamlens {stage}")
        started = time.monotonic()
        done = subprocess.run(
            [str(TEAMLENS), stage, "--quiet", "--config", str(ws.config)],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise SystemExit(f"teamlens {stage} on {ws.repo.name}: {done.stderr.strip()}")
        seconds[stage] = round(time.monotonic() - started, 1)
        log(f"{ws.repo.name}: teamlens {stage} {seconds[stage]:.0f} s")
    return seconds


FIXES_SQL = (
    "SELECT sha FROM commits WHERE repo = ? AND is_fix AND NOT is_merge "
    "AND len(parent_shas) = 1 ORDER BY commit_time, sha"
)


def pydriller_links(ws: Workspace, fixes: Sequence[str], log: Log) -> dict[str, Any]:
    """PyDriller's B-SZZ for every fix (cached per fix); the inducing set and timings."""
    cache: dict[str, Any] = {"fixes": {}, "errors": {}}
    if ws.pydriller_cache.is_file():
        cache = json.loads(ws.pydriller_cache.read_text(encoding="utf-8"))
    todo = [f for f in fixes if f not in cache["fixes"] and f not in cache["errors"]]
    if todo:
        from pydriller import Git

        repo = Git(str(ws.clone))
        log(f"{ws.repo.name}: PyDriller B-SZZ on {len(todo)} fixes")
        for i, sha in enumerate(todo, 1):
            started = time.monotonic()
            try:
                found = repo.get_commits_last_modified_lines(repo.get_commit(sha))
                links = sorted(set().union(*found.values())) if found else []
                cache["fixes"][sha] = {"inducing": links, "seconds": time.monotonic() - started}
            except Exception as exc:  # a fix PyDriller cannot read is counted, not fatal
                cache["errors"][sha] = f"{type(exc).__name__}: {str(exc)[:200]}"
            if i % 200 == 0 or i == len(todo):
                log(f"{ws.repo.name}: PyDriller {i}/{len(todo)}")
                tmp = ws.pydriller_cache.with_suffix(".tmp")
                tmp.write_text(json.dumps(cache), encoding="utf-8")
                os.replace(tmp, ws.pydriller_cache)
    wanted = set(fixes)
    per_fix = [v["seconds"] for s, v in cache["fixes"].items() if s in wanted]
    inducing = {i for s, v in cache["fixes"].items() if s in wanted for i in v["inducing"]}
    return {
        "inducing": inducing,
        "fixes": len(per_fix),
        "errors": sum(1 for s in cache["errors"] if s in wanted),
        "total_seconds": round(sum(per_fix), 1),
        "median_seconds": statistics.median(per_fix) if per_fix else None,
        "mean_seconds": statistics.fmean(per_fix) if per_fix else None,
    }


def run_repository(
    ws: Workspace, args: argparse.Namespace, model: SavedModel, log: Log
) -> dict[str, Any]:
    if args.rebuild and ws.data_dir.exists():
        # PyDriller's cache stays: its links depend on the pinned repository only.
        log(f"{ws.repo.name}: removing the teamlens data folder (--rebuild)")
        shutil.rmtree(ws.data_dir)
    prepare_clone(ws, args.mirrors, log)
    write_config(ws)
    entry: dict[str, Any] = {"repository": ws.repo.slug, "commit": ws.repo.commit}
    if not args.no_update:
        entry["teamlens_seconds"] = run_stages(ws, log)
    store = Store(ws.data_dir)
    fixes = [sha for (sha,) in store.query(FIXES_SQL, [ws.repo.name]).rows]
    started = time.monotonic()
    pyd = pydriller_links(ws, fixes, log)
    entry["pydriller"] = {k: v for k, v in pyd.items() if k != "inducing"}
    entry["pydriller"]["run_seconds"] = round(time.monotonic() - started, 1)
    if args.setup_only:
        return entry
    log(f"{ws.repo.name}: evaluating")
    started = time.monotonic()
    maturity = load_config(ws.config).labels.maturity_days
    changes = load_changes(store, ws.repo.name, maturity)
    data = with_model_columns(store, ws.repo.name, changes.data, model)
    changes = replace(changes, data=data)
    results, facts = evaluate_repository(
        changes, pyd["inducing"], model, seed=args.seed, tune=not args.no_tune
    )
    entry.update(facts)
    entry["results"] = results
    entry["evaluation_seconds"] = round(time.monotonic() - started, 1)
    return entry


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True, help="clones, stores, caches")
    parser.add_argument("--mirrors", type=Path, help="folder of <owner>+<name>/repo mirrors")
    parser.add_argument("--repo", action="append", default=[], help="only these (short names)")
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL_DIR, help="model folder")
    parser.add_argument("--rebuild", action="store_true", help="new teamlens data folders")
    parser.add_argument("--no-update", action="store_true", help="skip mine/label/features")
    parser.add_argument("--setup-only", action="store_true", help="stores and labels only")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-tune", action="store_true", help="LightGBM defaults, no grid")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--save", type=Path, help="also write the JSON object to this file")
    args = parser.parse_args(argv)
    began = time.monotonic()

    def log(message: str) -> None:
        print(f"[{time.monotonic() - began:7.1f} s] {message}", file=sys.stderr, flush=True)

    chosen = [h for h in HELDOUT if not args.repo or h.name in args.repo]
    if not chosen:
        parser.error(f"--repo: one of {', '.join(h.name for h in HELDOUT)}")
    args.data_dir = args.data_dir.resolve()
    args.data_dir.mkdir(parents=True, exist_ok=True)
    model = load_model(args.model)
    entries: dict[str, Any] = {}
    for held in chosen:
        entries[held.name] = run_repository(Workspace(args.data_dir, held), args, model, log)
    if args.setup_only:
        print(json.dumps(entries, indent=2))
        return 0
    per_repo: dict[str, Results] = {n: e["results"] for n, e in entries.items() if "results" in e}
    means = mean_table(list(per_repo.values()))
    for entry in entries.values():
        entry["results"] = results_as_dict(entry["results"])
    doc = {
        "model": {
            "id": model.model_id,
            "created": model.meta.created,
            "source": model.meta.source,
            "features": list(model.meta.features),
        },
        "seed": args.seed,
        "repositories": entries,
        "mean": means,
        "targets": targets(per_repo, means),
        "seconds": round(time.monotonic() - began, 1),
    }
    text = json.dumps(doc, indent=2, sort_keys=False)
    if args.save:
        args.save.write_text(text + "\n", encoding="utf-8")
    if args.json:
        print(text)
    else:
        print(f"model: {model.model_id} ({model.meta.source}, created {model.meta.created})")
        print(render_tables(doc))
        print("\n## Summary\n")
        print(render_summary(doc))
        print(f"\n{doc['seconds']:.0f} s in all")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
