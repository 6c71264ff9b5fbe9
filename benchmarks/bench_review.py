"""Review-bot speed: local `teamlens review`, and webhook delivery to posted summary.

Usage::

    .venv/bin/python benchmarks/bench_review.py [--deliveries 20] [--json] [--save FILE]
        [--before REV] [--real REPO BASE HEAD]

Builds a repository with a 50-file, 2,000-line change (Python files, ten functions
each; the change rewrites 20 lines in every file: 1,000 added, 1,000 deleted), then measures:

1. **local**: ``bot.review.review_local`` in one process with the model loaded once
   (median and 95th percentile over 20 runs, with the per-stage breakdown), and the
   ``teamlens review`` command end to end (interpreter start and imports included),
   median of 5; ``git diff --stat`` of the same change as the anchor; and the same
   command of teamlens as it was at ``--before`` (default: the commit before the start-up
   work), run from a ``git archive`` of that commit, interleaved with today's runs so
   that both see the same load;
2. **webhook**: a local GitHub-compatible server (tests/github_server/) holding the
   pull request, and the webhook server (bot.webhook) with the real handler (review the
   pull request and post). Each delivery is a ``synchronize`` event for a new head
   commit; the time runs from sending the delivery to the summary comment being
   created or edited on the server. Median and 95th percentile over ``--deliveries``,
   with the per-stage breakdown (fetch, features, tree-sitter, model, post).

With ``--real REPO BASE HEAD`` it also times the command on a real repository with no
store (``teamlens review --base BASE --head HEAD``): the first run, which builds the
history index (features.history_index), then the median of the next ones, with
``git diff --stat`` beside them.

Targets (issue "Review bot"): webhook p95 under 2 s; local review under 1 s.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests/github_server/ and tests/gitrepo.py

FILES = 50
FUNCTIONS = 10
LINES_CHANGED = 20
KEY = "bench-key-0123456789abcdef-not-secret"
#: The commit before the start-up work (lazy commands, the C-library booster, no pandas,
#: pyarrow or DuckDB without a store): "before" in the side-by-side figures.
BEFORE = "3012346584491cd42441c97ab408a474cbcdb381"
#: Runs the command line of whichever teamlens comes first on sys.path.
LAUNCH = "import sys; from teamlens.cli import main; sys.argv[0] = 'teamlens'; main()"


def _source(i: int, version: int) -> str:
    body = []
    for f in range(FUNCTIONS):
        body.append(f"def f{i}_{f}(x, y):\n")
        for k in range(8):
            value = f"{version}{k}" if version and f * 8 + k < LINES_CHANGED else str(k)
            body.append(
                f"    if x > {k}:\n        y += {value}\n" if k % 2 else f"    y = y * {value}\n"
            )
        body.append("    return y\n\n")
    return "".join(body)


def build(root: Path, heads: int) -> tuple[Path, str, list[str]]:
    """A repository, its base commit and `heads` successive head commits (one per push)."""
    from tests.gitrepo import ALICE, BOB, RepoBuilder

    repo = RepoBuilder(root / "repo")
    for i in range(FILES):
        repo.write(f"pkg{i % 5}/mod{i}.py", _source(i, 0))
    base = repo.commit("Initial import", ALICE)
    repo.git("checkout", "-q", "-b", "feature")
    shas = []
    for h in range(1, heads + 1):
        for i in range(FILES):
            repo.write(f"pkg{i % 5}/mod{i}.py", _source(i, h))
        shas.append(repo.commit(f"Rework {h}", BOB))
    return repo.path, base, shas


def _pct(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _config(root: Path, repo: Path, github_url: str | None) -> Path:
    doc: dict[str, Any] = {
        "repositories": [{"name": "bench", "path": str(repo), "github": "acme/bench"}],
        "github": {"url": github_url or "http://127.0.0.1:9", "token_env": "BENCH_GH_TOKEN"},
        "privacy": {"key_file": str(root / "key")},
    }
    path = root / "work" / "repos.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return path


def bench_local(
    root: Path,
    repo: Path,
    base: str,
    head: str,
    runs: int,
    command_runs: int = 5,
    before: Path | None = None,
) -> dict[str, Any]:
    from teamlens.bot.review import review_local
    from teamlens.config import load_config
    from teamlens.model.registry import Registry

    config = load_config(_config(root, repo, None))
    model = Registry.for_data_dir(config.data_dir).current()
    seconds, stages = [], []
    for _ in range(runs):
        timings: dict[str, float] = {}
        started = time.perf_counter()
        result = review_local(config, None, base, head, model, timings)
        seconds.append(time.perf_counter() - started)
        stages.append(timings)
    command = ["review", "--base", base, "--head", head, "--format", "json",
               "--config", str(config.path)]  # fmt: skip
    anchor, cli, old = [], [], []
    script = str(Path(sys.executable).parent / "teamlens")
    for _ in range(command_runs):  # interleaved: the three see the same load
        anchor.append(_seconds(["git", "diff", "--stat", base, head], cwd=repo))
        cli.append(_seconds([script, *command]))
        if before is not None:
            old.append(_seconds([sys.executable, "-c", LAUNCH, *command], before, before))
    cpu_now = statistics.median(CPU[f"{script} "][-command_runs:])
    cpu_old = statistics.median(CPU[f"{sys.executable} {before}"]) if before else None
    change = result.change
    return {
        "files": len(change.files),
        "lines": int(change.features["la"] + change.features["ld"]),
        "functions": len(change.functions),
        "in_process_median": statistics.median(seconds),
        "in_process_p95": _pct(seconds, 0.95),
        "stages_median": {k: statistics.median(s[k] for s in stages) for k in stages[0]},
        "command_median": statistics.median(cli),
        "command_runs": len(cli),
        "before_command_median": statistics.median(old) if old else None,
        "command_cpu_median": cpu_now,
        "before_command_cpu_median": cpu_old,
        "git_diff_stat_median": statistics.median(anchor),
    }


def _seconds(argv: list[str], cwd: Path | None = None, pythonpath: Path | None = None) -> float:
    """Wall time of one run of `argv` (which must succeed); its CPU time (user + system,
    with the git processes it waits for) is added to :data:`CPU` under ``argv[0]``. A
    ``python -c`` puts its working folder first on sys.path: the before runs start in
    their checkout."""
    env = {**os.environ, "TEAMLENS_KEY": KEY}
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(argv, cwd=cwd, check=True, capture_output=True, env=env)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - used.ru_utime + after.ru_stime - used.ru_stime
    CPU.setdefault(f"{argv[0]} {pythonpath or ''}", []).append(cpu)
    return wall


#: CPU seconds of each run by command (see _seconds): load moves wall time much more.
CPU: dict[str, list[float]] = {}


def checkout(rev: str, folder: Path) -> Path:
    """teamlens as it was at `rev` (``git archive`` of this repository), importable with
    ``PYTHONPATH=folder``."""
    folder.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "archive", rev], cwd=ROOT, check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    found = subprocess.run(
        [sys.executable, "-c", "import teamlens; print(teamlens.__file__)"],
        cwd=folder, env={**os.environ, "PYTHONPATH": str(folder)},
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    if not Path(found.strip()).is_relative_to(folder):
        raise RuntimeError(f"the before runs would import {found.strip()}, not {rev}")
    return folder


def bench_real(root: Path, repo: Path, base: str, head: str, runs: int) -> dict[str, Any]:
    """The command on a real repository with no store: first run, then the median."""
    doc = {"repositories": [{"name": repo.name, "path": str(repo.resolve())}]}
    config = root / "real" / "repos.yaml"
    config.parent.mkdir(parents=True)
    config.write_text(yaml.safe_dump(doc), encoding="utf-8")
    command = [str(Path(sys.executable).parent / "teamlens"), "review", "--base", base,
               "--head", head, "--format", "json", "--config", str(config)]  # fmt: skip
    first = _seconds(command)
    later, anchor = [], []
    for _ in range(runs):
        later.append(_seconds(command))
        anchor.append(_seconds(["git", "diff", "--stat", base, head], cwd=repo))
    return {
        "repo": repo.name,
        "first_run": first,
        "median": statistics.median(later),
        "git_diff_stat_median": statistics.median(anchor),
    }


def bench_webhook(root: Path, repo: Path, base: str, heads: list[str]) -> dict[str, Any]:
    import hashlib
    import hmac
    import threading

    import requests
    import uvicorn

    from teamlens.bot.github import review_pull_request
    from teamlens.bot.webhook import PullRequestEvent, WebhookSettings, create_app
    from teamlens.config import load_config
    from teamlens.model.registry import Registry
    from tests.github_server import FakeGitHub, FileChange

    token, secret = "bench-token", "bench-secret"
    os.environ["BENCH_GH_TOKEN"] = token
    os.environ["TEAMLENS_KEY"] = KEY
    with FakeGitHub(token=token) as github:
        github.add_user("acme", type="Organization")
        github.add_user("octo-dev")
        github.add_repo("acme/bench")
        config = load_config(_config(root, repo, github.url))
        model = Registry.for_data_dir(config.data_dir).current()
        stage_log: list[dict[str, float]] = []
        done: dict[str, float] = {}
        lock = threading.Lock()

        def handler(event: PullRequestEvent) -> None:
            timings: dict[str, float] = {}
            review_pull_request(
                config, f"{event.repository}#{event.number}", post=True, model=model,
                timings=timings,
            )  # fmt: skip
            with lock:
                stage_log.append(timings)
                done[event.head_sha] = time.perf_counter()

        settings = WebhookSettings(secret=secret, port=0)
        app, worker = create_app(settings, handler)
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        url = f"http://127.0.0.1:{port}/webhook"
        pull = None
        latencies = []
        try:
            for n, head in enumerate(heads):
                patch_files = _patch_files(repo, base, head, FileChange)
                if pull is None:
                    pull = github.add_pull(
                        "acme/bench", author="octo-dev", title="Rework",
                        created_at="2026-11-01T00:00:00Z", base_sha=base, head_sha=head,
                        files=patch_files,
                    )  # fmt: skip
                else:
                    github.update_pull(
                        "acme/bench", pull.number, head_sha=head, files=tuple(patch_files)
                    )
                payload = json.dumps(
                    {
                        "action": "synchronize",
                        "number": pull.number,
                        "repository": {"full_name": "acme/bench"},
                        "pull_request": {
                            "number": pull.number, "draft": False,
                            "head": {"sha": head, "ref": "feature"},
                            "base": {"sha": base, "ref": "main"},
                        },
                    }
                ).encode()  # fmt: skip
                signature = (
                    "sha256=" + hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()
                )
                started = time.perf_counter()
                response = requests.post(
                    url, data=payload, timeout=10,
                    headers={"X-GitHub-Event": "pull_request", "X-GitHub-Delivery": f"d{n}",
                             "X-Hub-Signature-256": signature, "Content-Type": "application/json"},
                )  # fmt: skip
                response.raise_for_status()
                while head not in done:
                    time.sleep(0.002)
                latencies.append(done[head] - started)
        finally:
            server.should_exit = True
            thread.join(10)
            worker.stop(5)
        comments = github.issue_comments("acme/bench", pull.number) if pull else []
    return {
        "deliveries": len(latencies),
        "median": statistics.median(latencies),
        "p95": _pct(latencies, 0.95),
        "stages_median": {
            k: statistics.median(s.get(k, 0.0) for s in stage_log) for k in stage_log[0]
        },
        "summary_comments": len(comments),
    }


def _patch_files(repo: Path, base: str, head: str, file_change: Any) -> list[Any]:
    out = subprocess.run(
        ["git", "diff", "--no-color", base, head],
        cwd=repo,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    files: list[Any] = []
    current: str | None = None
    lines: list[str] = []
    for raw in out.splitlines():
        if raw.startswith("diff --git"):
            if current:
                files.append(file_change(current, patch="\n".join(lines)))
            current, lines = raw.split(" b/", 1)[1], []
        elif raw.startswith("@@") or (lines and not raw.startswith(("---", "+++", "index "))):
            lines.append(raw)
    if current:
        files.append(file_change(current, patch="\n".join(lines)))
    return files


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=20)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--save", type=Path)
    parser.add_argument("--command-runs", type=int, default=5)
    parser.add_argument("--before", default=BEFORE, help="teamlens commit to compare with")
    parser.add_argument("--no-before", action="store_true", help="skip the before runs")
    parser.add_argument("--no-webhook", action="store_true")
    parser.add_argument("--real", nargs=3, metavar=("REPO", "BASE", "HEAD"))
    args = parser.parse_args(argv)
    load = [round(x, 2) for x in os.getloadavg()]
    with tempfile.TemporaryDirectory(prefix="review-bench-") as tmp:
        root = Path(tmp)
        before = None if args.no_before else checkout(args.before, root / "before")
        repo, base, heads = build(root, args.deliveries)
        local = bench_local(root, repo, base, heads[-1], args.runs, args.command_runs, before)
        webhook = None if args.no_webhook else bench_webhook(root, repo, base, heads)
        real = None
        if args.real:
            real = bench_real(
                root, Path(args.real[0]), args.real[1], args.real[2], args.command_runs
            )
    result = {
        "local": local,
        "webhook": webhook,
        "real": real,
        "before": None if args.no_before else args.before,
        "load_average": [load, [round(x, 2) for x in os.getloadavg()]],
    }
    if args.save:
        args.save.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"change: {local['files']} files, {local['lines']} lines, {local['functions']} functions")
    print(
        f"local review in process: median {local['in_process_median']:.3f}s, "
        f"p95 {local['in_process_p95']:.3f}s; stages {_fmt(local['stages_median'])}"
    )
    old = local["before_command_median"]
    was = f"; before ({args.before[:7]}): {old:.3f}s" if old is not None else ""
    print(
        f"`teamlens review` command (start-up and imports included), median of "
        f"{local['command_runs']}: now {local['command_median']:.3f}s{was}; anchor "
        f"`git diff --stat`: {local['git_diff_stat_median']:.3f}s (target < 1 s: "
        f"{'PASS' if local['command_median'] < 1 else 'FAIL'})"
    )
    old_cpu = local["before_command_cpu_median"]
    print(
        f"  CPU time (user + system, git included), median: now "
        f"{local['command_cpu_median']:.3f}s"
        + (f"; before: {old_cpu:.3f}s" if old_cpu is not None else "")
    )
    if real is not None:
        print(
            f"real repository {real['repo']} (no store): first run {real['first_run']:.3f}s "
            f"(builds the history index), then median {real['median']:.3f}s; anchor "
            f"`git diff --stat`: {real['git_diff_stat_median']:.3f}s"
        )
    if webhook is None:
        print(f"load average {result['load_average']}")
        return 0
    print(
        f"webhook delivery -> summary posted, {webhook['deliveries']} deliveries: median "
        f"{webhook['median']:.3f}s, p95 {webhook['p95']:.3f}s (target p95 < 2 s: "
        f"{'PASS' if webhook['p95'] < 2 else 'FAIL'}); stages {_fmt(webhook['stages_median'])}"
    )
    print(f"summary comments on the pull request after every push: {webhook['summary_comments']}")
    print(f"load average {result['load_average']}")
    return 0


def _fmt(stages: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.3f}s" for k, v in stages.items())


if __name__ == "__main__":
    sys.exit(main())
