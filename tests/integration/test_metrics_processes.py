"""Metrics shared between processes (app.metrics.multiprocess): what two
processes record is added up by whichever answers the scrape; a process
that exited leaves its counts but not its gauges; a server start empties
the directory."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from app.metrics import Metrics, multiprocess

#: One process of a server: records requests, a batch and a gauge, then
#: reports its pid and exits.
RECORDER = """
import sys
from app.metrics import Metrics
metrics = Metrics()
for _ in range(int(sys.argv[1])):
    metrics.request("rest", "Encrypt", "success", 200, 0.004)
metrics.request("aws", "Decrypt", "denied", 400, 0.002)
metrics.audit_batch("process", 3, 0.001)
metrics.watch(waiting=lambda: 2, pool_use=lambda: (1, 3, 16))
metrics.sample()
print(__import__("os").getpid())
"""


def _record(directory: Path, requests: int) -> int:
    env = {**os.environ, multiprocess.ENVIRONMENT_VARIABLE: str(directory)}
    done = subprocess.run(
        [sys.executable, "-c", RECORDER, str(requests)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return int(done.stdout)


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_a_scrape_adds_up_every_process_and_forgets_the_gauges_of_the_gone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = tmp_path / "metrics"
    directory.mkdir()
    first = _record(directory, 2)
    _record(directory, 5)
    monkeypatch.setenv(multiprocess.ENVIRONMENT_VARIABLE, str(directory))
    found = _samples(Metrics().exposition().decode())
    encrypt = (("door", "rest"), ("operation", "Encrypt"), ("outcome", "success"))
    assert found[("trent_requests_total", (*encrypt, ("status", "200")))] == 7
    assert found[("trent_request_duration_seconds_count", encrypt)] == 7
    decrypt = (("door", "aws"), ("operation", "Decrypt"), ("outcome", "denied"), ("status", "400"))
    assert found[("trent_requests_total", decrypt)] == 2
    assert found[("trent_audit_batch_events_sum", (("writer", "process"),))] == 6
    # Both processes exited, but nothing told the directory yet: livesum
    # gauges still count both until their parent reports them gone.
    assert found[("trent_audit_events_waiting", ())] == 4
    assert found[("trent_db_pool_max_connections", ())] == 32

    multiprocess.process_gone(first)
    found = _samples(Metrics().exposition().decode())
    assert found[("trent_requests_total", (*encrypt, ("status", "200")))] == 7
    assert found[("trent_audit_events_waiting", ())] == 2
    assert found[("trent_db_pool_connections", (("state", "idle"),))] == 3


def test_enable_empties_the_directory_a_previous_server_left(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = tmp_path / "metrics"
    directory.mkdir()
    _record(directory, 4)
    assert list(directory.glob("*.db"))
    from prometheus_client import values

    # enable() changes this process's storage and environment: put both back.
    # (setenv, not delenv: pytest restores nothing for a variable that delenv
    # found unset, and the one enable() sets would then outlive this test and
    # turn every later application's metrics into a multiprocess server's.)
    monkeypatch.setattr(values, "ValueClass", values.ValueClass)
    monkeypatch.setenv(multiprocess.ENVIRONMENT_VARIABLE, str(tmp_path / "not-yet"))
    multiprocess.enable(directory)
    assert os.environ[multiprocess.ENVIRONMENT_VARIABLE] == str(directory)
    assert not list(directory.glob("*.db"))
    assert "trent_requests_total" not in Metrics().exposition().decode()


#: One process of a server that records without ever sampling (as the audit
#: writer process does), with the periodic flush pushed out of reach, then
#: either waits for a line on stdin (its values can then reach a scrape
#: only through a flush while it runs) or exits at once (only through the
#: flush at exit).
QUEUER = """
import sys
from app.metrics import Metrics, instruments
instruments.SAMPLE_SECONDS = float(sys.argv[1])
metrics = Metrics()
if sys.argv[2] == "wait":
    # Its files exist before the scrapes begin (prometheus-client creates
    # one empty for an instant, and a scrape reading it then fails).
    metrics.request("aws", "Encrypt", "success", 200, 0.004)
    metrics.audit_batch("in-process", 1, 0.002)
    metrics.flush()
for _ in range(3):
    metrics.request("rest", "Encrypt", "success", 200, 0.004)
