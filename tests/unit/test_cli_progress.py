"""The progress line of long jobs: drawn in place, at most five times a
second, ended by a newline, and nothing at all when disabled."""

from __future__ import annotations

import io
import sys

import pytest

from app.cli.progress import REDRAW_SECONDS, Progress


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_redraws_are_spaced_and_the_last_count_ends_the_line() -> None:
    stream, clock = io.StringIO(), Clock()
    with Progress("verified", stream=stream, enabled=True, clock=clock) as progress:
        progress.update(1, 4000)
        progress.update(2)  # too soon: not drawn
        clock.now += REDRAW_SECONDS
        progress.update(3000)
        progress.update(4000)
    assert stream.getvalue() == (
        "\rverified: 1 of 4,000 events (0%)"
        "\rverified: 3,000 of 4,000 events (75%)"
        "\rverified: 4,000 of 4,000 events (100%)\n"
    )


def test_without_a_total_the_count_alone_is_shown() -> None:
    stream = io.StringIO()
    with Progress("exported", stream=stream, enabled=True, clock=Clock()) as progress:
        progress.update(12345)
    assert stream.getvalue() == "\rexported: 12,345 events\rexported: 12,345 events\n"


def test_disabled_progress_writes_nothing() -> None:
    stream = io.StringIO()
    with Progress("verified", stream=stream, enabled=False) as progress:
        progress.update(5, 10)
    assert stream.getvalue() == ""


def test_a_job_that_never_reported_leaves_no_empty_line() -> None:
    stream = io.StringIO()
    with Progress("verified", stream=stream, enabled=True):
        pass
    assert stream.getvalue() == ""


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_it_is_enabled_only_when_stderr_is_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert Progress("verified").enabled is False
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    with Progress("verified", clock=Clock()) as progress:
        progress.update(1, 2)
    assert terminal.getvalue().endswith("(50%)\n")
