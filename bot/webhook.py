"""The GitHub webhook server behind ``teamlens bot serve``.

Design
------
GitHub wants an answer within ten seconds and counts a slow answer as a failure, while a
review may take much longer (mining the head, computing features, asking the model,
posting comments). So the HTTP side only *accepts* work and a single background thread
*does* it:

``POST /webhook``
    1. The raw body is read with a hard size limit (``max_body_bytes``): a
       ``Content-Length`` above it is refused with 413 before one byte of the body is
       read, and a body without one (chunked) is read chunk by chunk and refused as soon
       as it passes the limit. A 413 closes the connection.
    2. ``X-Hub-Signature-256`` (``sha256=<hex>``, HMAC-SHA256 of the raw body under the
       webhook secret) is checked with :func:`hmac.compare_digest` *before* the body is
       parsed: a missing or wrong signature is 401 and nothing else happens; in
       particular nothing unauthenticated reaches the JSON parser or the de-duplication
       memory.
    3. The body is parsed (malformed JSON is 400) and only the fields of
       :class:`PullRequestEvent` are taken from it; the payload itself, and every login
       and e-mail address in it, is dropped right there.
    4. ``ping`` is 200 ``{"ok": true}``. A ``pull_request`` event whose action is one of
       ``opened``, ``reopened``, ``synchronize``, ``ready_for_review`` is put on a
       bounded queue and answered 202 ``{"queued": true}``; drafts are skipped unless
       ``review_drafts``. Anything else is 202 ``{"ignored": "<reason>"}``. A full queue
       is 503 with ``Retry-After``.

De-duplication
    Two bounded LRU memories: the ``X-GitHub-Delivery`` ids of recent deliveries, and the
    ``(repository, pull request number, head sha)`` of recent work. A redelivery, or a
    second event for a head that is queued, running or done, is answered 200
    ``{"duplicate": true}`` and does no work. Keys are recorded when the event is
    queued, so two deliveries racing for the same head give one piece of work. When the
    handler fails, both keys are forgotten, so a redelivery from GitHub's settings page
    retries the review; when the queue is full nothing is recorded, so the sender's
    retry is not taken for a duplicate.

:class:`Worker`
    One daemon thread takes events off the queue and calls ``handler(event)``. An
    exception from the handler is counted and logged (its type and where it was raised,
    never its message, which might quote a token or a payload), and the worker goes on
    with the next event. ``GET /health`` shows the counters.

Logging
    Only the event type, the action, ``owner/name#number``, the delivery id and timings
    are logged; never the secret, a signature, a token, the body or an exception message.
    Header values that are logged (event, delivery id) and payload values that are
    logged (action, repository) are first checked against a strict pattern, so a
    crafted value cannot forge log lines either.

Transport
    Off loopback the server speaks TLS (``settings.transport``: a certificate and key)
    or is told that a proxy in front of it does; :func:`serve` refuses plain HTTP
    otherwise, since a private repository's payloads would cross the network in the
    clear.

Start it with :func:`serve` (blocking, what the CLI runs), or build the app with
:func:`create_app` and run it under any ASGI server; the app's lifespan starts and stops
the worker.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import os
import re
import threading
import time
import traceback
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Callable, Hashable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Final, Generic, TypeVar

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.requests import ClientDisconnect

from teamlens.errors import TeamlensError
from teamlens.serving import Transport

__all__ = [
    "REVIEWED_ACTIONS",
    "SECRET_ENV",
    "MissingSecretError",
    "PullRequestEvent",
    "QueueFullError",
    "WebhookConfigError",
    "WebhookSettings",
    "Worker",
    "WorkerStats",
    "WorkerStoppedError",
    "create_app",
    "serve",
]

logger = logging.getLogger(__name__)

SECRET_ENV: Final = "TEAMLENS_WEBHOOK_SECRET"  # noqa: S105 (the variable's name)
REVIEWED_ACTIONS: Final = frozenset({"opened", "reopened", "synchronize", "ready_for_review"})

SIGNATURE_HEADER: Final = "x-hub-signature-256"
EVENT_HEADER: Final = "x-github-event"
DELIVERY_HEADER: Final = "x-github-delivery"
RETRY_AFTER_SECONDS: Final = 30

_NAME_RE: Final = re.compile(r"[a-z_]{1,64}")  # event types and actions
_DELIVERY_RE: Final = re.compile(r"[A-Za-z0-9._-]{1,100}")  # GitHub sends a UUID
_REPO_RE: Final = re.compile(r"[A-Za-z0-9_.-]{1,100}/[A-Za-z0-9_.-]{1,100}")
_SHA_RE: Final = re.compile(r"[0-9a-f]{40}(?:[0-9a-f]{24})?")  # SHA-1 or SHA-256 ids
_DIGITS_RE: Final = re.compile(r"[0-9]{1,20}")
_MAX_REF_LENGTH: Final = 1024


class WebhookConfigError(TeamlensError, ValueError):
    """A :class:`WebhookSettings` value is out of range."""


class MissingSecretError(WebhookConfigError):
    """No webhook secret: the environment variable is unset or empty."""


class QueueFullError(RuntimeError):
    """The worker's queue holds ``queue_size`` events already."""


