"""Team globs that own no file: a typo (``src/flaks/**``) would make a team vanish silently.

The commands that use teams (mine, features, run, report, review) check, before they
start, every glob of repos.yaml ``teams`` (the repository's own ``teams`` or the
top-level one) against the files at the tip of the repository's mined branch and,
for a glob that matches none of them, every path the store holds for the repository
(a folder deleted since still has a history). A glob that matches neither is an error
naming the repository, the team and the glob; ``--allow-empty-teams`` makes it a
warning. CODEOWNERS rules are the repository's own and are not checked.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from teamlens.config import Config, RepositoryConfig
from teamlens.errors import ConfigError, RepositoryError
from teamlens.features.kamei import TeamMap
from teamlens.mining.git import run_git
from teamlens.mining.repository import GitRepository
from teamlens.store.layout import is_stored


class EmptyTeamGlobError(ConfigError):
    "A repos.yaml team glob matches no file of the repository"


@dataclass(frozen=True)
class EmptyTeamGlob:
    """One glob of one team that owns no file: of one repository, or (None) of any."""

    repository: str | None
    team: str
    glob: str

    def message(self) -> str:
        if self.repository is None:
            return (
                f"team {self.team!r}: glob {self.glob!r} matches no file of any repository "
                "(at the mined tip or in the mined history)"
            )
        return (
            f"repository {self.repository!r}: team {self.team!r}: glob {self.glob!r} "
            "matches no file at the mined tip or in the mined history"
        )


def tip_paths(repo: GitRepository, repo_config: RepositoryConfig) -> set[str] | None:
    """Every file path at the tip of the branch(es) mined, or None when there is no tip."""
    tips = repo.tips(repo_config.branch, repo_config.all_branches)
    if not tips:
        return None
    tip = repo.main_line_tip(sorted(set(tips.values())))
    out = run_git(repo.path, "ls-tree", "-r", "-z", "--name-only", tip, what="git ls-tree")
    return {p for p in out.split("\0") if p}


def empty_globs(
    name: str | None, globs: Mapping[str, Sequence[str]], paths: set[str]
) -> list[EmptyTeamGlob]:
    """The globs of ``globs`` (team -> globs) that match none of ``paths``."""
    empty = []
    for team in sorted(globs):
        for glob in globs[team]:
            single = TeamMap({team: [glob]})
            if not any(single.owners(p) for p in paths):
                empty.append(EmptyTeamGlob(name, team, glob))
    return empty


def stored_paths(config: Config, name: str) -> set[str]:
    """Every path (new and old) of the repository's stored file changes."""
    if not is_stored(config.data_dir, name):
        return set()
    from teamlens.store import Store  # pyarrow: only when there is something to read

    store = Store(config.data_dir)
    table = store.read("file_changes", name)
    paths = set(table["path"].to_pylist()) | set(table["old_path"].to_pylist())
    return {p for p in paths if p}


def _open(config: Config, repo_config: RepositoryConfig) -> GitRepository | None:
    """The repository as it is now (a `url:` clone is not synced), or None if not cloned yet."""
    if repo_config.url is not None and not (config.clones_dir / repo_config.name).exists():
        return None
    try:
        return GitRepository.open(repo_config, config.clones_dir, sync=False)
    except RepositoryError:
        return None  # the command itself reports a missing or broken repository


def check_team_globs(
    config: Config, only: Sequence[str] = (), allow_empty: bool = False
) -> list[str]:
    """Check the team globs of the repositories in ``only`` (or all of them).

    A repository's own ``teams`` are checked against that repository. The top-level
    ``teams`` are shared by every repository without its own, so a shared glob is empty
    only when it matches no file of any of them (all are checked, whatever ``only`` says:
    ``lib/**`` may own files in one repository and none in another).

    Returns one warning line per empty glob when ``allow_empty``; otherwise raises.

    Raises
    ------
    EmptyTeamGlobError
        A glob matches no file at the tip (one line naming every such glob).
    """
    found: list[EmptyTeamGlob] = []
    wanted = set(only)
    shared: dict[tuple[str, str], int] = {}  # (team, glob) -> repositories it owns nothing in
    sharing = 0  # repositories checked against the top-level teams
    for repo_config in config.repositories:
        own = repo_config.teams is not None
        if own and wanted and repo_config.name not in wanted:
            continue
        globs = dict((repo_config.teams or config.teams).globs)
        if not globs:
            continue
        empty = _empty_in(config, repo_config, globs)
        if empty is None:
            continue  # nothing mined yet: nothing to check against
        if own:
            found.extend(empty)
            continue
        sharing += 1
        for e in empty:
            shared[(e.team, e.glob)] = shared.get((e.team, e.glob), 0) + 1
    found += [
        EmptyTeamGlob(None, team, glob)
        for (team, glob), count in sorted(shared.items())
        if count == sharing
    ]
    if found and not allow_empty:
        raise EmptyTeamGlobError(
            "; ".join(e.message() for e in found)
            + " (a typo? fix repos.yaml `teams`, or pass --allow-empty-teams)"
        )
    return [e.message() for e in found]


def _empty_in(
    config: Config, repo_config: RepositoryConfig, globs: Mapping[str, Sequence[str]]
) -> list[EmptyTeamGlob] | None:
    """The globs that own no file of the repository, or None when it has no mined tip."""
    repo = _open(config, repo_config)
    paths = tip_paths(repo, repo_config) if repo is not None else None
    if paths is None:
        return None
    empty = empty_globs(repo_config.name, globs, paths)
    if empty:  # only then read the store: a folder deleted since still has a history
        stored = stored_paths(config, repo_config.name)
        empty = [e for e in empty if empty_globs(e.repository, {e.team: [e.glob]}, stored)]
    return empty
