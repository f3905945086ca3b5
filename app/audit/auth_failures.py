"""Bounding the audit records of authentication failures (401s).

Anyone can send a request with a bad token, so recording every 401 would let
an unauthenticated flood grow the audit table without bound (and turn the
audit path into a denial-of-service lever). Instead, per process:

* time is cut into fixed windows (default 60 s, aligned to the epoch);
* in each window the first ``per_source_limit`` failures (default 20) from
  each source IP are recorded as full events;
* at most ``global_limit`` failures (default 1000) are recorded per window in
  all, and at most that many sources are tracked, so spoofed or distributed
  sources cannot grow memory or the table either;
* every other failure is only counted, in memory, against its source (or,
  for a source not tracked in this window, against one "overflow" bucket);
* the counts of a finished window become one summary event per source (plus
  one for the overflow bucket), written with the next recorded failure or
  when :meth:`AuthFailureSampler.due_summaries` is polled (the scheduler).

So one process writes at most ``2 * global_limit + 1`` rows per window
whatever the traffic, and every failure is still accounted for: as an event
or inside a summary's count. The state is per process (each worker has its
own limits) and is lost if a process dies before its summaries are written.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass

DEFAULT_PER_SOURCE_LIMIT = 20
DEFAULT_WINDOW_SECONDS = 60.0
DEFAULT_GLOBAL_LIMIT = 1000


@dataclass(frozen=True)
class SuppressedFailures:
    """Failures that were counted but not recorded in one window."""

    #: The source IP (``None`` if unknown, or for the overflow bucket).
    source_ip: str | None
    #: True for the bucket of sources not tracked in that window.
    overflow: bool
    window_start: float
    window_seconds: float
    count: int


class AuthFailureSampler:
    def __init__(
        self,
        clock: Callable[[], float],
        *,
        per_source_limit: int = DEFAULT_PER_SOURCE_LIMIT,
        window_seconds: float = DEFAULT_WINDOW_SECONDS,
        global_limit: int = DEFAULT_GLOBAL_LIMIT,
    ) -> None:
        if per_source_limit < 1 or global_limit < 1 or not window_seconds > 0:
            raise ValueError("limits must be positive")
        self._clock = clock
        self.per_source_limit = per_source_limit
        self.window_seconds = window_seconds
        self.global_limit = global_limit
        self._lock = threading.Lock()
        self._window: int | None = None
        self._recorded: dict[str, int] = {}
        self._recorded_total = 0
        # Key "" is the source-less bucket; None the overflow bucket.
        self._suppressed: dict[str | None, int] = {}
        self._pending: list[SuppressedFailures] = []

    def _roll_over(self, window: int) -> None:
        """Start ``window``; the counts of the one that ended become pending summaries."""
        if self._window is not None and window != self._window:
            start = self._window * self.window_seconds
            for source, count in self._suppressed.items():
                if count:
                    self._pending.append(
                        SuppressedFailures(
                            source or None,
                            source is None,
                            start,
                            self.window_seconds,
                            count,
                        )
                    )
            self._recorded.clear()
            self._suppressed.clear()
            self._recorded_total = 0
        self._window = window

    def _current_window(self) -> int:
        return math.floor(self._clock() / self.window_seconds)

    def admit(self, source_ip: str | None) -> tuple[bool, list[SuppressedFailures]]:
        """Decide about one failure from ``source_ip``.

        Returns whether to record it and, when it is recorded, the summaries
        due to be written with it (the caller hands them back through
        :meth:`restore` if writing fails).
        """
        source = source_ip or ""
        with self._lock:
            self._roll_over(self._current_window())
            tracked = source in self._recorded
            if (
                self._recorded.get(source, 0) < self.per_source_limit
                and self._recorded_total < self.global_limit
            ):
                self._recorded[source] = self._recorded.get(source, 0) + 1
                self._recorded_total += 1
                due, self._pending = self._pending, []
                return True, due
            bucket: str | None = source if tracked else None
            self._suppressed[bucket] = self._suppressed.get(bucket, 0) + 1
            return False, []

    def due_summaries(self) -> list[SuppressedFailures]:
        """Summaries of windows that have ended; the caller must write them."""
        with self._lock:
            self._roll_over(self._current_window())
            due, self._pending = self._pending, []
            return due

    def restore(self, summaries: list[SuppressedFailures]) -> None:
        """Put back summaries that could not be written, to try again later."""
        if summaries:
            with self._lock:
                self._pending[:0] = summaries
