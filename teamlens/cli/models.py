"""Commands for the model: evaluate, train, score, models, and the researchers' export."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from teamlens.cli.core import F, cli, config_from, config_option
from teamlens.config import DEFAULT_CONFIG_NAME, MIN_K, Config

#: Where models go when `--dataset` is used with no repos.yaml: as if one were here.
DEFAULT_DATA_DIR = Path(".teamlens")


@contextmanager
def _shown(stage: str, fmt: str) -> Iterator[Callable[[str], None] | None]:
    """The steps of a long model command on stderr, with a heartbeat (none for JSON)."""
    if fmt == "json":
        yield None
        return
    from teamlens.progress import RunProgress

    with RunProgress().stage(stage, "changes", "fitting the models") as progress:
        yield progress.step


def _optional_config(ctx: click.Context, config_path: Path | None) -> Config | None:
    """The configuration when one is given or ./repos.yaml exists; else None."""
    if config_path or ctx.obj.get("config_path") or Path(DEFAULT_CONFIG_NAME).exists():
        return config_from(ctx, config_path)
    return None


def _model_data(
    ctx: click.Context,
    config_path: Path | None,
    dataset: Path | None,
    repos: tuple[str, ...],
    until: str | None = None,
) -> tuple[Any, Config | None, int | None]:
    """(JitData, config, until): a public dataset, or the changes in the store.

    With `until`, only what was known on that date (model.asof).
    """
    from teamlens.model.asof import as_of, dataset_as_of, first_fix_times, parse_date
    from teamlens.model.dataset import load_kamei_csv, load_store
    from teamlens.store import Store

    moment = None if until is None else parse_date(until)
    if dataset is not None:
        if repos:
            raise click.UsageError("--dataset and --repo exclude each other")
        data = load_kamei_csv(dataset)
        if moment is not None:
            data = dataset_as_of(data, moment)
        return data, _optional_config(ctx, config_path), moment
    config = config_from(ctx, config_path)
    names = [config.repository(n).name for n in repos] or [r.name for r in config.repositories]
    store = Store(config.data_dir)
    data = load_store(store, names)
    if moment is not None:
        fixes = first_fix_times(store, names)
        data = as_of(data, fixes, moment, float(config.labels.maturity_days))
    return data, config, moment


def _echo_features(data: Any, what: str) -> None:
    """Which features the data gives the model, and which it lacks (never silent)."""
    from teamlens.model.scoring import features_line, missing_features

    click.echo(features_line(tuple(data.features), missing_features(data), what), err=True)


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

    data, config, _ = _model_data(ctx, config_path, dataset, repos)
    _echo_features(data, "evaluated")
    labelled = data.labelled
    check_enough(labelled)
    gap = _gap(gap_days, dataset, config)
    times = labelled.times()
    splits = rolling_origin(times, rolling, 0.3, gap) if rolling else [holdout(times, 0.2, gap)]
    k = MIN_K if config is None else config.privacy.k
    with _shown("evaluate", fmt) as log:
        results = [
            evaluate_split(labelled, s, seed=seed, tune=not no_tune, log=log, k=k) for s in splits
        ]
    if fmt == "json":
        click.echo(json.dumps(evaluation_json(labelled, results)))
    else:
        click.echo(evaluation_text(labelled, results))


@cli.command()
@config_option
@_data_options
@click.option(
    "--until",
    default=None,
    metavar="DATE",
    help="Train as of DATE (ISO, UTC): only changes committed before it, and only the "
    "labels known then.",
)
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
    until: str | None,
) -> None:
    """Train a model (LightGBM, logistic or blend) and pick the current one.

    The kind is chosen on the validation window and its risk calibrated there. The model
    folder goes to <data_dir>/models/<id>/ with its model card; with --dataset
    and no repos.yaml, to ./.teamlens/models/. Data identical to an existing model's is
    not trained again.
    """
    from teamlens.model.fingerprints import FingerprintBook
    from teamlens.model.registry import Registry
    from teamlens.model.training import Fingerprinting, UpToDate
    from teamlens.model.training import train_if_new as train_model
    from teamlens.privacy import load_key

    data, config, moment = _model_data(ctx, config_path, dataset, repos, until)
    _echo_features(data, "trained")
    data_dir = DEFAULT_DATA_DIR.resolve() if config is None else config.data_dir
    # Keyed whenever a key exists: a CSV may hold commit ids beside labels too.
    key = None if config is None else load_key(config.privacy, data_dir)
    with _shown("train", fmt) as log:
        report = train_model(
            data,
            Registry.for_data_dir(data_dir),
            MIN_K if config is None else config.privacy.k,
            _gap(gap_days, dataset, config),
            Fingerprinting(FingerprintBook(data_dir), key),
            seed=seed,
            tune=not no_tune,
            log=log,
            until=moment,
        )
    if isinstance(report, UpToDate):
        if fmt == "json":
            click.echo(
                json.dumps({"model": None, "same_as": report.model_id, "current": report.current})
            )
        else:
            click.echo(report.message)
            click.echo(f"current model: {report.current}")
        return
    metrics = {c.value: r.metrics.as_dict() for c, r in report.evaluation.results.items()}
    if fmt == "json":
        summary = {
            "model": report.model.model_id,
            "folder": str(report.model.path),
            "kind": report.model.meta.kind,
            "current": report.current,
            "models": metrics,
            "choice": report.choice.as_dict(),
            "calibration": dict(report.model.meta.calibration),
            "previous_current_roc_auc": report.challenger_auc,
            "reasons": list(report.reasons),
        }
        click.echo(json.dumps(summary))
        return
    click.echo(f"model {report.model.model_id} ({report.model.meta.kind}) written to "
               f"{report.model.path}")  # fmt: skip
    aucs = ", ".join(f"{name} {_fmt_auc(m['roc_auc'])}" for name, m in metrics.items())
    click.echo(f"held-out ROC-AUC: {aucs}")
    calibration = report.model.meta.calibration
    click.echo(
        f"calibration: {calibration.get('method')}; held-out Brier "
        f"{_fmt_auc(calibration.get('test_brier_before'))} before, "
        f"{_fmt_auc(calibration.get('test_brier_after'))} after"
    )
    for reason in report.reasons:
        click.echo(reason)
    click.echo(f"current model: {report.current}")


@cli.command()
@config_option
@click.option(
    "--dataset",
    type=click.Path(path_type=Path),
    required=True,
    help="A Kamei-format CSV: _id and the model's feature columns.",
)
@click.option("--model", "model_id", required=True, help="The model id (see `teamlens models`).")
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="Write the scores (CSV: _id, risk) here instead of printing them.",
)
@click.pass_context
def score(
    ctx: click.Context, config_path: Path | None, dataset: Path, model_id: str, out: Path | None
) -> None:
    """Score a Kamei-format CSV with a saved model: one calibrated risk per row.

    Reads nothing of the store. Every feature the model needs must be in the CSV.
    """
    from teamlens.model.registry import Registry
    from teamlens.model.scoring import features_line, score_csv

    config = _optional_config(ctx, config_path)
    data_dir = DEFAULT_DATA_DIR.resolve() if config is None else config.data_dir
    model = Registry.for_data_dir(data_dir).load(model_id)
    scores = score_csv(model, dataset)
    click.echo(f"model {model.model_id} ({model.meta.kind}); " + features_line(
        scores.features, (), "scored"), err=True)  # fmt: skip
    if scores.ignored:
        click.echo(f"columns not read: {', '.join(scores.ignored)}", err=True)
    if scores.empty:
        counts = ", ".join(f"{name} {n}" for name, n in scores.empty.items())
        click.echo(f"empty cells scored as missing values: {counts}", err=True)
    if out is None:
        click.echo(scores.to_csv(), nl=False)
        return
    from teamlens.errors import write_failure
    from teamlens.model.dataset import DatasetError

    try:
        out.write_text(scores.to_csv(), encoding="utf-8")
    except OSError as exc:
        raise DatasetError(f"scores not written: {write_failure(exc, out)}") from None
    click.echo(f"{len(scores.ids)} changes scored; written to {out}", err=True)


def _fmt_auc(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


@cli.command()
@config_option
@click.option("--current", "make_current", default=None, help="Mark this model id current.")
@click.pass_context
def models(ctx: click.Context, config_path: Path | None, make_current: str | None) -> None:
    """List the models and how stale each is; the one marked * is current.

    Per model: its kind, the end of its training window, its age in days since then,
    how many labels have matured in its repositories since it was trained, its
    held-out ROC-AUC and its data. Until a trained model wins on held-out data, the
    shipped default is current.
    """
    import time

    from teamlens.model.asof import day
    from teamlens.model.freshness import staleness
    from teamlens.model.registry import DEFAULT_ID, Registry
    from teamlens.store import Store

    config = config_from(ctx, config_path)
    registry = Registry.for_data_dir(config.data_dir)
    if make_current is not None:
        registry.set_current(make_current)
    current = registry.current_id()
    store = Store(config.data_dir)
    now = time.time()
    click.echo(
        f"  {'model':<40} {'kind':<8} {'trained to':<10} {'age':>6} {'matured since':>13} "
        f"{'ROC-AUC':<7} data"
    )
    for model_id in [DEFAULT_ID, *registry.ids()]:
        meta = registry.load(model_id).meta
        auc = meta.metrics.get(meta.kind, meta.metrics.get("lightgbm", {})).get("roc_auc")
        mark = "*" if model_id == current else " "
        stale = staleness(meta, store, now)
        matured = "n/a" if stale.matured_since is None else str(stale.matured_since)
        source = meta.source if meta.until is None else f"{meta.source} as of {day(meta.until)}"
        click.echo(
            f"{mark} {model_id:<40} {meta.kind:<8} {day(stale.data_end):<10} "
            f"{stale.age_days:>5}d {matured:>13} {_fmt_auc(auc):<7} {source}"
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
