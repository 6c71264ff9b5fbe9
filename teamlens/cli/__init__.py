"""The `teamlens` command: a thin layer over the library.

One module per group of commands, each registering on the group in :mod:`.core`:
:mod:`.stages` (init, mine, label, features, run), :mod:`.models` (evaluate, train,
models, export), :mod:`.review` (review, bot), :mod:`.trends` (report, serve),
:mod:`.data` (privacy, purge, query), :mod:`.demo` (demo). The console script is
``teamlens.cli:main``.
"""

from __future__ import annotations

from teamlens.cli import data, demo, models, review, stages, trends
from teamlens.cli.core import cli, main

__all__ = ["cli", "data", "demo", "main", "models", "review", "stages", "trends"]
