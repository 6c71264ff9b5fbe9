"""Is the team report up to date? A digest of what it is built from, and of what it wrote.

``teamlens run`` rebuilds the ``team_period`` table and the report only when something
they are built from changed. The build is deterministic given its inputs, so with the
same inputs the files written last time are the files a rebuild would write, and they
are kept (only the page's "generated" time stays that of the build).

- **Inputs**: for each stored or configured repository, the store's manifest (its part files and
  miner state: a new, relabelled or purged row changes it); the configuration (teams,
  privacy, labels, review thresholds, ...); the period; the current model's id; and
  teamlens itself (the size and modification time of every file of the installed
  package, the shipped default model among them).
- **Outputs**: the size and modification time of every file under ``<data_dir>/ledger``
  (the earlier publications, which a build extends), ``<data_dir>/aggregates`` and
  ``<data_dir>/reports``. A file changed, added or removed since the build (say
  ``teamlens report --period month`` rewrote the table) means a rebuild.

The record is kept in the private zone, ``<data_dir>/runs/report.json``: two SHA-256
digests, nothing about a change or a person.

The training stage of ``teamlens run`` keeps its verdict "nothing new to train on" the
same way (``<data_dir>/runs/train.json``, :func:`store_inputs` with the registry's
models): while the store, the configuration, the models and teamlens are unchanged, the
verdict stands without loading the labelled changes again.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path

import teamlens
from teamlens.config import Config
from teamlens.model.registry import Registry
from teamlens.store import Store

RUNS = Path("runs")
RECORD = RUNS / "report.json"
#: The folders a report build writes, under the data folder.
OUTPUT_DIRS = ("ledger", "aggregates", "reports")


def _digest(parts: Iterable[str]) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode("utf-8", "surrogateescape"))
        h.update(b"\0")
    return h.hexdigest()


def _stats(root: Path) -> list[str]:
    """``path size mtime`` of every file under `root` (links followed), sorted."""
    found = []
    for folder, dirs, files in os.walk(root, followlinks=True):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in files:
            path = Path(folder) / name
            try:
                stat = path.stat()
            except FileNotFoundError:  # deleted while we looked: it counts as a change
                continue
            found.append(f"{path.relative_to(root)} {stat.st_size} {stat.st_mtime_ns}")
    return sorted(found)


def report_inputs(config: Config, period: str) -> str:
    """The digest of everything the team report of `period` is built from."""
    current = Registry.for_data_dir(config.data_dir).current_id()
    return store_inputs(config, f"period {period}", f"model {current}")


def store_inputs(config: Config, *extra: str) -> str:
    """The digest of `extra`, the configuration, the store's manifests and teamlens."""
    store = Store(config.data_dir)
    parts = [*extra, f"config {config!r}", f"teamlens {teamlens.__version__}"]
    # Every stored repository: the fix files of the hotspots are read from all of them.
    for name in sorted({*store.repos(), *(r.name for r in config.repositories)}):
        manifest = store.manifest(name)
        state = json.dumps(manifest.state.to_json(), sort_keys=True)
        listed = json.dumps({t: list(p) for t, p in sorted(manifest.parts.items())})
        parts += [f"repo {name}", listed, state]
    parts.append(f"code {code_digest()}")
    return _digest(parts)


def code_digest() -> str:
    """The digest of the installed teamlens: every file of the package (size and time)."""
    return _digest(_stats(Path(teamlens.__file__).resolve().parent))


def _outputs(data_dir: Path) -> str:
    return _digest(f"{d}/{line}" for d in OUTPUT_DIRS for line in _stats(data_dir / d))


def is_current(config: Config, inputs: str) -> bool:
    """Whether the report on disk was built from `inputs` and its files are as written."""
    record = read_record(config, RECORD.name)
    return record.get("inputs") == inputs and record.get("outputs") == _outputs(config.data_dir)


def forget(config: Config, name: str = RECORD.name) -> None:
    """The report is being rebuilt: until it is recorded again, nothing is current."""
    (config.data_dir / RUNS / name).unlink(missing_ok=True)


def record(config: Config, inputs: str) -> None:
    """Record that the files now on disk were built from `inputs`."""
    write_record(config, RECORD.name, {"inputs": inputs, "outputs": _outputs(config.data_dir)})


def read_record(config: Config, name: str) -> dict[str, str]:
    """A record of ``<data_dir>/runs/`` (empty when there is none or it is unreadable)."""
    try:
        found = json.loads((config.data_dir / RUNS / name).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(found, dict):
        return {}
    return {str(k): str(v) for k, v in found.items()}


def write_record(config: Config, name: str, record: dict[str, str]) -> None:
    """Write a record of ``<data_dir>/runs/`` atomically (0600 under teamlens's umask)."""
    path = config.data_dir / RUNS / name
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, path)
