"""The report: one table of the load matrix, the issue's targets, and the JSON file.

A cell is one door × operation × connection count; its figures are the median
over the runs of successful answers per second, of p50 and of p99, and the sum
over the runs of error answers (status above 399) and socket errors. The
ratios divide a Trent cell's req/s by moto's (same operation and connections)
and by the echo floor's (same connections).
"""

from __future__ import annotations

import json
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from bench.doors import ECHO, LABELS
from bench.memory import SoakResult
from bench.micro import MicroResult
from bench.wrk import WrkResult

TRENT_DOORS = ("trent-rest", "trent-aws")
#: CPU use by others in the second before the run above which the report warns.
BUSY_BEFORE_START = 0.15


@dataclass
class Cell:
    door: str
    operation: str
    connections: int
    runs: list[WrkResult] = field(default_factory=list)
    #: The server's CPU per answered request in each run, ms, by process role
    #: (workers, audit-writer, master, audit-checkpointer).
    cpu_ms_by_role: list[dict[str, float]] = field(default_factory=list)

    @property
    def cpu_ms(self) -> list[float]:
        """The server's CPU (all its processes) per answered request in each run, ms."""
        return [sum(run.values()) for run in self.cpu_ms_by_role]

    def cpu_ms_of(self, role: str) -> float | None:
        """Median CPU per answered request of one role's processes, ms."""
        values = [run.get(role, 0.0) for run in self.cpu_ms_by_role]
        return statistics.median(values) if values else None

    @property
    def cpu_ms_per_request(self) -> float | None:
        return statistics.median(self.cpu_ms) if self.cpu_ms else None

    @property
    def per_second(self) -> float:
        return statistics.median(r.ok_per_second for r in self.runs)

    @property
    def p50_ms(self) -> float:
        return statistics.median(r.p50_ms for r in self.runs)

    @property
    def p99_ms(self) -> float:
        return statistics.median(r.p99_ms for r in self.runs)

    @property
    def non_2xx(self) -> int:
        return sum(r.non_2xx for r in self.runs)

    @property
    def socket_errors(self) -> int:
        return sum(r.socket_errors for r in self.runs)


def _find(cells: list[Cell], door: str, operation: str, connections: int) -> Cell | None:
    for cell in cells:
        if (cell.door, cell.operation, cell.connections) == (door, operation, connections):
            return cell
    return None


def ratios(cells: list[Cell], cell: Cell) -> dict[str, float | None]:
    moto = _find(cells, "moto", cell.operation, cell.connections)
    echo = _find(cells, "echo", ECHO, cell.connections)
    versus_moto = None
    if cell.door in TRENT_DOORS and moto and moto.runs and moto.per_second:
        versus_moto = cell.per_second / moto.per_second
    versus_echo = None
    if cell.door != "echo" and echo and echo.runs and echo.per_second:
        versus_echo = cell.per_second / echo.per_second
    return {"trent_over_moto": versus_moto, "over_echo": versus_echo}


def _ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


#: The table's columns: title and width; the first two are left-aligned.
COLUMNS = (
    ("door", 10),
    ("operation", 15),
    ("conn", 4),
    ("req/s", 8),
    ("p50 ms", 7),
    ("p99 ms", 7),
    ("non-2xx", 7),
    ("sock", 4),
    ("cpu ms", 6),
    ("writer", 6),
    ("×moto", 5),
    ("×echo", 5),
)


def _row(values: list[str]) -> str:
    cells = [
        value.ljust(width) if index < 2 else value.rjust(width)
        for index, (value, (_, width)) in enumerate(zip(values, COLUMNS, strict=True))
    ]
    return "  ".join(cells).rstrip()


def _writer(cell: Cell) -> str:
    """The audit writer process's share of ``cpu ms`` (Trent's doors only)."""
    if cell.door not in TRENT_DOORS:
        return "—"
    value = cell.cpu_ms_of("audit-writer")
    return "—" if value is None else f"{value:.2f}"


