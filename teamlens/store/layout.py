"""Where the store keeps a repository's facts, readable without loading pyarrow or DuckDB.

``<data_dir>/store/<repo>/manifest.json`` marks a stored repository (see the package).
A review of a repository that was never mined asks only this (teamlens.bot), so it
does not pay for importing the store's query engine.
"""

from __future__ import annotations

from pathlib import Path

STORE_DIR = "store"
MANIFEST = "manifest.json"


def stored_repos(data_dir: Path) -> list[str]:
    """The repositories the store under `data_dir` holds, by name."""
    root = data_dir / STORE_DIR
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if p.is_dir() and (p / MANIFEST).exists())


def is_stored(data_dir: Path, repo: str) -> bool:
    """Whether the store under `data_dir` holds `repo`."""
    return (data_dir / STORE_DIR / repo / MANIFEST).is_file()
