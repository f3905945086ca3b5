"""The micro-benchmarks of the pieces, run as subprocesses in a short mode.

Each existing module (``bench.policy_eval``, ``bench.crypto_ops``,
``bench.token_verify``, ``bench.audit_append``, ``bench.signing``) is run as ``python -m`` with
options that keep it short, and its output is kept verbatim in the report.
A failing micro-benchmark is reported, not fatal: the load figures stand alone.
They run after the servers have stopped, on a quiet machine.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class MicroBenchmark:
    name: str
    module: str
    quick: tuple[str, ...]
    default: tuple[str, ...]


#: The audit target's 16 writers, as the service has them: 2 gunicorn
#: workers x 8 threads, appending through the audit writer process.
AUDIT_PROCESSES = 2
AUDIT_THREADS = 8

MICRO_BENCHMARKS = (
    MicroBenchmark(
        "policy evaluation", "bench.policy_eval", ("--seconds", "0.1"), ("--seconds", "0.5")
    ),
    MicroBenchmark("ciphertext encrypt/decrypt", "bench.crypto_ops", (), ()),
    MicroBenchmark(
        "token verification",
        "bench.token_verify",
        ("--iterations", "100"),
        ("--iterations", "1000"),
    ),
    MicroBenchmark(
        "audit append (SQLite, durable)",
        "bench.audit_append",
        (
            "--skip-search",
            "--engines",
            "sqlite",
            "--writers",
            "4",
            "--service-writers",
            f"{AUDIT_PROCESSES}x{AUDIT_THREADS}",
            "--seconds",
            "1",
        ),
        (
            "--skip-search",
            "--engines",
            "sqlite",
            "--writers",
            "1,16",
            "--service-writers",
            f"{AUDIT_PROCESSES}x{AUDIT_THREADS}",
            "--seconds",
            "3",
        ),
    ),
    MicroBenchmark(
        "sign/verify and MAC per key spec",
        "bench.signing",
        ("--seconds", "0.05", "--rounds", "1"),
        ("--seconds", "0.3", "--rounds", "3"),
    ),
)


@dataclass(frozen=True)
class MicroResult:
    name: str
    command: str
    seconds: float
    returncode: int
    output: str

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def run_all(repository: Path, quick: bool) -> list[MicroResult]:
    results = []
    for benchmark in MICRO_BENCHMARKS:
        arguments = benchmark.quick if quick else benchmark.default
        command = [sys.executable, "-m", benchmark.module, *arguments]
        print(f"micro: {benchmark.name} …", file=sys.stderr, flush=True)
        started = time.monotonic()
        try:
            completed = subprocess.run(
                command,
                cwd=repository,
                capture_output=True,
                text=True,
                timeout=60 if quick else 300,
            )
            output = completed.stdout.rstrip()
            if completed.returncode != 0:
                output += "\n" + completed.stderr.rstrip()[-2000:]
            returncode = completed.returncode
        except subprocess.TimeoutExpired:
            output, returncode = "timed out", -1
        results.append(
            MicroResult(
                name=benchmark.name,
                command=" ".join(["python", "-m", benchmark.module, *arguments]),
                seconds=round(time.monotonic() - started, 1),
                returncode=returncode,
                output=output,
            )
        )
    return results


def audit_events_per_second(
    results: list[MicroResult], processes: int = AUDIT_PROCESSES, threads: int = AUDIT_THREADS
) -> float | None:
    """Durable events/s on SQLite with ``processes`` x ``threads`` writers
    appending through the audit writer process, read from the "writer process"
    row of ``bench.audit_append``'s table (c).

    ``None`` if that row is missing, or if some of its events went through the
    in-process fallback instead: then it did not measure the writer path.
    """
    row = re.compile(
        rf"^writer process\s+{processes}x{threads}\s+([\d,]+)\s+\S+\s+\S+\s+([\d,]+)\s+([\d,]+)$",
        re.MULTILINE,
    )
    for result in results:
        if result.name.startswith("audit append") and result.returncode == 0:
            found = row.search(result.output)
            if found and int(found.group(3).replace(",", "")) == 0:
                return float(found.group(1).replace(",", ""))
    return None
