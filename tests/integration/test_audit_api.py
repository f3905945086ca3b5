"""``/v1/audit``: search, one event, export and verify through the REST door."""

from __future__ import annotations

import json
import sqlite3
from urllib.parse import quote

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app.config import Settings
from app.operations.scheduler import run_jobs_once
from app.pipeline.runtime import runtime
from tests.api.kms import Kms
from tests.conftest import ACCOUNT, OTHER_ACCOUNT, TokenFactory, bearer

ALICE = f"arn:aws:iam::{ACCOUNT}:user/alice"
ROOT = f"arn:aws:iam::{ACCOUNT}:root"
READER_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "trent:ReadAuditLog", "Resource": "*"}],
}


@pytest.fixture
def root(client: FlaskClient, token: TokenFactory) -> Kms:
    return Kms(client, token(root=True))


@pytest.fixture
def key_id(root: Kms) -> str:
    key = root.new_key(Description="audited")
    assert root.encrypt(key, b"hello").status_code == 200
    return key


def _events(kms: Kms, **query: object) -> list[dict[str, object]]:
    response = kms.get("/v1/audit/events", **query)
    assert response.status_code == 200, response.get_data(as_text=True)
    events: list[dict[str, object]] = response.get_json()["events"]
    return events


def test_search_newest_first_with_filters(root: Kms, key_id: str) -> None:
    events = _events(root)
    seqs = [event["seq"] for event in events]
    assert seqs == sorted(seqs, reverse=True)
    assert [e["eventName"] for e in events[-2:]] == ["Encrypt", "CreateKey"]
    encrypt = _events(root, operation="Encrypt")
    assert len(encrypt) == 1 and encrypt[0]["outcome"] == "success"
    assert encrypt[0]["principal"]["arn"] == ROOT  # type: ignore[index]
    by_key = _events(root, key=key_id)
    assert "Encrypt" in {e["eventName"] for e in by_key}
    assert all(e["resources"][0].endswith(key_id) for e in by_key)  # type: ignore[index]
    assert _events(root, principal=ALICE) == []
    assert _events(root, outcome="denied") == []
    assert len(_events(root, since=0, until=4102444800)) >= 2


def test_cursor_pages(root: Kms, key_id: str) -> None:
    for _ in range(3):
        root.encrypt(key_id, b"more")
    seen: list[object] = []
    cursor = None
    for _ in range(20):
        query = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        body = root.get("/v1/audit/events", **query).get_json()
        assert len(body["events"]) <= 2
        seen.extend(event["seq"] for event in body["events"])
        cursor = body.get("nextCursor")
        if cursor is None:
            break
    assert seen == sorted(seen, reverse=True) and len(seen) == len(set(seen)) >= 5


@pytest.mark.parametrize(
    "query, code",
    [
        ({"cursor": "bm9wZQ=="}, "InvalidMarkerException"),
        ({"limit": 0}, "ValidationException"),
        ({"limit": 1001}, "ValidationException"),
        ({"limit": "ten"}, "ValidationException"),
        ({"since": "yesterday"}, "ValidationException"),
        ({"until": "2026-02-30"}, "ValidationException"),
        ({"operation": "Bogus"}, "ValidationException"),
        ({"outcome": "maybe"}, "ValidationException"),
        ({"colour": "blue"}, "ValidationException"),
    ],
)
def test_bad_queries_are_400(root: Kms, query: dict[str, object], code: str) -> None:
    response = root.get("/v1/audit/events", **query)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == code


def test_an_unknown_operation_lists_the_valid_ones(root: Kms, key_id: str) -> None:
    response = root.get("/v1/audit/events", operation="Bogus")
    assert response.status_code == 400
    message = response.get_json()["error"]["message"]
    assert "Valid operations: " in message and "Decrypt" in message and "WhoAmI" in message
    near = root.get("/v1/audit/export", operation="Encrpyt").get_json()["error"]["message"]
    assert "Did you mean Encrypt" in near


def test_operation_in_any_case_is_the_logs_spelling(root: Kms, key_id: str) -> None:
    assert _events(root, operation="encrypt") == _events(root, operation="Encrypt")
    assert [e["eventName"] for e in _events(root, operation="ENCRYPT")] == ["Encrypt"]


