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

Progress: with ``progress`` (a :class:`~teamlens.progress.RunProgress`) every stage is
named as it runs, with its counts and rate, or its current step where there is nothing
to count (training, the report), and a heartbeat keeps a long step from going silent;
``on_report(report)`` receives each stage's report as soon as it exists, so a caller
can print as the run goes. Training and the report import LightGBM and the aggregates
only when they run, so ``teamlens mine`` (which shares :func:`mine_git` and
:func:`mine_github`) does not pay for them.

A second run with nothing new is quick: mining reads no commit when the branch tips
did not move, SZZ labels no fix twice, features compute no change twice (and leave the
stored labels alone when they come out the same), training stops at its freshness
check before LightGBM is even imported, and the report is reused when its inputs (the
store, the configuration, the current model, earlier publications and teamlens
itself) are those it was built from (:attr:`TeamReport.reused`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

from teamlens.config import Config
from teamlens.features.changes import FeaturesReport, build_features
from teamlens.mining.miner import MiningReport, ProgressCallback, opt_out_fingerprint
from teamlens.mining.szz import LabelReport, label_repository
from teamlens.mining.tasks import Runner, mine_all, run_per_repository, runner_for
from teamlens.model.registry import Registry, retire_models
from teamlens.privacy import load_key, read_opt_out
from teamlens.progress import Progress, RunProgress
from teamlens.store import Store
from teamlens.summary import RepoSummary, summarise

if TYPE_CHECKING:  # github3 is imported only when a repository names a GitHub repository
    from teamlens.mining.github import GithubError, GithubReport
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
    #: Not rebuilt: its inputs are exactly those it was built from (the files are as then).
    reused: bool = False


StageReport: TypeAlias = (
    "GitMining | GithubReport | GithubFailure | Labels | Features | Training | Summary | TeamReport"
)
#: The older form of progress: the per-item callback of a stage (or None), asked for by
#: the stages that count items (mine, github, label, features); no steps, no heartbeat.
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


#: What each stage counts, and what it does before it has anything to count.
_STAGES: dict[Stage, tuple[str, str]] = {
    Stage.MINE: ("commits", "reading the branch tips"),
    Stage.GITHUB: ("pull requests", "asking GitHub for updated pull requests"),
    Stage.LABEL: ("fixes", "finding fix commits not labelled yet"),
    Stage.FEATURES: ("changes", "finding changes without features"),
    Stage.TRAIN: ("labelled changes", "loading the labelled changes"),
    Stage.SUMMARY: ("repositories", "counting the facts of each repository"),
    Stage.REPORT: ("tables", "checking whether the report's inputs changed"),
}


_COUNTED = (Stage.MINE, Stage.GITHUB, Stage.LABEL, Stage.FEATURES)


@contextmanager
def _stage(
    progress: RunProgress | ProgressFor | None, stage: Stage
) -> Iterator[Progress | ProgressCallback | None]:
    """The stage's progress (named, with a heartbeat), or None without a display."""
    if isinstance(progress, RunProgress):
        unit, first_step = _STAGES[stage]
        with progress.stage(stage.value, unit, first_step) as shown:
            yield shown
    elif progress is not None and stage in _COUNTED:
        yield progress(stage)
    else:
        yield None


def _steps(shown: Progress | ProgressCallback | None) -> Callable[[str], None] | None:
    return shown.step if isinstance(shown, Progress) else None


def _ignore(report: StageReport) -> None:
    return None


def run(
    config: Config,
    *,
    workers: int = 1,
    scheduler: str | None = None,
    progress: RunProgress | ProgressFor | None = None,
    on_report: ReportCallback | None = None,
) -> RunResult:
    """The main job: mine, GitHub, label, features, train, summary, report.

    With ``workers`` > 1 or a ``scheduler`` URL, mining, labels and features run one
    task per repository on one Dask cluster (GitHub stays serial). A GitHub failure is
    recorded and the run goes on; any other :class:`~teamlens.errors.TeamlensError`
    stops it. With ``progress`` each stage is shown as it runs (see the module); the
    older form, a function of the stage that gives its per-item callback, still works.
    """
    report = on_report or _ignore
    github_failure: GithubError | None = None
    github: list[GithubReport] = []

    def github_done(done: GithubReport) -> None:
        github.append(done)
        report(done)

    with ExitStack() as cluster:
        with _stage(progress, Stage.MINE) as shown:
            if isinstance(shown, Progress) and (workers > 1 or scheduler is not None):
                shown.step("starting the Dask cluster")
            runner = cluster.enter_context(runner_for(workers, scheduler))
            mining = mine_git(config, (), runner, shown)
        report(mining)
        if any(r.github is not None for r in config.repositories):
            from teamlens.mining.github import GithubError

            with _stage(progress, Stage.GITHUB) as shown:
                try:
                    mine_github(config, (), shown, github_done)
                except GithubError as exc:
                    # GitHub being down must not stop the job: the git history is enough
                    # for everything after this; the caller learns of it from the result.
                    github_failure = exc
            if github_failure is not None:
                report(GithubFailure(github_failure))
        with _stage(progress, Stage.LABEL) as shown:
            labels = Labels(tuple(run_per_repository(runner, label_repository, config, (), shown)))
        report(labels)
        with _stage(progress, Stage.FEATURES) as shown:
            features = _features(config, runner, shown)
            if isinstance(shown, Progress) and (workers > 1 or scheduler is not None):
                shown.step("closing the Dask cluster")
            cluster.close()
        report(features)
    with _stage(progress, Stage.TRAIN) as shown:
        training = train(config, _steps(shown))
    report(training)
    with _stage(progress, Stage.SUMMARY):
        summary = _summary(config)
    report(summary)
    with _stage(progress, Stage.REPORT) as shown:
        team_report = _team_report(config, _steps(shown))
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


#: The features and summary stages' results, and the store they were made from.
_FEATURES_RECORD = "features.json"
_SUMMARY_RECORD = "summary.json"


def _features(config: Config, runner: Runner, shown: ProgressCallback | None) -> Features:
    """Features for new changes; or, when the store, configuration and teamlens are as
    the last features stage left them, that stage's figures (there is nothing to do)."""
    from teamlens.dashboard import report_inputs

    known = report_inputs.read_record(config, _FEATURES_RECORD)
    if known.get("inputs") == report_inputs.store_inputs(config, "features"):
        return Features(
            tuple(
                FeaturesReport(r["repo"], 0, r["labelled"], r["inducing"], {}, r["people"])
                for r in json.loads(known["reports"])
            )
        )
    features = Features(tuple(run_per_repository(runner, build_features, config, (), shown)))
    figures = [
        {
            "repo": r.repo,
            "labelled": r.labelled,
            "inducing": r.inducing,
            "people": r.labelled_people,
        }
        for r in features.reports
    ]
    after = report_inputs.store_inputs(config, "features")
    report_inputs.write_record(
        config, _FEATURES_RECORD, {"inputs": after, "reports": json.dumps(figures)}
    )
    return features


def _summary(config: Config) -> Summary:
    """The summary of the store; kept while the store and configuration are unchanged."""
    from teamlens.dashboard import report_inputs

    inputs = report_inputs.store_inputs(config, "summary")
    known = report_inputs.read_record(config, _SUMMARY_RECORD)
    if known.get("inputs") == inputs:
        repos = [
            RepoSummary(**{**r, "top_languages": tuple(tuple(x) for x in r["top_languages"])})
            for r in json.loads(known["repos"])
        ]
        return Summary(tuple(repos), config.privacy.k)
    summary = Summary(tuple(summarise(Store(config.data_dir), config.privacy.k)), config.privacy.k)
    repos_json = json.dumps([dataclasses.asdict(r) for r in summary.repos])
    report_inputs.write_record(config, _SUMMARY_RECORD, {"inputs": inputs, "repos": repos_json})
    return summary


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
    on_report: Callable[[GithubReport], None] | None = None,
) -> list[GithubReport]:
    """Mine the pull requests of the repositories that name one (default: all).

    Each repository's report goes to ``on_report`` as soon as it is mined; a
    :class:`GithubError` stops at the repository it struck (those before it keep
    their work).
    """
    from teamlens.mining.github import iter_github_repositories
    from teamlens.mining.github import mine_github as mine_github_repository

    reports = []
    for repo in iter_github_repositories(config, repos):
        done = mine_github_repository(config, repo, progress)
        reports.append(done)
        if on_report is not None:
            on_report(done)
    return reports