class WorkerStoppedError(RuntimeError):
    """The worker is stopping or stopped and takes no more events."""


class _PayloadError(ValueError):
    """A signed body that is not a pull request event teamlens can read."""


class _BodyTooLargeError(ValueError):
    pass


@dataclass(frozen=True)
class WebhookSettings:
    """How the webhook server listens and how much it accepts.

    ``secret`` is the webhook secret configured on GitHub; it is left out of ``repr``.
    """

    secret: str = field(repr=False)
    host: str = "127.0.0.1"
    port: int = 8080
    max_body_bytes: int = 1024 * 1024
    queue_size: int = 100
    review_drafts: bool = False
    dedupe_size: int = 10_000
    shutdown_timeout: float = 30.0  # seconds to wait for a running review on shutdown
    transport: Transport = field(default_factory=Transport)  # TLS or a proxy, off loopback

    def __post_init__(self) -> None:
        if not isinstance(self.secret, str) or not self.secret:
            raise WebhookConfigError("the webhook secret must be a non-empty string")
        if not self.host:
            raise WebhookConfigError("host must not be empty")
        if not 0 <= self.port <= 65535:
            raise WebhookConfigError(f"port must be 0..65535, not {self.port}")
        for name in ("max_body_bytes", "queue_size", "dedupe_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise WebhookConfigError(f"{name} must be a positive integer, not {value!r}")
        if self.shutdown_timeout < 0:
            raise WebhookConfigError("shutdown_timeout must not be negative")

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str] | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 8080,
        review_drafts: bool = False,
        transport: Transport | None = None,
    ) -> WebhookSettings:
        """Settings with the secret from ``$TEAMLENS_WEBHOOK_SECRET``."""
        env = os.environ if environ is None else environ
        secret = env.get(SECRET_ENV, "")
        if not secret:
            raise MissingSecretError(
                f"set the webhook secret in the environment variable {SECRET_ENV}"
            )
        return cls(
            secret=secret,
            host=host,
            port=port,
            review_drafts=review_drafts,
            transport=transport or Transport(),
        )


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


# ---------------------------------------------------------------------------------------
# Worker
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WorkerStats:
    queued: int  # waiting in the queue, not started
    running: int  # 0 or 1
    processed: int  # the handler returned
    failed: int  # the handler raised


