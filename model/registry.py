"""Model folders and the registry that holds them.

A model is a folder::

    <data_dir>/models/<id>/
        model.txt       the LightGBM text model
        meta.json       features (with definitions and the store column each reads),
                        training window, data source, parameters, threshold, metrics
        card.md         the model card (model.card)

``<data_dir>/models/CURRENT`` names the model ``teamlens review`` uses; without it,
the default model shipped in the package (``model/default/``) is used. A folder is
written under a temporary name and renamed into place, so a crash never leaves half
a model; ids are never reused.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from model.estimator import RiskClassifier
from teamlens.errors import TeamlensError

DEFAULT_MODEL_DIR = Path(__file__).resolve().parent / "default"
DEFAULT_ID = "default"
CURRENT = "CURRENT"
_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


class ModelError(TeamlensError):
    """A model folder is missing, incomplete or unknown."""


@dataclass(frozen=True)
class ModelMeta:
    """What meta.json records about a model."""

    model_id: str
    created: str  # ISO 8601, UTC
    source: str  # "dataset:<file>" or "store:<repos>"
    features: tuple[str, ...]  # the model's feature names, in order
    columns: Mapping[str, str]  # feature name -> the changes column it reads
    definitions: Mapping[str, str]
    dropped: tuple[str, ...]  # individual features left out of the data
    window: Mapping[str, int]  # train/test start and end (unix seconds)
    params: Mapping[str, Any]
    threshold: float
    metrics: Mapping[str, Any]  # contender -> metric -> value, on the held-out window
    notes: tuple[str, ...] = field(default_factory=tuple)

    def to_json(self) -> dict[str, Any]:
        return {
            "model_id": self.model_id,
            "created": self.created,
            "source": self.source,
            "features": list(self.features),
            "columns": dict(self.columns),
            "definitions": dict(self.definitions),
            "dropped": list(self.dropped),
            "window": dict(self.window),
            "params": dict(self.params),
            "threshold": self.threshold,
            "metrics": dict(self.metrics),
            "notes": list(self.notes),
        }

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> ModelMeta:
        try:
            return cls(
                model_id=str(doc["model_id"]),
                created=str(doc["created"]),
                source=str(doc["source"]),
                features=tuple(doc["features"]),
                columns=dict(doc["columns"]),
                definitions=dict(doc["definitions"]),
                dropped=tuple(doc["dropped"]),
                window=dict(doc["window"]),
                params=dict(doc["params"]),
                threshold=float(doc["threshold"]),
                metrics=dict(doc["metrics"]),
                notes=tuple(doc.get("notes", ())),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"meta.json: missing or malformed field ({exc})") from exc


@dataclass(frozen=True)
class SavedModel:
    """A model loaded from its folder."""

    path: Path
    meta: ModelMeta
    classifier: RiskClassifier

    @property
    def model_id(self) -> str:
        return self.meta.model_id


def save_model(folder: Path, meta: ModelMeta, classifier: RiskClassifier, card: str) -> SavedModel:
    """Write a model folder atomically (temporary folder, then rename)."""
    if folder.exists():
        raise ModelError(f"{folder} exists already; model ids are never reused")
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = folder.parent / f".{folder.name}.{os.getpid()}.partial"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    for name, text in (
        ("model.txt", classifier.model_text()),
        ("meta.json", json.dumps(meta.to_json(), indent=2, sort_keys=True) + "\n"),
        ("card.md", card),
    ):
        with open(tmp / name, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
    os.replace(tmp, folder)
    return SavedModel(folder, meta, classifier)


def load_model(folder: Path) -> SavedModel:
    """Read a model folder.

    Raises
    ------
    ModelError
        The folder or one of its files is missing or malformed.
    """
    for name in ("model.txt", "meta.json"):
        if not (folder / name).is_file():
            raise ModelError(f"{folder}: not a model folder (no {name})")
    try:
        doc = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ModelError(f"{folder / 'meta.json'}: not valid JSON ({exc})") from exc
    meta = ModelMeta.from_json(doc)
    classifier = RiskClassifier.from_model_text(
        (folder / "model.txt").read_text(encoding="utf-8"),
        {k: v for k, v in meta.params.items() if k in RiskClassifier().get_params()},
    )
    if classifier.feature_names_ != meta.features:
        raise ModelError(f"{folder}: model.txt and meta.json list different features")
    return SavedModel(folder, meta, classifier)


class Registry:
    """The model folders under ``<data_dir>/models``."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @classmethod
    def for_data_dir(cls, data_dir: Path) -> Registry:
        return cls(data_dir / "models")

    def new_id(self, source: str) -> str:
        stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
        slug = re.sub(r"[^A-Za-z0-9]+", "-", source.split(":", 1)[-1]).strip("-")[:40] or "m"
        base = f"{stamp}-{slug}"
        candidate, n = base, 1
        while (self.root / candidate).exists():
            n += 1
            candidate = f"{base}-{n}"
        return candidate

    def folder(self, model_id: str) -> Path:
        if model_id == DEFAULT_ID:
            return DEFAULT_MODEL_DIR
        if not _ID_RE.match(model_id):
            raise ModelError(f"{model_id!r} is not a model id")
        return self.root / model_id

    def ids(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(
            p.name
            for p in self.root.iterdir()
            if p.is_dir() and not p.name.startswith(".") and (p / "meta.json").is_file()
        )

    def load(self, model_id: str) -> SavedModel:
        folder = self.folder(model_id)
        if not folder.is_dir():
            raise ModelError(f"no model {model_id!r} (known: {', '.join(self.ids()) or 'none'})")
        return load_model(folder)

    def current_id(self) -> str:
        marker = self.root / CURRENT
        if marker.is_file():
            model_id = marker.read_text(encoding="utf-8").strip()
            if model_id == DEFAULT_ID or model_id in self.ids():
                return model_id
        return DEFAULT_ID

    def set_current(self, model_id: str) -> None:
        if model_id != DEFAULT_ID and model_id not in self.ids():
            raise ModelError(f"no model {model_id!r} to mark current")
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.root / f".{CURRENT}.{os.getpid()}"
        tmp.write_text(model_id + "\n", encoding="utf-8")
        os.replace(tmp, self.root / CURRENT)

    def current(self) -> SavedModel:
        return self.load(self.current_id())
