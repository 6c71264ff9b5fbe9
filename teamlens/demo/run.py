"""`teamlens demo`: build the synthetic company, run the main job on it, review a risky change.

Everything the demo writes goes into one folder::

    company/      the company's git repository (branch main, and demo/risky-change)
    repos.yaml    its configuration: four teams by path, k = 5, the key file below
    demo.key      the pseudonymisation key (outside the data folder, mode 0600)
    data/         the store, the models and the report (data/reports/report.html)
    review.md     `teamlens review --base main --head demo/risky-change`

The pull requests and reviews are served to the real GitHub miner by a replay server on
127.0.0.1 while the demo runs (:mod:`teamlens.demo.replay`); repos.yaml is left without
``github:`` afterwards, so later commands on the folder do not look for that server.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import random
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from teamlens.bot.domain import ReviewResult
from teamlens.bot.render import to_markdown
from teamlens.bot.review import review_local_or_nothing
from teamlens.config import Config, load_config
from teamlens.demo.company import Company, DemoSize, build_company
from teamlens.demo.gitwrite import DemoError, write_repository
from teamlens.demo.history import DAY, ChangeKind, History
from teamlens.demo.recorded import OWNER, REPO, record_pull_requests
from teamlens.demo.replay import replay_server
from teamlens.model.registry import DEFAULT_ID, Registry
from teamlens.pipeline import ProgressFor, ReportCallback, RunResult
from teamlens.pipeline import run as run_pipeline
from teamlens.privacy import secure_data_dir

MARKER = ".teamlens-demo"
RISKY_BRANCH = "demo/risky-change"
TOKEN_ENV = "TEAMLENS_DEMO_GITHUB_TOKEN"  # noqa: S105 - a variable name, not a secret
_OURS = (MARKER, "company", "data", "repos.yaml", "demo.key", "review.md")

StepCallback = Callable[[str], None]


@dataclass(frozen=True)
class DemoResult:
    """Where the demo put things, and what it built (counts only, never a person)."""

    folder: Path
    config: Path
    report: Path | None
    model_id: str
    model_card: Path | None
    trained: bool  # a model was trained on the demo's history
    trained_is_current: bool  # ...and it beat the shipped default model on its test window
    review: Path
    review_level: str | None  # None: nothing to review (cannot happen with the planted change)
    changes: int
    teams: int
    people: int
    pull_requests: int
    seconds: float
    result: RunResult


def prepare_folder(folder: Path) -> None:
    """An empty folder, or one an earlier demo made (its contents are replaced)."""
    if folder.exists() and not folder.is_dir():
        raise DemoError(f"{folder}: exists and is not a folder")
    if folder.is_dir() and any(folder.iterdir()):
        if not (folder / MARKER).is_file():
            raise DemoError(
                f"{folder}: not empty and not made by `teamlens demo`; choose another --dir"
            )
        for name in _OURS:
            target = folder / name
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            else:
                target.unlink(missing_ok=True)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MARKER).write_text("made by `teamlens demo`; its contents are replaced on rerun\n")


def _config_text(company: Company) -> str:
    teams = "\n".join(f'  {t.name}: ["{t.folder}/**"]' for t in company.teams)
    return f"""\
# The teamlens demo: a synthetic company built by `teamlens demo` (every person is a
# clearly made-up "Demo Person NN" at demo.invalid). Reference: docs/configuration.md.
# Its pull requests and reviews came from the demo's replay server while it ran.

data_dir: data

repositories:
  - name: {REPO}
    path: company
    branch: main

teams:
{teams}

privacy:
  k: 5
  key_env: TEAMLENS_DEMO_KEY        # unset: the key file below (created 0600)
  key_file: demo.key
  retention_days: 365

labels:
  variants: [r-szz]                 # the default variant only: the demo stays quick