def test_key_filter_takes_ids_arns_aliases_and_alias_arns(root: Kms, key_id: str) -> None:
    created = root.post("/v1/aliases", {"AliasName": "alias/payments", "TargetKeyId": key_id})
    assert created.status_code in (200, 201), created.get_data(as_text=True)
    arn = root.describe(key_id).get_json()["KeyMetadata"]["Arn"]
    alias_arn = arn.replace(f"key/{key_id}", "alias/payments")
    by_id = _events(root, key=key_id)
    assert "Encrypt" in {e["eventName"] for e in by_id}
    assert _events(root, key=arn) == by_id
    assert _events(root, key="alias/payments") == by_id
    assert _events(root, key=alias_arn) == by_id
    export = root.get("/v1/audit/export", key="alias/payments").get_data(as_text=True)
    assert {json.loads(line)["eventID"] for line in export.splitlines()} == {
        e["eventId"] for e in by_id
    }


def test_an_alias_that_does_not_exist_is_404_not_an_empty_list(
    client: FlaskClient, token: TokenFactory, root: Kms, key_id: str
) -> None:
    for path in ("/v1/audit/events", "/v1/audit/export"):
        response = root.get(path, key="alias/nothing-here")
        assert response.status_code == 404
        assert response.get_json()["error"]["code"] == "NotFoundException"
        assert "alias/nothing-here" in response.get_json()["error"]["message"]
    # Another account's alias reads as missing: the filter tells nothing about it.
    root.post("/v1/aliases", {"AliasName": "alias/ours", "TargetKeyId": key_id})
    other = Kms(client, token(account=OTHER_ACCOUNT, root=True))
    ours = f"arn:aws:kms:us-east-1:{ACCOUNT}:alias/ours"
    for key in ("alias/ours", ours):
        assert other.get("/v1/audit/events", key=key).status_code == 404
    # The right name in another region is another alias.
    assert root.get("/v1/audit/events", key=ours).status_code == 200
    elsewhere = ours.replace("us-east-1", "eu-west-1")
    assert root.get("/v1/audit/events", key=elsewhere).status_code == 404


def test_times_are_iso_8601_in_and_out(root: Kms, key_id: str) -> None:
    events = _events(root, operation="Encrypt")
    written = events[0]["eventTime"]
    assert isinstance(written, str) and written.endswith("Z") and "T" in written
    export = root.get("/v1/audit/export", operation="Encrypt").get_data(as_text=True)
    assert json.loads(export.splitlines()[0])["eventTime"] == written
    day = written[:10]
    assert _events(root, operation="Encrypt", since=day, until=day) == events
    minute = written[:16]
    assert _events(root, operation="Encrypt", since=minute + "Z", until=minute + ":59+00:00") == (
        events
    )
    assert _events(root, operation="Encrypt", until="2000-01-01") == []


def test_one_event_and_a_missing_one(root: Kms, key_id: str) -> None:
    newest = _events(root, operation="Encrypt")[0]
    response = root.get(f"/v1/audit/events/{newest['eventId']}")
    assert response.status_code == 200
    assert response.get_json()["event"] == newest
    missing = root.get("/v1/audit/events/00000000-0000-4000-8000-000000000000")
    assert missing.status_code == 404
    assert missing.get_json()["error"]["code"] == "NotFoundException"


def test_export_streams_cloudtrail_json_lines(root: Kms, key_id: str) -> None:
    response = root.get("/v1/audit/export", operation="CreateKey")
    assert response.status_code == 200
    assert response.mimetype == "application/x-ndjson"
    records = [json.loads(line) for line in response.get_data(as_text=True).splitlines()]
    assert len(records) == 1
    record = records[0]
    assert record["eventName"] == "CreateKey" and record["eventSource"] == "kms.trent"
    assert record["userIdentity"]["arn"] == ROOT
    assert record["readOnly"] is False
    assert record["requestParameters"]["description"] == "audited"
    bad = root.get("/v1/audit/export", outcome="nope")
    assert bad.status_code == 400 and bad.mimetype == "application/json"


def test_verify(root: Kms, key_id: str, settings: Settings) -> None:
    report = root.get("/v1/audit/verify").get_json()
    assert report["ok"] is True and report["firstBadSeq"] is None
    assert report["eventsChecked"] >= 2
    db = sqlite3.connect(settings.data_dir / "trent.db")
    db.execute("UPDATE audit_event SET event_name = 'Decrypt' WHERE seq = 2")
    db.commit()
    db.close()
    broken = root.get("/v1/audit/verify").get_json()
    assert broken["ok"] is False and broken["firstBadSeq"] == 2
    assert broken["findings"][0]["kind"] == "column_mismatch"


