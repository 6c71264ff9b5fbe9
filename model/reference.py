"""A repository's own reference: its recent changes, scored by the model under review.

The levels of a review (model.levels) are relative to a distribution of changes. For a
repository with a store, that is its :data:`RECENT_CHANGES` most recent non-merge
changes with features, scored by the same model: "high" then means "among the riskiest
10 % of this repository's recent changes". The same changes give the feature quantiles
the reasons compare with (model.explain).

The reference is a private figure (the store's changes and the model's risks), kept in
the data folder, readable by its owner only::

    <data_dir>/levels/<model id>/<repo>.json

It holds aggregates only (see model.levels) and is rebuilt when the repository's
stored changes, its opt-out state or the model change: the file records a key made of
the model's id and creation time, the store's part files of the tables it reads, the
opt-out fingerprint and k, all read from small files without running a query.

A repository with fewer than :data:`~teamlens.model.levels.MIN_CHANGES` such changes,
or with fewer than k people behind them, has no reference of its own; a review then
uses the model's training distribution (``levels.json`` in its folder), else the fixed
thresholds of repos.yaml (``review.medium``, ``review.high``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING

from teamlens.errors import StoreError
from teamlens.model.levels import (
    LevelBasis,
    LevelsError,
    Reference,
    build_reference,
    distinct_people,
    model_frame,
    training_reference,
    write_private_json,
)
from teamlens.model.registry import DEFAULT_ID, SavedModel
from teamlens.store.layout import is_stored

if TYPE_CHECKING:
    import pandas as pd

    from teamlens.store import Store

#: How many of a repository's newest non-merge changes make its reference.
RECENT_CHANGES = 1000
#: The folder under the data folder that holds the cached references.
LEVELS_DIR = "levels"
#: The tables whose stored parts decide whether a cached reference is still current.
_TABLES = ("change_features", "commits", "lost_commits")

_RECENT_SQL = """
SELECT f.*, c.author_id AS people
FROM change_features f
JOIN commits c USING (repo, sha)
WHERE f.repo = ? AND NOT c.is_merge
ORDER BY f.commit_time DESC, f.sha
LIMIT ?
"""


def cache_path(data_dir: Path, model_id: str, repo: str) -> Path:
    return data_dir / LEVELS_DIR / model_id / f"{repo}.json"


def _key(store: Store, model: SavedModel, repo: str, k: int) -> str | None:
    """What the cached reference depends on, hashed; None when the repository has no
    stored changes."""
    manifest = store.manifest(repo)
    if not manifest.parts.get("change_features"):
        return None
    doc = {
        "model": [model.model_id, model.meta.created],
        "parts": {t: list(manifest.parts.get(t, ())) for t in _TABLES},
        "opt_out": manifest.state.opt_out,
        "features_version": manifest.state.features_version,
        "recent": RECENT_CHANGES,
        "k": k,
    }
    text = json.dumps(doc, sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def recent_changes(store: Store, repo: str, limit: int = RECENT_CHANGES) -> pd.DataFrame:
    """The repository's newest non-merge changes with features, and a ``people`` column
    (private pseudonyms, only to count them)."""
    import pandas as pd  # slow to import: only a reference being built needs it

    result = store.query(_RECENT_SQL, [repo, limit])
    return pd.DataFrame(result.rows, columns=list(result.columns))


def missing_columns(model: SavedModel, frame: pd.DataFrame) -> list[str]:
    """The columns `model` reads that the stored changes lack (features computed by an
    older teamlens): the repository's changes then cannot be scored as a review is."""
    return [
        column
        for feature in model.meta.features
        if (column := model.meta.columns.get(feature, feature)) not in frame.columns
    ]


def repository_reference(data_dir: Path, model: SavedModel, repo: str, k: int) -> Reference | None:
    """The repository's own reference for `model` (cached), or None when it has no store,
    fewer than MIN_CHANGES changes with features, fewer than `k` people behind them, or
    stored features that lack a column the model reads (run ``teamlens features``).

    A cache that cannot be written is not an error (the next review computes it again).
    """
    if not is_stored(data_dir, repo):
        return None  # (without importing the store's pyarrow and DuckDB)
    from teamlens.store import Store

    store = Store(data_dir)
    try:
        key = _key(store, model, repo, k)
    except StoreError:
        return None  # an unreadable manifest: `teamlens privacy` and `mine` report it
    if key is None:
        return None
    path = cache_path(data_dir, model.model_id, repo)
    found, cached = _read_cached(path, key)
    if found:
        return cached
    frame = recent_changes(store, repo)
    people = distinct_people(frame)
    reference = None
    if people is not None and people >= k and not missing_columns(model, frame):
        x = model_frame(model.meta, frame)
        reference = build_reference(
            LevelBasis.REPOSITORY, model.classifier.predict_proba(x)[:, 1], x
        )
    _write_cached(path, key, reference, store.manifest(repo).state.opt_out)
    return reference


def _read_cached(path: Path, key: str) -> tuple[bool, Reference | None]:
    """(found, reference): whether a cache for this key exists, and what it holds (None:
    the repository has no reference of its own)."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False, None
    if not isinstance(doc, dict) or doc.get("key") != key:
        return False, None
    if doc.get("reference") is None:
        return True, None
    try:
        return True, Reference.from_json(doc["reference"])
    except LevelsError:
        return False, None


def _write_cached(path: Path, key: str, reference: Reference | None, opt_out: str | None) -> None:
    """Cache the reference; a data folder that cannot be written (read-only, full) only
    costs the next review the same computation."""
    doc = {
        "key": key,
        "opt_out": opt_out,
        "reference": None if reference is None else reference.to_json(),
    }
    with contextlib.suppress(LevelsError):
        write_private_json(path, doc)


def reference_for(data_dir: Path, model: SavedModel, repo: str, k: int) -> Reference | None:
    """The reference a review of `repo` with `model` uses: the repository's own, else the
    model's training distribution, else None (fixed thresholds)."""
    return repository_reference(data_dir, model, repo, k) or training_reference(model)


def discard_stale_references(data_dir: Path) -> int:
    """Delete the cached references built from rows purged since (DESIGN.md rule 4: an
    opted-out person is in no aggregate): those whose repository's opt-out fingerprint
    changed, whose repository left the store, or whose model is gone. Returns how many.

    `mine` and `purge` call it where they retire the models of an older opt-out list.
    """
    root = data_dir / LEVELS_DIR
    if not root.is_dir():
        return 0
    from teamlens.store import Store

    store = Store(data_dir)
    repos = set(store.repos())
    removed = 0
    for path in sorted(root.glob("*/*.json")):
        model_dir = data_dir / "models" / path.parent.name
        stale = path.stem not in repos or (
            path.parent.name != DEFAULT_ID and not (model_dir / "meta.json").is_file()
        )
        if not stale:
            try:
                doc = json.loads(path.read_text(encoding="utf-8"))
                stale = not isinstance(doc, dict) or doc.get("opt_out") != (
                    store.manifest(path.stem).state.opt_out
                )
            except (OSError, ValueError, StoreError):
                stale = True
        if stale:
            path.unlink(missing_ok=True)
            removed += 1
    return removed