def table(cells: list[Cell]) -> str:
    lines = [_row([title for title, _ in COLUMNS]), _row(["-" * width for _, width in COLUMNS])]
    for cell in cells:
        if not cell.runs:
            continue
        ratio = ratios(cells, cell)
        lines.append(
            _row(
                [
                    cell.door,
                    LABELS[cell.operation],
                    str(cell.connections),
                    f"{cell.per_second:.1f}",
                    f"{cell.p50_ms:.1f}",
                    f"{cell.p99_ms:.1f}",
                    str(cell.non_2xx),
                    str(cell.socket_errors),
                    "—" if cell.cpu_ms_per_request is None else f"{cell.cpu_ms_per_request:.2f}",
                    _writer(cell),
                    _ratio(ratio["trent_over_moto"]),
                    _ratio(ratio["over_echo"]),
                ]
            )
        )
    return "\n".join(lines)


@dataclass(frozen=True)
class Target:
    name: str
    goal: str
    value: str
    met: bool | None

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "goal": self.goal, "value": self.value, "met": self.met}


def targets(
    cells: list[Cell], audit_per_second: float | None, memory_flat: bool | None, memory_text: str
) -> list[Target]:
    """The issue's targets, checked against this run's figures."""
    found: list[Target] = []
    for door in TRENT_DOORS:
        cell = _find(cells, door, "Encrypt", 16)
        if cell is None or not cell.runs:
            continue
        ratio = ratios(cells, cell)
        # Issue 13 retired Trent/echo >= 0.6: every server model moves the echo
        # as much as Trent. The ×echo column still shows it.
        value = ratio["trent_over_moto"]
        found.append(
            Target(
                f"{door} Encrypt 1 KB @16: Trent/moto",
                "≥ 6×",
                _ratio(value),
                None if value is None else value >= 6.0,
            )
        )
    for door in TRENT_DOORS:
        for operation in ("Encrypt", "Decrypt", "GenerateDataKey"):
            cell = _find(cells, door, operation, 16)
            if cell is not None and cell.runs:
                found.append(
                    Target(
                        f"{door} {LABELS[operation]} @16: p99",
                        "≤ 20 ms",
                        f"{cell.p99_ms:.1f} ms",
                        cell.p99_ms <= 20.0,
                    )
                )
    found.append(
        Target(
            "audit: 16 writers (2 proc x 8 threads) via the audit writer, SQLite durable",
            "≥ 3,000 events/s",
            "not measured" if audit_per_second is None else f"{audit_per_second:,.0f} events/s",
            None if audit_per_second is None else audit_per_second >= 3000,
        )
    )
    found.append(
        Target("memory: worker RSS over the soak", "flat ± 10 %", memory_text, memory_flat)
    )
    return found


def targets_text(found: list[Target]) -> str:
    marks = {True: "met", False: "NOT MET", None: "—"}
    width = max(len(t.name) for t in found)
    return "\n".join(
        f"{t.name:<{width}}  {t.goal:<16}  {t.value:<24}  {marks[t.met]}" for t in found
    )


