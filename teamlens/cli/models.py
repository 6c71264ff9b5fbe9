"""Commands for the model: evaluate, train, models, and the researchers' export."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from teamlens.cli.core import F, cli, config_from, config_option
from teamlens.config import DEFAULT_CONFIG_NAME, Config


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
            config = config_from(ctx, config_path)
        return load_kamei_csv(dataset), config
    config = config_from(ctx, config_path)
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

    config = config_from(ctx, config_path)
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

    config = config_from(ctx, config_path)
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
