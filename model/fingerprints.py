"""Where the fingerprints of models' training data are kept (model.freshness makes them).

``<data_dir>/training/fingerprints.json`` (0600, in a 0700 folder): model id -> keyed
fingerprint. Private zone: never in a model folder. Kept apart from model.freshness so
that the registry can drop the fingerprints of the models it retires.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import os
from collections.abc import Mapping
from pathlib import Path

from teamlens.errors import TeamlensError, write_failure

FOLDER = "training"
FILE = "fingerprints.json"


class FingerprintError(TeamlensError):
    """The fingerprints file cannot be read or written."""


class FingerprintBook:
    """Model id -> fingerprint of its training data, in the private zone of a data folder."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / FOLDER / FILE

    def read(self) -> dict[str, str]:
        try:
            doc = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise FingerprintError(f"{self.path}: cannot be read ({exc})") from None
        if not isinstance(doc, dict):
            raise FingerprintError(f"{self.path}: not a mapping of model ids")
        return {str(k): str(v) for k, v in doc.items()}

    def model_with(self, fingerprint: str, known: set[str]) -> str | None:
        """The model among `known` ids that was trained on data with this fingerprint."""
        for model_id, recorded in sorted(self.read().items()):
            if model_id in known and hmac.compare_digest(recorded, fingerprint):
                return model_id
        return None

    def record(self, model_id: str, fingerprint: str, known: set[str]) -> None:
        """Add a model's fingerprint (and forget those of models no longer in `known`)."""
        book = {k: v for k, v in self.read().items() if k in known}
        book[model_id] = fingerprint
        self._write(book)

    def forget(self, model_ids: set[str]) -> None:
        """Drop the fingerprints of removed models (opt-out: nothing of their data stays)."""
        book = self.read()
        if model_ids & set(book):
            self._write({k: v for k, v in book.items() if k not in model_ids})

    def _write(self, book: Mapping[str, str]) -> None:
        folder = self.path.parent
        tmp = folder / f".{FILE}.{os.getpid()}"
        try:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            with contextlib.suppress(OSError):
                folder.chmod(0o700)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(json.dumps(book, indent=2, sort_keys=True) + "\n")
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise FingerprintError(f"fingerprint not recorded: {write_failure(exc, tmp)}") from exc