class Worker:
    """A bounded queue of events and one thread that feeds them to the handler.

    ``submit`` never blocks: it raises :class:`QueueFullError` when ``queue_size`` events
    wait already. ``on_failure`` (if given) is called with an event whose handler raised,
    after the failure is counted and logged.
    """

    def __init__(
        self,
        handler: Callable[[PullRequestEvent], None],
        queue_size: int,
        *,
        on_failure: Callable[[PullRequestEvent], None] | None = None,
        name: str = "teamlens-webhook-worker",
    ) -> None:
        if queue_size < 1:
            raise WebhookConfigError(f"queue_size must be positive, not {queue_size}")
        self._handler = handler
        self._on_failure = on_failure
        self._queue_size = queue_size
        self._pending: deque[PullRequestEvent] = deque()
        self._cond = threading.Condition()
        self._running = 0
        self._processed = 0
        self._failed = 0
        self._started = False
        self._stopping = False
        self._drain = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    # -- control -----------------------------------------------------------------------

    def start(self) -> None:
        with self._cond:
            if self._started:
                raise RuntimeError("the worker was started already")
            self._started = True
        self._thread.start()

    def stop(self, timeout: float | None = None, *, drain: bool = False) -> bool:
        """Stop taking events; let the running one finish; wait up to ``timeout`` s.

        Waiting events are dropped (their number is logged) unless ``drain``. Returns
        whether the thread has ended. The thread is a daemon, so a handler that hangs
        does not keep the process alive.
        """
        with self._cond:
            self._stopping = True
            self._drain = drain
            self._cond.notify_all()
            started = self._started
        if not started:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def join_idle(self, timeout: float | None = None) -> bool:
        """Wait until the queue is empty and no event is running; False on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while self._pending or self._running:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._cond.wait(remaining)
            return True

    def submit(self, event: PullRequestEvent) -> None:
        with self._cond:
            if self._stopping:
                raise WorkerStoppedError("the worker is stopping")
            if len(self._pending) >= self._queue_size:
                raise QueueFullError(f"{self._queue_size} events are waiting")
            self._pending.append(event)
            self._cond.notify_all()

    # -- state -------------------------------------------------------------------------

    @property
    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def stats(self) -> WorkerStats:
        with self._cond:
            return WorkerStats(
                queued=len(self._pending),
                running=self._running,
                processed=self._processed,
                failed=self._failed,
            )

    # -- the thread ----------------------------------------------------------------------

    def _next(self) -> PullRequestEvent | None:
        with self._cond:
            while not self._pending and not self._stopping:
                self._cond.wait()
            if self._stopping and not (self._drain and self._pending):
                dropped = len(self._pending)
                self._pending.clear()
                self._cond.notify_all()
                if dropped:
                    logger.warning("worker stopped; %d queued event(s) dropped", dropped)
                return None
            self._running = 1
            return self._pending.popleft()

    def _run(self) -> None:
        while (event := self._next()) is not None:
            ok = False
            try:
                ok = self._call(event)
                if not ok and self._on_failure is not None:
                    try:
                        self._on_failure(event)
                    except Exception as exc:
                        logger.error("on_failure hook raised %s", type(exc).__name__)
            finally:
                with self._cond:
                    self._running = 0
                    if ok:
                        self._processed += 1
                    else:
                        self._failed += 1
                    self._cond.notify_all()

    def _call(self, event: PullRequestEvent) -> bool:
        started = time.perf_counter()
        try:
            self._handler(event)
        except Exception as exc:
            logger.error(
                "handler failed for %s after %.3f s: %s at %s",
                event.describe(),
                time.perf_counter() - started,
                type(exc).__name__,
                _where(exc),
            )
            logger.debug("handler failure stack for %s: %s", event.describe(), _stack(exc))
            return False
        logger.info("processed %s in %.3f s", event.describe(), time.perf_counter() - started)
        return True


def _where(exc: BaseException) -> str:
    """``file.py:12 in func`` of the innermost frame: a place, never a message."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return "?"
    frame = frames[-1]
    return f"{PurePath(frame.filename).name}:{frame.lineno} in {frame.name}"


