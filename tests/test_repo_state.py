"""The typed manifest state reads and writes exactly the JSON older versions wrote."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from teamlens.errors import StoreError
from teamlens.store import Manifest, RepoState
from teamlens.store.state import GithubState

#: manifest.json as the code before RepoState wrote it (json.dumps, indent=1, sort_keys).
WRITTEN_BEFORE = """{
 "garbage": [
  [
   "commits/old.parquet",
   1765000000.5
  ]
 ],
 "parts": {
  "commits": [
   "commits/a.parquet"
  ]
 },
 "state": {
  "features_version": 2,
  "frontier": [],
  "github": {
   "done_at_watermark": [
    3,
    7
   ],
   "etag": "W/\\"abc\\"",
   "fetch_seq": 12,
   "watermark": "2026-01-02T03:04:05Z"
  },
  "key_check": "scrypt$16384$8$1$00ff$11ee",
  "opt_out": "f00d",
  "szz_variants": [
   "ag",
   "b"
  ],
  "tips": {
   "refs/heads/main": "0123456789abcdef0123456789abcdef01234567"
  },
  "written_by_a_newer_version": {
   "x": [
    1,
    null
   ]
  }
 },
 "version": 1
}"""


def test_a_manifest_written_before_round_trips_byte_identically() -> None:
    manifest = Manifest.from_json(WRITTEN_BEFORE, Path("manifest.json"))
    state = manifest.state
    assert state.key_check == "scrypt$16384$8$1$00ff$11ee"
    assert state.tips == {"refs/heads/main": "0123456789abcdef0123456789abcdef01234567"}
    assert state.frontier == ()
    assert state.opt_out == "f00d"
    assert state.szz_variants == ("ag", "b")
    assert state.features_version == 2
    assert state.github == GithubState(
        watermark="2026-01-02T03:04:05Z",
        done_at_watermark=(3, 7),
        etag='W/"abc"',
        fetch_seq=12,
        present=frozenset({"watermark", "done_at_watermark", "etag", "fetch_seq"}),
    )
    assert state.extra == {"written_by_a_newer_version": {"x": [1, None]}}
    assert manifest.to_json() == WRITTEN_BEFORE


@pytest.mark.parametrize(
    "raw",
    [
        {},
        {"range_done": False},
        {"range_done": True, "opt_out": "f", "commits": 3, "file_changes": 9, "opted_out": 1},
        {"key_check": "k", "tips": {}, "frontier": [], "opt_out": "f"},  # a split first mining
        {"github": {}},
        {"key_check": None, "opt_out": None, "szz_variants": []},
    ],
)
def test_every_state_written_before_round_trips(raw: dict[str, object]) -> None:
    state = RepoState.from_json(raw)
    assert state.to_json() == raw
    text = json.dumps({"version": 1, "parts": {}, "state": raw, "garbage": []}, indent=1)
    manifest = Manifest.from_json(text, Path("m"))
    assert json.loads(manifest.to_json())["state"] == raw


def test_an_older_manifest_without_opt_out_or_szz_variants_loads() -> None:
    raw = {"key_check": "legacy", "tips": {"refs/heads/main": "a" * 40}, "frontier": ["b" * 40]}
    state = RepoState.from_json(raw)
    assert state.opt_out is None
    assert state.szz_variants == ()
    assert state.frontier == ("b" * 40,)
    assert state.to_json() == raw  # nothing added on the way through


def test_replace_sets_and_writes_fields() -> None:
    state = RepoState.from_json({"tips": {}, "other": 1})
    new = state.replace(szz_variants=(), opt_out="f")
    assert new.to_json() == {"tips": {}, "other": 1, "szz_variants": [], "opt_out": "f"}
    assert state.to_json() == {"tips": {}, "other": 1}  # frozen: the old one is unchanged
    assert RepoState().is_empty and not new.is_empty
    with pytest.raises(TypeError):
        state.replace(nonsense=1)


def test_a_malformed_state_is_a_store_error() -> None:
    text = json.dumps({"version": 1, "parts": {}, "state": {"frontier": 5}, "garbage": []})
    with pytest.raises(StoreError, match="corrupt manifest"):
        Manifest.from_json(text, Path("m"))
