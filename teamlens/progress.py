"""Progress for long work: a redrawn bar on a terminal, plain log lines elsewhere."""

from __future__ import annotations

import sys
import time
from typing import TextIO

LOG_EVERY_SECONDS = 5.0


class Progress:
    """Callable as ``progress(label, done, total)``; writes to stderr by default."""

    def __init__(
        self,
        stream: TextIO | None = None,
        interactive: bool | None = None,
        unit: str = "commits",
        verb: str = "mine",
    ) -> None:
        self.stream = stream or sys.stderr
        self.unit = unit
        self.verb = verb
        self.interactive = self.stream.isatty() if interactive is None else interactive
        self._last_log: dict[str, float] = {}
        self._started: dict[str, float] = {}

    def __call__(self, label: str, done: int, total: int) -> None:
        now = time.monotonic()
        start = self._started.setdefault(label, now)
        rate = done / (now - start) if now > start else 0.0
        finished = done >= total
        if self.interactive:
            width = 30
            filled = int(width * done / total) if total else width
            bar = "#" * filled + "-" * (width - filled)
            self.stream.write(f"\r{label} [{bar}] {done}/{total} {self.unit} {rate:,.0f}/s")
            if finished:
                self.stream.write("\n")
            self.stream.flush()
            return
        if done == 0 and not finished:
            self._last_log[label] = now  # the clock starts; the first line comes later
            return
        last = self._last_log.get(label)
        if finished or last is None or now - last >= LOG_EVERY_SECONDS:
            self._last_log[label] = now
            pct = 100 * done / total if total else 100.0
            self.stream.write(
                f"{self.verb} {label}: {done}/{total} {self.unit} ({pct:.0f}%), {rate:,.0f}/s\n"
            )
            self.stream.flush()
