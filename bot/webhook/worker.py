"""The webhook's worker: a bounded queue and one thread that feeds events to the handler.

An exception from the handler is counted and logged by its type and place only, never its
message (which might quote a token or a payload); the worker goes on with the next event.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePath

from teamlens.bot.webhook.events import PullRequestEvent
from teamlens.bot.webhook.settings import WebhookConfigError

# One logger for the whole webhook server, the name operators configure.
logger = logging.getLogger("teamlens.bot.webhook")


class QueueFullError(RuntimeError):
    """The worker's queue holds ``queue_size`` events already."""


class WorkerStoppedError(RuntimeError):
    """The worker is stopping or stopped and takes no more events."""


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
