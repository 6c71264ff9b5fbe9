"""The one runner for whole git commands: ``git ARGS`` in a repository, output returned.

Every stage that asks git a question runs it through :func:`run_git` (text) or
:func:`run_git_bytes` (raw bytes: blame, paths that may not be UTF-8), so git runs with
the same options everywhere and every failure is one
:class:`~teamlens.errors.RepositoryError` naming the repository and the command.

Readers that stream (``git log`` in :mod:`teamlens.mining.gitlog`, ``git cat-file
--batch`` in :mod:`teamlens.mining.blobs` and :mod:`teamlens.features.diffs`) keep a
process open and read it as it writes; they start their own.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from pathlib import Path

from teamlens.errors import RepositoryError

#: Options every command runs with: paths printed as they are (not C-quoted), and no
#: signature check output mixed into ``git log``.
GIT_OPTIONS = ("-c", "core.quotepath=off", "-c", "log.showSignature=false")


def run_git_bytes(
    path: Path,
    *args: str,
    check: bool = True,
    input: bytes | None = None,
    env: Mapping[str, str] | None = None,
    what: str | None = None,
) -> bytes:
    """Standard output of ``git ARGS`` run in `path`.

    `env` replaces the environment (e.g. the commit-graph one of
    :mod:`teamlens.mining.commitgraph`); `what` names the command in errors (default
    ``git ARGS[0]``). With ``check=False`` a command git ends with an error returns
    empty output instead of raising.

    Raises
    ------
    RepositoryError
        git could not be started (the folder is gone, git is missing), or, with
        `check`, it ended with an error: the message names `path`, `what` and git's
        first ``fatal:``/``error:`` line.
    """
    what = what or f"git {args[0] if args else ''}".strip()
    try:
        result = subprocess.run(
            ["git", *GIT_OPTIONS, *args],
            cwd=path,
            env=env,
            input=input,
            capture_output=True,
            check=False,
            stdin=subprocess.DEVNULL if input is None else None,
        )
    except OSError as exc:  # the folder was removed while we ran (or git is missing)
        gone = "the repository folder is gone" if not path.is_dir() else "cannot run git"
        raise RepositoryError(f"{path}: {what} failed: {gone} ({exc.strerror})") from None
    if result.returncode != 0:
        if not check:
            return b""
        err = result.stderr.decode("utf-8", "replace").strip().splitlines()
        lines = [x for x in err if x.startswith(("fatal:", "error:"))] or err
        raise RepositoryError(f"{path}: {what} failed: {lines[0] if lines else result.returncode}")
    return result.stdout


def run_git(
    path: Path,
    *args: str,
    check: bool = True,
    input: str | None = None,
    env: Mapping[str, str] | None = None,
    what: str | None = None,
) -> str:
    """:func:`run_git_bytes`, its input and output UTF-8 text (undecodable bytes replaced)."""
    out = run_git_bytes(
        path,
        *args,
        check=check,
        input=None if input is None else input.encode("utf-8"),
        env=env,
        what=what,
    )
    return out.decode("utf-8", "replace")
