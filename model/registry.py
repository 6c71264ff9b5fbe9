"""Model folders and the registry that holds them.

A model is a folder::

    <data_dir>/models/<id>/
        model.txt         the LightGBM text model (kinds lightgbm and blend)
        logistic.json     the logistic regression: coefficients and scaling (logistic, blend)
        calibration.json  the calibration map fitted on the validation window (if any)
        meta.json         kind, features (with definitions and the store column each reads),
                          training window (whole UTC days) and the date it was trained as
                          of, data source, parameters, threshold, metrics, the model choice
                          on the validation window, calibration figures, the number of
                          labelled changes, and the opt-out state the data was purged under
        card.md           the model card (model.card)

``<data_dir>/models/CURRENT`` names the model ``teamlens review`` uses; without it,
the default model shipped in the package (``model/default/``) is used. A model trained
on the store records the keyed fingerprint of the opt-out list its data was purged
under (``opt_out``); :func:`retire_models` removes the models whose list is not the
current one (DESIGN.md rule 4: nobody who opted out stays in a model). A folder is
written under a temporary name and renamed into place, so a crash never leaves half
a model; ids are never reused. A write that fails (a full disk) removes what it
wrote and raises :class:`ModelError`; temporary folders of killed runs are removed by
the next save.
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
from typing import TYPE_CHECKING, Any

from teamlens.errors import TeamlensError, write_failure
from teamlens.model.fingerprints import FingerprintBook

if TYPE_CHECKING:
    # LightGBM (with scikit-learn and SciPy) takes about a second to import: only training
    # needs it. A loaded model scores through LightGBM's C library (model.scorer).
    from teamlens.model.estimator import RiskClassifier
    from teamlens.model.scorer import RiskScorer

DEFAULT_MODEL_DIR = Path(__file__).resolve().parent / "default"
DEFAULT_ID = "default"
CURRENT = "CURRENT"
_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


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
    window: Mapping[str, int]  # train/test start and end: unix seconds of UTC midnights
    params: Mapping[str, Any]
    threshold: float
    metrics: Mapping[str, Any]  # contender -> metric -> value, on the held-out window
    notes: tuple[str, ...] = field(default_factory=tuple)
    #: Keyed fingerprint of the opt-out list the training data was purged under
    #: (mining.miner.opt_out_fingerprint); "mixed" when repositories disagree; None for
    #: public datasets and models older than the fingerprint.
    opt_out: str | None = None
    #: What the classifier is (model.estimator.ModelKind); older folders: lightgbm.
    kind: str = "lightgbm"
    #: The choice on the validation window: each contender's figures, the one chosen, why.
    choice: Mapping[str, Any] = field(default_factory=dict)
    #: Calibration: method, and Brier on the test window before and after.
    calibration: Mapping[str, Any] = field(default_factory=dict)
    #: Trained as of this time (unix seconds, a UTC midnight): only changes committed
    #: before it, with the labels known then. None: as of the data's newest change.
    until: int | None = None
    #: Labelled changes in the data it was trained on (training and test windows): what
    #: `teamlens models` and `teamlens run` compare with the store's count now.
    labelled_changes: int | None = None

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
            "opt_out": self.opt_out,
            "kind": self.kind,
            "choice": dict(self.choice),
            "calibration": dict(self.calibration),
            "until": self.until,
            "labelled_changes": self.labelled_changes,
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
                opt_out=None if doc.get("opt_out") is None else str(doc["opt_out"]),
                kind=str(doc.get("kind", "lightgbm")),
                choice=dict(doc.get("choice") or {}),
                calibration=dict(doc.get("calibration") or {}),
                until=None if doc.get("until") is None else int(doc["until"]),
                labelled_changes=(
                    None if doc.get("labelled_changes") is None else int(doc["labelled_changes"])
                ),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"meta.json: missing or malformed field ({exc})") from exc


@dataclass(frozen=True)
class SavedModel:
    """A model loaded from its folder."""

    path: Path
    meta: ModelMeta
    #: A loaded model's scorer (model.scorer); the estimator itself for a model just saved.
    classifier: RiskScorer | RiskClassifier

    @property
    def model_id(self) -> str:
        return self.meta.model_id


def _write_text(path: Path, text: str) -> None:
    """Write `path` and force it to disk."""
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())


_PARTIAL_RE = re.compile(r"^\..+\.(\d+)\.partial$|^\.CURRENT\.(\d+)$")


def _remove_leftovers(root: Path) -> None:
    """Delete temporary folders and files of saves killed before their rename.

    Only those of processes that no longer run on this machine: another save may be
    under way.
    """
    if not root.is_dir():
        return
    for path in root.iterdir():
        match = _PARTIAL_RE.match(path.name)
        if match is None or _running(int(match.group(1) or match.group(2))):
            continue
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def _running(pid: int) -> bool:
    if pid == os.getpid():
        return False  # this process is not saving anything at the moment
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


def save_model(folder: Path, meta: ModelMeta, classifier: RiskClassifier, card: str) -> SavedModel:
    """Write a model folder atomically (temporary folder, then rename).

    Raises
    ------
    ModelError
        The id is taken, or the folder could not be written (nothing is left behind).
    """
    if folder.exists():
        raise ModelError(f"{folder} exists already; model ids are never reused")
    tmp = folder.parent / f".{folder.name}.{os.getpid()}.partial"
    writing = tmp
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        _remove_leftovers(folder.parent)
        tmp.mkdir()
        for name, text in (
            *classifier.files().items(),
            ("meta.json", json.dumps(meta.to_json(), indent=2, sort_keys=True) + "\n"),
            ("card.md", card),
        ):
            writing = tmp / name
            _write_text(writing, text)
        os.replace(tmp, folder)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)  # frees what the failed save took
        raise ModelError(f"model {folder.name} not saved: {write_failure(exc, writing)}") from exc
    return SavedModel(folder, meta, classifier)


def load_model(folder: Path) -> SavedModel:
    """Read a model folder.

    Raises
    ------
    ModelError
        The folder or one of its files is missing or malformed.
    """
    if not (folder / "meta.json").is_file():
        raise ModelError(f"{folder}: not a model folder (no meta.json)")
    try:
        doc = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ModelError(f"{folder / 'meta.json'}: not valid JSON ({exc})") from exc
    meta = ModelMeta.from_json(doc)
    from teamlens.model.scorer import MODEL_FILES, ModelFilesError, RiskScorer

    files = {
        name: (folder / name).read_text(encoding="utf-8")
        for name in MODEL_FILES
        if (folder / name).is_file()
    }
    try:
        weight = float(meta.params.get("blend_weight", 0.5))
        classifier = RiskScorer.from_files(files, meta.kind, weight)
    except (ModelFilesError, TypeError, ValueError) as exc:
        raise ModelError(f"{folder}: not a model folder ({exc})") from exc
    if classifier.feature_names_ != meta.features:
        raise ModelError(f"{folder}: the model files and meta.json list different features")
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
        if not _ID_RE.fullmatch(model_id):
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
        """The model `model_id`; an unknown id is a one-line error listing the known ones."""
        folder = self.folder(model_id) if _ID_RE.fullmatch(model_id) else None
        if folder is None or not folder.is_dir():
            known = ", ".join([DEFAULT_ID, *self.ids()])
            raise ModelError(f"no model {model_id!r} (known: {known})")
        return load_model(folder)

    def read_meta(self, model_id: str) -> ModelMeta:
        """A model's meta.json alone (no model is loaded)."""
        folder = self.folder(model_id)
        try:
            doc = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ModelError(f"{folder / 'meta.json'}: cannot be read ({exc})") from exc
        return ModelMeta.from_json(doc)

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
        tmp = self.root / f".{CURRENT}.{os.getpid()}"
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            _write_text(tmp, model_id + "\n")
            os.replace(tmp, self.root / CURRENT)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise ModelError(f"{model_id} not marked current: {write_failure(exc, tmp)}") from exc

    def current(self) -> SavedModel:
        return self.load(self.current_id())


