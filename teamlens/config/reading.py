"""Reading one section of repos.yaml: typed getters, paths, and one-line error messages.

A :class:`_Section` tracks the key path (``repositories[1].path``) so that every problem
names the file, the key and what was expected.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from teamlens.errors import ConfigError


def _shown(text: object) -> str:
    """`text` as it is when it prints on one line; as a Python literal otherwise."""
    text = str(text)
    return text if text.isprintable() else repr(text)


class _Unusable(Exception):
    """A path string that names no usable path; the message says why."""


def _resolve(value: str | Path, base: Path | None) -> Path:
    """`value` with ``~`` expanded, against `base` (or the working folder), symlinks
    resolved."""
    if "\0" in str(value):
        raise _Unusable("it holds a NUL character")
    try:
        expanded = Path(value).expanduser()
    except RuntimeError:  # ~user names no user here, or there is no home directory
        raise _Unusable("its ~ names no home directory on this machine") from None
    try:
        return (expanded if base is None else base / expanded).resolve()
    except RuntimeError:
        raise _Unusable("a symlink loop") from None
    except OSError as exc:
        raise _Unusable(exc.strerror or type(exc).__name__) from None


def _stat(path: Path) -> os.stat_result | None:
    """The path's status; None when nothing is there."""
    try:
        return path.stat()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:  # a name too long, no permission to look, ...
        raise _Unusable(exc.strerror or type(exc).__name__) from None


class _Section:
    """Reads one mapping of the file, tracking the key path for error messages."""

    def __init__(self, file: Path, where: str, value: object) -> None:
        if not isinstance(value, dict):
            raise ConfigError(
                f"{_shown(file)}: {where or 'top level'}: expected a mapping, got {_kind(value)}"
            )
        self.file = file
        self.where = where
        self.data: dict[str, Any] = value

    def key(self, name: str) -> str:
        return f"{self.where}.{_shown(name)}" if self.where else _shown(name)

    def error(self, name: str, problem: str) -> ConfigError:
        return ConfigError(f"{_shown(self.file)}: {self.key(name)}: {problem}")

    def fail(self, name: str, expected: str, value: object) -> ConfigError:
        return self.error(name, f"expected {expected}, got {_kind(value)}")

    def check_keys(self, allowed: set[str]) -> None:
        for name in self.data:
            if name not in allowed:
                known = ", ".join(sorted(allowed))
                raise self.error(str(name), f"unknown key (known: {known})")

    def string(
        self,
        name: str,
        default: str | None = None,
        pattern: re.Pattern[str] | None = None,
        expected: str = "a non-empty string",
    ) -> str | None:
        value = self.data.get(name, default)
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            raise self.fail(name, expected, value)
        if pattern is not None and not pattern.match(value):
            raise self.fail(name, expected, value)
        return value

    def boolean(self, name: str, default: bool) -> bool:
        value = self.data.get(name, default)
        if not isinstance(value, bool):
            raise self.fail(name, "true or false", value)
        return value

    def integer(self, name: str, default: int, minimum: int, expected: str) -> int:
        value = self.data.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise self.fail(name, expected, value)
        return value

    def path(self, name: str, base: Path) -> Path | None:
        value = self.string(name, expected="a path")
        if value is None:
            return None
        try:
            return _resolve(value, base)
        except _Unusable as exc:
            raise self.error(name, f"{value!r} cannot be used as a path ({exc})") from None

    def stat(self, name: str, path: Path) -> os.stat_result | None:
        """The status of the path under key `name`; None when nothing is there."""
        try:
            return _stat(path)
        except _Unusable as exc:
            raise self.error(name, f"{_shown(path)} cannot be used ({exc})") from None


def _kind(value: object) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, (str, int, float, bool)):
        return f"{type(value).__name__} {value!r}"
    if isinstance(value, (list, dict)) and not value:
        return f"an empty {type(value).__name__}"
    return type(value).__name__
