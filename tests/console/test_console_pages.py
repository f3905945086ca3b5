"""The console's pages answer what the operations answer: the audit
explorer's filters (aliases, ISO 8601 and relative times, source address),
its exports, a key's administrators and users, the policy playground."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime

import pytest
from flask.testing import FlaskClient

from app.console.chart import chart
from app.console.times import epoch_seconds
from app.errors import ValidationError
from app.operations.console import CSV_COLUMNS
from tests.conftest import ACCOUNT, TokenFactory, bearer
from tests.console.helpers import csrf_of, denied_encrypt, key_with_alias, sign_in

ALICE = f"arn:aws:iam::{ACCOUNT}:user/alice"


def _rows(page: bytes) -> list[str]:
    body = page.split(b"<tbody>", 1)[1].split(b"</tbody>", 1)[0].decode()
    return re.findall(r"<tr class=\"outcome-[a-z]+\">(.*?)</tr>", body, re.S)


@pytest.fixture
def payments(client: FlaskClient, token: TokenFactory) -> str:
    root = token(root=True)
    key_id = key_with_alias(client, root, "alias/payments")
    denied_encrypt(client, token(user="mallory"), key_id)
    sign_in(client, root)
    return key_id


def test_a_denied_encrypt_is_found_by_alias_alias_arn_and_key_id(
    client: FlaskClient, payments: str
) -> None:
    alias_arn = f"arn:aws:kms:us-east-1:{ACCOUNT}:alias/payments"
    for key in ("alias/payments", alias_arn, payments):
        page = client.get(
            "/console/audit", query_string={"key": key, "operation": "Encrypt", "outcome": "denied"}
        )
        assert page.status_code == 200
        rows = _rows(page.data)
        assert len(rows) == 1, key
        assert "mallory" in rows[0] and "AccessDeniedException" in rows[0]
    # An alias that names no key is said to be missing, as SearchAuditEvents says:
    # an empty table would read as "the key was never used".
    unknown = client.get("/console/audit", query_string={"key": "alias/nothing"})
    assert unknown.status_code == 404 and b"alias/nothing" in unknown.data


def test_times_are_iso_8601_or_relative_and_anything_else_is_a_clear_400(
    client: FlaskClient, payments: str
) -> None:
    assert _rows(client.get("/console/audit?since=1h&outcome=denied").data)
    future = client.get("/console/audit", query_string={"since": "2999-01-01T00:00:00Z"})
    assert _rows(future.data) == []
    assert _rows(client.get("/console/audit?until=2000-01-01").data) == []
    bad = client.get("/console/audit?since=yesterday")
    assert bad.status_code == 400
    assert b"ISO 8601" in bad.data
    assert client.get("/console/audit?outcome=maybe").status_code == 400
    assert client.get("/console/audit?colour=red").status_code == 400


def test_the_source_address_filter(client: FlaskClient, payments: str) -> None:
    assert _rows(client.get("/console/audit?source=127.0.0.1&outcome=denied").data)
    assert _rows(client.get("/console/audit?source=10.9.9.9").data) == []


def test_exports_carry_exactly_the_filtered_events(client: FlaskClient, payments: str) -> None:
    filters = "key=alias/payments&operation=Encrypt&outcome=denied"
    lines = client.get(f"/console/audit/export?{filters}&format=jsonl")
    assert lines.headers["Content-Type"] == "application/x-ndjson"
    assert lines.headers["Content-Disposition"].startswith("attachment;")
    records = [json.loads(line) for line in lines.data.decode().splitlines()]
    assert [r["eventName"] for r in records] == ["Encrypt"]
    assert records[0]["userIdentity"]["arn"].endswith("user/mallory")
    table = client.get(f"/console/audit/export?{filters}&format=csv")
    rows = list(csv.DictReader(io.StringIO(table.data.decode())))
    assert len(rows) == 1
    assert rows[0]["errorCode"] == "AccessDeniedException"
    assert rows[0]["eventTime"].endswith("Z")
    assert client.get("/console/audit/export?format=xml").status_code == 400
    empty = client.get("/console/audit/export?format=csv&errorCode=NoSuchError")
    assert empty.data.decode().splitlines() == [",".join(CSV_COLUMNS)]


def test_the_chart_counts_outcomes_and_the_detail_shows_the_chain(
    client: FlaskClient, payments: str
) -> None:
    page = client.get("/console/audit")
    assert b'class="bar-denied"' in page.data and b'class="bar-success"' in page.data
    event_id = re.search(rb"/console/audit/events/([0-9a-f-]+)", page.data)
    assert event_id is not None
    detail = client.get(f"/console/audit/events/{event_id.group(1).decode()}")
    assert detail.status_code == 200
    assert b"Previous hash" in detail.data and b'id="chain"' in detail.data
    assert client.get("/console/audit/events/no-such-event").status_code == 404


def test_a_principal_that_can_administer_and_use_a_key_is_flagged(
    client: FlaskClient, token: TokenFactory, payments: str
) -> None:
    root = token(root=True)
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "Root",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                "Action": "kms:*",
                "Resource": "*",
            },
            {
                "Sid": "AliceUses",
                "Effect": "Allow",
                "Principal": {"AWS": ALICE},
                "Action": ["kms:Encrypt", "kms:Decrypt"],
                "Resource": "*",
            },
            {
                "Sid": "CarolDoesBoth",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/carol"},
                "Action": ["kms:Encrypt", "kms:ScheduleKeyDeletion"],
                "Resource": "*",
            },
        ],
    }
    put = client.put(
        f"/v1/keys/{payments}/policy",
        json={"Policy": json.dumps(policy), "BypassSeparationOfDutiesCheck": True},
        headers=bearer(root),
    )
    assert put.status_code == 200, put.data
    page = client.get(f"/console/keys/{payments}").data.decode()
    rows = {
        re.search(r"<code>(.*?)</code>", row).group(1): row  # type: ignore[union-attr]
        for row in re.findall(r"<tr class=\"(?:both)?\">(.*?)</tr>", page, re.S)
    }
    assert "administers AND uses" in rows[f"arn:aws:iam::{ACCOUNT}:user/carol"]
    assert "administers AND uses" not in rows[ALICE]
    assert "kms:Encrypt" in rows[ALICE]
    # mallory was seen in the audit log and may do neither.
    mallory = rows[f"arn:aws:iam::{ACCOUNT}:user/mallory"]
    assert "in the audit log" in mallory and mallory.count(">no<") == 2


def test_the_playground_lints_simulates_tests_diffs_and_applies(
    client: FlaskClient, payments: str
) -> None:
    page = client.get("/console/playground?key=alias/payments")
    assert b"Enable IAM User Permissions" in page.data
    csrf = csrf_of(page.data)
    broken = (
        '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow",\n "Action": "kms:Encrypt"}]}'
    )
    linted = client.post(
        "/console/playground", data={"csrf": csrf, "policy": broken, "step": "lint"}
    )
    assert linted.status_code == 200
    assert re.search(rb"line \d+, column \d+", linted.data)
    policy = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "Root",
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                    "Action": "kms:*",
                    "Resource": "*",
                },
                {
                    "Sid": "AliceEncrypts",
                    "Effect": "Allow",
                    "Principal": {"AWS": ALICE},
                    "Action": "kms:Encrypt",
                    "Resource": "*",
                    "Condition": {"StringEquals": {"kms:EncryptionContext:tenant": "t-1"}},
                },
            ],
        },
        indent=2,
    )
    form = {
        "csrf": csrf,
        "policy": policy,
        "key": "alias/payments",
        "principal": ALICE,
        "actions": "kms:Encrypt kms:Decryptt",
        "context": "tenant=t-1",
        "step": "simulate",
    }
    simulated = client.post("/console/playground", data=form).data.decode()
    assert "kms:Decryptt is not a known action" in simulated
    assert "did you mean kms:EncryptionContext:tenant?" in simulated
    assert re.search(r"kms:Encrypt</td><td class=\"decision\">implicitDeny", simulated)
    form["context"] = "kms:EncryptionContext:tenant=t-1"
    allowed = client.post("/console/playground", data=form).data.decode()
    assert re.search(r"kms:Encrypt</td><td class=\"decision\">allowed", allowed)
    assert "AliceEncrypts" in allowed

    cases = {
        "policy": json.loads(policy),
        "keyArn": f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{payments}",
        "cases": [
            {
                "name": "alice encrypts for t-1",
                "principal": ALICE,
                "action": "kms:Encrypt",
                "context": {"kms:EncryptionContext:tenant": "t-1"},
                "expect": "allowed",
            },
            {
                "name": "alice decrypts",
                "principal": ALICE,
                "action": "kms:Decrypt",
                "expect": "allowed",
            },
        ],
    }
    tested = client.post(
        "/console/playground",
        data={**form, "step": "test", "tests": json.dumps(cases)},
    ).data.decode()
    assert "failures" in tested and tested.count("FAIL") == 1
    by_path = client.post(
        "/console/playground",
        data={**form, "step": "test", "tests": json.dumps({**cases, "policy": "/etc/passwd"})},
    )
    assert by_path.status_code == 400
    assert b"inline" in by_path.data

    diffed = client.post("/console/playground", data={**form, "step": "diff"}).data.decode()
    assert "AliceEncrypts" in diffed and 'id="apply"' in diffed
    applied = client.post(
        "/console/playground/apply", data={"csrf": csrf, "key": "alias/payments", "policy": policy}
    )
    assert applied.status_code == 200 and b'id="applied"' in applied.data
    now = client.get(f"/v1/keys/{payments}/policy", headers=bearer_of(client)).get_json()
    assert json.loads(now["Policy"]) == json.loads(policy)


def bearer_of(client: FlaskClient) -> dict[str, str]:
    from app.auth.local_issuer import LocalIssuer
    from tests.conftest import services_of

    issuer = LocalIssuer.load(services_of(client.application).settings)
    return bearer(issuer.mint(ACCOUNT, root=True))


def test_apply_goes_through_put_key_policy_s_lockout_check(
    client: FlaskClient, payments: str
) -> None:
    csrf = csrf_of(client.get("/console/playground").data)
    lockout = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": ALICE},
                    "Action": "kms:Encrypt",
                    "Resource": "*",
                }
            ],
        }
    )
    refused = client.post(
        "/console/playground/apply", data={"csrf": csrf, "key": payments, "policy": lockout}
    )
    assert refused.status_code == 400
    assert b"MalformedPolicyDocumentException" in refused.data
    assert b"Enable IAM User Permissions" in client.get("/console/playground?key=" + payments).data


def test_relative_and_iso_times() -> None:
    now = datetime(2026, 12, 5, 12, 0, tzinfo=UTC).timestamp()
    assert epoch_seconds("1h", now, member="since") == now - 3600
    assert epoch_seconds("7d", now, member="since") == now - 7 * 86400
    assert epoch_seconds("2026-12-05", now, member="since") == now - 12 * 3600
    assert epoch_seconds("2026-12-05T13:00:00+01:00", now, member="since") == now
    with pytest.raises(ValidationError):
        epoch_seconds("soon", now, member="since")


def test_the_chart_stacks_outcomes_per_slice() -> None:
    drawn = chart([(0.0, "success"), (0.0, "denied"), (100.0, "denied"), (None, "failed")])
    assert drawn is not None
    assert drawn.totals == {"success": 1, "denied": 2, "failed": 0}
    first, last = drawn.bars[0], drawn.bars[-1]
    assert [kind for kind, _, _ in first.parts] == ["success", "denied"]
    assert [kind for kind, _, _ in last.parts] == ["denied"]
    assert chart([]) is None