def _run(command: list[str]) -> str:
    try:
        completed = subprocess.run(command, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return completed.stdout.strip() or "unknown"


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def cpu_busy(seconds: float = 1.0) -> float | None:
    """The fraction of all CPUs' time spent not idle over ``seconds`` (from /proc/stat)."""

    def sample() -> tuple[int, int]:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
        return sum(fields), idle

    try:
        total_before, idle_before = sample()
        time.sleep(seconds)
        total_after, idle_after = sample()
    except (OSError, ValueError, IndexError):
        return None
    total = total_after - total_before
    return 1 - (idle_after - idle_before) / total if total else None


def machine(repository: Path, wrk_version: str) -> dict[str, Any]:
    cpu_model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_kib = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_kib = int(line.split()[1])
    except OSError:
        pass
    commit = _run(["git", "-C", str(repository), "rev-parse", "--short", "HEAD"])
    dirty = _run(["git", "-C", str(repository), "status", "--porcelain", "--untracked-files=no"])
    return {
        "cpu_model": cpu_model,
        "cores": os.cpu_count(),
        "memory_gib": round(memory_kib / 1024 / 1024, 1) if memory_kib else None,
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "cpu_busy_before_start": cpu_busy(),
        "kernel": platform.release(),
        "python": sys.version.split()[0],
        "sqlite": sqlite3.sqlite_version,
        "wrk": wrk_version,
        "packages": {
            name: _version(name)
            for name in ("trent", "flask", "gunicorn", "cryptography", "pyjwt", "peewee", "moto")
        },
        "commit": commit + (" (modified)" if dirty not in ("", "unknown") else ""),
    }


def machine_text(info: dict[str, Any]) -> str:
    return (
        f"{info['cpu_model']}, {info['cores']} cores, {info['memory_gib']} GiB; "
        f"Linux {info['kernel']}; Python {info['python']}, SQLite {info['sqlite']}; "
        f"{info['wrk']}; trent {info['commit']}"
    )


def write_json(path: Path, document: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def default_json_path(results_dir: Path) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return results_dir / f"bench-{stamp}.json"


def cells_json(cells: list[Cell]) -> list[dict[str, Any]]:
    return [
        {
            "door": cell.door,
            "operation": cell.operation,
            "connections": cell.connections,
            "requests_per_second": round(cell.per_second, 1),
            "p50_ms": round(cell.p50_ms, 2),
            "p99_ms": round(cell.p99_ms, 2),
            "non_2xx": cell.non_2xx,
            "socket_errors": cell.socket_errors,
            "cpu_ms_per_request": (
                None if cell.cpu_ms_per_request is None else round(cell.cpu_ms_per_request, 3)
            ),
            **{k: None if v is None else round(v, 3) for k, v in ratios(cells, cell).items()},
            "runs": [r.as_json() for r in cell.runs],
            "cpu_ms_per_request_runs": [round(v, 3) for v in cell.cpu_ms],
            "cpu_ms_per_request_by_role": {
                role: round(cell.cpu_ms_of(role) or 0.0, 3)
                for role in sorted({r for run in cell.cpu_ms_by_role for r in run})
            },
        }
        for cell in cells
        if cell.runs
    ]


def print_report(
    info: dict[str, Any],
    settings: str,
    cells: list[Cell],
    found: list[Target],
    micro_results: list[MicroResult],
    soak_result: SoakResult | None,
    json_path: Path,
    document: dict[str, Any],
) -> None:
    print(f"\nTrent benchmark — {document['started']}")
    print(f"machine: {machine_text(info)}")
    busy = info["cpu_busy_before_start"]
    if busy is not None and busy > BUSY_BEFORE_START:
        print(
            f"warning: the CPUs were {busy:.0%} busy in the second before the run: other work "
            "shared the machine, so the figures are pessimistic (the ratios less so)"
        )
    print(f"load: {settings}")
    print(
        "trent-rest: bearer JWT; trent-aws: SigV4 pre-signed per run (verified per request); "
        "req/s counts 2xx answers only\n"
    )
    print(table(cells))
    print("\ntargets (issue 13; with slow clients: python -m bench.slow_clients):")
    print(targets_text(found))
    if soak_result is not None:
        print(
            f"\nmemory soak: trent-rest Encrypt 1 KB c16 for {soak_result.seconds} s "
            f"({soak_result.load.ok_per_second:.0f} req/s), RSS per worker:"
        )
        for worker in soak_result.workers:
            print(
                f"  pid {worker['pid']}: first {worker['first_mib']} MiB, last "
                f"{worker['last_mib']} MiB, max {worker['max_mib']} MiB, "
                f"change {worker['change_percent']:+.1f} % ({worker['samples']} samples)"
            )
        if soak_result.replaced:
            print(f"  workers replaced during the soak: {soak_result.replaced}")
    for result in micro_results:
        status = "" if result.returncode == 0 else f" — FAILED ({result.returncode})"
        print(f"\nmicro: {result.name} ({result.command}, {result.seconds} s){status}")
        print(result.output)
    print(f"\nwritten: {json_path}  (run took {document['elapsed_seconds']:.0f} s)")