def test_reading_the_log_is_its_own_permission(
    client: FlaskClient, token: TokenFactory, root: Kms, key_id: str
) -> None:
    alice = Kms(client, token(user="alice"))
    event_id = _events(root)[0]["eventId"]
    paths = [
        "/v1/audit/events",
        f"/v1/audit/events/{event_id}",
        "/v1/audit/export",
        "/v1/audit/verify",
    ]
    for path in paths:
        response = alice.get(path)
        assert response.status_code == 403, path
        assert response.get_json()["error"]["code"] == "AccessDeniedException"
    attached = root.put(
        f"/v1/principals/{quote(ALICE, safe='')}/policies/read-audit",
        {"PolicyDocument": json.dumps(READER_POLICY)},
    )
    assert attached.status_code == 200
    for path in paths:
        assert alice.get(path).status_code == 200, path
    # The refusals were audited like any other denial.
    denied = _events(root, principal=ALICE, outcome="denied")
    assert {e["eventName"] for e in denied} == {
        "SearchAuditEvents",
        "GetAuditEvent",
        "ExportAuditEvents",
        "VerifyAuditLog",
    }


def test_audit_reads_are_audited_with_their_filters(root: Kms, key_id: str) -> None:
    root.get("/v1/audit/events", principal=ALICE, limit=5)
    root.get("/v1/audit/export", operation="Encrypt")
    searches = _events(root, operation="SearchAuditEvents")
    assert searches[0]["requestParameters"] == {"principal": ALICE, "limit": 5}
    root.get("/v1/audit/events", since="2026-12-05", until="1796428800")
    searches = _events(root, operation="SearchAuditEvents")
    assert searches[0]["requestParameters"] == {"since": "2026-12-05", "until": "1796428800"}
    exports = _events(root, operation="ExportAuditEvents")
    assert exports[0]["requestParameters"] == {"operation": "Encrypt"}


def test_an_account_sees_only_its_own_share(
    client: FlaskClient, token: TokenFactory, root: Kms, key_id: str
) -> None:
    other = Kms(client, token(account=OTHER_ACCOUNT, root=True))
    assert other.get("/v1/keys").status_code == 200
    theirs = _events(other)
    assert theirs and {e["principal"]["account"] for e in theirs} == {OTHER_ACCOUNT}  # type: ignore[index]
    ours = _events(root)
    assert OTHER_ACCOUNT not in {e["principal"]["account"] for e in ours}  # type: ignore[index]
    assert other.get(f"/v1/audit/events/{ours[-1]['eventId']}").status_code == 404
    lines = other.get("/v1/audit/export").get_data(as_text=True).splitlines()
    assert all(json.loads(line)["userIdentity"]["accountId"] == OTHER_ACCOUNT for line in lines)


def test_no_token_no_log(client: FlaskClient) -> None:
    for path in ("/v1/audit/events", "/v1/audit/export", "/v1/audit/verify"):
        response = client.get(path)
        assert response.status_code == 401
    response = client.get("/v1/audit/events", headers=bearer("garbage"))
    assert response.status_code == 401


def test_verify_catches_a_cut_tail_through_the_checkpoint_file(
    root: Kms, key_id: str, settings: Settings, app: Flask
) -> None:
    with app.app_context():
        services = runtime().services
    for _ in range(3):
        assert root.encrypt(key_id, b"more").status_code == 200
    run_jobs_once(services)  # signs a checkpoint and appends it to the checkpoint file
    db = sqlite3.connect(settings.data_dir / "trent.db")
    (head,) = db.execute("SELECT last_seq FROM audit_head").fetchone()
    assert db.execute("SELECT max(last_seq) FROM audit_checkpoint").fetchone() == (head,)
    # Cut the last two events, and the checkpoint, and rewind the head.
    db.execute("DELETE FROM audit_event WHERE seq > ?", (head - 2,))
    db.execute("DELETE FROM audit_checkpoint")
    entry_hash, recorded_at = db.execute(
        "SELECT entry_hash, recorded_at FROM audit_event WHERE seq = ?", (head - 2,)
    ).fetchone()
    db.execute(
        "UPDATE audit_head SET last_seq = ?, head_hash = ?, recorded_at = ?",
        (head - 2, entry_hash, recorded_at),
    )
    db.commit()
    db.close()
    report = root.get("/v1/audit/verify").get_json()
    assert report["ok"] is False, report
    kinds = {finding["kind"] for finding in report["findings"]}
    assert {"truncated", "exported_checkpoint_missing"} <= kinds, report
    details = [f["detail"] for f in report["findings"]]
    # (The verify request's own event now sits at head - 1.)
    assert any(f"covers events up to {head}," in d for d in details), details
