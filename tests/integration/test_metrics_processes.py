"""Metrics shared between processes (app.metrics.multiprocess): what two
processes record is added up by whichever answers the scrape; a process
that exited leaves its counts but not its gauges; a server start empties
the directory."""

from __future__ import annotations

import os
import subprocess
import sys
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
    monkeypatch.setattr(values, "ValueClass", values.ValueClass)
    monkeypatch.delenv(multiprocess.ENVIRONMENT_VARIABLE, raising=False)
    multiprocess.enable(directory)
    assert os.environ[multiprocess.ENVIRONMENT_VARIABLE] == str(directory)
    assert not list(directory.glob("*.db"))
    assert "trent_requests_total" not in Metrics().exposition().decode()
