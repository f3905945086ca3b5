"""The memory check: each Trent worker's RSS, sampled during a long run.

``python -m bench --soak 300`` loads Trent's REST door with Encrypt 1 KB at 16
connections for 300 s (the issue's 5-minute check) and reads ``VmRSS`` of
every gunicorn worker (the children of the master) at regular intervals. The
workers have already served the load matrix, so the first sample is a warm
process, not a fresh import. A worker is flat when its last sample is within
±10 % of its first.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from bench import servers, wrk
from bench.doors import LoadSpec
from bench.errors import BenchError

FLAT_PERCENT = 10.0


@dataclass
class WorkerMemory:
    pid: int
    samples_kib: list[int] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        first, last = self.samples_kib[0], self.samples_kib[-1]
        change = (last - first) / first * 100 if first else 0.0
        return {
            "pid": self.pid,
            "samples": len(self.samples_kib),
            "first_mib": round(first / 1024, 1),
            "last_mib": round(last / 1024, 1),
            "max_mib": round(max(self.samples_kib) / 1024, 1),
            "change_percent": round(change, 1),
            "flat": abs(change) <= FLAT_PERCENT,
        }


@dataclass(frozen=True)
class SoakResult:
    seconds: int
    interval: float
    workers: list[dict[str, Any]]
    load: wrk.WrkResult
    #: Workers that appeared or vanished during the run (a restart is a finding).
    replaced: list[int]

    def as_json(self) -> dict[str, Any]:
        return {
            "seconds": self.seconds,
            "interval_seconds": self.interval,
            "workers": self.workers,
            "replaced_workers": self.replaced,
            "load": self.load.as_json(),
        }


def worker_rss(master_pid: int) -> dict[int, int]:
    """The RSS (KiB) of each gunicorn worker of ``master_pid`` right now."""
    sizes = {pid: servers.rss_kib(pid) for pid in servers.child_pids(master_pid)}
    return {pid: size for pid, size in sizes.items() if size is not None}


def soak(
    wrk_path: str, spec: LoadSpec, master_pid: int, seconds: int, connections: int = 16
) -> SoakResult:
    interval = max(1.0, seconds / 60)
    workers: dict[int, WorkerMemory] = {}
    seen_at_start = set(worker_rss(master_pid))
    process = wrk.start(wrk_path, spec, connections, seconds)
    try:
        deadline = time.monotonic() + seconds + 30
        while process.poll() is None:
            if time.monotonic() > deadline:
                raise BenchError(f"the soak's wrk did not finish within {seconds + 30} s")
            for pid, size in worker_rss(master_pid).items():
                workers.setdefault(pid, WorkerMemory(pid)).samples_kib.append(size)
            time.sleep(interval)
        stdout, stderr = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
    if process.returncode != 0:
        raise BenchError(f"the soak's wrk failed ({process.returncode}): {stderr[-1000:]}")
    replaced = sorted(seen_at_start.symmetric_difference(workers))
    return SoakResult(
        seconds=seconds,
        interval=interval,
        workers=[w.summary() for w in workers.values() if w.samples_kib],
        load=wrk.parse(stdout, connections),
        replaced=replaced,
    )
