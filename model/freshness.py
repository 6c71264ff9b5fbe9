"""Is a model still fresh? Training-data fingerprints and staleness.

**No duplicate models.** Before a model is trained, a fingerprint of exactly what it
would be trained on (the labelled changes: ids, times, labels, every feature value, and
the settings: seed, tuning, gap, date) is compared with the fingerprints of the models
in the registry. Equal: nothing is trained. For store data the fingerprint is an
HMAC-SHA256 under the privacy key, so it cannot be used to test guesses about which
commits and labels a store holds; it is kept in the private zone,
``<data_dir>/training/fingerprints.json`` (0600, model.fingerprints), never in the
published meta.json.
A dataset trained without any repos.yaml (so without a key) gets a plain SHA-256 of
the whole table; with a repos.yaml it is keyed too.

**Staleness** (``teamlens models``): the end of a model's training window, its age in
days (since that end), and how many labels have matured in its repositories since it
was trained (the store's labelled changes now, less the labelled changes it saw).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from teamlens.model.dataset import JitData
from teamlens.model.registry import ModelError, ModelMeta, Registry
from teamlens.store import Store

DAY = 86_400


def data_fingerprint(data: JitData, settings: Mapping[str, Any], key: bytes | None) -> str:
    """The fingerprint of training on `data` (its labelled rows) with `settings`."""
    labelled = data.labelled.frame
    columns = [c for c in ("repo", "id", "time", "label", *data.features) if c in labelled]
    head = json.dumps({"features": list(data.features), "settings": dict(settings)}, sort_keys=True)
    body = labelled.loc[:, columns].to_csv(index=False, float_format="%.17g")
    payload = (head + "\n" + body).encode("utf-8")
    if key is None:
        return "sha256:" + hashlib.sha256(payload).hexdigest()
    return "hmac-sha256:" + hmac.new(key, payload, hashlib.sha256).hexdigest()


def store_repos(source: str) -> tuple[str, ...]:
    """The repositories of a ``store:a,b`` source; () for any other."""
    if not source.startswith("store:"):
        return ()
    return tuple(r for r in source.split(":", 1)[1].split(",") if r)


def labelled_count(store: Store, repos: tuple[str, ...]) -> int:
    """The store's labelled (mature) changes in `repos` now."""
    if not repos:
        return 0
    placeholders = ", ".join("?" for _ in repos)
    result = store.query(
        "SELECT count(*) FROM changes WHERE is_inducing IS NOT NULL"  # noqa: S608 - placeholders
        f" AND repo IN ({placeholders})",
        list(repos),
    )
    return int(result.rows[0][0])


@dataclass(frozen=True)
class Staleness:
    """How old a model's knowledge is."""

    data_end: int  # unix seconds (a UTC midnight): the end of its training window
    age_days: int  # whole days from data_end to now
    matured_since: int | None  # labels matured in its repositories since; None: unknown


def data_end(meta: ModelMeta) -> int:
    """The end of a model's training window (the day of its newest training change)."""
    return int(meta.window.get("train_end", 0))


def staleness(meta: ModelMeta, store: Store | None, now: float | None = None) -> Staleness:
    """`meta`'s staleness against the store now (matured labels: store models only)."""
    end = data_end(meta)
    age = int(((time.time() if now is None else now) - end) // DAY)
    matured: int | None = None
    repos = store_repos(meta.source)
    if store is not None and repos and meta.labelled_changes is not None:
        known = set(store.repos())
        if set(repos) <= known:
            matured = max(0, labelled_count(store, repos) - meta.labelled_changes)
    return Staleness(end, max(age, 0), matured)


@dataclass(frozen=True)
class NewLabels:
    """Labels matured since the newest model trained on the same repositories."""

    model_id: str  # that model (the current one when it qualifies)
    new: int


def new_labels_since(registry: Registry, data: JitData) -> NewLabels | None:
    """How many more labelled changes `data` has than the model last trained on its source.

    The reference is the current model when it was trained on the same repositories
    (not as of a past date), else the newest such model; None when there is none.
    """
    candidates: list[tuple[str, ModelMeta]] = []
    for model_id in registry.ids():
        try:
            meta = registry.read_meta(model_id)
        except ModelError:
            continue
        if meta.source == data.source and meta.until is None and meta.labelled_changes is not None:
            candidates.append((model_id, meta))
    if not candidates:
        return None
    current = registry.current_id()
    chosen = next((c for c in candidates if c[0] == current), None)
    if chosen is None:
        chosen = max(candidates, key=lambda c: (c[1].created, c[0]))
    model_id, meta = chosen
    assert meta.labelled_changes is not None
    return NewLabels(model_id, max(0, len(data.labelled) - meta.labelled_changes))
