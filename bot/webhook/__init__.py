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

The modules: ``settings`` (:class:`WebhookSettings`), ``events`` (reading a delivery into
:class:`PullRequestEvent`), ``guard`` (body limit, signature, de-duplication), ``worker``
(:class:`Worker`) and ``app`` (:func:`create_app`, :func:`serve`).
"""

from teamlens.bot.webhook.app import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    RETRY_AFTER_SECONDS,
    SIGNATURE_HEADER,
    create_app,
    serve,
)
from teamlens.bot.webhook.events import REVIEWED_ACTIONS, PullRequestEvent
from teamlens.bot.webhook.settings import (
    SECRET_ENV,
    MissingSecretError,
    WebhookConfigError,
    WebhookSettings,
)
from teamlens.bot.webhook.worker import QueueFullError, Worker, WorkerStats, WorkerStoppedError

__all__ = [
    "DELIVERY_HEADER",
    "EVENT_HEADER",
    "RETRY_AFTER_SECONDS",
    "REVIEWED_ACTIONS",
    "SECRET_ENV",
    "SIGNATURE_HEADER",
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
