"""The `teamlens` group, its error handling and the options several commands share.

Each command calls one library function and turns a :class:`TeamlensError` into one
line on stderr and a non-zero exit, as it does a full disk wherever it strikes.
Everything else is a bug and keeps its traceback.

Commands load lazily: ``teamlens review`` imports the module that defines ``review``
(:data:`COMMAND_MODULES`), not every command's module with everything each one needs
(DuckDB, pyarrow, pandas, LightGBM's training side); ``teamlens --help`` and a name not
in the table load them all (:func:`load_commands`). A new command module under
``teamlens/cli/`` is found without an entry; the entry makes it load alone.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from teamlens import __version__
from teamlens.config import DEFAULT_CONFIG_NAME, Config, load_config
from teamlens.errors import DISK_FULL, TeamlensError, one_line, write_failure
from teamlens.privacy import PRIVATE_UMASK, secure_data_dir

F = TypeVar("F", bound=Callable[..., Any])

#: The module of :mod:`teamlens.cli` that defines each top-level command.
COMMAND_MODULES: Mapping[str, str] = {
    **dict.fromkeys(("init", "mine", "label", "features", "run"), "stages"),
    **dict.fromkeys(("evaluate", "train", "score", "models", "export"), "models"),
    **dict.fromkeys(("review", "bot"), "review"),
    **dict.fromkeys(("report", "serve"), "trends"),
    **dict.fromkeys(("privacy", "purge", "query"), "data"),
}


def command_modules() -> list[str]:
    """Every module of :mod:`teamlens.cli` that defines commands (all but this one)."""
    import teamlens.cli

    return sorted(m.name for m in pkgutil.iter_modules(teamlens.cli.__path__) if m.name != "core")


def load_commands() -> None:
    """Import every command module: all commands registered on :data:`cli`."""
    for module in command_modules():
        importlib.import_module(f"teamlens.cli.{module}")


def _usage_error(ctx: click.Context, exc: click.ClickException) -> NoReturn:
    """A bad option or argument, as one line like every other user error (exit 2)."""
    hint = ""
    if isinstance(exc, click.UsageError) and exc.ctx is not None:
        hint = f" (see `{exc.ctx.command_path} --help`)"
    click.echo(f"teamlens: error: {one_line(exc.format_message())}{hint}", err=True)
    ctx.exit(exc.exit_code)


class _Group(click.Group):
    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands:
            module = COMMAND_MODULES.get(cmd_name)
            if module is not None:
                importlib.import_module(f"teamlens.cli.{module}")
            if cmd_name not in self.commands:
                load_commands()  # a command of a module not in the table yet
        return super().get_command(ctx, cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        load_commands()
        return super().list_commands(ctx)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.exceptions.NoArgsIsHelpError:
            raise  # `teamlens` alone prints the help
        except click.ClickException as exc:
            _usage_error(ctx, exc)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except TeamlensError as exc:
            click.echo(f"teamlens: error: {one_line(exc)}", err=True)
            ctx.exit(1)
        except click.exceptions.NoArgsIsHelpError:
            raise  # `teamlens bot` alone prints its help
        except click.ClickException as exc:
            _usage_error(ctx, exc)
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


def config_from(ctx: click.Context, config_path: Path | None) -> Config:
    """The configuration named by --config (on the command or the group), or ./repos.yaml."""
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


def allow_empty_teams_option(func: F) -> F:
    return click.option(
        "--allow-empty-teams",
        is_flag=True,
        help="A team glob that matches no file is a warning, not an error.",
    )(func)


def check_teams(config: Config, repos: Sequence[str] = (), allow_empty: bool = False) -> None:
    """Stop on a repos.yaml team glob that owns no file (or warn, with --allow-empty-teams)."""
    from teamlens.features.team_globs import check_team_globs

    for warning in check_team_globs(config, repos, allow_empty):
        click.echo(f"teamlens: warning: {warning}", err=True)


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


def features_scale_options(func: F) -> F:
    return _scale_options(
        func,
        "N processes: repositories in parallel on a local Dask cluster, or, for a "
        "single repository, its tree-sitter code metrics.",
    )


def server_options(default_port: int) -> Callable[[F], F]:
    """--host/--port, and --certfile/--keyfile/--behind-proxy: how a server off loopback
    keeps TLS (serve and bot serve)."""

    def decorate(func: F) -> F:
        func = _tls_options(func)
        func = click.option(
            "--port",
            type=click.IntRange(1, 65535),
            default=default_port,
            show_default=True,
            help="Port.",
        )(func)
        return click.option(
            "--host", default="127.0.0.1", show_default=True, help="Address to bind."
        )(func)

    return decorate


def _tls_options(func: F) -> F:
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


def main() -> None:
    import os

    os.umask(PRIVATE_UMASK)  # everything teamlens writes is readable by its user only
    cli(prog_name="teamlens")
