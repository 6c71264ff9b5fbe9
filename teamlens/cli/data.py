"""Privacy and the published zone: `teamlens privacy`, `purge` and `query`."""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from teamlens.cli.core import cli, config_from, config_option

if TYPE_CHECKING:  # the store pulls in pyarrow and DuckDB: load it only when needed
    from teamlens.store import QueryResult


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

    config = config_from(ctx, config_path)
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

    report = purge_store(config_from(ctx, config_path))
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
    config = config_from(ctx, config_path)
    from teamlens.store import Store

    _print_result(Store(config.data_dir).query_published(sql), fmt)
