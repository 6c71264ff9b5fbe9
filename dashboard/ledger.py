"""What was published before: the ledger that makes republication safe.

A figure published once can be kept and subtracted from the next publication of the
same cell. The ledger records, for every group of figures teamlens publishes
(dashboard.team_period), the changes behind it, each change's contribution (churn,
label, risk, review) and the figures themselves, version after version. It lives in the
private zone (``<data_dir>/ledger/publications.parquet``, read by teamlens only) and
names changes by keyed tokens (HMAC with the pseudonymisation key), never by sha.

Changes that are gone from the store (an opted-out person's, a lost commit) become
*ghosts*: their token is replaced by an unlinkable one (HMAC with a random salt that is
never stored), so the ledger still knows that an earlier figure summed more changes,
but no longer which.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from teamlens.dashboard.windows import window_span
from teamlens.disclosure import Statistic

LEDGER_FILE = Path("ledger") / "publications.parquet"  # under data_dir
GHOST = "ghost:"

SCHEMA = pa.schema(
    [
        ("group", pa.string()),
        ("team", pa.string()),
        ("period", pa.string()),
        ("period_start", pa.date32()),
        ("version", pa.int32()),
        ("members", pa.list_(pa.string())),
        ("values", pa.list_(pa.float64())),
        ("figures", pa.string()),
        ("published_at", pa.timestamp("s", tz="UTC")),
    ]
)

CellKey = tuple[str, str, dt.date]  # team, period, period_start


@dataclass(frozen=True)
class Entry:
    """One publication of one group of figures."""

    version: int
    members: frozenset[str]
    values: Mapping[str, float]
    figures: Mapping[str, Any]


def change_tokens(key: bytes) -> Callable[[str], str]:
    """Keyed tokens for change ids: linkable only with the pseudonymisation key."""

    def token(member: str) -> str:
        digest = hmac.new(key, b"change\0" + member.encode("utf-8"), hashlib.sha256)
        return digest.hexdigest()[:24]

    return token


class Ledger:
    """The publications so far, and the ones this build adds."""

    def __init__(self, rows: list[dict[str, Any]], token: Callable[[str], str]) -> None:
        self._rows = rows
        self._token = token
        self._member_of: dict[str, str] = {}
        self._latest: dict[tuple[str, CellKey], dict[str, Any]] = {}
        for row in rows:
            index = (row["group"], (row["team"], row["period"], row["period_start"]))
            if index not in self._latest or row["version"] > self._latest[index]["version"]:
                self._latest[index] = row

    @classmethod
    def empty(cls) -> Ledger:
        return cls([], lambda member: member)

    @classmethod
    def load(cls, data_dir: Path, token: Callable[[str], str]) -> Ledger:
        path = data_dir / LEDGER_FILE
        if not path.is_file():
            return cls([], token)
        return cls(pq.read_table(path).cast(SCHEMA).to_pylist(), token)

    def forget_except(self, current: Iterable[str]) -> None:
        """Know the current changes by their tokens; turn every other token into a ghost."""
        self._member_of = {self._token(m): m for m in current}
        salt = secrets.token_bytes(32)
        for row in self._rows:
            row["members"] = [
                t
                if t in self._member_of or t.startswith(GHOST)
                else GHOST + hmac.new(salt, t.encode(), hashlib.sha256).hexdigest()[:24]
                for t in row["members"]
            ]

    def _entry(self, row: dict[str, Any]) -> Entry:
        members = [self._member_of.get(t, t) for t in row["members"]]
        return Entry(
            row["version"],
            frozenset(members),
            dict(zip(members, row["values"], strict=True)),
            json.loads(row["figures"]),
        )

    def latest(self, group: str, key: CellKey) -> Entry | None:
        row = self._latest.get((group, key))
        return None if row is None else self._entry(row)

    def versions(self, group: str, key: CellKey) -> list[Entry]:
        """Every publication of one cell's group, oldest first."""
        return self.history(group).get(key, [])

    def history(self, group: str) -> dict[CellKey, list[Entry]]:
        """Every cell's publications of the group, oldest first."""
        out: dict[CellKey, list[Entry]] = {}
        for row in sorted(self._rows, key=lambda r: r["version"]):
            if row["group"] == group:
                key = (row["team"], row["period"], row["period_start"])
                out.setdefault(key, []).append(self._entry(row))
        return out

    def statistics(self, group: str) -> list[Statistic]:
        """Every earlier publication of the group, as known statistics."""
        out: list[Statistic] = []
        for row in self._rows:
            if row["group"] == group:
                key: Hashable = (row["version"], row["team"], row["period"], row["period_start"])
                span = window_span(row["period"], row["period_start"])
                out.append(Statistic(key, self._entry(row).members, True, row["team"], span=span))
        return out

    def record(
        self,
        group: str,
        key: CellKey,
        members: Iterable[str],
        values: Mapping[str, float],
        figures: Mapping[str, Any],
    ) -> None:
        before = self._latest.get((group, key))
        ordered = sorted(members)
        row = {
            "group": group,
            "team": key[0],
            "period": key[1],
            "period_start": key[2],
            "version": 1 if before is None else before["version"] + 1,
            "members": [self._token(m) for m in ordered],
            "values": [values[m] for m in ordered],
            "figures": json.dumps(dict(figures), sort_keys=True),
            "published_at": dt.datetime.now(dt.UTC).replace(microsecond=0),
        }
        self._rows.append(row)
        self._latest[(group, key)] = row

    def save(self, data_dir: Path) -> None:
        path = data_dir / LEDGER_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        pq.write_table(pa.Table.from_pylist(self._rows, schema=SCHEMA), tmp)
        os.replace(tmp, path)

    def __len__(self) -> int:
        return len(self._rows)
