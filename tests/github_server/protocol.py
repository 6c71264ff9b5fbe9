"""What a request gets back: a response, GitHub's error bodies, checks of a write's JSON."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

from tests.github_server.records import DOCS, Json, Repository, iso


@dataclass
class _Response:
    status: int
    headers: dict[str, str]
    body: bytes = b""
    drop: bool = False
    delay: float = 0.0


def _error_body(status: int, message: str | None = None, docs: str = DOCS) -> Json:
    phrase = message if message is not None else HTTPStatus(status).phrase
    return {"message": phrase, "documentation_url": docs, "status": str(status)}


class _HttpError(Exception):
    def __init__(self, status: int, message: str | None = None, **extra: Any) -> None:
        super().__init__(status, message)
        self.status = status
        self.body = _error_body(status, message)
        self.body.update(extra)


def _parse_body(raw: bytes) -> tuple[bool, Any]:
    """(parsed, value): the JSON document of a request body, or (False, its text)."""
    if not raw.strip():
        return True, None
    try:
        return True, json.loads(raw)
    except ValueError:
        return False, raw.decode("utf-8", "replace")


def _invalid(detail: str, docs: str) -> _HttpError:
    """GitHub's schema-validation answer: 422 "Invalid request." with the detail."""
    return _HttpError(422, f"Invalid request.\n\n{detail}", documentation_url=docs)


def _validation_failed(resource: str, field: str, code: str, docs: str, **more: Any) -> _HttpError:
    error: Json = {"resource": resource, "code": code, "field": field, **more}
    return _HttpError(422, "Validation Failed", errors=[error], documentation_url=docs)


def _unprocessable(message: str, docs: str) -> _HttpError:
    """GitHub's answer for a review it cannot create: 422 with the reasons as plain strings."""
    return _HttpError(422, "Unprocessable Entity", errors=[message], documentation_url=docs)


def _opt(data: Mapping[str, Any], name: str, kind: type, docs: str) -> Any:
    """``data[name]`` if present and not null, checked to be a ``kind``; else None."""
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        what = {str: "a string", int: "an integer", list: "an array", dict: "an object"}[kind]
        raise _invalid(f"For 'properties/{name}', {json.dumps(value)} is not {what}.", docs)
    return value


def _req(data: Mapping[str, Any], name: str, kind: type, docs: str) -> Any:
    value = _opt(data, name, kind, docs)
    if value is None:
        raise _invalid(f'"{name}" wasn\'t supplied.', docs)
    return value


def _choice(data: Mapping[str, Any], name: str, allowed: Sequence[str], docs: str) -> Any:
    value = _opt(data, name, str, docs)
    if value is not None and value not in allowed:
        choices = json.dumps(list(allowed))
        raise _invalid(
            f"For 'properties/{name}', {json.dumps(value)} is not one of {choices}.", docs
        )
    return value


def _time_field(data: Mapping[str, Any], name: str, docs: str) -> str | None:
    """An ISO 8601 time of a request, in GitHub's form; None if absent."""
    value = _opt(data, name, str, docs)
    if value is None:
        return None
    try:
        when = datetime.fromisoformat(value)
        return iso(when if when.tzinfo else when.replace(tzinfo=UTC))
    except ValueError:
        detail = f"For 'properties/{name}', {json.dumps(value)} is not a timestamp."
        raise _invalid(detail, docs) from None


@dataclass(frozen=True)
class _Call:
    """A write request, routed: its repository, the path's captured parts and its JSON body."""

    repo: Repository
    args: tuple[str, ...]
    data: Json
    media: str
    viewer: str


def _positive_int(value: str | None) -> int | None:
    try:
        number = int(value or "")
    except ValueError:
        return None
    return number if number > 0 else None


def _media_param(accept: str) -> str:
    """The body format that an Accept header asks for: "", "raw", "text", "html" or "full"."""
    match = re.search(r"application/vnd\.github(?:\.v3)?\.(raw|text|html|full)\+json", accept)
    return match.group(1) if match else ""


def _etag_matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    bare = etag.removeprefix("W/")
    for candidate in header.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == bare:
            return True
    return False
