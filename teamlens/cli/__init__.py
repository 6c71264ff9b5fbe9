"""The `teamlens` command: a thin layer over the library.

One module per group of commands, each registering on the group in :mod:`.core`:
:mod:`.stages` (init, mine, label, features, run), :mod:`.models` (evaluate, train,
score, models, export), :mod:`.review` (review, bot), :mod:`.trends` (report, serve),
:mod:`.data` (privacy, purge, query), and any other module here. The console script is
``teamlens.cli:main``; it loads only the module of the command it runs
(:data:`.core.COMMAND_MODULES`). ``from teamlens.cli import cli`` gives the group with
every command loaded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from teamlens.cli.core import main

if TYPE_CHECKING:
    from teamlens.cli.core import cli

__all__ = ["cli", "main"]


def __getattr__(name: str) -> object:
    if name == "cli":
        from teamlens.cli.core import cli, load_commands

        load_commands()
        return cli
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
