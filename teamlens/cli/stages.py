"""Commands that fill the store: init, mine, label, features, and run (the main job).

`run` is :func:`teamlens.pipeline.run`; this module only prints its stage reports as
they come, with the same lines `mine`, `label` and `features` print, and "<stage>:
nothing new" for a stage that found nothing to do. Progress (each stage named, with
counts and rate, and a heartbeat at least every few seconds) goes to stderr.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from teamlens.cli.core import (
    allow_empty_teams_option,
    check_teams,
    cli,
    config_from,
    config_option,
    features_scale_options,
    scale_options,
)
from teamlens.config import exclude_data_folders, write_starter
from teamlens.progress import Progress, RunProgress

if TYPE_CHECKING:  # the stages pull in pyarrow and DuckDB: load them only when needed
    from teamlens.mining.github import GithubReport
    from teamlens.mining.miner import MiningReport, ProgressCallback
    from teamlens.pipeline import GitMining, Stage, StageReport


@cli.command()
@click.option("--force", is_flag=True, help="Overwrite an existing repos.yaml.")
def init(force: bool) -> None:
    """Write a commented repos.yaml for the repository in the current folder.

    Its data and clone folders, when inside the work tree, go into .git/info/exclude.
    """
    path = write_starter(Path.cwd(), force=force)
    click.echo(f"wrote {path}")
    added = exclude_data_folders(path)
    if added:
        click.echo(f"added {', '.join(added)} to .git/info/exclude")


def echo_mining(mining: GitMining, quiet: bool) -> None:
    """What `mine` and `run` print about the git stage."""
    for report in mining.reports:
        for ref in report.rewritten:
            click.echo(
                f"{report.repo}: {ref.ref} was rewritten ({ref.old_tip[:12]} is no longer "
                f"in its history); {ref.lost_commits} mined commits are no longer "
                "reachable and are listed in lost_commits",
                err=True,
            )
        if report.commits_restored:
            click.echo(
                f"{report.repo}: {report.commits_restored} commits listed in lost_commits are "
                "reachable again and are back in commits",
                err=True,
            )
        # No count of what the opt-out removed or left out: it would say how much one
        # person did (DESIGN.md rule 4).
        if report.rows_purged:
            click.echo(
                f"{report.repo}: opt-out applied: rows of people who opted out removed", err=True
            )
        if not quiet:
            click.echo(
                f"{report.repo}: {report.commits_added} new commits, "
                f"{report.file_changes_added} file changes"
                + (", opt-out applied" if report.commits_opted_out else "")
                + f" in {report.seconds:.1f}s"
            )
    if mining.models_retired:  # one line, no counts
        click.echo(
            "opt-out applied: models trained before it were removed; `teamlens train` "
            "(or `teamlens run`) trains a new one",
            err=True,
        )


def echo_github(report: GithubReport, quiet: bool) -> None:
    """What `mine` and `run` print about one repository's pull requests."""
    if report.rows_purged:
        click.echo(
            f"{report.repo}: opt-out applied: GitHub rows of people who opted out removed",
            err=True,
        )
    if report.stopped:
        click.echo(
            f"{report.repo}: {report.stopped}; the next run resumes where this one stopped",
            err=True,
        )
    if not quiet:
        click.echo(
            f"{report.repo}: {report.pull_requests} pull requests updated on GitHub, "
            f"{report.requests} requests"
            + (f", waited {report.waited_seconds:.0f}s" if report.waited_seconds else "")
        )


#: What each stage with a per-item callback counts (the older form of run's progress).
_UNITS = {"mine": "commits", "github": "pull requests", "label": "fixes", "features": "changes"}


def stage_progress(stage: Stage) -> ProgressCallback | None:
    """A bar (or log lines) on stderr for a stage that counts items, without the steps
    and heartbeat that ``run(progress=RunProgress())`` adds."""
    unit = _UNITS.get(stage.value)
    return None if unit is None else Progress(unit=unit, verb=stage.value)


