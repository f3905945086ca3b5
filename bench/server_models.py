"""Server models side by side: ``python -m bench.server_models``.

How the choice of what serves Trent's requests was made, and how to make it
again. Each model serves the same WSGI application (``wsgi.py``) with the audit
writer and checkpointer processes beside it, started the way ``trent serve``
starts them (:class:`app.cli.supervisor.ChildSupervisor`):

==========  ==================================================================
``gthread`` gunicorn's threaded worker, 8 threads a worker, its Python HTTP
            parser: ``trent serve`` until 6 December
``gevent``  gunicorn with Trent's gevent worker (:mod:`app.serving`) and
            gunicorn's C HTTP parser (gunicorn_h1c): ``trent serve`` now
``granian`` granian's WSGI interface (HTTP parsed in Rust, the application on
            8 blocking threads a worker), header read timeout 5 s
==========  ==================================================================

(``gevent-plain``, gunicorn's own gevent worker and its Python HTTP parser,
shows what Trent's additions and the C parser change.)

In interleaved rounds (every model once per round, each started afresh) it
loads REST and AWS-door Encrypt (1 KiB, 16 connections), then REST Encrypt
again with 200 slow connections open (:class:`bench.slow_clients.SlowClients`:
request line and Host, then a header byte every 3 s), then with 32 whose
headers are complete and whose body comes a byte every 3 s, and prints req/s,
p50, p99 and the server's CPU per answer of every run, and the medians.

``--models a,b`` (all three), ``--rounds N`` (2), ``--duration S`` (6),
``--workers N`` (CPUs), ``--slow N`` (200).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import harness, report, servers, wrk
from bench.doors import LoadSpec, probe
from bench.errors import BenchError
from bench.slow_clients import SlowClients, slow_body_head

REPOSITORY = Path(__file__).resolve().parent.parent
MODELS = ("gthread", "gevent", "granian", "gevent-plain")
OPERATION = "Encrypt"
#: Slow bodies: more than the 16 threads of the threaded models, fewer than
#: the per-address cap (no model is spared by a cap).
SLOW_BODIES = 32


def _gunicorn(model: str, address: str, workers: int) -> None:
    from gunicorn.app.base import BaseApplication

    from app import create_app
    from app.config import load_settings
    from app.serving.options import gunicorn_options

    settings = load_settings()
    options = gunicorn_options(address, workers, settings)
    if model == "gthread":
        # The options of `trent serve` until 6 December: no deadline of its own.
        options = {**options, "worker_class": "gthread", "threads": 8, "http_parser": "python"}
        del options["post_worker_init"]
    elif model == "gevent-plain":
        # gunicorn's own gevent worker, without Trent's deadlines and caps.
        options = {**options, "worker_class": "gevent", "http_parser": "python"}
        del options["post_worker_init"]

    class Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            return create_app(settings)

    Server().run()


def _granian(address: str, workers: int) -> None:
    from granian.constants import HTTPModes, Interfaces
    from granian.http import HTTP1Settings
    from granian.server import Server

    host, _, port = address.rpartition(":")
    Server(
        "wsgi:app",
        address=host,
        port=int(port),
        interface=Interfaces.WSGI,
        workers=workers,
        blocking_threads=8,
        http=HTTPModes.http1,
        backlog=2048,
        http1_settings=HTTP1Settings(header_read_timeout=5000),
        working_dir=REPOSITORY,
        workers_kill_timeout=10,
    ).serve()


def serve(model: str, address: str, workers: int) -> None:
    """Run ``model`` with the audit writer and checkpointer beside it (the child side)."""
    from app.audit.writer_service import ping
    from app.cli.supervisor import ChildSupervisor
    from app.config import load_settings

    settings = load_settings()
    supervisors = [
        ChildSupervisor(
            "audit-writer",
            heartbeat=lambda: ping(
                settings.audit_writer_socket, settings.audit_writer_heartbeat_seconds
            ),
            heartbeat_seconds=settings.audit_writer_heartbeat_seconds,
        ),
        ChildSupervisor("audit-checkpointer"),
    ]
    for supervisor in supervisors:
        supervisor.start()
    try:
        if model == "granian":
            _granian(address, workers)
        else:
            _gunicorn(model, address, workers)
    finally:
        for supervisor in supervisors:
            supervisor.stop()


def _start(model: str, workdir: Path, options: harness.Options) -> servers.ServerProcess:
    port = servers.free_port()
    environment = servers.clean_environment(
        {
            "TRENT_DATA_DIR": str(workdir / "trent-data"),
            "TRENT_BIND": f"{servers.HOST}:{port}",
            "HOME": str(workdir),
        }
    )
    initialised = subprocess.run(
        [servers.bin_path("trent"), "init"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if initialised.returncode != 0:
        raise BenchError(f"trent init failed: {initialised.stderr.strip()}")
    command = [sys.executable, "-m", "bench.server_models", "--serve", model]
    command += ["--bind", f"{servers.HOST}:{port}", "--workers", str(options.workers)]
    return servers.ServerProcess(
        "trent",
        command,
        port=port,
        environment=environment,
        log_path=workdir / f"{model}.log",
        ready_path="/healthz",
    )


def _measure(
    wrk_path: str, model: str, options: harness.Options, slow: int, seconds: int
) -> list[dict[str, Any]]:
    rows = []
    with tempfile.TemporaryDirectory(prefix=f"trent-{model}-") as directory:
        workdir = Path(directory)
        with _start(model, workdir, options) as server:
            server.wait_ready()
            doors, fixture = harness.make_doors({"trent": server}, workdir, options)

            def run(cell: str, spec: LoadSpec) -> None:
                before = sum(servers.group_cpu_by_role(server.pid).values())
                result = wrk.run(wrk_path, spec, 16, seconds)
                cpu = sum(servers.group_cpu_by_role(server.pid).values()) - before
                answered = result.requests - result.non_2xx
                rows.append(
                    {
                        "model": model,
                        "cell": cell,
                        "cpu_ms": 1000 * cpu / answered if answered else None,
                    }
                    | result.as_json()
                )

            for door in doors:
                spec = door.load_spec(OPERATION, workdir)
                probe(spec, door.name, OPERATION)
                wrk.run(wrk_path, spec, 16, 2)
                run(door.name, door.load_spec(OPERATION, workdir))
            rest = next(door for door in doors if door.name == "trent-rest")
            with SlowClients(servers.HOST, server.port, slow):
                time.sleep(6)
                run(f"trent-rest +{slow} slow", rest.load_spec(OPERATION, workdir))
            assert fixture is not None
            head = slow_body_head(
                servers.HOST, server.port, f"/v1/keys/{fixture.key_id}/encrypt", fixture.token
            )
            with SlowClients(servers.HOST, server.port, SLOW_BODIES, head=head):
                time.sleep(6)
                run(f"trent-rest +{SLOW_BODIES} slow bodies", rest.load_spec(OPERATION, workdir))
    return rows


def _table(rows: list[dict[str, Any]]) -> str:
    lines = [
        f"{'model':<13}{'cell':<28}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'sock':>6}{'cpu ms':>8}"
    ]
    for row in rows:
        if not row["requests"]:
            lines.append(
                f"{row['model']:<13}{row['cell']:<28}{0.0:>9.1f}{'none answered':>18}"
                f"{row['socket_errors']:>6}{'—':>8}"
            )
            continue
        lines.append(
            f"{row['model']:<13}{row['cell']:<28}{row['ok_per_second']:>9.1f}"
            f"{row['p50_ms']:>9.1f}{row['p99_ms']:>9.1f}{row['socket_errors']:>6}"
            f"{row['cpu_ms']:>8.2f}"
        )
    lines.append("medians (min–max):")
    for model in dict.fromkeys(row["model"] for row in rows):
        for cell in dict.fromkeys(row["cell"] for row in rows):
            mine = [r for r in rows if r["model"] == model and r["cell"] == cell]
            if not mine:
                continue
            rates = [r["ok_per_second"] for r in mine]
            p99s = [r["p99_ms"] for r in mine if r["requests"]]
            cpus = [r["cpu_ms"] for r in mine if r["cpu_ms"] is not None]
            if not p99s or not cpus:
                lines.append(f"{model:<13}{cell:<28}{0.0:>9.1f}  no request answered in any round")
                continue
            lines.append(
                f"{model:<13}{cell:<28}{statistics.median(rates):>9.1f} "
                f"({min(rates):.0f}–{max(rates):.0f})  p99 {statistics.median(p99s):.1f} "
                f"({min(p99s):.1f}–{max(p99s):.1f}) ms  cpu {statistics.median(cpus):.2f} "
                f"({min(cpus):.2f}–{max(cpus):.2f}) ms"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--duration", type=int, default=6)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--slow", type=int, default=200)
    parser.add_argument("--serve", choices=MODELS, help=argparse.SUPPRESS)
    parser.add_argument("--bind", help=argparse.SUPPRESS)
    arguments = parser.parse_args(argv)
    if arguments.serve:
        serve(arguments.serve, arguments.bind, arguments.workers)
        return 0
    models = tuple(m for m in arguments.models.split(",") if m)
    if set(models) - set(MODELS):
        parser.error(f"--models: choose from {','.join(MODELS)}")
    options = harness.Options(
        quick=False,
        duration=arguments.duration,
        warmup=2,
        runs=1,
        connections=(16,),
        workers=arguments.workers,
        doors=("trent-rest", "trent-aws"),
        operations=(OPERATION,),
        soak=0,
        micro=False,
        json_path=None,
    )
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    rows: list[dict[str, Any]] = []
    try:
        wrk_path = wrk.require_wrk()
        info = report.machine(REPOSITORY, wrk.version(wrk_path))
        for number in range(1, arguments.rounds + 1):
            for model in models:
                found = _measure(wrk_path, model, options, arguments.slow, arguments.duration)
                for row in found:
                    row["round"] = number
                    print(
                        f"round {number} {model:<8} {row['cell']:<22} "
                        f"{row['ok_per_second']:8.1f} req/s p99 {row['p99_ms']:.1f} ms",
                        file=sys.stderr,
                        flush=True,
                    )
                rows.extend(found)
    except BenchError as exc:
        print(f"server_models: {exc}", file=sys.stderr)
        return 2
    print(f"server models — {stamp}; machine: {report.machine_text(info)}")
    print(
        f"wrk -t2 -c16, {arguments.duration} s per run, {arguments.rounds} round(s), "
        f"{arguments.workers} workers; slow: {arguments.slow} connections, a header byte every 3 s"
    )
    print(_table(rows))
    path = report.write_json(
        harness.RESULTS_DIR / f"server-models-{stamp}.json",
        {"started": stamp, "machine": info, "options": vars(arguments), "runs": rows},
    )
    print(f"written: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
