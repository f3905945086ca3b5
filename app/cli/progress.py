"""Progress of long jobs (``audit verify``, ``audit export``) on stderr.

Shown only when stderr is a terminal: a stderr that goes to a file, a pipe
or cron's mail gets no carriage-return noise, and stdout never carries
anything but results. The line is redrawn at most five times a second, so a
job of millions of events spends nothing noticeable on it.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from types import TracebackType
from typing import TextIO

REDRAW_SECONDS = 0.2


def stderr_is_terminal() -> bool:
    return sys.stderr.isatty()


class Progress:
    """``label: done of total unit (percent)`` on one line, redrawn in place.

    ``update`` is cheap to call for every item; it draws only when enabled
    and ``REDRAW_SECONDS`` have passed since the last drawing. Leaving the
    ``with`` block draws the final count and ends the line.
    """

    def __init__(
        self,
        label: str,
        *,
        unit: str = "events",
        stream: TextIO | None = None,
        enabled: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.label = label
        self.unit = unit
        self._stream = stream
        self.enabled = stderr_is_terminal() if enabled is None else enabled
        self._clock = clock
        self._drawn_at: float | None = None
        self._done = 0
        self._total: int | None = None

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def update(self, done: int, total: int | None = None) -> None:
        self._done = done
        if total is not None:
            self._total = total
        if not self.enabled:
            return
        now = self._clock()
        if self._drawn_at is None or now - self._drawn_at >= REDRAW_SECONDS:
            self._draw()
            self._drawn_at = now

    def close(self) -> None:
        """Draw the last count and end the line (only if anything was drawn)."""
        if self.enabled and self._drawn_at is not None:
            self._draw()
            self._write("\n")
            self._drawn_at = None

    def _draw(self) -> None:
        text = f"{self.label}: {self._done:,}"
        if self._total:
            share = min(100, self._done * 100 // self._total)
            text += f" of {self._total:,} {self.unit} ({share}%)"
        else:
            text += f" {self.unit}"
        self._write(f"\r{text}")

    def _write(self, text: str) -> None:
        stream = self._stream or sys.stderr
        stream.write(text)
        stream.flush()
