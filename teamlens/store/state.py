"""The typed miner state a repository's manifest carries (manifest.json ``state``).

Every stage keeps what it needs to resume there: the miner its key check, tips, frontier
and opt-out fingerprint; the labeller the SZZ variants that ran; the features stage its
version; the GitHub fetch its watermark; a range of a split first mining its counts.

:meth:`RepoState.from_json` and :meth:`RepoState.to_json` read and write exactly the
JSON object older versions wrote: a key is written when it was read (even with an empty
value) or set, and keys this version does not know are kept as they were.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from dataclasses import replace as _replace
from typing import Any, ClassVar, TypeVar

_S = TypeVar("_S", bound="_JsonState")


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _opt_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _opt_bool(value: Any) -> bool | None:
    return None if value is None else bool(value)


def _strs(value: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in value)


def _ints(value: Any) -> tuple[int, ...]:
    return tuple(int(v) for v in value)


def _str_map(value: Any) -> Mapping[str, str]:
    return {str(k): str(v) for k, v in dict(value).items()}


def _same(value: Any) -> Any:
    return value


def _listed(value: Any) -> Any:
    return list(value)


def _mapped(value: Any) -> Any:
    return dict(value)


@dataclass(frozen=True)
class _JsonState:
    """A frozen JSON object with typed fields, the keys it was read with, and unknown keys."""

    #: field name -> (JSON key, decode, encode); fields not listed are not JSON keys.
    _KEYS: ClassVar[Mapping[str, tuple[str, Callable[[Any], Any], Callable[[Any], Any]]]] = {}

    #: Keys this version does not know, kept as read.
    extra: Mapping[str, Any] = field(default_factory=dict)
    #: Field names present in the JSON (written back even when they hold the default).
    present: frozenset[str] = frozenset()

    @classmethod
    def from_json(cls: type[_S], raw: Mapping[str, Any]) -> _S:
        """The state an object of manifest.json holds (TypeError/ValueError if malformed)."""
        if not isinstance(raw, Mapping):
            raise TypeError(f"state is a {type(raw).__name__}, not an object")
        known = {key: name for name, (key, _, _) in cls._KEYS.items()}
        values = {known[k]: cls._KEYS[known[k]][1](v) for k, v in raw.items() if k in known}
        extra = {k: v for k, v in raw.items() if k not in known}
        return cls(**values, extra=extra, present=frozenset(values))

    def to_json(self) -> dict[str, Any]:
        """The JSON object (keys as read, plus any set or differing from the default)."""
        defaults = type(self)()
        out = dict(self.extra)
        for name, (key, _, encode) in self._KEYS.items():
            value = getattr(self, name)
            if name in self.present or value != getattr(defaults, name):
                out[key] = encode(value)
        return out

    def replace(self: _S, **changes: Any) -> _S:
        """A copy with `changes` set (each then written, even when it equals the default)."""
        unknown = set(changes) - set(self._KEYS)
        if unknown:
            raise TypeError(f"unknown state fields {sorted(unknown)}")
        return _replace(self, **changes, present=self.present | frozenset(changes))

    @property
    def is_empty(self) -> bool:
        """Whether the state holds no key at all (nothing was ever committed)."""
        return not self.to_json()


@dataclass(frozen=True)
class GithubState(_JsonState):
    """Where the GitHub fetch resumes (manifest.json ``state.github``)."""

    _KEYS: ClassVar[Mapping[str, tuple[str, Callable[[Any], Any], Callable[[Any], Any]]]] = {
        "watermark": ("watermark", _opt_str, _same),
        "done_at_watermark": ("done_at_watermark", _ints, _listed),
        "etag": ("etag", _opt_str, _same),
        "fetch_seq": ("fetch_seq", int, _same),
    }

    #: ISO time of the newest pull request update stored.
    watermark: str | None = None
    #: Pull requests stored that were updated exactly at the watermark.
    done_at_watermark: tuple[int, ...] = ()
    #: The ETag of the first page of the last listing.
    etag: str | None = None
    #: The last fetch id handed out.
    fetch_seq: int = 0


def _github(value: Any) -> GithubState:
    return GithubState.from_json(value)


def _github_json(value: GithubState) -> dict[str, Any]:
    return value.to_json()


@dataclass(frozen=True)
class RepoState(_JsonState):
    """The state one repository's manifest carries, per stage."""

    _KEYS: ClassVar[Mapping[str, tuple[str, Callable[[Any], Any], Callable[[Any], Any]]]] = {
        "key_check": ("key_check", _opt_str, _same),
        "tips": ("tips", _str_map, _mapped),
        "frontier": ("frontier", _strs, _listed),
        "opt_out": ("opt_out", _opt_str, _same),
        "szz_variants": ("szz_variants", _strs, _listed),
        "features_version": ("features_version", _opt_int, _same),
        "github": ("github", _github, _github_json),
        "range_done": ("range_done", _opt_bool, _same),
        "range_commits": ("commits", _opt_int, _same),
        "range_file_changes": ("file_changes", _opt_int, _same),
        "range_opted_out": ("opted_out", _opt_int, _same),
    }

    # mining (mine): the key check the pseudonyms were made with, the mined refs' tips
    # (ref -> sha), the stored commits the next run starts from, and the opt-out list's
    # fingerprint the rows were purged under (also recorded by purge).
    key_check: str | None = None
    tips: Mapping[str, str] = field(default_factory=dict)
    frontier: tuple[str, ...] = ()
    opt_out: str | None = None
    # mining (label): the SZZ variants that ran.
    szz_variants: tuple[str, ...] = ()
    # features: the version of the stored change features.
    features_version: int | None = None
    # mining (github): where the pull request fetch resumes.
    github: GithubState = field(default_factory=GithubState)
    # A range of a split first mining (its staging store): done, and what it stored.
    range_done: bool | None = None
    range_commits: int | None = None
    range_file_changes: int | None = None
    range_opted_out: int | None = None


__all__ = ["GithubState", "RepoState"]
