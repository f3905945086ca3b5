"""Searching and exporting: filters, newest-first cursor pages, account scope."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from app.audit import query
from app.audit.query import AuditQuery
from app.audit.repository import AuditRepository
from app.errors import InvalidMarkerError, NotFoundError, ValidationError
from tests.conftest import ACCOUNT, OTHER_ACCOUNT
from tests.integration.test_audit_fixtures import (
    ALICE,
    BOB,
    KEY_1,
    KEY_2,
    T0,
    AuditEnv,
    audit_env,  # noqa: F401  (fixture)
    make_event,
)

EVE = f"arn:aws:iam::{OTHER_ACCOUNT}:user/eve"
OTHER_KEY = f"arn:aws:kms:us-east-1:{OTHER_ACCOUNT}:key/33333333-3333-4333-8333-333333333333"
COUNT = 60


def _iso(seconds: float, offset_hours: int = 0) -> str:
    zone = timezone(timedelta(hours=offset_hours))
    return datetime.fromtimestamp(seconds, UTC).astimezone(zone).isoformat()


@dataclass(frozen=True)
class Made:
    seq: int
    event_id: str
    principal: str
    account: str
    operation: str
    key: str
    key_account: str
    outcome: str
    error_code: str | None
    time: float


def _spec(i: int) -> dict[str, Any]:
    principal, account, key = (ALICE, ACCOUNT, KEY_1) if i % 2 == 0 else (BOB, ACCOUNT, KEY_2)
    if i % 4 == 1:
        key = KEY_1
    if i % 10 == 9:
        principal, account = EVE, OTHER_ACCOUNT  # another account using our key
        key = KEY_1
    if i % 15 == 14:
        principal, account, key = EVE, OTHER_ACCOUNT, OTHER_KEY  # none of our business
    outcome, error = "success", None
    if i % 7 == 0:
        outcome, error = "denied", "AccessDeniedException"
    elif i % 11 == 0:
        outcome, error = "failed", "InvalidCiphertextException"
    return {
        "principal_arn": principal,
        "principal_account": account,
        "event_name": ("Encrypt", "Decrypt", "GenerateDataKey")[i % 3],
        "resources": (key,),
        "outcome": outcome,
        "error_code": error,
        "http_status": {"success": 200, "denied": 403, "failed": 400}[outcome],
    }


@pytest.fixture
def records(audit_env: AuditEnv) -> AuditRepository:  # noqa: F811
    return audit_env.log.repository


@pytest.fixture
def made(audit_env: AuditEnv) -> list[Made]:  # noqa: F811
    result = []
    with audit_env.store.transaction():
        for i in range(COUNT):
            spec = _spec(i)
            audit_env.clock.now = T0 + 10 * i
            event = make_event(i, time=T0 + 10 * i, **spec)
            seq = audit_env.log.append(event)
            result.append(
                Made(
                    seq=seq,
                    event_id=event.event_id,
                    principal=spec["principal_arn"],
                    account=spec["principal_account"],
                    operation=spec["event_name"],
                    key=spec["resources"][0],
                    key_account=spec["resources"][0].split(":")[4],
                    outcome=spec["outcome"],
                    error_code=spec["error_code"],
                    time=T0 + 10 * i,
                )
            )
    return result


def _all_pages(
    records: AuditRepository, q: AuditQuery, account: str | None, limit: int
) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    cursor = None
    for _ in range(COUNT + 2):
        page = query.search(records, q, account=account, limit=limit, cursor=cursor)
        assert len(page.events) <= limit
        events.extend(page.events)
        cursor = page.next_cursor
        if cursor is None:
            return events
    raise AssertionError("pagination did not end")


FILTERS: dict[str, tuple[AuditQuery, Any]] = {
    "everything": (AuditQuery(), lambda m: True),
    "principal": (AuditQuery(principal=ALICE), lambda m: m.principal == ALICE),
    "operation": (AuditQuery(operation="Decrypt"), lambda m: m.operation == "Decrypt"),
    "operation in another case": (
        AuditQuery(operation="dEcRyPt"),
        lambda m: m.operation == "Decrypt",
    ),
    "key ARN": (AuditQuery(key=KEY_2), lambda m: m.key == KEY_2),
    "key id": (AuditQuery(key=KEY_1.rpartition("/")[2]), lambda m: m.key == KEY_1),
    "outcome": (AuditQuery(outcome="denied"), lambda m: m.outcome == "denied"),
    "error code": (
        AuditQuery(error_code="InvalidCiphertextException"),
        lambda m: m.error_code == "InvalidCiphertextException",
    ),
    "time range": (
        AuditQuery(since=int(T0) + 100, until=int(T0) + 300),
        lambda m: T0 + 100 <= m.time <= T0 + 300,
    ),
    "ISO 8601 time range": (
        AuditQuery(since=_iso(T0 + 100), until=_iso(T0 + 300, offset_hours=-5)),
        lambda m: T0 + 100 <= m.time <= T0 + 300,
    ),
    "ISO 8601 without seconds or offset": (
        AuditQuery(since=_iso(T0 + 120)[:16]),
        lambda m: m.time >= T0 + 120,
    ),
    "epoch seconds as text": (
        AuditQuery(since=str(int(T0) + 450)),
        lambda m: m.time >= T0 + 450,
    ),
    "a date alone is the whole day": (
        AuditQuery(principal=ALICE, since=_iso(T0)[:10], until=_iso(T0)[:10]),
        lambda m: m.principal == ALICE,
    ),
    "since only": (AuditQuery(since=int(T0) + 450), lambda m: m.time >= T0 + 450),
    "until only": (AuditQuery(until=int(T0) + 50), lambda m: m.time <= T0 + 50),
    "combined": (
        AuditQuery(principal=BOB, operation="Encrypt", outcome="success"),
        lambda m: m.principal == BOB and m.operation == "Encrypt" and m.outcome == "success",
    ),
    "key and time": (
        AuditQuery(key=KEY_1, since=int(T0) + 200),
        lambda m: m.key == KEY_1 and m.time >= T0 + 200,
    ),
    "no match": (AuditQuery(principal="arn:aws:iam::000000000000:root"), lambda m: False),
}


def test_filters_pages_and_newest_first(made: list[Made], records: AuditRepository) -> None:
    # One test walks every filter (a fresh database per case would be slow).
    for name, (q, keep) in FILTERS.items():
        for account in (None, ACCOUNT):

            def visible(m: Made, account: str | None = account) -> bool:
                return account is None or account in (m.account, m.key_account)

            expected = [m.seq for m in reversed(made) if keep(m) and visible(m)]
            for limit in (7, 1000):
                events = _all_pages(records, q, account, limit)
                assert [e["seq"] for e in events] == expected, (name, account, limit)


def test_a_day_before_the_events_finds_none(made: list[Made], records: AuditRepository) -> None:
    day_before = _iso(T0 - 86400)[:10]
    assert query.search(records, AuditQuery(until=day_before), account=None).events == []
    assert len(_all_pages(records, AuditQuery(since=day_before), None, 1000)) == COUNT


def test_filters_were_not_vacuous(made: list[Made]) -> None:
    for name, (_, keep) in FILTERS.items():
        count = len([m for m in made if keep(m)])
        assert (count == 0) == (name == "no match"), name
        assert count < COUNT or name == "everything"


def test_account_scope_includes_other_accounts_use_of_our_keys(
    made: list[Made], records: AuditRepository
) -> None:
    ours = _all_pages(records, AuditQuery(principal=EVE), ACCOUNT, 50)
    assert ours and all(e["resources"] == [KEY_1] for e in ours)
    theirs = _all_pages(records, AuditQuery(principal=EVE), OTHER_ACCOUNT, 50)
    assert len(theirs) == len([m for m in made if m.principal == EVE])
    assert {
        e["principal"]["arn"] for e in _all_pages(records, AuditQuery(), OTHER_ACCOUNT, 50)
    } == {EVE}


def test_event_shape(made: list[Made], records: AuditRepository) -> None:
    event = query.search(records, AuditQuery(), account=None, limit=1).events[0]
    last = made[-1]
    assert event["eventId"] == last.event_id
    # ISO 8601 in UTC to the second, as export writes it.
    assert event["eventTime"] == datetime.fromtimestamp(last.time, UTC).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )
    assert event["recordedAt"] == event["eventTime"]
    assert event["principal"] == {
        "arn": last.principal,
        "account": last.account,
        "type": "user",
        "authMethod": "jwt",
        "tokenId": f"jti-{COUNT - 1}",
    }
    assert event["requestParameters"]["keyId"] == KEY_1
    assert event["latencyMs"] == 2.5 and event["keyVersion"] == 1
    assert event["seq"] == COUNT and len(event["prevHash"]) == len(event["hash"]) == 64


def test_get_one_event(made: list[Made], records: AuditRepository) -> None:
    target = made[3]
    event = query.get_event(records, target.event_id, account=ACCOUNT)
    assert event["seq"] == target.seq
    foreign = next(m for m in made if m.key == OTHER_KEY)
    with pytest.raises(NotFoundError):
        query.get_event(records, foreign.event_id, account=ACCOUNT)
    assert query.get_event(records, foreign.event_id, account=OTHER_ACCOUNT)["seq"] == foreign.seq
    with pytest.raises(NotFoundError):
        query.get_event(records, "no-such-event", account=None)


BAD_CURSORS = [
    "",
    "not base64!",
    "YWJj",
    query.encode_cursor(5) + "=",
    "YXVkaXQtc2VxOjA=",
    "YXVkaXQtc2VxOi0x",
    # audit-seq:2**63, one past what a 64-bit seq column holds
    "YXVkaXQtc2VxOjkyMjMzNzIwMzY4NTQ3NzU4MDg=",
]
BAD_SEARCHES = [
    (AuditQuery(), 0),
    (AuditQuery(), 1001),
    (AuditQuery(outcome="maybe"), 10),
    (AuditQuery(since=200, until=100), 10),
    (AuditQuery(principal=""), 10),
    (AuditQuery(key="arn:aws:kms:us-east-1:1:alias/x"), 10),
    (AuditQuery(since=-1), 10),
    (AuditQuery(key="alias/payments"), 10),
    (AuditQuery(operation="Bogus"), 10),
    (AuditQuery(operation="Decryptt"), 10),
    (AuditQuery(since="yesterday"), 10),
    (AuditQuery(since="2026-02-30"), 10),
    (AuditQuery(until="2026-12-05T25:00Z"), 10),
    (AuditQuery(since="-5"), 10),
    (AuditQuery(since="1e9"), 10),
    (AuditQuery(since="2026-12-06", until="2026-12-05"), 10),
]


def test_bad_cursors_and_filters_are_client_errors(
    made: list[Made], records: AuditRepository
) -> None:
    for cursor in BAD_CURSORS:
        with pytest.raises(InvalidMarkerError):
            query.search(records, AuditQuery(), account=None, cursor=cursor)
    for q, limit in BAD_SEARCHES:
        with pytest.raises(ValidationError):
            query.search(records, q, account=None, limit=limit)


def test_filters_are_data_not_sql(made: list[Made], records: AuditRepository) -> None:
    injected = AuditQuery(principal="x' OR '1'='1", error_code='"; DROP TABLE audit_event; --')
    assert query.search(records, injected, account=None).events == []
    # An operation is checked against the known names before any query runs.
    with pytest.raises(ValidationError, match="Valid operations: .*Decrypt"):
        query.search(records, AuditQuery(operation="' OR 1=1 --"), account=None)
    assert len(_all_pages(records, AuditQuery(), None, 1000)) == COUNT


def test_export_lines_are_cloudtrail_like(made: list[Made], audit_env: AuditEnv) -> None:  # noqa: F811
    repository = audit_env.log.repository
    lines = list(
        query.export_records(repository, AuditQuery(), account=ACCOUNT, region="eu-west-1")
    )
    records = [json.loads(line) for line in lines]
    visible = [m for m in made if ACCOUNT in (m.account, m.key_account)]
    assert [r["additionalEventData"]["seq"] for r in records] == [m.seq for m in visible]
    first, source = records[0], visible[0]
    assert set(first) >= {
        "eventVersion",
        "eventID",
        "eventTime",
        "eventSource",
        "eventName",
        "awsRegion",
        "sourceIPAddress",
        "userAgent",
        "userIdentity",
        "requestParameters",
        "responseElements",
        "resources",
        "errorCode",
        "errorMessage",
        "requestID",
        "readOnly",
        "additionalEventData",
    }
    assert first["eventID"] == source.event_id
    assert datetime.fromisoformat(first["eventTime"].replace("Z", "+00:00")).timestamp() == int(
        source.time
    )
    assert first["eventSource"] == "kms.trent" and first["awsRegion"] == "eu-west-1"
    assert first["userIdentity"] == {
        "type": "IAMUser",
        "arn": source.principal,
        "accountId": source.account,
        "authMethod": "jwt",
        "tokenId": "jti-0",
    }
    assert first["resources"] == [{"ARN": KEY_1, "type": "AWS::KMS::Key", "accountId": ACCOUNT}]
    assert first["responseElements"] is None and first["readOnly"] is True
    assert first["errorCode"] == "AccessDeniedException"
    extra = first["additionalEventData"]
    assert set(extra) >= {"keyVersion", "encryptionContext", "door", "latencyMs", "seq"}
    assert extra["prevHash"] == "00" * 32 and len(extra["hash"]) == 64
    filtered = list(
        query.export_records(repository, AuditQuery(operation="Decrypt"), account=None, region="r")
    )
    assert len(filtered) == len([m for m in made if m.operation == "Decrypt"])


def test_export_streams_in_batches(audit_env: AuditEnv, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    monkeypatch.setattr(query, "EXPORT_BATCH", 4)
    with audit_env.store.transaction():
        audit_env.log.append_batch([make_event(i) for i in range(10)])
    lines = query.export_records(audit_env.log.repository, AuditQuery(), account=None, region="r")
    assert [json.loads(line)["additionalEventData"]["seq"] for line in lines] == list(range(1, 11))


@pytest.mark.parametrize("audit_env", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("q", "account", "index"),
    [
        (AuditQuery(error_code="AccessDeniedException"), None, "error_code_seq_where_set"),
        (
            AuditQuery(error_code="AccessDeniedException"),
            ACCOUNT,
            "principal_account_error_code_seq_where_set",
        ),
        # An account's search also reads other accounts' use of its keys.
        (AuditQuery(), ACCOUNT, "cross_account_seq_where_set"),
    ],
)
def test_a_search_for_a_sparse_value_reads_its_partial_index(
    made: list[Made],
    audit_env: AuditEnv,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    q: AuditQuery,
    account: str | None,
    index: str,
) -> None:
    """Error codes and cross-account use are indexed only where set (most
    events have neither): a search for one must still be an index scan.
    (On SQLite: PostgreSQL chooses its plan by its statistics.)"""
    from app.store.audit import search

    statements: list[tuple[str, list[Any]]] = []
    raw_rows = search._raw_rows

    def spy(store: Any, select: Any) -> list[Any]:
        statements.append(select.sql())
        return raw_rows(store, select)

    monkeypatch.setattr(search, "_raw_rows", spy)
    found = query.search(audit_env.log.repository, q, account=account, limit=100).events
    assert found  # the fixture's events include some of each
    plans = [
        " ".join(
            str(row[-1]) for row in audit_env.store.execute_sql(f"EXPLAIN QUERY PLAN {sql}", params)
        )
        for sql, params in statements
    ]
    assert any(f"audit_event_{index}" in plan for plan in plans), plans
