"""`teamlens demo`: the whole product on a synthetic company, in one command.

A thin layer over :func:`teamlens.demo.run_demo`: progress on stderr, the run's stage
lines and where everything went on stdout; the report's path is the last line (scripts
take it from there).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from teamlens.cli.core import cli
from teamlens.cli.stages import _echo_run, stage_progress


@cli.command()
@click.option(
    "--dir",
    "folder",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("teamlens-demo"),
    show_default=True,
    help="Folder for the demo's repository, store, models, report and review "
    "(empty, or made by an earlier demo: then replaced).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the company.")
@click.option(
    "--small",
    is_flag=True,
    help="A smaller company and a shorter history (what the tests run).",
)
@click.option(
    "--end",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Last day of the history, YYYY-MM-DD (default: yesterday, UTC).",
)
@click.option("--quiet", "-q", is_flag=True, help="Print only where things went.")
def demo(folder: Path, seed: int, small: bool, end: dt.datetime | None, quiet: bool) -> None:
    """Build a synthetic company and run everything on it: a first look at teamlens.

    Four teams of clearly made-up people ("Demo Person NN") write Python, Go and
    JavaScript for a few years; some changes plant bugs that later changes fix; newer
    changes come through pull requests with reviews. Then the main job runs (mine,
    label, features, train, report) and the review bot looks at a planted risky
    change. The same --seed and --end build the same history.
    """
    from teamlens.demo import DemoSize, run_demo

    def step(text: str) -> None:
        if not quiet:
            click.echo(f"demo: {text}", err=True)

    done = run_demo(
        folder,
        seed=seed,
        size=DemoSize.SMALL if small else DemoSize.FULL,
        end=end.date() if end is not None else None,
        progress=None if quiet else stage_progress,
        on_report=lambda report: _echo_run(report, quiet),
        on_step=step,
    )
    click.echo(
        f"demo: {done.changes} commits by {done.people} synthetic people in {done.teams} "
        f"teams, {done.pull_requests} pull requests, in {done.seconds:.0f}s"
    )
    if done.model_card is not None:
        verdict = (
            "trained and current"
            if done.trained_is_current
            else "trained; the shipped default model stays current: the card says why"
            if done.trained
            else "current"
        )
        click.echo(f"model card: {done.model_card} ({verdict})")
    else:
        click.echo(f"model: {done.model_id} (shipped with teamlens; nothing trained)")
    level = f" ({done.review_level} risk)" if done.review_level else ""
    click.echo(f"review of the planted risky change: {done.review}{level}")
    click.echo(f"configuration (for more teamlens commands): {done.config}")
    if done.report is None:
        raise click.ClickException("the team report was not written")
    click.echo("team report (open it in a browser):")
    click.echo(str(done.report))
