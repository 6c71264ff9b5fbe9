"""Progress for long work: a redrawn bar on a terminal, plain log lines elsewhere, and a
heartbeat, so that no stretch of a run passes without output.

- :class:`Progress` is the per-item callback of a stage, ``progress(label, done, total)``.
  On a terminal it redraws one line per label, named by its stage
  (``features flask [#####-----] 1,200/3,400 changes 310/s``); elsewhere it writes a log
  line at most every :data:`LOG_EVERY_SECONDS` and at the end
  (``features flask: 1,200/3,400 changes (35%), 310/s``). :meth:`Progress.step` names
  what a stage is doing where there is nothing to count
  (``train: fitting lightgbm on 3,000 changes``).
- :class:`RunProgress` runs stages one after another on one stream.
  :meth:`RunProgress.stage` gives the stage's :class:`Progress` and, while the stage
  runs, a background thread writes a heartbeat whenever nothing was written for
  ``heartbeat_seconds`` (default :data:`HEARTBEAT_SECONDS`, 3 s, so that even a loaded
  machine stays under five seconds of silence): the
  current step or the latest counts, with the time they have taken so far
  (``train: fitting lightgbm on 3,000 changes, 12 s``).

Progress names stages, repositories and counts only: never a person.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

#: A stage that wrote nothing for this long writes a heartbeat line.
HEARTBEAT_SECONDS = 3.0
#: Log lines (not on a terminal) of one label come at most this often, and at its end:
#: as often as heartbeats, so that counts that move are their own heartbeat.
LOG_EVERY_SECONDS = HEARTBEAT_SECONDS
#: A terminal bar is redrawn at most this often (and always at its end).
REDRAW_SECONDS = 0.1
_BAR_WIDTH = 30


def _seconds(elapsed: float) -> str:
    return f"{elapsed:.1f} s" if elapsed < 10 else f"{elapsed:,.0f} s"


class _Output:
    """One stream shared by a run's stages and its heartbeat thread.

    On a terminal one line may be open (redrawn in place); a whole line closes it first.
    """

    def __init__(self, stream: TextIO, interactive: bool) -> None:
        self.stream = stream
        self.interactive = interactive
        self.lock = threading.RLock()
        self.last_write = time.monotonic()
        self._open = 0  # the length of the line open on a terminal; 0: none

    def redraw(self, text: str) -> None:
        """Replace the open line (a terminal only)."""
        with self.lock:
            pad = " " * max(0, self._open - len(text))
            self.stream.write(f"\r{text}{pad}")
            self._open = len(text)
            self._flush()

    def line(self, text: str) -> None:
        """A whole line; on a terminal it replaces the open line."""
        with self.lock:
            if self.interactive and self._open:
                self.redraw(text)
                self.close_line()
                return
            self.stream.write(text + "\n")
            self._flush()

    def close_line(self) -> None:
        """End the open line (a terminal's bar stays on screen as it was last drawn)."""
        with self.lock:
            if self._open:
                self.stream.write("\n")
                self._open = 0
                self._flush()

    def _flush(self) -> None:
        self.stream.flush()
        self.last_write = time.monotonic()


class Progress:
    """Callable as ``progress(label, done, total)``; writes to stderr by default.

    ``verb`` names the stage (``mine``, ``features``, ...), ``unit`` what it counts.
    """

    def __init__(
        self,
        stream: TextIO | None = None,
        interactive: bool | None = None,
        unit: str = "commits",
        verb: str = "mine",
        *,
        output: _Output | None = None,
    ) -> None:
        if output is None:
            out = stream or sys.stderr
            output = _Output(out, out.isatty() if interactive is None else interactive)
        self.output = output
        self.unit = unit
        self.verb = verb
        self._started: dict[str, float] = {}
        self._last_log: dict[str, float] = {}
        self._last_drawn: dict[str, float] = {}
        self._counts: tuple[str, int, int] | None = None  # the latest (label, done, total)
        self._step: tuple[str, float] | None = None  # the current step and its start
        self._counts_newer = False  # whether the counts came after the step
        self._begun = time.monotonic()

    @property
    def interactive(self) -> bool:
        return self.output.interactive

    def __call__(self, label: str, done: int, total: int) -> None:
        with self.output.lock:
            now = time.monotonic()
            self._started.setdefault(label, now)
            self._counts = (label, done, total)
            self._counts_newer = True
            finished = done >= total
            if self.output.interactive:
                last = self._last_drawn.get(label)
                if not finished and last is not None and now - last < REDRAW_SECONDS:
                    return
                self._last_drawn[label] = now
                self.output.redraw(self._bar(label, done, total, now))
                if finished:
                    self.output.close_line()
                return
            if done == 0 and not finished:
                self._last_log[label] = now  # the clock starts; the first line comes later
                return
            last = self._last_log.get(label)
            if finished or last is None or now - last >= LOG_EVERY_SECONDS:
                self._last_log[label] = now
                self.output.line(self._line(label, done, total, now))

    def step(self, text: str) -> None:
        """Name what the stage does now, where there are no items to count."""
        with self.output.lock:
            self._step = (text, time.monotonic())
            self._counts_newer = False
            if self.output.interactive:
                self.output.redraw(f"{self.verb}: {text}")
            else:
                self.output.line(f"{self.verb}: {text}")

    def heartbeat(self) -> None:
        """Say that the stage is still at work: its latest counts or step, and for how long."""
        with self.output.lock:
            now = time.monotonic()
            if self._counts is not None and (self._counts_newer or self._step is None):
                label, done, total = self._counts
                self._last_log[label] = now  # the next log line of the label: later
                elapsed = now - self._started[label]
                text = f"{self._line(label, done, total, now)}, {_seconds(elapsed)}"
                if self.output.interactive:
                    text = f"{self._bar(label, done, total, now)} {_seconds(elapsed)}"
            elif self._step is not None:
                step, since = self._step
                text = f"{self.verb}: {step}, {_seconds(now - since)}"
            else:
                text = f"{self.verb}: working, {_seconds(now - self._begun)}"
            if self.output.interactive:
                self.output.redraw(text)
            else:
                self.output.line(text)

    def _rate(self, label: str, done: int, now: float) -> float:
        start = self._started[label]
        return done / (now - start) if now > start else 0.0

    def _bar(self, label: str, done: int, total: int, now: float) -> str:
        if total == 0:
            return f"{self.verb} {label}: no new {self.unit}"
        filled = int(_BAR_WIDTH * done / total) if total else _BAR_WIDTH
        bar = "#" * filled + "-" * (_BAR_WIDTH - filled)
        rate = self._rate(label, done, now)
        return f"{self.verb} {label} [{bar}] {done:,}/{total:,} {self.unit} {rate:,.0f}/s"

    def _line(self, label: str, done: int, total: int, now: float) -> str:
        if total == 0:
            return f"{self.verb} {label}: no new {self.unit}"
        pct = 100 * done / total if total else 100.0
        rate = self._rate(label, done, now)
        return f"{self.verb} {label}: {done:,}/{total:,} {self.unit} ({pct:.0f}%), {rate:,.0f}/s"


class RunProgress:
    """Stages one after another on one stream (stderr by default), each with a heartbeat."""

    def __init__(
        self,
        stream: TextIO | None = None,
        interactive: bool | None = None,
        heartbeat_seconds: float = HEARTBEAT_SECONDS,
    ) -> None:
        out = stream or sys.stderr
        self.output = _Output(out, out.isatty() if interactive is None else interactive)
        self.heartbeat_seconds = heartbeat_seconds

    @contextmanager
    def stage(self, name: str, unit: str = "items", step: str | None = None) -> Iterator[Progress]:
        """Run a stage: its :class:`Progress`, and a heartbeat while it runs."""
        progress = Progress(unit=unit, verb=name, output=self.output)
        if step is not None:
            progress.step(step)
        stop = threading.Event()
        beat = threading.Thread(
            target=self._beat, args=(progress, stop), name=f"teamlens-{name}-heartbeat", daemon=True
        )
        beat.start()
        try:
            yield progress
        finally:
            stop.set()
            beat.join()
            self.output.close_line()

    def _beat(self, progress: Progress, stop: threading.Event) -> None:
        tick = min(0.25, self.heartbeat_seconds / 4)
        while not stop.wait(tick):
            with self.output.lock:
                if time.monotonic() - self.output.last_write < self.heartbeat_seconds:
                    continue
                try:
                    progress.heartbeat()
                except (OSError, ValueError):  # the stream went away; the work goes on
                    return
