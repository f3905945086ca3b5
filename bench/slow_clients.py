"""Slow clients beside normal ones: ``python -m bench.slow_clients``.

Starts Trent as ``trent serve`` does (:func:`bench.harness.start_servers`),
loads REST Encrypt (1 KiB) with wrk at 16 connections, then opens N slow
connections (default 200) and loads it again while they stay open. Each slow
connection sends ``POST /v1/keys/…/encrypt HTTP/1.1``, its ``Host`` header, and
then one byte of another header every 3 s, for ever: a server that gives each
connection a thread until its request has arrived is out of threads once it
has as many slow connections as threads. One the server closes is opened
again at the next tick, so that N stay open throughout.

The slow connections come from another loopback address (``--slow-source``,
127.0.0.2 by default): Trent caps the connections of one client address, and
the normal clients (127.0.0.1) must not share the slow ones' allowance.

It prints, for both runs, the normal clients' successful req/s, p50 and p99,
error answers and socket errors (wrk's timeouts: a request unanswered after
10 s), the ratio of the two, and what happened to the slow connections: how
many were opened, how many the server closed, and how long they had lived.
The JSON goes under ``bench/results/``.

With ``--slow-part body`` the slow connections send a complete request head
instead (a valid bearer token, ``Content-Length: 1024``) and then their body
one byte per tick: a server that hands the request to a Python thread once
its headers are in, and lets that thread wait for the body, starves the same
way.

Options: ``--slow N`` (200), ``--slow-part header|body``, ``--interval S`` (3),
``--duration S`` (10), ``--connections N`` (16), ``--workers N`` (CPUs),
``--doors trent-rest[,trent-aws]``, ``--trent-setting TRENT_NAME=VALUE`` (repeatable, for A/B runs).
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from bench import harness, report, wrk
from bench.doors import probe
from bench.errors import BenchError

REPOSITORY = Path(__file__).resolve().parent.parent
OPERATION = "Encrypt"
#: What a slow connection sends, one byte per tick, after its request line and Host.
HEADER_DRIP = b"X-Slow-Client: still-sending\r\n"
#: Longest wait for the slow connections to be open before the loaded run.
OPEN_TIMEOUT_SECONDS = 60.0


@dataclass
class SlowStats:
    opened: int = 0
    connect_failures: int = 0
    #: Connections the server closed (or answered, then closed), with their lifetimes.
    closed_by_server: int = 0
    lifetimes: list[float] = field(default_factory=list)
    #: Answers received on a slow connection (their first line: 408, 400, ...).
    answers: dict[str, int] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "opened": self.opened,
            "connect_failures": self.connect_failures,
            "closed_by_server": self.closed_by_server,
            "lifetime_seconds_median": (
                round(statistics.median(self.lifetimes), 2) if self.lifetimes else None
            ),
            "lifetime_seconds_max": round(max(self.lifetimes), 2) if self.lifetimes else None,
            "answers": dict(self.answers),
        }


def slow_body_head(host: str, port: int, path: str, token: str) -> bytes:
    """A complete request head (bearer token, ``Content-Length: 1024``) whose
    body then arrives one byte per tick: the slow *body* variant."""
    return (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {token}\r\n"
        "Content-Type: application/json\r\nContent-Length: 1024\r\n\r\n"
    ).encode()


class SlowClients:
    """``count`` slow connections to ``host:port``, kept open by one thread.

    Entering opens them (and waits until all are connected); leaving closes
    them. Each sends ``head`` (by default a request line and ``Host``, so
    that the rest of its headers is slow) and then, every ``interval``
    seconds, one more byte; one the server has closed is replaced by a new one.
    """

    def __init__(
        self,
        host: str,
        port: int,
        count: int,
        *,
        interval: float = 3.0,
        path: str = "/v1/keys/slow/encrypt",
        source: str = "127.0.0.2",
        head: bytes | None = None,
    ) -> None:
        self.address = (host, port)
        self.count = count
        self.interval = interval
        self.source = source
        self.opening = head or f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\n".encode()
        self.stats = SlowStats()
        self._open: dict[socket.socket, tuple[float, int]] = {}
        self._stop = threading.Event()
        self._filled = threading.Event()
        self._thread = threading.Thread(target=self._run, name="slow-clients", daemon=True)

    def __enter__(self) -> SlowClients:
        self._thread.start()
        if not self._filled.wait(OPEN_TIMEOUT_SECONDS):
            self.__exit__(None, None, None)
            raise BenchError(
                f"could not open {self.count} slow connections within {OPEN_TIMEOUT_SECONDS:.0f} s"
            )
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        for sock in list(self._open):
            sock.close()
        self._open.clear()

    @property
    def open_now(self) -> int:
        return len(self._open)

    def _connect(self) -> None:
        try:
            sock = socket.create_connection(
                self.address, timeout=5, source_address=(self.source, 0)
            )
            sock.sendall(self.opening)
        except OSError:
            self.stats.connect_failures += 1
            return
        sock.setblocking(False)
        self.stats.opened += 1
        self._open[sock] = (time.monotonic(), 0)

    def _closed(self, sock: socket.socket, answer: bytes) -> None:
        opened, _ = self._open.pop(sock)
        sock.close()
        self.stats.closed_by_server += 1
        self.stats.lifetimes.append(time.monotonic() - opened)
        if answer:
            first = answer.split(b"\r\n", 1)[0].decode("latin-1")[:40] or "(bytes)"
            self.stats.answers[first] = self.stats.answers.get(first, 0) + 1

    def _tick(self) -> None:
        for sock, (opened, sent) in list(self._open.items()):
            try:
                answer = sock.recv(4096)
            except BlockingIOError:
                answer = None
            except OSError:
                answer = b""
            if answer is not None:  # an answer, or the end of the stream
                self._closed(sock, answer)
                continue
            try:
                sock.send(HEADER_DRIP[sent % len(HEADER_DRIP) : sent % len(HEADER_DRIP) + 1])
            except OSError:
                self._closed(sock, b"")
                continue
            self._open[sock] = (opened, sent + 1)

    def _run(self) -> None:
        while not self._stop.is_set():
            while len(self._open) < self.count and not self._stop.is_set():
                before = self.stats.connect_failures
                self._connect()
                if self.stats.connect_failures > before:
                    break  # try again next tick
            if len(self._open) >= self.count:
                self._filled.set()
            self._stop.wait(self.interval)
            self._tick()


def _row(label: str, result: wrk.WrkResult) -> str:
    if result.requests == 0:  # wrk's percentiles are of answered requests only
        return f"{label:<34}{0.0:>9.1f}{'no request answered':>27}{0:>9}{result.socket_errors:>7}"
    return (
        f"{label:<34}{result.ok_per_second:>9.1f}{result.p50_ms:>9.1f}{result.p99_ms:>9.1f}"
        f"{result.max_ms:>9.1f}{result.non_2xx:>9}{result.socket_errors:>7}"
    )


def _measure_door(
    wrk_path: str,
    door: Any,
    workdir: Path,
    base_url: str,
    arguments: argparse.Namespace,
    token_key: tuple[str, str],
) -> dict[str, Any]:
    spec = door.load_spec(OPERATION, workdir)
    probe(spec, door.name, OPERATION)
    wrk.run(wrk_path, spec, arguments.connections, 2)  # warm-up
    spec = door.load_spec(OPERATION, workdir)
    alone = wrk.run(wrk_path, spec, arguments.connections, arguments.duration)
    host, port = base_url.rsplit("/", 1)[-1].rsplit(":", 1)
    head = None
    if arguments.slow_part == "body":
        head = slow_body_head(host, int(port), f"/v1/keys/{token_key[1]}/encrypt", token_key[0])
    started = time.monotonic()
    with SlowClients(
        host,
        int(port),
        arguments.slow,
        interval=arguments.interval,
        source=arguments.slow_source,
        head=head,
    ) as slow:
        opened_in = time.monotonic() - started
        # Two ticks: every slow connection has been accepted and has sent bytes.
        time.sleep(2 * arguments.interval)
        spec = door.load_spec(OPERATION, workdir)
        loaded = wrk.run(wrk_path, spec, arguments.connections, arguments.duration)
        open_at_end = slow.open_now
    return {
        "door": door.name,
        "alone": alone.as_json(),
        "with_slow": loaded.as_json(),
        "ratio": loaded.ok_per_second / alone.ok_per_second if alone.ok_per_second else None,
        "slow": {
            **slow.stats.as_json(),
            "seconds_to_open": round(opened_in, 2),
            "open_at_end": open_at_end,
        },
        "_results": (alone, loaded),
    }


def _print(measured: dict[str, Any], arguments: argparse.Namespace) -> None:
    alone, loaded = measured["_results"]
    door = measured["door"]
    print(
        f"\n{door} Encrypt 1 KiB, {arguments.connections} normal connections, "
        f"{arguments.duration} s per run"
    )
    print(f"{'':<34}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'non-2xx':>9}{'sock':>7}")
    print("-" * 86)
    print(_row("alone", alone))
    print(_row(f"with {arguments.slow} slow connections", loaded))
    ratio = measured["ratio"]
    slow = measured["slow"]
    kept = f"{ratio:.2f}" if ratio is not None else "—"
    met = (
        ratio is not None
        and ratio >= 0.5
        and loaded.requests > 0
        and loaded.p99_ms <= 1000
        and loaded.socket_errors == 0
    )
    p99 = f"{loaded.p99_ms:.1f} ms" if loaded.requests else "— (none answered)"
    print(
        f"normal clients kept {kept} of their req/s, p99 {p99} with the slow "
        f"ones (target: >= 0.5 and <= 1000 ms, no timeouts): {'met' if met else 'NOT MET'}"
    )
    print(
        f"slow connections ({arguments.slow_source}): {slow['opened']} opened "
        f"(the first {arguments.slow} in {slow['seconds_to_open']} s), "
        f"{slow['closed_by_server']} closed by the server "
        f"(lifetime median {slow['lifetime_seconds_median']} s, "
        f"max {slow['lifetime_seconds_max']} s), {slow['open_at_end']} open at the end, "
        f"{slow['connect_failures']} failed connects; answers seen: {slow['answers'] or 'none'}"
    )


def _setting(text: str) -> tuple[str, str]:
    name, equals, value = text.partition("=")
    if not equals or not name.startswith("TRENT_"):
        raise argparse.ArgumentTypeError(f"expected TRENT_NAME=VALUE, got {text!r}")
    return name, value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--slow", type=int, default=200, help="slow connections (200)")
    parser.add_argument("--interval", type=float, default=3.0, help="seconds between bytes")
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=16, help="normal connections")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--doors", default="trent-rest", help="trent-rest and/or trent-aws")
    parser.add_argument("--slow-source", default="127.0.0.2", help="the slow clients' address")
    parser.add_argument(
        "--slow-part",
        choices=("header", "body"),
        default="header",
        help="what the slow clients send slowly: their headers, or (after complete headers "
        "with a token) their body",
    )
    parser.add_argument(
        "--trent-setting", type=_setting, action="append", default=[], metavar="TRENT_NAME=VALUE"
    )
    arguments = parser.parse_args(argv)
    doors = tuple(d for d in arguments.doors.split(",") if d)
    if not doors or set(doors) - {"trent-rest", "trent-aws"}:
        parser.error("--doors: trent-rest and/or trent-aws")
    options = harness.Options(
        quick=False,
        duration=arguments.duration,
        warmup=2,
        runs=1,
        connections=(arguments.connections,),
        workers=arguments.workers,
        doors=doors,
        operations=(OPERATION,),
        soak=0,
        micro=False,
        json_path=None,
        trent_settings=tuple(arguments.trent_setting),
    )
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    try:
        wrk_path = wrk.require_wrk()
        info = report.machine(REPOSITORY, wrk.version(wrk_path))
        print(f"Trent with slow clients — {stamp}")
        print(f"machine: {report.machine_text(info)}")
        print(
            f"trent serve --workers {arguments.workers}"
            + "".join(f" {name}={value}" for name, value in arguments.trent_setting)
            + f"; wrk -t2 -c{arguments.connections}; {arguments.slow} slow connections, "
            f"one {arguments.slow_part} byte every {arguments.interval:g} s"
        )
        measured = []
        for door_name in doors:
            # A fresh server per door: slow connections left by one run do not
            # weigh on the next.
            with tempfile.TemporaryDirectory(prefix="trent-slow-clients-") as directory:
                workdir = Path(directory)
                door_options = replace(options, doors=(door_name,))
                with harness.start_servers(workdir, door_options) as started:
                    found, fixture = harness.make_doors(started, workdir, door_options)
                    assert fixture is not None
                    result = _measure_door(
                        wrk_path,
                        found[0],
                        workdir,
                        started["trent"].base_url,
                        arguments,
                        (fixture.token, fixture.key_id),
                    )
                    result["server_log_tail"] = started["trent"].log_tail(5)
            _print(result, arguments)
            measured.append(result)
    except BenchError as exc:
        print(f"slow_clients: {exc}", file=sys.stderr)
        return 2
    path = report.write_json(
        harness.RESULTS_DIR / f"slow-clients-{stamp}.json",
        {
            "started": stamp,
            "machine": info,
            "options": {
                key: value for key, value in vars(arguments).items() if key != "trent_setting"
            }
            | {"trent_settings": dict(arguments.trent_setting)},
            "doors": [{k: v for k, v in m.items() if k != "_results"} for m in measured],
        },
    )
    print(f"written: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
