"""The main job as a library: mine, GitHub, label, features, train, summary, report.

:func:`run` is what ``teamlens run`` does, callable from Python::

    from teamlens.config import load_config
    from teamlens.pipeline import run

    result = run(load_config("repos.yaml"))
    print(result.report.path, result.ok)

GitHub being down does not stop the job: the git history is enough for every later
stage, so the failure is recorded (:attr:`RunResult.github_failure`, reported through
``on_report`` as a :class:`GithubFailure`) and the run carries on; ``result.ok`` is
False then (the command exits with 1 at the end).

Progress comes through two callbacks: ``progress(stage)`` gives the per-item progress
callback of a stage (or None), and ``on_report(report)`` receives each stage's report
as soon as it exists, so a caller can print as the run goes. Training and the report
import LightGBM and the aggregates only when they run, so ``teamlens mine`` (which
shares :func:`mine_git` and :func:`mine_github`) does not pay for them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from teamlens.config import Config
from teamlens.features.changes import FeaturesReport, build_features
from teamlens.mining.github import GithubError, GithubReport, iter_github_repositories
from teamlens.mining.github import mine_github as mine_github_repository
from teamlens.mining.miner import MiningReport, ProgressCallback, opt_out_fingerprint
from teamlens.mining.szz import LabelReport, label_repository
from teamlens.mining.tasks import Runner, mine_all, run_per_repository, runner_for
from teamlens.model.registry import Registry, retire_models
from teamlens.privacy import load_key, read_opt_out
from teamlens.store import Store
from teamlens.summary import RepoSummary, summarise

if TYPE_CHECKING:
    from teamlens.model.training import TrainReport


class Stage(StrEnum):
    """The stages of :func:`run`, in order."""

    MINE = "mine"
    GITHUB = "github"
    LABEL = "label"
    FEATURES = "features"
    TRAIN = "train"
    SUMMARY = "summary"
    REPORT = "report"


@dataclass(frozen=True)
class GitMining:
    """The git stage: one report per repository, and whether stale models were removed."""

    reports: tuple[MiningReport, ...]
    #: The opt-out list changed: models trained before it were removed (rule 4).
    models_retired: bool


@dataclass(frozen=True)
class GithubFailure:
    """GitHub could not be read; the run went on from the git history."""

    error: GithubError


@dataclass(frozen=True)
class Labels:
    """The SZZ stage: one report per repository."""

    reports: tuple[LabelReport, ...]


@dataclass(frozen=True)
class Features:
    """The change-feature stage: one report per repository."""

    reports: tuple[FeaturesReport, ...]


@dataclass(frozen=True)
class Training:
    """The training stage: a new model, or why none was trained."""

    trained: TrainReport | None
    not_trained: str | None  # the reason, e.g. too few mature labels
    current: str  # the current model after this stage
    #: Not trained because the current model is fresh enough: why, e.g. "no new matured
    #: labels" (model.retrain_min_new_labels, and the training-data fingerprint).
    up_to_date: str | None = None


@dataclass(frozen=True)
class Summary:
    """A person-free line of facts per repository (see :mod:`teamlens.summary`)."""

    repos: tuple[RepoSummary, ...]
    k: int


@dataclass(frozen=True)
class TeamReport:
    """The team trends report: where it was written, or why it was not."""

    path: Path | None
    not_written: str | None


StageReport = (
    GitMining | GithubReport | GithubFailure | Labels | Features | Training | Summary | TeamReport
)
#: The per-item progress callback of a stage, or None for none.
ProgressFor = Callable[[Stage], ProgressCallback | None]
#: Receives each stage's report as soon as it exists (GitHub: one per repository).
ReportCallback = Callable[[StageReport], None]


@dataclass(frozen=True)
class RunResult:
    """Everything :func:`run` did, stage by stage."""

    mining: GitMining
    github: tuple[GithubReport, ...]
    github_failure: GithubError | None
    labels: Labels
    features: Features
    training: Training
    summary: Summary
    report: TeamReport

    @property
    def ok(self) -> bool:
        """False when a stage failed and the run carried on without it (GitHub)."""
        return self.github_failure is None


def _no_progress(stage: Stage) -> ProgressCallback | None:
    return None


def _ignore(report: StageReport) -> None:
    return None


def run(
    config: Config,
    *,
    workers: int = 1,
    scheduler: str | None = None,
    progress: ProgressFor | None = None,
    on_report: ReportCallback | None = None,
) -> RunResult:
    """The main job: mine, GitHub, label, features, train, summary, report.

    With ``workers`` > 1 or a ``scheduler`` URL, mining, labels and features run one
    task per repository on one Dask cluster (GitHub stays serial). A GitHub failure is
    recorded and the run goes on; any other :class:`~teamlens.errors.TeamlensError`
    stops it.
    """
    progress = progress or _no_progress
    report = on_report or _ignore
    github_failure: GithubError | None = None
    github: list[GithubReport] = []

    def github_done(done: StageReport) -> None:
        if isinstance(done, GithubReport):
            github.append(done)
        report(done)

    with runner_for(workers, scheduler) as runner:
        mining = mine_git(config, (), runner, progress(Stage.MINE))
        report(mining)
        try:
            mine_github(config, (), progress(Stage.GITHUB), github_done)
        except GithubError as exc:
            # GitHub being down must not stop the job: the git history is enough for
            # everything after this; the caller learns of it from the result.
            github_failure = exc
            report(GithubFailure(exc))
        labels = Labels(
            tuple(run_per_repository(runner, label_repository, config, (), progress(Stage.LABEL)))
        )
        report(labels)
        features = Features(
            tuple(run_per_repository(runner, build_features, config, (), progress(Stage.FEATURES)))
        )
        report(features)
    training = train(config)
    report(training)
    summary = Summary(tuple(summarise(Store(config.data_dir), config.privacy.k)), config.privacy.k)
    report(summary)
    team_report = _team_report(config)
    report(team_report)
    return RunResult(
        mining=mining,
        github=tuple(github),
        github_failure=github_failure,
        labels=labels,
        features=features,
        training=training,
        summary=summary,
        report=team_report,
    )


def mine_git(
    config: Config,
    repos: Sequence[str] = (),
    runner: Runner | None = None,
    progress: ProgressCallback | None = None,
) -> GitMining:
    """Mine the git history of the repositories named (default: all), incrementally.

    Then remove the models trained before the opt-out list changed.
    """
    reports = mine_all(config, only=repos, progress=progress, runner=runner)
    return GitMining(tuple(reports), _retire_models(config))


def _retire_models(config: Config) -> bool:
    entries = read_opt_out(config.privacy.opt_out)
    fingerprint = opt_out_fingerprint(load_key(config.privacy, config.data_dir), entries)
    from teamlens.model.reference import discard_stale_references  # pandas: only here

    discard_stale_references(config.data_dir)  # review levels built from purged rows
    return bool(retire_models(Registry.for_data_dir(config.data_dir), fingerprint, not entries))


def mine_github(
    config: Config,
    repos: Sequence[str] = (),
    progress: ProgressCallback | None = None,
    on_report: ReportCallback | None = None,
) -> list[GithubReport]:
    """Mine the pull requests of the repositories that name one (default: all).

    Each repository's report goes to ``on_report`` as soon as it is mined; a
    :class:`GithubError` stops at the repository it struck (those before it keep
    their work).
    """
    reports = []
    for repo in iter_github_repositories(config, repos):
        done = mine_github_repository(config, repo, progress)
        reports.append(done)
        if on_report is not None:
            on_report(done)
    return reports


def train(config: Config) -> Training:
    """Train on the store's labelled changes, or say why not.

    Not trained: too few mature labels or too short a history (``not_trained``); fewer
    than ``model.retrain_min_new_labels`` labels matured since the model last trained
    on these repositories, or exactly the data of a model the registry holds
    (``up_to_date``: the current model stays, and no duplicate is stored).
    """
    from teamlens.model.dataset import DatasetError, load_store  # LightGBM: only when used
    from teamlens.model.fingerprints import FingerprintBook
    from teamlens.model.freshness import new_labels_since
    from teamlens.model.split import SplitError
    from teamlens.model.training import Fingerprinting, UpToDate
    from teamlens.model.training import train_if_new as train_model

    registry = Registry.for_data_dir(config.data_dir)
    try:
        data = load_store(Store(config.data_dir), [r.name for r in config.repositories])
        since = new_labels_since(registry, data)
        needed = config.model.retrain_min_new_labels
        if since is not None and since.new < needed:
            why = (
                "no new matured labels"
                if since.new == 0
                else f"{since.new} new matured label(s) since {since.model_id}; "
                f"training again at {needed}, model.retrain_min_new_labels"
            )
            return Training(None, None, registry.current_id(), up_to_date=why)
        key = load_key(config.privacy, config.data_dir)
        trained = train_model(
            data,
            registry,
            config.privacy.k,
            float(config.labels.maturity_days),
            Fingerprinting(FingerprintBook(config.data_dir), key),
        )
    except (DatasetError, SplitError) as exc:  # too few labels, or too short a history
        return Training(None, str(exc), registry.current_id())
    if isinstance(trained, UpToDate):
        return Training(None, None, trained.current, up_to_date="no new matured labels")
    return Training(trained, None, trained.current)


def _team_report(config: Config) -> TeamReport:
    from teamlens.dashboard.team_period import TeamPeriodError

    try:
        path = write_report(config, None, config.data_dir / "reports", "week")
    except TeamPeriodError as exc:
        return TeamReport(None, str(exc))
    return TeamReport(path, None)


def write_report(config: Config, out: Path | None, csv_dir: Path | None, period: str) -> Path:
    """Build the disclosure-controlled team_period table, then the HTML report (and CSV).

    ``out`` defaults to ``<data_dir>/reports/report.html``; returns where it went.
    """
    from teamlens.dashboard.report import write_report as write_html  # the aggregates: heavy
    from teamlens.dashboard.team_period import build_team_period, read_team_period

    build_team_period(config, period)
    table = read_team_period(config.data_dir)
    target = out or config.data_dir / "reports" / "report.html"
    generated = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    write_html(table, target, csv_dir, period=period, k=config.privacy.k, generated=generated)
    return target
