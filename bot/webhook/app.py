"""The webhook's HTTP side: the FastAPI app that accepts deliveries, and :func:`serve`."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Final

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.requests import ClientDisconnect

from teamlens.bot.webhook.events import (
    _NAME_RE,
    REVIEWED_ACTIONS,
    PullRequestEvent,
    _action,
    _PayloadError,
    _pull_request_event,
)
from teamlens.bot.webhook.guard import _BodyTooLargeError, _Dedupe, _read_body, _signature_ok
from teamlens.bot.webhook.settings import WebhookSettings
from teamlens.bot.webhook.worker import QueueFullError, Worker, WorkerStoppedError

# One logger for the whole webhook server, the name operators configure.
logger = logging.getLogger("teamlens.bot.webhook")

SIGNATURE_HEADER: Final = "x-hub-signature-256"
EVENT_HEADER: Final = "x-github-event"
DELIVERY_HEADER: Final = "x-github-delivery"
RETRY_AFTER_SECONDS: Final = 30

_DELIVERY_RE: Final = re.compile(r"[A-Za-z0-9._-]{1,100}")  # GitHub sends a UUID


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