"""


@contextmanager
def _token() -> Iterator[None]:
    """The replay server takes any token; the miner wants one in the environment."""
    before = os.environ.get(TOKEN_ENV)
    os.environ[TOKEN_ENV] = "demo"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(TOKEN_ENV, None)
        else:
            os.environ[TOKEN_ENV] = before


def _with_github(config: Config, url: str) -> Config:
    repos = tuple(dataclasses.replace(r, github=f"{OWNER}/{REPO}") for r in config.repositories)
    github = dataclasses.replace(config.github, url=url, token_env=TOKEN_ENV, max_wait_seconds=5)
    return dataclasses.replace(config, repositories=repos, github=github)


def end_of(day: dt.date) -> int:
    """Unix seconds of the midnight (UTC) that ends `day`: the history ends there."""
    start = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
    return int(start.timestamp()) + DAY


def run_demo(
    folder: Path,
    seed: int = 0,
    size: DemoSize = DemoSize.FULL,
    end: dt.date | None = None,
    progress: ProgressFor | None = None,
    on_report: ReportCallback | None = None,
    on_step: StepCallback | None = None,
) -> DemoResult:
    """Build the demo company in `folder` and run everything on it.

    The history's last day is `end` (default: yesterday, UTC); the risky change comes the
    morning after. The same `seed`, `size` and `end` build the same repository, commit
    for commit. Progress comes as ``on_step`` sentences and the main job's own
    ``progress`` and ``on_report`` callbacks (see :func:`teamlens.pipeline.run`).
    """
    started = time.monotonic()
    step = on_step or (lambda _: None)
    folder = folder.resolve()
    prepare_folder(folder)
    rng = random.Random(seed)  # noqa: S311 - synthetic data, not security
    company = build_company(size, rng)
    step(
        f"building the company: {len(company.teams)} teams, {len(company.people)} people, "
        f"{company.years:g} years of history"
    )
    last = end_of(end or dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1))
    history = History(company, rng, last)
    changes = history.build()
    risky = history.risky_change(last + 8 * 3600)
    fixes = sum(1 for c in changes if c.kind is ChangeKind.FIX)
    step(f"writing company/: {len(changes)} commits ({fixes} fixes) in Python, Go and JavaScript")
    shas = write_repository(folder / "company", changes, {RISKY_BRANCH: risky})
    config_path = folder / "repos.yaml"
    config_path.write_text(_config_text(company), encoding="utf-8")
    config = load_config(config_path)
    secure_data_dir(config.data_dir)
    with replay_server() as server, _token():
        server.recording = record_pull_requests(company, changes, shas, rng, server.url)
        pulls = len(server.recording.pulls)
        step(f"serving {pulls} recorded pull requests with their reviews on {server.url}")
        result = run_pipeline(
            _with_github(config, server.url), progress=progress, on_report=on_report
        )
    step(f"reviewing the planted risky change ({RISKY_BRANCH})")
    review_path = folder / "review.md"
    found = review_local_or_nothing(config, REPO, "main", RISKY_BRANCH)
    level = None
    if isinstance(found, ReviewResult):
        level = found.level.value
        review_path.write_text(to_markdown(found) + "\n", encoding="utf-8")
    else:
        review_path.write_text("Nothing to review.\n", encoding="utf-8")
    registry = Registry.for_data_dir(config.data_dir)
    model_id = registry.current_id()
    trained = result.training.trained is not None
    card = None
    if trained and result.training.trained is not None:
        card = registry.folder(result.training.trained.model.model_id) / "card.md"
    elif model_id != DEFAULT_ID:
        card = registry.folder(model_id) / "card.md"
    return DemoResult(
        folder=folder,
        config=config_path,
        report=result.report.path,
        model_id=model_id,
        model_card=card,
        trained=trained,
        trained_is_current=trained and card is not None and card.parent.name == model_id,
        review=review_path,
        review_level=level,
        changes=len(changes),
        teams=len(company.teams),
        people=len(company.people),
        pull_requests=pulls,
        seconds=time.monotonic() - started,
        result=result,
    )
