"""``GET /metrics`` (app.metrics, app.api.health): counters move after
requests on both doors, the sampled values and the checkpoint age are there,
no label carries a key or a caller's name, and TRENT_METRICS=off hides it."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

from botocore.credentials import Credentials
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families

from app import create_app
from app.config import Settings
from tests.api.kms import Kms
from tests.api.test_aws_door import signed
from tests.conftest import TokenFactory, b64, services_of

ROOT = Path(__file__).resolve().parents[2]
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(client: FlaskClient) -> Samples:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    found: Samples = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_request_counters_move_on_both_doors(client: FlaskClient, token: TokenFactory) -> None:
    root = Kms(client, token(root=True))
    key_id = root.new_key()
    before = scrape(client)
    for _ in range(3):
        assert root.post(f"/v1/keys/{key_id}/encrypt", {"Plaintext": b64(b"x")}).status_code == 200
    assert root.aws("Encrypt", {"KeyId": key_id, "Plaintext": b64(b"x")}).status_code == 200
    assert root.aws("Encrypt", {"KeyId": "alias/none", "Plaintext": b64(b"x")}).status_code == 400
    assert client.get("/v1/whoami").status_code == 401
    after = scrape(client)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    rest_ok = {"door": "rest", "operation": "Encrypt", "outcome": "success"}
    assert moved("trent_requests_total", status="200", **rest_ok) == 3
    assert moved("trent_request_duration_seconds_count", **rest_ok) == 3
    assert moved("trent_request_duration_seconds_bucket", le="+Inf", **rest_ok) == 3
    assert moved("trent_request_duration_seconds_sum", **rest_ok) > 0
    aws = {"door": "aws", "operation": "Encrypt"}
    assert moved("trent_requests_total", outcome="success", status="200", **aws) == 1
    assert moved("trent_requests_total", outcome="failed", status="400", **aws) == 1
    assert (
        moved(
            "trent_requests_total", door="rest", operation="WhoAmI", outcome="denied", status="401"
        )
        == 1
    )
    # The scrape before this one is counted too, as a probe.
    assert (
        moved(
            "trent_requests_total",
            door="rest",
            operation="Metrics",
            outcome="success",
            status="200",
        )
        == 1
    )


def test_no_label_names_a_key_a_principal_or_a_made_up_operation(
    client: FlaskClient, token: TokenFactory
) -> None:
    root = Kms(client, token(root=True))
    key_id = root.new_key()
    root.post(f"/v1/keys/{key_id}/encrypt", {"Plaintext": b64(b"x")})
    root.aws("MadeUpOperation123", {})
    text = client.get("/metrics").get_data(as_text=True)
    assert key_id not in text
    assert "111122223333" not in text
    assert "MadeUpOperation123" not in text
    assert 'operation="UnknownOperation"' in text


def test_sampled_values_and_the_checkpoint_age_are_exported(
    app: Flask, client: FlaskClient, token: TokenFactory
) -> None:
    root = Kms(client, token(root=True))
    key_id = root.new_key()
    for _ in range(3):
        root.post(f"/v1/keys/{key_id}/encrypt", {"Plaintext": b64(b"x")})
    services = services_of(app)
    with services.connection():
        assert services.audit.checkpoint() is not None
    samples = scrape(client)
    # The first Encrypt read the key from the database, the next ones from the cache.
    assert value(samples, "trent_read_cache_lookups_total", result="hit") >= 2
    assert value(samples, "trent_read_cache_lookups_total", result="miss") >= 1
    assert value(samples, "trent_db_pool_max_connections") == app_settings(app).db_pool_size
    assert value(samples, "trent_db_pool_connections", state="idle") >= 1
    assert value(samples, "trent_audit_events_waiting") == 0
    assert 0 <= value(samples, "trent_audit_checkpoint_age_seconds") < 3600
    # The in-process group commit wrote the Encrypt events (no writer process here).
    assert value(samples, "trent_audit_batch_events_count", writer="in-process") >= 1
    assert value(samples, "trent_audit_commit_duration_seconds_count", writer="in-process") >= 1


def test_metrics_off_answers_404_in_the_rest_envelope(settings: Settings) -> None:
    client = create_app(dataclasses.replace(settings, metrics="off")).test_client()
    response = client.get("/metrics")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "NotFoundException"


def test_metrics_is_a_probe_in_the_api_document(client: FlaskClient) -> None:
    document = json.loads(client.get("/openapi.json").get_data())
    operation = document["paths"]["/metrics"]["get"]
    assert "security" not in operation
    assert list(operation["responses"]["200"]["content"]) == [
        "text/plain; version=0.0.4; charset=utf-8"
    ]


def app_settings(app: Flask) -> Settings:
    return services_of(app).settings


def test_a_refused_signature_is_counted_under_the_operation_it_named(
    client: FlaskClient, credentials: Credentials
) -> None:
    unknown = Credentials("AKIA" + "Z" * 16, credentials.secret_key)
    assert signed(client, unknown, "ListKeys", {}).status_code == 400
    samples = scrape(client)
    refused = {"door": "aws", "operation": "ListKeys", "outcome": "denied", "status": "400"}
    assert value(samples, "trent_requests_total", **refused) == 1


def test_the_grafana_dashboard_uses_only_metrics_the_server_exports(
    app: Flask, client: FlaskClient, token: TokenFactory
) -> None:
    root = Kms(client, token(root=True))
    root.post(f"/v1/keys/{root.new_key()}/encrypt", {"Plaintext": b64(b"x")})
    services = services_of(app)
    with services.connection():
        services.audit.checkpoint()
    exported = {name for name, _ in scrape(client)}
    dashboard = json.loads((ROOT / "docs" / "grafana-dashboard.json").read_text())
    expressions = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    used = {name for expr in expressions for name in re.findall(r"\btrent_[a-z_]+", expr)}
    assert used and used <= exported, used - exported