#: The training stage's last "nothing new" verdict and what it was made from.
_TRAIN_RECORD = "train.json"


def train(config: Config, step: Callable[[str], None] | None = None) -> Training:
    """Train on the store's labelled changes, or say why not.

    Not trained: too few mature labels or too short a history (``not_trained``); fewer
    than ``model.retrain_min_new_labels`` labels matured since the model last trained
    on these repositories, or exactly the data of a model the registry holds
    (``up_to_date``: the current model stays, and no duplicate is stored). LightGBM
    and scikit-learn are imported only past that check, and the labelled changes are
    not even loaded while the store, configuration and models are those of the last
    "nothing new" (kept in ``<data_dir>/runs/train.json``). ``step`` hears what training
    does as it goes (loading, fitting each kind of model, calibrating, writing).
    """
    from teamlens.dashboard import report_inputs

    registry = Registry.for_data_dir(config.data_dir)
    # Nothing changed since the last check said "nothing new": that still holds.
    inputs = report_inputs.store_inputs(config, "train", registry.current_id(), *registry.ids())
    known = report_inputs.read_record(config, _TRAIN_RECORD)
    if known.get("inputs") == inputs and known.get("up_to_date"):
        return Training(None, None, registry.current_id(), up_to_date=known["up_to_date"])

    from teamlens.model.dataset import DatasetError, load_store
    from teamlens.model.freshness import new_labels_since
    from teamlens.model.split import SplitError

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
            record = {"inputs": inputs, "up_to_date": why}
            report_inputs.write_record(config, _TRAIN_RECORD, record)
            return Training(None, None, registry.current_id(), up_to_date=why)
        if step is not None:
            step(f"{len(data.labelled):,} labelled changes; loading LightGBM")
        from teamlens.model.fingerprints import FingerprintBook  # LightGBM: only when used
        from teamlens.model.training import Fingerprinting, UpToDate
        from teamlens.model.training import train_if_new as train_model

        key = load_key(config.privacy, config.data_dir)
        trained = train_model(
            data,
            registry,
            config.privacy.k,
            float(config.labels.maturity_days),
            Fingerprinting(FingerprintBook(config.data_dir), key),
            log=step,
        )
    except (DatasetError, SplitError) as exc:  # too few labels, or too short a history
        return Training(None, str(exc), registry.current_id())
    if isinstance(trained, UpToDate):
        return Training(None, None, trained.current, up_to_date="no new matured labels")
    return Training(trained, None, trained.current)