metrics.audit_batch("process", 5, 0.002)
if sys.argv[2] == "wait":
    print("recorded", flush=True)
    sys.stdin.readline()
"""


def _queuer(directory: Path, sample_seconds: float, then: str) -> subprocess.Popen[str]:
    env = {**os.environ, multiprocess.ENVIRONMENT_VARIABLE: str(directory)}
    return subprocess.Popen(
        [sys.executable, "-c", QUEUER, str(sample_seconds), then],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


ENCRYPTED = (
    "trent_requests_total",
    (("door", "rest"), ("operation", "Encrypt"), ("outcome", "success"), ("status", "200")),
)
BATCHES = ("trent_audit_batch_events_sum", (("writer", "process"),))


def test_a_value_queued_in_one_process_reaches_a_scrape_of_another_after_a_flush(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = tmp_path / "metrics"
    directory.mkdir()
    recorder = _queuer(directory, 0.05, "wait")
    try:
        assert recorder.stdout is not None and recorder.stdout.readline() == "recorded\n"
        monkeypatch.setenv(multiprocess.ENVIRONMENT_VARIABLE, str(directory))
        deadline = time.monotonic() + 60

        def flushed() -> bool:
            found = _samples(Metrics().exposition().decode())
            return found.get(ENCRYPTED) == 3 and found.get(BATCHES) == 5

        while not flushed():
            assert time.monotonic() < deadline, "the recorder's values never reached the files"
            time.sleep(0.05)
        assert recorder.poll() is None, "seen only once the recorder had exited"
    finally:
        recorder.communicate("go\n", timeout=60)
    assert recorder.returncode == 0


def test_a_process_that_exits_flushes_what_it_queued(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = tmp_path / "metrics"
    directory.mkdir()
    # No periodic flush within the hour: only the one at exit writes.
    recorder = _queuer(directory, 3600, "exit")
    recorder.communicate(timeout=60)
    assert recorder.returncode == 0
    monkeypatch.setenv(multiprocess.ENVIRONMENT_VARIABLE, str(directory))
    found = _samples(Metrics().exposition().decode())
    assert found[ENCRYPTED] == 3
    assert found[BATCHES] == 5


#: Observations on every bucket's bound, between bounds and past the last.
LATENCIES = (0.0, 0.001, 0.0011, 0.004, 0.01, 0.7, 5.0, 10.0, 12.5, 0.004, 0.004)
BATCH_SIZES = ((1, 0.0005), (3, 0.0007), (512, 0.3), (600, 2.0), (3, 0.0007))

#: Records LATENCIES and BATCH_SIZES queued, flushes once, and exits
#: without the flush at exit.
QUEUED_THEN_FLUSHED = f"""
import os
import time
from app.metrics import Metrics
metrics = Metrics()
for seconds in {LATENCIES!r}:
    metrics.request("rest", "Encrypt", "success", 200, seconds)
    metrics.request("aws", "Decrypt", "failed", 503, seconds * 2)
for events, seconds in {BATCH_SIZES!r}:
    metrics.audit_batch("process", events, seconds)
metrics.flush()
os._exit(0)
"""


def test_queued_values_scrape_as_values_observed_one_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = tmp_path / "metrics"
    directory.mkdir()
    env = {**os.environ, multiprocess.ENVIRONMENT_VARIABLE: str(directory)}
    subprocess.run([sys.executable, "-c", QUEUED_THEN_FLUSHED], env=env, check=True, timeout=60)
    monkeypatch.setenv(multiprocess.ENVIRONMENT_VARIABLE, str(directory))
    queued = _samples(Metrics().exposition().decode())

    monkeypatch.delenv(multiprocess.ENVIRONMENT_VARIABLE)
    direct = Metrics()  # in this process: every value written as it happens
    for seconds in LATENCIES:
        direct.request("rest", "Encrypt", "success", 200, seconds)
        direct.request("aws", "Decrypt", "failed", 503, seconds * 2)
    for events, seconds in BATCH_SIZES:
        direct.audit_batch("process", events, seconds)
    expected = {
        name: value
        for name, value in _samples(direct.exposition().decode()).items()
        if name[0].startswith(("trent_request", "trent_audit_batch", "trent_audit_commit"))
        and not name[0].endswith("_created")
    }
    assert len(expected) > 40
    assert {name: queued.get(name) for name in expected} == pytest.approx(expected)
