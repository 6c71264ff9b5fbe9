"""A ``pull_request`` delivery read into :class:`PullRequestEvent`: the few fields the
bot needs, each checked against a strict pattern; the rest of the payload is dropped."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

REVIEWED_ACTIONS: Final = frozenset({"opened", "reopened", "synchronize", "ready_for_review"})

_NAME_RE: Final = re.compile(r"[a-z_]{1,64}")  # event types and actions
_REPO_RE: Final = re.compile(r"[A-Za-z0-9_.-]{1,100}/[A-Za-z0-9_.-]{1,100}")
_SHA_RE: Final = re.compile(r"[0-9a-f]{40}(?:[0-9a-f]{24})?")  # SHA-1 or SHA-256 ids
_MAX_REF_LENGTH: Final = 1024


class _PayloadError(ValueError):
    """A signed body that is not a pull request event teamlens can read."""


@dataclass(frozen=True)
class PullRequestEvent:
    """What the bot needs from a ``pull_request`` delivery, and nothing else.

    No login, name, e-mail, title or body: the payload is dropped once these are read.
    """

    delivery_id: str
    action: str
    repository: str  # "owner/name"
    number: int
    head_sha: str
    base_sha: str
    head_ref: str
    base_ref: str
    draft: bool
    installation_id: int | None

    @property
    def head_key(self) -> tuple[str, int, str]:
        return (self.repository, self.number, self.head_sha)

    def describe(self) -> str:
        """For log lines: ``owner/name#12 (synchronize, delivery <id>)``."""
        return f"{self.repository}#{self.number} ({self.action}, delivery {self.delivery_id})"


def _str(obj: Mapping[str, object], key: str, *, where: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value or len(value) > _MAX_REF_LENGTH:
        raise _PayloadError(f"{where}.{key} is missing or not a string")
    return value


def _obj(obj: Mapping[str, object], key: str) -> Mapping[str, object]:
    value = obj.get(key)
    if not isinstance(value, dict):
        raise _PayloadError(f"{key} is missing or not an object")
    return value


def _sha(obj: Mapping[str, object], *, where: str) -> str:
    value = obj.get("sha")
    if not isinstance(value, str) or not _SHA_RE.fullmatch(value):
        raise _PayloadError(f"{where}.sha is missing or not a commit id")
    return value


def _action(payload: Mapping[str, object]) -> str:
    action = payload.get("action")
    if not isinstance(action, str) or not _NAME_RE.fullmatch(action):
        raise _PayloadError("action is missing or not a plain word")
    return action


def _pull_request_event(
    delivery_id: str, action: str, payload: Mapping[str, object]
) -> PullRequestEvent:
    """Read the few fields the bot needs; the payload is not kept."""
    repository = _obj(payload, "repository")
    full_name = repository.get("full_name")
    if not isinstance(full_name, str) or not _REPO_RE.fullmatch(full_name):
        raise _PayloadError("repository.full_name is missing or not owner/name")
    pr = _obj(payload, "pull_request")
    number = pr.get("number", payload.get("number"))
    if isinstance(number, bool) or not isinstance(number, int) or number < 1:
        raise _PayloadError("pull_request.number is missing or not a positive integer")
    head = _obj(pr, "head")
    base = _obj(pr, "base")
    draft = pr.get("draft", False)
    if not isinstance(draft, bool):
        raise _PayloadError("pull_request.draft is not a boolean")
    installation = payload.get("installation")
    installation_id: int | None = None
    if isinstance(installation, dict):
        raw_id = installation.get("id")
        if isinstance(raw_id, int) and not isinstance(raw_id, bool):
            installation_id = raw_id
    return PullRequestEvent(
        delivery_id=delivery_id,
        action=action,
        repository=full_name,
        number=number,
        head_sha=_sha(head, where="pull_request.head"),
        base_sha=_sha(base, where="pull_request.base"),
        head_ref=_str(head, "ref", where="pull_request.head"),
        base_ref=_str(base, "ref", where="pull_request.base"),
        draft=draft,
        installation_id=installation_id,
    )
