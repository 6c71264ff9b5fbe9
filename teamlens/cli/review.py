"""The review bot: `teamlens review` (local refs or a pull request) and `teamlens bot`."""

from __future__ import annotations

from pathlib import Path

import click

from teamlens import __version__
from teamlens.cli.core import (
    allow_empty_teams_option,
    check_teams,
    cli,
    config_from,
    config_option,
    server_options,
)


@cli.command()
@config_option
@click.option("--base", default=None, help="Base commit or branch (local mode).")
@click.option("--head", default=None, help="Head commit or branch (local mode).")
@click.option(
    "--worktree",
    is_flag=True,
    help="Review uncommitted work (staged, unstaged and untracked files that are not "
    "ignored) against HEAD, or against --base (for pre-commit hooks and editors).",
)
@click.option("--repo", "repo_name", default=None, help="Repository name from repos.yaml.")
@click.option(
    "--github", "github_ref", default=None, metavar="OWNER/REPO#N", help="Review a pull request."
)
@click.option("--post", is_flag=True, help="With --github: post the review to the pull request.")
@click.option(
    "--level-only",
    is_flag=True,
    help="Show the risk level, not the number (for output others read, e.g. a CI log); "
    "implied by --post.",
)
@click.option(
    "--model",
    "model_id",
    default=None,
    metavar="ID",
    help="Review with this model instead of the current one (see `teamlens models`), "
    "e.g. to replay a past review with the model of its day.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["md", "json", "sarif"]),
    default="md",
    show_default=True,
    help="Output format.",
)
@allow_empty_teams_option
@click.pass_context
def review(
    ctx: click.Context,
    config_path: Path | None,
    base: str | None,
    head: str | None,
    worktree: bool,
    repo_name: str | None,
    github_ref: str | None,
    post: bool,
    level_only: bool,
    model_id: str | None,
    fmt: str,
    allow_empty_teams: bool,
) -> None:
    """Risk, reasons and suggestions for a change (refs, uncommitted work or a PR).

    About the change only, never about its author. Usable as a pre-push hook, and with
    --worktree as a pre-commit hook.
    """
    from teamlens.bot.domain import NothingToReview
    from teamlens.bot.render import (
        nothing_json,
        nothing_sarif_json,
        nothing_text,
        to_json,
        to_markdown,
        to_sarif_json,
    )
    from teamlens.model.registry import Registry

    config = config_from(ctx, config_path)
    check_teams(config, (repo_name,) if repo_name else (), allow_empty_teams)
    model = None if model_id is None else Registry.for_data_dir(config.data_dir).load(model_id)
    if github_ref is not None:
        if base or head or worktree:
            raise click.UsageError("--github and --base/--head/--worktree exclude each other")
        from teamlens.bot.github import review_pull_request

        result = review_pull_request(
            config, github_ref, post=post, repo_name=repo_name, model=model
        )
    else:
        if post:
            raise click.UsageError("--post needs --github OWNER/REPO#N")
        if worktree:
            if head:
                raise click.UsageError("--worktree reviews the working tree: no --head")
            from teamlens.bot.worktree import review_worktree

            found = review_worktree(config, repo_name, base or "HEAD", model=model)
        else:
            if not base or not head:
                raise click.UsageError(
                    "give --base and --head, --worktree, or --github OWNER/REPO#N"
                )
            from teamlens.bot.review import review_local_or_nothing

            found = review_local_or_nothing(config, repo_name, base, head, model=model)
        if isinstance(found, NothingToReview):
            if fmt == "json":
                click.echo(nothing_json(found))
            elif fmt == "sarif":
                click.echo(nothing_sarif_json(found, __version__))
            else:
                click.echo(nothing_text(found))
            return
        result = found
    numeric = not (level_only or post)  # what is posted is shown without the number
    if fmt == "json":
        click.echo(to_json(result, numeric))
    elif fmt == "sarif":
        click.echo(to_sarif_json(result, __version__, numeric=numeric))
    else:
        click.echo(to_markdown(result, numeric=numeric))


@cli.group()
def bot() -> None:
    """The review bot as a service: a webhook server, and how useful its rules are."""


@bot.command()
@config_option
@server_options(default_port=8080)
@click.pass_context
def serve(
    ctx: click.Context,
    config_path: Path | None,
    host: str,
    port: int,
    certfile: Path | None,
    keyfile: Path | None,
    behind_proxy: bool,
) -> None:
    """Serve GitHub pull_request webhooks; review and comment on each push.

    The webhook secret comes from the environment variable TEAMLENS_WEBHOOK_SECRET.
    Off loopback: --certfile/--keyfile, or --behind-proxy.
    """
    from teamlens.bot.github import review_pull_request
    from teamlens.bot.webhook import PullRequestEvent, WebhookSettings
    from teamlens.bot.webhook import serve as serve_webhooks
    from teamlens.model.registry import Registry
    from teamlens.serving import Transport

    config = config_from(ctx, config_path)
    settings = WebhookSettings.from_env(
        host=host,
        port=port,
        review_drafts=config.review.review_drafts,
        transport=Transport(certfile, keyfile, behind_proxy),
    )
    settings.transport.check(host, "teamlens bot serve")  # before the model is loaded
    click.echo(f"teamlens: webhooks on {settings.transport.url(host, port, '/webhook')}", err=True)
    model = Registry.for_data_dir(config.data_dir).current()  # loaded once

    def handle(event: PullRequestEvent) -> None:
        review_pull_request(config, f"{event.repository}#{event.number}", post=True, model=model)

    serve_webhooks(settings, handle)


@bot.command()
@config_option
@click.option("--repo", "repo_name", default=None, help="Repository name from repos.yaml.")
@click.option("--pulls", type=click.IntRange(1, 1000), default=50, show_default=True,
              help="Most recently updated pull requests to read.")  # fmt: skip
@click.pass_context
def stats(ctx: click.Context, config_path: Path | None, repo_name: str | None, pulls: int) -> None:
    """Per rule: the bot's inline comments and how many were marked not useful.

    Counts the thumbs-up and thumbs-down reactions; a rule above 10 % is flagged.
    """
    from teamlens.bot.stats import FLAG_RATE, rule_stats

    config = config_from(ctx, config_path)
    rows = rule_stats(config, repo_name, pulls)
    if not rows:
        click.echo("no inline comments by teamlens found")
        return
    click.echo(f"{'rule':<12} {'comments':>8} {'useful':>6} {'not useful':>10} {'rate':>6}")
    for row in rows:
        flag = "  <- above 10 %: review this rule" if row.not_useful_rate > FLAG_RATE else ""
        click.echo(
            f"{row.rule:<12} {row.comments:>8} {row.useful:>6} {row.not_useful:>10} "
            f"{row.not_useful_rate:>6.0%}{flag}"
        )