def _team_report(config: Config, step: Callable[[str], None] | None = None) -> TeamReport:
    """The run's report: rebuilt when its inputs changed, else the one on disk."""
    from teamlens.dashboard import report_inputs

    period = "auto"
    path = config.data_dir / "reports" / "report.html"
    inputs = report_inputs.report_inputs(config, period)
    if path.is_file() and report_inputs.is_current(config, inputs):
        return TeamReport(path, None, reused=True)
    report_inputs.forget(config)
    if step is not None:
        step("its inputs changed: rebuilding it")
    from teamlens.dashboard.team_period import TeamPeriodError  # scikit-learn: only here

    try:
        write_report(config, None, config.data_dir / "reports", period, step)
    except TeamPeriodError as exc:
        return TeamReport(None, str(exc))
    report_inputs.record(config, inputs)
    return TeamReport(path, None)


def write_report(
    config: Config,
    out: Path | None,
    csv_dir: Path | None,
    period: str,
    step: Callable[[str], None] | None = None,
) -> Path:
    """Build the disclosure-controlled team_period table, then the HTML report (and CSV).

    ``out`` defaults to ``<data_dir>/reports/report.html``; returns where it went.
    ``step`` hears each step as it starts.
    """
    if step is not None:
        step("loading the changes and their risk")
    from teamlens.dashboard.report import write_report as write_html  # the aggregates: heavy
    from teamlens.dashboard.team_period import build_team_period, read_team_period

    if step is not None:
        step(f"building the team tables ({period}, k={config.privacy.k})")
    build_team_period(config, period)
    table = read_team_period(config.data_dir)
    target = out or config.data_dir / "reports" / "report.html"
    if step is not None:
        step(f"writing {target.name}" + (" and its CSV files" if csv_dir is not None else ""))
    generated = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    write_html(table, target, csv_dir, period=period, k=config.privacy.k, generated=generated)
    return target
