"""Who the configured repositories' histories name: every author and committer on
every ref, as recorded and after .mailmap, and every identity written in .mailmap.
Kept in memory only, for the scan to look for; never stored or printed."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from teamlens.config import Config
from teamlens.mining.git import run_git
from teamlens.mining.repository import Alias

# --- identities from git -----------------------------------------------------------------

_MAILMAP_ENTRY = re.compile(r"([^<>]*)<([^<>]*)>")


def _history_identities(path: Path) -> set[Alias]:
    """Every author and committer on every ref, as recorded and after .mailmap."""
    out = run_git(
        path,
        "log",
        "--all",
        "--encoding=UTF-8",
        "--format=%an%x00%ae%x00%aN%x00%aE%x00%cn%x00%ce%x00%cN%x00%cE%x00",
    )
    fields = out.replace("\n", "").split("\0")
    return {Alias(*fields[i : i + 4]) for i in range(0, len(fields) - 3, 4)}


def _mailmap_identities(path: Path) -> set[tuple[str, str]]:
    """Names and e-mails written in .mailmap (working tree and HEAD), even if unused."""
    texts = [run_git(path, "cat-file", "blob", "HEAD:.mailmap", check=False)]
    if (path / ".mailmap").is_file():
        texts.append((path / ".mailmap").read_text(encoding="utf-8", errors="replace"))
    found = set()
    for text in texts:
        for line in text.splitlines():
            if line.lstrip().startswith("#"):
                continue
            for name, email in _MAILMAP_ENTRY.findall(line):
                found.add((name.strip(), email.strip()))
    return found


def _repository_path(config: Config, name: str, path: Path | None) -> Path | None:
    if path is not None:
        return path if path.exists() else None
    clone = config.clones_dir / name  # `url:` repositories: the mirror `mine` keeps
    return clone if clone.exists() else None


@dataclass(frozen=True)
class _People:
    """What the configured repositories' histories say about people (in memory only)."""

    aliases: frozenset[Alias]
    pairs: frozenset[tuple[str, str]]  # (name, e-mail), as recorded and after .mailmap
    unchecked: tuple[str, ...]


def _people(config: Config) -> _People:
    aliases: set[Alias] = set()
    pairs: set[tuple[str, str]] = set()
    unchecked = []
    for repo in config.repositories:
        path = _repository_path(config, repo.name, repo.path)
        if path is None:
            unchecked.append(
                f"repository {repo.name!r}: no local copy (not mined yet?), so its "
                "identities are not known to the scan"
            )
            continue
        found = _history_identities(path)
        aliases |= found
        for a in found:
            pairs |= {(a.raw_name, a.raw_email), (a.name, a.email)}
        pairs |= _mailmap_identities(path)
    return _People(frozenset(aliases), frozenset(pairs), tuple(unchecked))