DAY_SECONDS = 86_400


def day_window(window: Mapping[str, int]) -> dict[str, int]:
    """A training window as model folders keep it: each bound at its UTC day's midnight.

    Exact seconds would name the first and last commits of the window (anyone with
    ``git log`` finds them); days name none.
    """
    return {name: int(value) // DAY_SECONDS * DAY_SECONDS for name, value in window.items()}


def stale_models(registry: Registry, fingerprint: str, nobody_opted_out: bool) -> list[str]:
    """Ids of the models trained on store data purged under another opt-out list.

    `fingerprint` is the current list's. A model that records none (older than the
    fingerprint) is stale only when somebody is on the list. Models trained on a public
    dataset, and the shipped default, are never stale.
    """
    stale = []
    for model_id in registry.ids():
        try:
            doc = json.loads((registry.root / model_id / "meta.json").read_text("utf-8"))
        except (OSError, ValueError):
            continue  # not readable: `teamlens models` reports it
        if not isinstance(doc, dict) or not str(doc.get("source", "")).startswith("store:"):
            continue
        recorded = doc.get("opt_out")
        if recorded == fingerprint or (recorded is None and nobody_opted_out):
            continue
        stale.append(model_id)
    return stale


def retire_models(registry: Registry, fingerprint: str, nobody_opted_out: bool) -> list[str]:
    """Delete the models :func:`stale_models` finds; returns their ids.

    When the current model is one of them, the shipped default becomes current until a
    model is trained again (``teamlens train``, or ``teamlens run``).
    """
    stale = stale_models(registry, fingerprint, nobody_opted_out)
    if not stale:
        return []
    current = registry.current_id()
    if current in stale:
        registry.set_current(DEFAULT_ID)
    for model_id in stale:
        folder = registry.root / model_id
        doomed = registry.root / f".{model_id}-retired.{os.getpid()}.partial"
        try:
            os.replace(folder, doomed)  # gone from the registry at once, then deleted
        except OSError as exc:
            raise ModelError(f"model {model_id} not removed: {write_failure(exc, folder)}") from exc
        shutil.rmtree(doomed, ignore_errors=True)
    FingerprintBook(registry.root.parent).forget(set(stale))
    return stale