@cli.command()
@config_option
@click.option("--repo", "repos", multiple=True, help="Mine only this repository (repeatable).")
@click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors.")
@click.option(
    "--no-github", is_flag=True, help="Skip pull requests and reviews (git history only)."
)
@allow_empty_teams_option
@scale_options
@click.pass_context
def mine(
    ctx: click.Context,
    config_path: Path | None,
    repos: tuple[str, ...],
    quiet: bool,
    no_github: bool,
    allow_empty_teams: bool,
    workers: int,
    scheduler: str | None,
) -> None:
    """Mine commits and file changes, and pull requests where a repository names one.

    Incremental: a second run reads only what is new.
    """
    from teamlens.mining.github import GithubReport
    from teamlens.mining.tasks import runner_for
    from teamlens.pipeline import mine_git, mine_github

    config = config_from(ctx, config_path)
    check_teams(config, repos, allow_empty_teams)
    with runner_for(workers, scheduler) as runner:
        mining = mine_git(config, repos, runner, None if quiet else Progress())
        echo_mining(mining, quiet)
    if not no_github:

        def echo(report: StageReport) -> None:
            if isinstance(report, GithubReport):
                echo_github(report, quiet)

        progress = None if quiet else Progress(unit="pull requests", verb="github")
        mine_github(config, repos, progress, echo)


@cli.command()
@config_option
@click.option("--quiet", "-q", is_flag=True, help="Print only the summary.")
@allow_empty_teams_option
@scale_options
@click.pass_context
def run(
    ctx: click.Context,
    config_path: Path | None,
    quiet: bool,
    allow_empty_teams: bool,
    workers: int,
    scheduler: str | None,
) -> None:
    """The main job: mine, label, features, train, report; then print a summary.

    Training is skipped, with the reason, while there are too few mature labels; the
    shipped default model stays current then. The team report goes to
    <data_dir>/reports/report.html. With --workers or --scheduler, mining, labels and
    features run one task per repository on one Dask cluster (GitHub stays serial).
    When GitHub cannot be read, the run goes on from the git history and exits with 1.
    """
    from teamlens.pipeline import run as run_pipeline

    config = config_from(ctx, config_path)
    check_teams(config, (), allow_empty_teams)
    result = run_pipeline(
        config,
        workers=workers,
        scheduler=scheduler,
        progress=None if quiet else RunProgress(),
        on_report=lambda report: _echo_run(report, quiet),
    )
    if not result.ok:
        ctx.exit(1)


def _echo_run(report: StageReport, quiet: bool) -> None:
    """What `run` prints as each stage reports (labels and features: their progress, and
    "nothing new" when there was nothing to do)."""
    from teamlens.pipeline import (
        Features,
        GithubFailure,
        GitMining,
        Labels,
        Summary,
        TeamReport,
        Training,
    )
    from teamlens.summary import format_summary

    if isinstance(report, GitMining):
        idle = [r for r in report.reports if _nothing_mined(r)]
        if not quiet:
            for one in idle:
                click.echo(f"mine: nothing new in {one.repo} ({one.seconds:.1f}s)")
        busy = [r for r in report.reports if r not in idle]
        echo_mining(GitMining(tuple(busy), report.models_retired), quiet)
    elif isinstance(report, GithubFailure):
        click.echo(f"teamlens: error: {report.error}; continuing without it", err=True)
    elif isinstance(report, Labels):
        for label_report in report.reports:
            if (notice := label_report.skipped_notice()) is not None:
                click.echo(notice, err=True)
            elif not quiet and label_report.fixes_labelled == 0:
                click.echo(f"label: nothing new in {label_report.repo} (no fix to label)")
    elif isinstance(report, Features):
        for features_report in report.reports:
            if not quiet and features_report.changes_added == 0:
                click.echo(f"features: nothing new in {features_report.repo} (no new change)")
    elif isinstance(report, Training):
        if quiet:
            return
        if report.up_to_date == "no new matured labels":
            click.echo(f"train: nothing new ({report.up_to_date}); current model: {report.current}")
        elif report.up_to_date is not None:
            click.echo(f"model: up to date ({report.up_to_date}); current model: {report.current}")
        elif report.trained is None:
            click.echo(
                f"model: not trained ({report.not_trained}); current model: {report.current}"
            )
        else:
            click.echo(
                f"model: {report.trained.model.model_id} trained; current model: {report.current}"
            )
    elif isinstance(report, Summary):
        click.echo(format_summary(list(report.repos), report.k))
    elif isinstance(report, TeamReport):
        if report.path is None:
            click.echo(f"report: not written ({report.not_written})")
        elif report.reused and not quiet:
            click.echo(f"report: nothing new (its inputs are unchanged); kept {report.path}")
        else:
            click.echo(f"report: {report.path}")
    else:  # a GithubReport (github3 is imported only when a repository names one)
        echo_github(report, quiet)


