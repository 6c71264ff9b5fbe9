"""Exceptions that the CLI turns into one clear line on stderr.

Every error a user can cause derives from :class:`TeamlensError`, so the CLI catches
exactly one family at its edge and lets real bugs surface with a traceback.
"""

from __future__ import annotations

import errno
import os

#: errno values that mean "the disk is full": the remedy is to free space, then rerun.
DISK_FULL = frozenset({errno.ENOSPC, errno.EDQUOT})


class TeamlensError(Exception):
    "Base class for errors caused by input, configuration or repository state"


class ConfigError(TeamlensError):
    "repos.yaml is missing, unreadable or invalid"


class KeyFileError(TeamlensError):
    "The pseudonymisation key cannot be read, created or trusted"


class RepositoryError(TeamlensError):
    "A configured repository is missing, not a git repository, or unreadable"


class StoreError(TeamlensError):
    "The fact store is locked, corrupt or cannot be written"


class QueryError(TeamlensError):
    "A `teamlens query` statement failed"


def one_line(exc: BaseException | str) -> str:
    """The message of an error as one line: its lines joined by "; ", or its class name.

    The CLI prints ``teamlens: error: <one line>``; a message that spans lines (a DuckDB
    hint, a wrapped library error) must not spill onto more.
    """
    text = exc if isinstance(exc, str) else str(exc)
    parts = [line.strip() for line in text.splitlines() if line.strip()]
    if parts:
        return "; ".join(parts)
    return "failed" if isinstance(exc, str) else type(exc).__name__


def write_failure(exc: OSError, path: object) -> str:
    """One line for a file that could not be written: why, where, and what to do.

    ``no space left on device while writing /data/store/app/manifest.json.tmp; free
    some space and run the command again``. Arrow's own errors carry the errno but a
    longer text, so the reason comes from the errno when there is one.
    """
    reason = os.strerror(exc.errno) if exc.errno else (exc.strerror or str(exc))
    reason = reason[:1].lower() + reason[1:]
    hint = "; free some space and run the command again" if exc.errno in DISK_FULL else ""
    return f"{reason} while writing {path}{hint}"
