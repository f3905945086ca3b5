"""The authentication-failure sampler, driven by an injected clock."""

from __future__ import annotations

import pytest

from app.audit.auth_failures import AuthFailureSampler, SuppressedFailures


class Clock:
    def __init__(self, now: float = 6000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_first_n_per_source_are_recorded_then_counted() -> None:
    clock = Clock()
    sampler = AuthFailureSampler(clock, per_source_limit=3, window_seconds=60)
    decisions = [sampler.admit("10.0.0.1")[0] for _ in range(10)]
    assert decisions == [True] * 3 + [False] * 7
    # Another source has its own allowance.
    assert sampler.admit("10.0.0.2") == (True, [])


def test_the_summary_comes_with_the_next_recorded_failure_after_the_window() -> None:
    clock = Clock(6000.0)
    sampler = AuthFailureSampler(clock, per_source_limit=2, window_seconds=60)
    for _ in range(7):
        sampler.admit("10.0.0.1")
    clock.now = 6059.9
    assert sampler.admit("10.0.0.1") == (False, [])  # same window: 6 suppressed
    clock.now = 6060.0
    recorded, due = sampler.admit("10.0.0.9")
    assert recorded
    assert due == [SuppressedFailures("10.0.0.1", False, 6000.0, 60, 6)]
    # A summary is handed out once.
    assert sampler.admit("10.0.0.1") == (True, [])


def test_polling_writes_summaries_of_ended_windows() -> None:
    clock = Clock(0.0)
    sampler = AuthFailureSampler(clock, per_source_limit=1, window_seconds=10)
    for _ in range(5):
        sampler.admit(None)
    assert sampler.due_summaries() == []  # window not over
    clock.now = 25.0
    assert sampler.due_summaries() == [SuppressedFailures(None, False, 0.0, 10, 4)]
    assert sampler.due_summaries() == []


def test_the_global_limit_bounds_sources_and_overflow_is_one_bucket() -> None:
    clock = Clock(0.0)
    sampler = AuthFailureSampler(clock, per_source_limit=2, window_seconds=60, global_limit=5)
    recorded = sum(sampler.admit(f"10.0.{i // 256}.{i % 256}")[0] for i in range(10_000))
    assert recorded == 5
    assert sampler.admit("10.0.0.0") == (False, [])  # tracked, but the window is full
    clock.now = 60.0
    summaries = sampler.due_summaries()
    assert sum(s.count for s in summaries) == 10_000 - 5 + 1
    assert [s for s in summaries if s.overflow] == [
        SuppressedFailures(None, True, 0.0, 60, 10_000 - 5)
    ]
    assert len(summaries) == 2  # the overflow bucket and the one tracked source


def test_every_failure_is_accounted_for() -> None:
    clock = Clock(0.0)
    sampler = AuthFailureSampler(clock, per_source_limit=4, window_seconds=1, global_limit=50)
    recorded = 0
    summarised = 0
    total = 0
    for step in range(3000):
        clock.now = step * 0.01
        ok, due = sampler.admit(f"192.0.2.{step % 17}")
        total += 1
        recorded += ok
        summarised += sum(s.count for s in due)
    clock.now = 1000.0
    summarised += sum(s.count for s in sampler.due_summaries())
    assert recorded + summarised == total
    # At most global_limit records per window: 30 windows here.
    assert recorded <= 30 * 50


def test_restored_summaries_are_handed_out_again() -> None:
    clock = Clock(0.0)
    sampler = AuthFailureSampler(clock, per_source_limit=1, window_seconds=60)
    sampler.admit("a")
    sampler.admit("a")
    clock.now = 60.0
    recorded, due = sampler.admit("b")
    assert recorded and due
    sampler.restore(due)
    assert sampler.due_summaries() == due


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError):
        AuthFailureSampler(Clock(), per_source_limit=0)
    with pytest.raises(ValueError):
        AuthFailureSampler(Clock(), window_seconds=0)
