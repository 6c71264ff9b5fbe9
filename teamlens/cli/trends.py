"""Team trends: the offline HTML report and the served page."""

from __future__ import annotations

from pathlib import Path

import click

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
    type=click.Choice(["auto", "week", "month", "quarter", "half", "year"]),
    default="auto",
    show_default=True,
    help="Window of the trends: calendar windows that nest; auto chooses per team the "
    "finest that shows most of its windows (k people each).",
)
@allow_empty_teams_option
@click.pass_context
def report(
    ctx: click.Context,
    config_path: Path | None,
    out: Path | None,
    csv_dir: Path | None,
    period: str,
    allow_empty_teams: bool,
) -> None:
    """Team quality trends as one offline HTML file (k-suppressed; never per person)."""
    from teamlens.dashboard.summary import summary_lines
    from teamlens.pipeline import write_report

    config = config_from(ctx, config_path)
    check_teams(config, (), allow_empty_teams)
    out = write_report(config, out, csv_dir, period)
    click.echo(f"wrote {out}")
    for line in summary_lines(config.data_dir, config.privacy.k):
        click.echo(line)


@cli.command("serve")
@config_option
@server_options(default_port=8000)
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
    --certfile/--keyfile, or --behind-proxy when a proxy in front terminates it. A
    browser signs in with the token on the page; team and window pickers are on it.
    """
    import os

    from teamlens.dashboard.serve import make_server
    from teamlens.serving import Transport

    config = config_from(ctx, config_path)
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
