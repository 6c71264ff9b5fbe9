"""What a delivery passes before the bot reads it: the body size limit, the HMAC
signature, and the de-duplication memories of recent deliveries and heads."""

from __future__ import annotations

import hashlib
import hmac
import re
import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Final, Generic, TypeVar

from fastapi import Request

from teamlens.bot.webhook.events import PullRequestEvent, _PayloadError

_DIGITS_RE: Final = re.compile(r"[0-9]{1,20}")


class _BodyTooLargeError(ValueError):
    pass


def _signature_ok(secret: bytes, body: bytes, header: str | None) -> bool:
    if header is None:
        return False
    expected = b"sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest().encode("ascii")
    try:
        given = header.strip().encode("latin-1")
    except UnicodeEncodeError:
        return False
    return hmac.compare_digest(expected, given)


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None:
        if not _DIGITS_RE.fullmatch(declared.strip()):
            raise _PayloadError("invalid Content-Length")
        if int(declared) > limit:
            raise _BodyTooLargeError
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise _BodyTooLargeError
    return bytes(body)


K = TypeVar("K", bound=Hashable)


class _RecentSet(Generic[K]):
    """The ``size`` most recently seen keys (least recently seen evicted first).

    Not locked: :class:`_Dedupe` holds its lock around every use.
    """

    def __init__(self, size: int) -> None:
        self._size = size
        self._keys: OrderedDict[K, None] = OrderedDict()

    def seen(self, key: K) -> bool:
        if key in self._keys:
            self._keys.move_to_end(key)
            return True
        return False

    def add(self, key: K) -> None:
        self._keys[key] = None
        self._keys.move_to_end(key)
        while len(self._keys) > self._size:
            self._keys.popitem(last=False)

    def discard(self, key: K) -> None:
        self._keys.pop(key, None)

    def __len__(self) -> int:
        return len(self._keys)


class _Dedupe:
    def __init__(self, size: int) -> None:
        self.lock = threading.Lock()
        self.deliveries: _RecentSet[str] = _RecentSet(size)
        self.heads: _RecentSet[tuple[str, int, str]] = _RecentSet(size)

    def forget(self, event: PullRequestEvent) -> None:
        with self.lock:
            self.deliveries.discard(event.delivery_id)
            self.heads.discard(event.head_key)