def _stack(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    return " <- ".join(
        f"{PurePath(f.filename).name}:{f.lineno} in {f.name}" for f in reversed(frames)
    )


# ---------------------------------------------------------------------------------------
# De-duplication
# ---------------------------------------------------------------------------------------

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


# ---------------------------------------------------------------------------------------
# Request handling
# ---------------------------------------------------------------------------------------


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


def _json(status: int, content: Mapping[str, object], **headers: str) -> JSONResponse:
    return JSONResponse(status_code=status, content=dict(content), headers=headers or None)


def create_app(
    settings: WebhookSettings, handler: Callable[[PullRequestEvent], None]
) -> tuple[FastAPI, Worker]:
    """The ASGI app and its (not yet started) worker.

    The app's lifespan starts the worker on startup and stops it on shutdown (waiting up
    to ``settings.shutdown_timeout`` for a running review). The worker is returned for
    tests and health checks: ``join_idle``, ``stats``.
    """
    secret = settings.secret.encode("utf-8")
    dedupe = _Dedupe(settings.dedupe_size)
    worker = Worker(handler, settings.queue_size, on_failure=dedupe.forget)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        worker.start()
        logger.info(
            "webhook worker started (queue %d, drafts %s)",
            settings.queue_size,
            "reviewed" if settings.review_drafts else "skipped",
        )
        try:
            yield
        finally:
            stopped = await asyncio.to_thread(worker.stop, settings.shutdown_timeout)
            if not stopped:
                logger.warning(
                    "a review was still running after %.1f s; leaving it behind",
                    settings.shutdown_timeout,
                )

    app = FastAPI(
        title="teamlens review bot",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )

    @app.get("/health")
    async def health() -> JSONResponse:
        stats = worker.stats()
        alive = worker.is_alive
        return _json(
            200 if alive else 503,
            {
                "status": "ok" if alive else "stopped",
                "queued": stats.queued + stats.running,
                "processed": stats.processed,
                "failed": stats.failed,
            },
        )

    @app.post("/webhook")
    async def webhook(request: Request) -> JSONResponse:
        started = time.perf_counter()

        def took() -> float:
            return (time.perf_counter() - started) * 1000.0

        # 1. the raw body, bounded
        try:
            body = await _read_body(request, settings.max_body_bytes)
        except _BodyTooLargeError:
            logger.warning("refused a body over %d bytes (413)", settings.max_body_bytes)
            return _json(
                413,
                {"error": f"body larger than {settings.max_body_bytes} bytes"},
                Connection="close",
            )
        except _PayloadError:
            return _json(400, {"error": "invalid Content-Length"}, Connection="close")
        except ClientDisconnect:
            logger.info("client disconnected before sending the whole body")
            return _json(400, {"error": "incomplete body"}, Connection="close")

        # 2. the signature, before anything looks inside the body
        if not _signature_ok(secret, body, request.headers.get(SIGNATURE_HEADER)):
            logger.warning("refused a delivery with a missing or wrong signature (401)")
            return _json(401, {"error": "missing or wrong X-Hub-Signature-256"})

        event_type = request.headers.get(EVENT_HEADER, "")
        delivery_id = request.headers.get(DELIVERY_HEADER, "")
        if not _NAME_RE.fullmatch(event_type):
            return _json(400, {"error": "missing or invalid X-GitHub-Event"})
        if not _DELIVERY_RE.fullmatch(delivery_id):
            return _json(400, {"error": "missing or invalid X-GitHub-Delivery"})

        # 3. the JSON, then only the fields the bot needs
        content_type = request.headers.get("content-type", "")
        if content_type.startswith("application/x-www-form-urlencoded"):
            return _json(415, {"error": "set the webhook's content type to application/json"})
        try:
            payload: object = json.loads(body)
        except (ValueError, RecursionError):  # JSONDecodeError and UnicodeDecodeError
            logger.info("malformed JSON in %s delivery %s (400)", event_type, delivery_id)
            return _json(400, {"error": "malformed JSON"})
        del body
        if not isinstance(payload, dict):
            return _json(400, {"error": "the payload is not a JSON object"})

        if event_type == "ping":
            logger.info("ping, delivery %s", delivery_id)
            return _json(200, {"ok": True})

        with dedupe.lock:
            if dedupe.deliveries.seen(delivery_id):
                logger.info("duplicate delivery %s (%s)", delivery_id, event_type)
                return _json(200, {"duplicate": True})

        if event_type != "pull_request":
            return _ignored(dedupe, delivery_id, f"event {event_type}", took())
        try:
            action = _action(payload)
            if action not in REVIEWED_ACTIONS:
                return _ignored(dedupe, delivery_id, f"action {action}", took())
            event = _pull_request_event(delivery_id, action, payload)
        except _PayloadError as exc:
            logger.info("unreadable pull_request delivery %s: %s", delivery_id, exc)
            return _json(400, {"error": str(exc)})
        del payload

        if event.draft and not settings.review_drafts:
            return _ignored(dedupe, delivery_id, "draft", took(), event)

        # 4. queue it, once per delivery and once per head
        with dedupe.lock:
            if dedupe.heads.seen(event.head_key):
                dedupe.deliveries.add(delivery_id)
                logger.info("duplicate head for %s", event.describe())
                return _json(200, {"duplicate": True})
            dedupe.deliveries.add(delivery_id)
            dedupe.heads.add(event.head_key)
            try:
                worker.submit(event)
            except (QueueFullError, WorkerStoppedError) as exc:
                dedupe.deliveries.discard(delivery_id)
                dedupe.heads.discard(event.head_key)
                logger.warning("queue refused %s: %s (503)", event.describe(), type(exc).__name__)
                return _json(
                    503,
                    {"error": "busy, retry later"},
                    **{"Retry-After": str(RETRY_AFTER_SECONDS)},
                )
        logger.info("queued %s in %.1f ms", event.describe(), took())
        return _json(202, {"queued": True})

    return app, worker


def _ignored(
    dedupe: _Dedupe,
    delivery_id: str,
    reason: str,
    elapsed_ms: float,
    event: PullRequestEvent | None = None,
) -> JSONResponse:
    with dedupe.lock:
        dedupe.deliveries.add(delivery_id)
    what = event.describe() if event is not None else f"delivery {delivery_id}"
    logger.info("ignored %s: %s (%.1f ms)", what, reason, elapsed_ms)
    return _json(202, {"ignored": reason})


def serve(settings: WebhookSettings, handler: Callable[[PullRequestEvent], None]) -> None:
    """Run the webhook server until interrupted (SIGINT or SIGTERM); blocks.

    Uvicorn's log level is fixed at ``info``: its ``trace`` level would log request
    headers, the signature among them.

    Raises
    ------
    TransportError
        Off loopback without TLS or ``behind_proxy``, or a certificate that does not
        load. Nothing is bound then.
    """
    settings.transport.check(settings.host, "teamlens bot serve")
    app, _worker = create_app(settings, handler)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level="info",
        proxy_headers=False,
        server_header=False,
        timeout_keep_alive=5,
        limit_concurrency=256,
        timeout_graceful_shutdown=int(settings.shutdown_timeout) + 1,
        **settings.transport.uvicorn_options(),  # type: ignore[arg-type]
    )
    logger.info(
        "webhook server on %s", settings.transport.url(settings.host, settings.port, "/webhook")
    )
    uvicorn.Server(config).run()
