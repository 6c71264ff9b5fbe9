"""A commit-graph with changed-path Bloom filters, kept by teamlens beside a repository.

`git blame` walks history one commit at a time and asks, for each, whether the blamed
file changed. A commit-graph file answers "which parents, which tree" without parsing
commits, and its changed-path Bloom filters answer "did this commit touch the path?"
without comparing trees. On a long history that makes blame several times faster.

The repository itself is never written to: the graph lives in a folder of teamlens's
own (``<clones_dir>/.graphs/<name>/objects``), and the git commands that use it get an
environment in which that folder is the object database and the repository's real one
an alternate (``GIT_OBJECT_DIRECTORY`` and ``GIT_ALTERNATE_OBJECT_DIRECTORIES``). They
only read, so nothing is ever stored in teamlens's folder but the graph.

Rewriting the graph reuses the Bloom filters of the previous one, so keeping it fresh
costs a fraction of the first write (pytest, 17,700 commits: 1.3 s first, 0.3 s after;
git/git, 82,000 commits: 21 s, 3 s).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from teamlens.errors import RepositoryError
from teamlens.mining.git import run_git_bytes


def graph_folder(clones_dir: Path, name: str) -> Path:
    """Where the graph of repository `name` lives (names never start with a dot)."""
    return clones_dir / ".graphs" / name / "objects"


def object_directory(repo: Path) -> Path:
    """The repository's own object database (its common one, for a linked work tree)."""
    out = run_git_bytes(repo, "rev-parse", "--path-format=absolute", "--git-path", "objects")
    return Path(os.fsdecode(out.rstrip(b"\n")))


def graph_env(repo: Path, folder: Path) -> dict[str, str]:
    """The environment in which git reads `repo`'s objects through the graph in `folder`."""
    env = dict(os.environ)
    env["GIT_OBJECT_DIRECTORY"] = str(folder)
    # The repository's own alternates (a --shared clone) are followed from here too.
    env["GIT_ALTERNATE_OBJECT_DIRECTORIES"] = str(object_directory(repo))
    return env


def refresh(repo: Path, folder: Path) -> Mapping[str, str] | None:
    """Write or update the graph of every commit reachable from `repo`'s refs.

    Returns the environment git commands should run with to use it, or None when git
    could not write it (too old a git, a read-only folder): labelling then runs without
    it, slower but with the same results.
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    env = graph_env(repo, folder)
    try:
        args = ("commit-graph", "write", "--reachable", "--changed-paths", "--no-progress")
        run_git_bytes(repo, *args, env=env)
    except RepositoryError:
        return None
    if not (folder / "info" / "commit-graph").exists():
        return None
    return env
