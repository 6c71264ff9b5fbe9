"""The `teamlens` command: a thin layer over the library.

Each command calls one library function and turns a :class:`TeamlensError` into one
line on stderr and a non-zero exit, as it does a full disk wherever it strikes.
Everything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from teamlens import __version__
from teamlens.config import DEFAULT_CONFIG_NAME, Config, load_config, write_starter
from teamlens.errors import DISK_FULL, TeamlensError, write_failure
from teamlens.privacy import PRIVATE_UMASK, secure_data_dir
from teamlens.progress import Progress

if TYPE_CHECKING:  # the store pulls in pyarrow and DuckDB: load them only when needed
    from teamlens.mining.tasks import Runner
    from teamlens.store import QueryResult

F = TypeVar("F", bound=Callable[..., Any])


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except TeamlensError as exc:
            click.echo(f"teamlens: error: {exc}", err=True)
            ctx.exit(1)
        except OSError as exc:
            if exc.errno not in DISK_FULL:
                raise
            where = exc.filename or "a file"
            click.echo(f"teamlens: error: {write_failure(exc, where)}", err=True)
            ctx.exit(1)


def config_option(func: F) -> F:
    return click.option(
        "--config",
        "config_path",
        type=click.Path(path_type=Path),
        default=None,
        help=f"Path of the configuration file (default ./{DEFAULT_CONFIG_NAME}).",
    )(func)


def _config(ctx: click.Context, config_path: Path | None) -> Config:
    path = config_path or ctx.obj.get("config_path") or Path(DEFAULT_CONFIG_NAME)
    config = load_config(path)
    secure_data_dir(config.data_dir)  # rule 1: data folder 0700, files 0600
    return config


@click.group(cls=_Group)
@click.version_option(__version__, prog_name="teamlens")
@config_option
@click.pass_context
def cli(ctx: click.Context, config_path: Path | None) -> None:
    """teamlens: learn from code history without scoring people."""
    ctx.ensure_object(dict)
    ctx.obj["config_path"] = config_path


@cli.command()
@click.option("--force", is_flag=True, help="Overwrite an existing repos.yaml.")
def init(force: bool) -> None:
    """Write a commented repos.yaml for the repository in the current folder."""
    path = write_starter(Path.cwd(), force=force)
    click.echo(f"wrote {path}")


def _scale_options(func: F, workers_help: str) -> F:
    func = click.option(
        "--scheduler",
        default=None,
        metavar="URL",
        help="Run on an existing Dask cluster (tls://HOST:8786); see docs/scale.md.",
    )(func)
    return click.option(
        "--workers",
        type=click.IntRange(1, 256),
        default=1,
        show_default=True,
        help=workers_help,
    )(func)


def scale_options(func: F) -> F:
    """``--workers N`` (a local Dask cluster) and ``--scheduler URL`` (an existing one)."""
    return _scale_options(
        func, "Run repositories in parallel on a local Dask cluster of N processes."
    )


def _features_scale_options(func: F) -> F:
    return _scale_options(
        func,
        "N processes: repositories in parallel on a local Dask cluster, or, for a "
        "single repository, its tree-sitter code metrics.",
    )


def _mine(config: Config, repos: tuple[str, ...], quiet: bool, runner: Runner) -> None:
    from teamlens.mining.tasks import mine_all

    progress = None if quiet else Progress()
    reports = mine_all(config, only=repos, progress=progress, runner=runner)
    for report in reports:
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
    _retire_models(config)


def _retire_models(config: Config) -> None:
    """Remove the models trained before the opt-out list changed (one line, no counts)."""
    from teamlens.mining.miner import opt_out_fingerprint
    from teamlens.model.registry import Registry, retire_models
    from teamlens.privacy import load_key, read_opt_out

    entries = read_opt_out(config.privacy.opt_out)
    fingerprint = opt_out_fingerprint(load_key(config.privacy, config.data_dir), entries)
    if retire_models(Registry.for_data_dir(config.data_dir), fingerprint, not entries):
        click.echo(
            "opt-out applied: models trained before it were removed; `teamlens train` "
            "(or `teamlens run`) trains a new one",
            err=True,
        )


def _mine_github(config: Config, repos: tuple[str, ...], quiet: bool) -> None:
    from teamlens.mining.github import iter_github_repositories, mine_github

    progress = None if quiet else Progress(unit="pull requests", verb="github")
    for repo in iter_github_repositories(config, repos):
        report = mine_github(config, repo, progress)
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


@cli.command()
@config_option
@click.option("--repo", "repos", multiple=True, help="Mine only this repository (repeatable).")
@click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors.")
@click.option(
    "--no-github", is_flag=True, help="Skip pull requests and reviews (git history only)."
)
@scale_options
@click.pass_context
def mine(
    ctx: click.Context,
    config_path: Path | None,
    repos: tuple[str, ...],
    quiet: bool,
    no_github: bool,
    workers: int,
    scheduler: str | None,
) -> None:
    """Mine commits and file changes, and pull requests where a repository names one.

    Incremental: a second run reads only what is new.
    """
    from teamlens.mining.tasks import runner_for

    config = _config(ctx, config_path)
    with runner_for(workers, scheduler) as runner:
        _mine(config, repos, quiet, runner)
    if not no_github:
        _mine_github(config, repos, quiet)


@cli.command()
@config_option
@click.option("--quiet", "-q", is_flag=True, help="Print only the summary.")
@scale_options
@click.pass_context
def run(
    ctx: click.Context,
    config_path: Path | None,
    quiet: bool,
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
    from teamlens.features.changes import build_features
    from teamlens.mining.github import GithubError
    from teamlens.mining.szz import label_repository
    from teamlens.mining.tasks import run_per_repository, runner_for
    from teamlens.store import Store
    from teamlens.summary import format_summary, summarise

    config = _config(ctx, config_path)
    github_failed = False
    with runner_for(workers, scheduler) as runner:
        _mine(config, (), quiet, runner)
        try:
            _mine_github(config, (), quiet)
        except GithubError as exc:
            # GitHub being down must not stop the job: the git history is enough for
            # everything after this; the run still ends with exit code 1.
            click.echo(f"teamlens: error: {exc}; continuing without it", err=True)
            github_failed = True
        run_per_repository(
            runner,
            label_repository,
            config,
            progress=None if quiet else Progress(unit="fixes", verb="label"),
        )
        run_per_repository(
            runner,
            build_features,
            config,
            progress=None if quiet else Progress(unit="changes", verb="features"),
        )
    _train_in_run(config, quiet)
    click.echo(
        format_summary(summarise(Store(config.data_dir), config.privacy.k), config.privacy.k)
    )
    from teamlens.dashboard.team_period import TeamPeriodError

    try:
        report_path = _write_report(config, None, config.data_dir / "reports", "week")
    except TeamPeriodError as exc:
        click.echo(f"report: not written ({exc})")
    else:
        click.echo(f"report: {report_path}")
    if github_failed:
        ctx.exit(1)


def _train_in_run(config: Config, quiet: bool) -> None:
    from teamlens.model.dataset import DatasetError, load_store
    from teamlens.model.registry import Registry
    from teamlens.model.training import train as train_model
    from teamlens.store import Store

    registry = Registry.for_data_dir(config.data_dir)
    try:
        data = load_store(Store(config.data_dir), [r.name for r in config.repositories])
        report = train_model(
            data,
            registry,
            config.privacy.k,
            float(config.labels.maturity_days),
        )
    except DatasetError as exc:
        if not quiet:
            click.echo(f"model: not trained ({exc}); current model: {registry.current_id()}")
        return
    if not quiet:
        click.echo(f"model: {report.model.model_id} trained; current model: {report.current}")


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

    config = _config(ctx, config_path)
    progress = None if quiet else Progress(unit="fixes", verb="label")
    with runner_for(workers, scheduler) as runner:
        reports = run_per_repository(runner, label_repository, config, repos, progress)
    for report in reports:
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
@_features_scale_options
@click.pass_context
def features(
    ctx: click.Context,
    config_path: Path | None,
    repos: tuple[str, ...],
    quiet: bool,
    workers: int,
    scheduler: str | None,
) -> None:
    """Compute per-change features (new changes only) and refresh the labels."""
    from teamlens.features.changes import build_features, features_for
    from teamlens.mining.tasks import repositories, run_per_repository, runner_for
    from teamlens.summary import label_totals

    config = _config(ctx, config_path)
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


def _model_data(
    ctx: click.Context, config_path: Path | None, dataset: Path | None, repos: tuple[str, ...]
) -> tuple[Any, Config | None]:
    """(JitData, config): a public dataset, or the labelled changes in the store."""
    from teamlens.model.dataset import load_kamei_csv, load_store
    from teamlens.store import Store

    if dataset is not None:
        if repos:
            raise click.UsageError("--dataset and --repo exclude each other")
        config = None
        if config_path or ctx.obj.get("config_path") or Path(DEFAULT_CONFIG_NAME).exists():
            config = _config(ctx, config_path)
        return load_kamei_csv(dataset), config
    config = _config(ctx, config_path)
    names = [config.repository(n).name for n in repos] or [r.name for r in config.repositories]
    return load_store(Store(config.data_dir), names), config


def _data_options(func: F) -> F:
    for option in reversed(
        [
            click.option(
                "--dataset",
                type=click.Path(path_type=Path),
                default=None,
                help="A Kamei-format CSV (public JIT data) instead of the store.",
            ),
            click.option(
                "--repo", "repos", multiple=True, help="Only this repository (repeatable)."
            ),
            click.option(
                "--gap-days",
                type=click.FloatRange(min=0),
                default=None,
                help="Days between training and test changes "
                "(default: labels.maturity_days for the store, 0 for --dataset).",
            ),
            click.option("--seed", type=int, default=0, show_default=True, help="Random seed."),
            click.option(
                "--no-tune", is_flag=True, help="Skip validation inside the training window."
            ),
            click.option(
                "--format",
                "fmt",
                type=click.Choice(["text", "json"]),
                default="text",
                show_default=True,
                help="Output format.",
            ),
        ]
    ):
        func = option(func)
    return func


def _gap(gap_days: float | None, dataset: Path | None, config: Config | None) -> float:
    if gap_days is not None:
        return gap_days
    if dataset is not None or config is None:
        return 0.0
    return float(config.labels.maturity_days)


@cli.command()
@config_option
@_data_options
@click.option(
    "--rolling",
    type=click.IntRange(0, 20),
    default=0,
    show_default=True,
    help="Evaluate at N rolling origins over the newest 30 % (0: one 80/20 split).",
)
@click.pass_context
def evaluate(
    ctx: click.Context,
    config_path: Path | None,
    dataset: Path | None,
    repos: tuple[str, ...],
    gap_days: float | None,
    seed: int,
    no_tune: bool,
    fmt: str,
    rolling: int,
) -> None:
    """Compare LightGBM, logistic regression and LApredict over time.

    Time-ordered splits only: train on the past, leave a gap, test on the future.
    """
    from teamlens.model.evaluation import evaluate_split
    from teamlens.model.reporting import evaluation_json, evaluation_text
    from teamlens.model.split import holdout, rolling_origin
    from teamlens.model.training import check_enough

    data, config = _model_data(ctx, config_path, dataset, repos)
    labelled = data.labelled
    check_enough(labelled)
    gap = _gap(gap_days, dataset, config)
    times = labelled.times()
    splits = rolling_origin(times, rolling, 0.3, gap) if rolling else [holdout(times, 0.2, gap)]
    log = None if fmt == "json" else (lambda m: click.echo(m, err=True))
    results = [evaluate_split(labelled, s, seed=seed, tune=not no_tune, log=log) for s in splits]
    if fmt == "json":
        click.echo(json.dumps(evaluation_json(labelled, results)))
    else:
        click.echo(evaluation_text(labelled, results))


@cli.command()
@config_option
@_data_options
@click.pass_context
def train(
    ctx: click.Context,
    config_path: Path | None,
    dataset: Path | None,
    repos: tuple[str, ...],
    gap_days: float | None,
    seed: int,
    no_tune: bool,
    fmt: str,
) -> None:
    """Train a LightGBM model and pick the current one.

    The model folder goes to <data_dir>/models/<id>/ with its model card.
    """
    from teamlens.model.registry import Registry
    from teamlens.model.training import train as train_model

    data, config = _model_data(ctx, config_path, dataset, repos)
    if config is None:
        raise click.UsageError("train needs a repos.yaml (its data_dir holds the models)")
    log = None if fmt == "json" else (lambda m: click.echo(m, err=True))
    report = train_model(
        data,
        Registry.for_data_dir(config.data_dir),
        config.privacy.k,
        _gap(gap_days, dataset, config),
        seed=seed,
        tune=not no_tune,
        log=log,
    )
    metrics = {c.value: r.metrics.as_dict() for c, r in report.evaluation.results.items()}
    if fmt == "json":
        summary = {
            "model": report.model.model_id,
            "folder": str(report.model.path),
            "current": report.current,
            "models": metrics,
            "previous_current_roc_auc": report.challenger_auc,
            "reasons": list(report.reasons),
        }
        click.echo(json.dumps(summary))
        return
    click.echo(f"model {report.model.model_id} written to {report.model.path}")
    aucs = ", ".join(f"{name} {_fmt_auc(m['roc_auc'])}" for name, m in metrics.items())
    click.echo(f"held-out ROC-AUC: {aucs}")
    for reason in report.reasons:
        click.echo(reason)
    click.echo(f"current model: {report.current}")


def _fmt_auc(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


@cli.command()
@config_option
@click.option("--current", "make_current", default=None, help="Mark this model id current.")
@click.pass_context
def models(ctx: click.Context, config_path: Path | None, make_current: str | None) -> None:
    """List the models; the one marked * is current.

    Until a trained model wins on held-out data, the shipped default is current.
    """
    from teamlens.model.registry import DEFAULT_ID, Registry

    config = _config(ctx, config_path)
    registry = Registry.for_data_dir(config.data_dir)
    if make_current is not None:
        registry.set_current(make_current)
    current = registry.current_id()
    for model_id in [DEFAULT_ID, *registry.ids()]:
        meta = registry.load(model_id).meta
        auc = meta.metrics.get("lightgbm", {}).get("roc_auc")
        mark = "*" if model_id == current else " "
        click.echo(
            f"{mark} {model_id:<40} {meta.created:<21} ROC-AUC {_fmt_auc(auc):<6} {meta.source}"
        )


@cli.command()
@config_option
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Folder to write.")
@click.option("--repo", "repos", multiple=True, help="Only this repository (repeatable).")
@click.pass_context
def export(ctx: click.Context, config_path: Path | None, out: Path, repos: tuple[str, ...]) -> None:
    """Write the labelled feature table and a datasheet, for researchers.

    No pseudonyms, commit ids or team names; k-anonymous on what git shows (every column
    but the label is a range shared by at least k changes of at least k people).
    """
    from teamlens.model.export import export as export_changes

    config = _config(ctx, config_path)
    report = export_changes(config, out, [config.repository(n).name for n in repos])
    exact, written = report.exact, report.published
    click.echo(
        f"wrote {report.rows} changes ({report.labelled} labelled, {report.defect_inducing} "
        f"defect-inducing) to {report.folder / 'changes.csv'} with datasheet.md; "
        f"{report.suppressed} suppressed; matched to exactly one commit by git log: "
        f"{100 * exact.share(exact.unique):.1f} % with exact values, "
        f"{100 * written.share(written.unique):.1f} % as written "
        f"({100 * written.share(written.under_k):.1f} % to fewer than {config.privacy.k})"
    )


@cli.command()
@config_option
@click.option("--base", default=None, help="Base commit or branch (local mode).")
@click.option("--head", default=None, help="Head commit or branch (local mode).")
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
    "--format",
    "fmt",
    type=click.Choice(["md", "json", "sarif"]),
    default="md",
    show_default=True,
    help="Output format.",
)
@click.pass_context
def review(
    ctx: click.Context,
    config_path: Path | None,
    base: str | None,
    head: str | None,
    repo_name: str | None,
    github_ref: str | None,
    post: bool,
    level_only: bool,
    fmt: str,
) -> None:
    """Risk, reasons and suggestions for a change (local refs or a pull request).

    About the change only, never about its author. Usable as a pre-push hook.
    """
    from teamlens.bot.render import to_json, to_markdown, to_sarif_json

    config = _config(ctx, config_path)
    if github_ref is not None:
        if base or head:
            raise click.UsageError("--github and --base/--head exclude each other")
        from teamlens.bot.github import review_pull_request

        result = review_pull_request(config, github_ref, post=post, repo_name=repo_name)
    else:
        if post:
            raise click.UsageError("--post needs --github OWNER/REPO#N")
        if not base or not head:
            raise click.UsageError("give --base and --head, or --github OWNER/REPO#N")
        from teamlens.bot.review import review_local

        result = review_local(config, repo_name, base, head)
    numeric = not (level_only or post)  # what is posted is shown without the number
    if fmt == "json":
        click.echo(to_json(result, numeric))
    elif fmt == "sarif":
        click.echo(to_sarif_json(result, __version__, numeric=numeric))
    else:
        click.echo(to_markdown(result, numeric=numeric))


def _tls_options(func: F) -> F:
    """--certfile/--keyfile/--behind-proxy: how a server off loopback keeps TLS."""
    func = click.option(
        "--behind-proxy",
        is_flag=True,
        help="Off loopback without a certificate: a proxy in front terminates TLS.",
    )(func)
    func = click.option(
        "--keyfile",
        type=click.Path(path_type=Path, dir_okay=False),
        default=None,
        help="The certificate's private key (PEM).",
    )(func)
    return click.option(
        "--certfile",
        type=click.Path(path_type=Path, dir_okay=False),
        default=None,
        help="Serve HTTPS with this certificate (PEM); needed off loopback, or --behind-proxy.",
    )(func)


@cli.group()
def bot() -> None:
    """The review bot as a service: a webhook server, and how useful its rules are."""


@bot.command()
@config_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option(
    "--port", type=click.IntRange(1, 65535), default=8080, show_default=True, help="Port."
)
@_tls_options
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

    config = _config(ctx, config_path)
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

    config = _config(ctx, config_path)
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


@cli.command()
@config_option
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="The HTML file to write (default <data_dir>/reports/report.html).",
)
@click.option("--csv", "csv_dir", type=click.Path(path_type=Path), default=None,
              help="Also write the numbers as CSV files into this folder.")  # fmt: skip
@click.option(
    "--period",
    type=click.Choice(["week", "month"]),
    default="week",
    show_default=True,
    help="Period of the trends.",
)
@click.pass_context
def report(
    ctx: click.Context,
    config_path: Path | None,
    out: Path | None,
    csv_dir: Path | None,
    period: str,
) -> None:
    """Team quality trends as one offline HTML file (k-suppressed; never per person)."""
    out = _write_report(_config(ctx, config_path), out, csv_dir, period)
    click.echo(f"wrote {out}")


def _write_report(config: Config, out: Path | None, csv_dir: Path | None, period: str) -> Path:
    import datetime as dt

    from teamlens.dashboard.report import write_report
    from teamlens.dashboard.team_period import build_team_period, read_team_period

    build_team_period(config, period)
    table = read_team_period(config.data_dir)
    target = out or config.data_dir / "reports" / "report.html"
    generated = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    write_report(table, target, csv_dir, period=period, k=config.privacy.k, generated=generated)
    return target


@cli.command("serve")
@config_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option(
    "--port", type=click.IntRange(1, 65535), default=8000, show_default=True, help="Port."
)
@_tls_options
@click.pass_context
def serve_page(
    ctx: click.Context,
    config_path: Path | None,
    host: str,
    port: int,
    certfile: Path | None,
    keyfile: Path | None,
    behind_proxy: bool,
) -> None:
    """Serve the team trends page (reads only the k-suppressed team_period table).

    Outside 127.0.0.1 a bearer token is required ($TEAMLENS_SERVE_TOKEN), and TLS:
    --certfile/--keyfile, or --behind-proxy when a proxy in front terminates it.
    """
    import os

    from teamlens.dashboard.serve import make_server
    from teamlens.serving import Transport

    config = _config(ctx, config_path)
    token = os.environ.get("TEAMLENS_SERVE_TOKEN") or None
    transport = Transport(certfile, keyfile, behind_proxy)
    server = make_server(
        config.data_dir,
        k=config.privacy.k,
        host=host,
        port=port,
        token=token,
        transport=transport,
    )
    needs = "bearer token required" if token is not None else "loopback only, no token"
    click.echo(f"teamlens: team trends on {transport.url(host, port)} ({needs})", err=True)
    server.run()


@cli.command()
@config_option
@click.option(
    "--output",
    "outputs",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Also audit this report, CSV or export (file or folder; repeatable).",
)
@click.option(
    "--allow",
    multiple=True,
    metavar="WORD",
    help="A word that is also someone's name or e-mail local part but not about them here "
    "(repeatable).",
)
@click.pass_context
def privacy(
    ctx: click.Context, config_path: Path | None, outputs: tuple[Path, ...], allow: tuple[str, ...]
) -> None:
    """Print the data inventory, then audit the store and outputs.

    Checks the privacy rules; exits 1 on any violation.
    """
    from teamlens.audit import audit, inventory

    config = _config(ctx, config_path)
    click.echo(inventory(config))
    result = audit(config, list(outputs), allow=allow)
    click.echo(result.render())
    if not result.ok:
        ctx.exit(1)


@cli.command()
@config_option
@click.pass_context
def purge(ctx: click.Context, config_path: Path | None) -> None:
    """Apply the retention window now: drop comment text older than retention_days."""
    from teamlens.audit import purge as purge_store

    report = purge_store(_config(ctx, config_path))
    click.echo(report.render(), nl=False)


def _plain(value: Any) -> Any:
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def _csv_cell(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return value


def _print_result(result: QueryResult, fmt: str) -> None:
    if fmt == "json":
        rows = [dict(zip(result.columns, map(_plain, row), strict=True)) for row in result.rows]
        click.echo(json.dumps(rows, ensure_ascii=False, indent=None))
        return
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(result.columns)
    for row in result.rows:
        writer.writerow([_csv_cell(v) for v in map(_plain, row)])


@cli.command()
@config_option
@click.argument("sql")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "json"]),
    default="csv",
    show_default=True,
    help="Output format.",
)
@click.pass_context
def query(ctx: click.Context, config_path: Path | None, sql: str, fmt: str) -> None:
    """Run SQL over the published zone of the store.

    Tables: commits, commits_all, file_changes, file_changes_all, lost_commits,
    lost_commit_events, team_period. No person pseudonym, commit message or change-level
    outcome is here: those stay in the private zone (use export, train or evaluate).
    """
    config = _config(ctx, config_path)
    from teamlens.store import Store

    _print_result(Store(config.data_dir).query_published(sql), fmt)


def main() -> None:
    import os

    os.umask(PRIVATE_UMASK)  # everything teamlens writes is readable by its user only
    cli(prog_name="teamlens")