def _nothing_mined(report: MiningReport) -> bool:
    """Nothing new in the repository's history, and nothing to say about it."""
    return not (
        report.commits_added
        or report.file_changes_added
        or report.rewritten
        or report.commits_restored
        or report.rows_purged
        or report.commits_opted_out
    )


@cli.command()
@config_option
@click.option("--repo", "repos", multiple=True, help="Label only this repository (repeatable).")
@click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors.")
@scale_options
@click.pass_context
def label(
    ctx: click.Context,
    config_path: Path | None,
    repos: tuple[str, ...],
    quiet: bool,
    workers: int,
    scheduler: str | None,
) -> None:
    """Link fix commits to the commits that induced them (SZZ; incremental)."""
    from teamlens.mining.szz import label_repository
    from teamlens.mining.tasks import run_per_repository, runner_for

    config = config_from(ctx, config_path)
    progress = None if quiet else Progress(unit="fixes", verb="label")
    with runner_for(workers, scheduler) as runner:
        reports = run_per_repository(runner, label_repository, config, repos, progress)
    for report in reports:
        if (notice := report.skipped_notice()) is not None:
            click.echo(notice, err=True)
        if not quiet:
            click.echo(
                f"{report.repo}: {report.fixes_labelled} fix commits labelled, "
                f"{report.links_added} links ({', '.join(config.labels.variants)}) "
                f"in {report.seconds:.1f}s"
            )


@cli.command()
@config_option
@click.option("--repo", "repos", multiple=True, help="Only this repository (repeatable).")
@click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors.")
@allow_empty_teams_option
@features_scale_options
@click.pass_context
def features(
    ctx: click.Context,
    config_path: Path | None,
    repos: tuple[str, ...],
    quiet: bool,
    allow_empty_teams: bool,
    workers: int,
    scheduler: str | None,
) -> None:
    """Compute per-change features (new changes only) and refresh the labels."""
    from teamlens.features.changes import build_features, features_for
    from teamlens.mining.tasks import repositories, run_per_repository, runner_for
    from teamlens.summary import label_totals

    config = config_from(ctx, config_path)
    check_teams(config, repos, allow_empty_teams)
    progress = None if quiet else Progress(unit="changes", verb="features")
    if scheduler is None and len(repositories(config, repos)) == 1:
        # One repository: a cluster would run one task; its code metrics use the processes.
        reports = features_for(config, repos, progress, workers)
    else:
        with runner_for(workers, scheduler) as runner:
            reports = run_per_repository(runner, build_features, config, repos, progress)
    for report in reports:
        if not quiet:
            stages = ", ".join(f"{k} {v:.1f}s" for k, v in report.stage_seconds.items())
            click.echo(
                f"{report.repo}: {report.changes_added} new changes; labels: "
                + label_totals(
                    report.labelled, report.inducing, report.labelled_people, config.privacy.k
                )
                + f" ({config.labels.default_variant}); {stages}"
            )
