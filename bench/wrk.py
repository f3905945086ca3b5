"""Running wrk, the load generator, and reading its figures.

Every run is bounded: wrk's own ``-d`` duration, and a subprocess timeout a
little above it. The Lua script's ``done()`` (``bench/lua/common.lua``) prints
one ``BENCH_RESULT {json}`` line, which :func:`run` turns into a :class:`WrkResult`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import asdict, dataclass
from typing import Any

from bench.doors import LoadSpec
from bench.errors import BenchError

INSTALL_HINT = (
    "wrk is not installed. It is the load generator of `python -m bench`; install it from "
    "Debian's packages with `apt-get install wrk` (as root, after `apt-get update`), or your "
    "distribution's `wrk` package (4.x, built with LuaJIT)."
)
#: A response slower than this counts as a timeout error rather than a latency.
REQUEST_TIMEOUT = "10s"
RESULT_PREFIX = "BENCH_RESULT "


def require_wrk() -> str:
    """The path of wrk, or a :class:`BenchError` that says how to install it."""
    path = shutil.which("wrk")
    if path is None:
        raise BenchError(INSTALL_HINT)
    return path


def version(path: str) -> str:
    completed = subprocess.run([path, "-v"], capture_output=True, text=True, timeout=10)
    output = (completed.stdout + completed.stderr).strip().splitlines()
    return output[0].split(" Copyright")[0] if output else "unknown"


@dataclass(frozen=True)
class WrkResult:
    connections: int
    seconds: float
    requests: int
    #: Answers with a status above 399 (wrk counts these as ``errors.status``).
    non_2xx: int
    #: connect, read, write and timeout errors together.
    socket_errors: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    mean_ms: float

    @property
    def ok_per_second(self) -> float:
        """Successful answers per second: error answers are not throughput."""
        return (self.requests - self.non_2xx) / self.seconds if self.seconds else 0.0

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "ok_per_second": round(self.ok_per_second, 1)}


def command(path: str, spec: LoadSpec, connections: int, seconds: int) -> list[str]:
    return [
        path,
        f"-t{min(2, connections)}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        REQUEST_TIMEOUT,
        "-s",
        str(spec.script),
        spec.url,
    ]


def parse(output: str, connections: int) -> WrkResult:
    for line in output.splitlines():
        if line.startswith(RESULT_PREFIX):
            raw = json.loads(line[len(RESULT_PREFIX) :])
            return WrkResult(
                connections=connections,
                seconds=raw["duration_us"] / 1e6,
                requests=int(raw["requests"]),
                non_2xx=int(raw["status"]),
                socket_errors=int(raw["connect"] + raw["read"] + raw["write"] + raw["timeout"]),
                p50_ms=raw["p50_us"] / 1000,
                p90_ms=raw["p90_us"] / 1000,
                p99_ms=raw["p99_us"] / 1000,
                max_ms=raw["max_us"] / 1000,
                mean_ms=raw["mean_us"] / 1000,
            )
    raise BenchError(f"wrk printed no {RESULT_PREFIX.strip()} line:\n{output[-2000:]}")


def run(path: str, spec: LoadSpec, connections: int, seconds: int) -> WrkResult:
    """One bounded wrk run of ``spec``."""
    environment = {**os.environ, **spec.environment}
    try:
        completed = subprocess.run(
            command(path, spec, connections, seconds),
            env=environment,
            capture_output=True,
            text=True,
            timeout=seconds + 30,
        )
    except subprocess.TimeoutExpired:
        raise BenchError(f"wrk did not finish within {seconds + 30} s ({spec.url})") from None
    if completed.returncode != 0:
        raise BenchError(
            f"wrk failed ({completed.returncode}) on {spec.url}:\n"
            f"{completed.stdout[-1000:]}{completed.stderr[-1000:]}"
        )
    return parse(completed.stdout, connections)


def start(path: str, spec: LoadSpec, connections: int, seconds: int) -> subprocess.Popen[str]:
    """A wrk run in the background (the memory soak samples while it runs)."""
    return subprocess.Popen(
        command(path, spec, connections, seconds),
        env={**os.environ, **spec.environment},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
