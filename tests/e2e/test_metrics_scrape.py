"""A real ``trent serve`` (two workers and the audit writer process):
``/metrics`` adds up every process, and the server's log has one request
line per request and names the address it serves."""

from __future__ import annotations

import base64
import json
import subprocess
import urllib.request
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.conftest import TRENT, Server, clean_env, serving, wait_for

pytestmark = pytest.mark.e2e

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(server: Server) -> Samples:
    with urllib.request.urlopen(server.url + "/metrics", timeout=10) as response:  # noqa: S310
        assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = response.read().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def writer_answers(server: Server) -> bool:
    with urllib.request.urlopen(server.url + "/readyz", timeout=10) as response:  # noqa: S310
        return bool(json.loads(response.read())["checks"].get("audit_writer") == "ok")


def aws_call(server: Server, token: str, target: str, body: dict[str, object]) -> int:
    request = urllib.request.Request(
        server.url + "/", data=json.dumps(body).encode(), method="POST"
    )
    request.add_header("Authorization", f"Bearer {token}")
    request.add_header("X-Amz-Target", f"TrentService.{target}")
    request.add_header("Content-Type", "application/x-amz-json-1.1")
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
        return int(response.status)


def test_a_scrape_adds_up_the_workers_and_the_audit_writer(tmp_path: Path) -> None:
    """A server of its own, so that every count the scrape shows is this
    test's: another process's values reach a scrape up to a second late
    (its next flush), so a baseline scraped from a busy shared server may
    still miss what was counted just before it."""
    data_dir = tmp_path / "var"
    env = clean_env(TRENT_DATA_DIR=str(data_dir), TRENT_SCHEDULER_INTERVAL="0")
    subprocess.run([TRENT, "init"], env=env, check=True, capture_output=True)
    with serving(env, data_dir) as server:
        scrape_while_serving(server)


def scrape_while_serving(server: Server) -> None:
    token = server.token("--root")
    created = server.rest("POST", "/v1/keys", token, {})
    assert isinstance(created, dict)
    key_id = created["KeyMetadata"]["KeyId"]
    plaintext = base64.b64encode(b"metrics e2e").decode()
    assert wait_for(lambda: writer_answers(server), 30), "the audit writer is not listening"
    # New connections each time: the kernel spreads them over both workers.
    for _ in range(8):
        server.rest("POST", f"/v1/keys/{key_id}/encrypt", token, {"Plaintext": plaintext})
    for _ in range(4):
        assert aws_call(server, token, "Encrypt", {"KeyId": key_id, "Plaintext": plaintext}) == 200
    after = scrape(server)

    def value(name: str, **labels: str) -> float:
        return after.get((name, tuple(sorted(labels.items()))), 0.0)

    encrypt = {"operation": "Encrypt", "outcome": "success", "status": "200"}

    def audited() -> float:
        # The encryptions' events, appended by the audit writer process or,
        # before it listened, by the worker itself; both are in the scrape.
        # (The key's creation is appended in its own transaction, not in a
        # batch.)
        by_writer = value("trent_audit_batch_events_sum", writer="process")
        return by_writer + value("trent_audit_batch_events_sum", writer="in-process")

    def all_counted() -> bool:
        nonlocal after
        after = scrape(server)
        return (
            value("trent_requests_total", door="rest", **encrypt) >= 8
            and value("trent_requests_total", door="aws", **encrypt) >= 4
            and audited() >= 12
        )

    # The worker that answers a scrape has written all it counted; the other
    # worker and the writer process write theirs once a second.
    assert wait_for(all_counted, 30)
    assert value("trent_requests_total", door="rest", **encrypt) == 8
    assert value("trent_requests_total", door="aws", **encrypt) == 4
    assert audited() == 12
    assert value("trent_audit_batch_events_sum", writer="process") >= 1
    assert after[("trent_db_pool_max_connections", ())] >= 2 * 16
    assert ("trent_audit_checkpoint_age_seconds", ()) not in after or (
        after[("trent_audit_checkpoint_age_seconds", ())] >= 0
    )

    log = server.data_dir.parent / "server.log"
    host_port = server.url.removeprefix("http://")
    assert wait_for(lambda: log.read_text().count(f"path=/v1/keys/{key_id}/encrypt") == 8, 30)
    text = log.read_text()
    assert f"Listening at: http://{host_port} (each worker on its own socket)" in text
    aws_lines = [line for line in text.splitlines() if "door=aws" in line and "Encrypt" in line]
    assert len(aws_lines) >= 4
    assert token not in text
    assert plaintext not in text


def test_a_stopped_server_has_written_every_count(tmp_path: Path) -> None:
    """Workers and the audit writer write what they counted since their last
    flush as they exit: the shared files hold every request, even those
    answered an instant before the server was stopped."""
    data_dir = tmp_path / "var"
    env = clean_env(TRENT_DATA_DIR=str(data_dir), TRENT_SCHEDULER_INTERVAL="0")
    subprocess.run([TRENT, "init"], env=env, check=True, capture_output=True)
    plaintext = base64.b64encode(b"counted at exit").decode()
    with serving(env, data_dir) as server:
        token = server.token("--root")
        created = server.rest("POST", "/v1/keys", token, {})
        assert isinstance(created, dict)
        key_id = created["KeyMetadata"]["KeyId"]
        for _ in range(6):
            server.rest("POST", f"/v1/keys/{key_id}/encrypt", token, {"Plaintext": plaintext})
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(data_dir / "metrics"))  # type: ignore[no-untyped-call]
    found = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in registry.collect()
        for s in family.samples
    }
    encrypt = (
        ("door", "rest"),
        ("operation", "Encrypt"),
        ("outcome", "success"),
        ("status", "200"),
    )
    assert found[("trent_requests_total", encrypt)] == 6
    batches = sum(
        value for (name, labels), value in found.items() if name == "trent_audit_batch_events_sum"
    )
    # The encryptions' events (the key's creation is appended in its own
    # transaction, not in a batch).
    assert batches == 6
