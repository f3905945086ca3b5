"""Access keys against a real database (SQLite, and PostgreSQL when configured):
the schema, sealing, the per-principal limit under concurrency, deletion that
takes effect at once, and the verifier wired to the table."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest
from playhouse.schema_diff import diff_models

from app import build_services
from app.auth.access_keys import ACCESS_KEY_ID_RE, SECRET_ACCESS_KEY_RE
from app.auth.principal import Principal
from app.auth.sigv4 import UNRECOGNIZED_CLIENT, SignedRequest, SigV4Error
from app.config import Settings
from app.crypto.root_key import RootKeyError, load_root_key
from app.errors import AccessDeniedError, LimitExceededError, NotFoundError, ValidationError
from app.operations import access_keys as ops
from app.operations.context import OperationContext, RequestInfo
from app.operations.services import Services
from app.store.access_keys import AccessKeyRow
from app.store.database import Store, open_store
from tests.conftest import ACCOUNT, OTHER_ACCOUNT, init_data_dir
from tests.unit.sigv4.signer import sign

ALICE = Principal(
    partition="aws",
    account=ACCOUNT,
    type="user",
    name="alice",
    tags=MappingProxyType({"team": "payments"}),
)
BOB = Principal(partition="aws", account=ACCOUNT, type="user", name="bob")
ROOT = Principal(partition="aws", account=ACCOUNT, type="root", name=None)
OTHER_ROOT = Principal(partition="aws", account=OTHER_ACCOUNT, type="root", name=None)


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def services(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Services]:
    url = request.getfixturevalue("postgres_url") if request.param == "postgres" else None
    settings = init_data_dir(tmp_path / "var", url)
    # A pool large enough for the concurrency tests.
    store = open_store(settings.database, pool_size=16, pool_timeout=5, busy_timeout_ms=10_000)
    services = build_services(settings, store, root_key=load_root_key(settings), clock=Clock(1.8e9))
    with services.connection():
        yield services
    store.close()


def ctx(principal: Principal) -> OperationContext:
    return OperationContext(principal=principal, request=RequestInfo(request_id="test"))


def create(services: Services, principal: Principal = ALICE) -> dict[str, Any]:
    key: dict[str, Any] = ops.create_access_key(services, ctx(principal), None)["AccessKey"]
    return key


def test_the_migration_builds_the_model_schema(services: Services) -> None:
    assert isinstance(services.database, Store)
    assert str(diff_models(services.database.database, [AccessKeyRow])) == ""


def test_a_created_key_has_aws_forms_and_is_stored_only_sealed(services: Services) -> None:
    context = ctx(ALICE)
    key = ops.create_access_key(services, context, None)["AccessKey"]
    assert ACCESS_KEY_ID_RE.fullmatch(key["AccessKeyId"])
    assert SECRET_ACCESS_KEY_RE.fullmatch(key["SecretAccessKey"])
    assert key["PrincipalArn"] == ALICE.arn
    assert key["Status"] == "Active"
    assert key["CreateDate"] == 1.8e9
    assert context.notes.resources == [f"arn:aws:iam::{ACCOUNT}:access-key/{key['AccessKeyId']}"]
    row = AccessKeyRow.get_by_id(key["AccessKeyId"])
    blob = bytes(row.sealed_secret)
    assert key["SecretAccessKey"].encode() not in blob
    assert len(blob) == 1 + 12 + 40 + 16  # version, IV, secret, tag
    for value in row.__data__.values():
        assert key["SecretAccessKey"] not in str(value)


def test_the_lookup_returns_the_owner_and_the_secret(services: Services) -> None:
    key = create(services)
    credential = ops.secret_lookup(services)(key["AccessKeyId"])
    assert credential is not None
    assert credential.secret.expose_secret_bytes() == key["SecretAccessKey"].encode()
    assert credential.principal.arn == ALICE.arn
    assert dict(credential.principal.tags) == {"team": "payments"}
    assert credential.principal.auth_method == "sigv4"
    assert credential.principal.token_id == key["AccessKeyId"]
    assert key["SecretAccessKey"] not in repr(credential)


def test_the_lookup_knows_nothing_of_unknown_or_malformed_ids(services: Services) -> None:
    lookup = ops.secret_lookup(services)
    assert lookup("AKIAAAAAAAAAAAAAAAAA") is None
    assert lookup("not-an-id") is None


@pytest.mark.parametrize(
    "column, value",
    [
        ("principal_arn", f"arn:aws:iam::{ACCOUNT}:root"),
        ("principal_tags", '{"team": "security"}'),
    ],
)
def test_a_row_given_another_owner_does_not_unseal(
    services: Services, column: str, value: str
) -> None:
    key = create(services)
    lookup = ops.secret_lookup(services)
    assert lookup(key["AccessKeyId"]) is not None  # the cache is warm now
    AccessKeyRow.update({column: value}).where(
        AccessKeyRow.access_key_id == key["AccessKeyId"]
    ).execute()
    with pytest.raises(RootKeyError):
        lookup(key["AccessKeyId"])


def test_a_deleted_key_is_gone_at_once_even_from_a_warm_cache(services: Services) -> None:
    key = create(services)
    lookup = ops.secret_lookup(services)
    assert lookup(key["AccessKeyId"]) is not None
    ops.delete_access_key(services, ctx(ALICE), ops.AccessKeyRequest(key["AccessKeyId"]))
    assert lookup(key["AccessKeyId"]) is None
    assert services.access_keys.get(key["AccessKeyId"]) is None


def test_an_inactive_key_is_not_usable(services: Services) -> None:
    key = create(services)
    AccessKeyRow.update(status="Inactive").where(
        AccessKeyRow.access_key_id == key["AccessKeyId"]
    ).execute()
    assert ops.secret_lookup(services)(key["AccessKeyId"]) is None


def test_a_principal_has_at_most_two_keys(services: Services) -> None:
    first = create(services)
    create(services)
    with pytest.raises(LimitExceededError) as caught:
        create(services)
    assert caught.value.message == "Cannot exceed quota for AccessKeysPerUser: 2"
    # Other principals have their own quota.
    create(services, BOB)
    # Deleting a key frees its place.
    ops.delete_access_key(services, ctx(ALICE), ops.AccessKeyRequest(first["AccessKeyId"]))
    create(services)
    assert len(services.access_keys.list_for(ALICE.arn)) == 2


def test_concurrent_creations_never_exceed_the_limit(services: Services) -> None:
    results: list[str] = []
    barrier = threading.Barrier(8)

    def attempt() -> None:
        barrier.wait()
        with services.connection():
            try:
                create(services)
                results.append("created")
            except LimitExceededError:
                results.append("limit")

    threads = [threading.Thread(target=attempt) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(results) == ["created"] * 2 + ["limit"] * 6
    assert len(services.access_keys.list_for(ALICE.arn)) == 2


def test_listing_shows_ids_and_dates_never_secrets(services: Services) -> None:
    key = create(services)
    create(services, BOB)
    listed = ops.list_access_keys(services, ctx(ALICE), None)
    assert listed == {
        "AccessKeyMetadata": [
            {
                "AccessKeyId": key["AccessKeyId"],
                "PrincipalArn": ALICE.arn,
                "CreateDate": 1.8e9,
                "Status": "Active",
            }
        ]
    }
    assert key["SecretAccessKey"] not in repr(listed)


def test_the_root_may_list_another_principals_keys_others_may_not(services: Services) -> None:
    key = create(services)
    request = ops.ListAccessKeysRequest(principal_arn=ALICE.arn)
    listed = ops.list_access_keys(services, ctx(ROOT), request)["AccessKeyMetadata"]
    assert [e["AccessKeyId"] for e in listed] == [key["AccessKeyId"]]
    with pytest.raises(AccessDeniedError):
        ops.list_access_keys(services, ctx(BOB), request)
    with pytest.raises(AccessDeniedError):
        ops.list_access_keys(services, ctx(OTHER_ROOT), request)
    with pytest.raises(ValidationError):
        ops.list_access_keys(services, ctx(ROOT), ops.ListAccessKeysRequest("alice"))


def test_who_may_delete_a_key(services: Services) -> None:
    key = create(services)
    request = ops.AccessKeyRequest(key["AccessKeyId"])
    with pytest.raises(AccessDeniedError) as denied:
        ops.delete_access_key(services, ctx(BOB), request)
    assert BOB.arn in denied.value.message and "iam:DeleteAccessKey" in denied.value.message
    with pytest.raises(AccessDeniedError):
        ops.delete_access_key(services, ctx(OTHER_ROOT), request)
    assert services.access_keys.get(key["AccessKeyId"]) is not None
    context = ctx(ROOT)
    ops.delete_access_key(services, context, request)
    assert context.notes.resources == [f"arn:aws:iam::{ACCOUNT}:access-key/{key['AccessKeyId']}"]
    with pytest.raises(NotFoundError):
        ops.delete_access_key(services, ctx(ROOT), request)
    with pytest.raises(NotFoundError):
        ops.delete_access_key(services, ctx(ALICE), ops.AccessKeyRequest("../../etc"))


def _signed(key: dict[str, Any], epoch: float, body: bytes = b"{}") -> SignedRequest:
    amz_date = datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y%m%dT%H%M%SZ")
    headers = [
        ("Host", "trent.internal:8443"),
        ("X-Amz-Target", "TrentService.ListKeys"),
        ("Content-Type", "application/x-amz-json-1.1"),
        ("X-Amz-Date", amz_date),
    ]
    signed = sign(
        method="POST",
        path="/",
        headers=headers,
        body=body,
        access_key_id=key["AccessKeyId"],
        secret=key["SecretAccessKey"],
        region="us-east-1",
        service="kms",
        amz_date=amz_date,
    )
    return SignedRequest("POST", "/", "", tuple(signed.headers), body)


def test_the_wired_verifier_accepts_the_key_and_forgets_it_on_deletion(
    services: Services,
) -> None:
    assert services.settings.region == "us-east-1"
    key = create(services)
    verifier = ops.sigv4_verifier(services)
    principal = verifier.verify(_signed(key, 1.8e9))
    assert principal.arn == ALICE.arn
    assert principal.auth_method == "sigv4" and principal.token_id == key["AccessKeyId"]
    ops.delete_access_key(services, ctx(ALICE), ops.AccessKeyRequest(key["AccessKeyId"]))
    with pytest.raises(SigV4Error) as caught:
        verifier.verify(_signed(key, 1.8e9))
    assert caught.value.code == UNRECOGNIZED_CLIENT


def test_the_last_use_is_recorded_after_a_verified_request_only(services: Services) -> None:
    clock = services.clock
    assert isinstance(clock, Clock)
    key = create(services)
    verifier = ops.sigv4_verifier(services)
    forged = dict(key, SecretAccessKey="x" * 40)
    with pytest.raises(SigV4Error):
        verifier.verify(_signed(forged, clock.now))
    assert services.access_keys.get(key["AccessKeyId"]).last_used_at is None  # type: ignore[union-attr]
    verifier.verify(_signed(key, clock.now))
    assert services.access_keys.get(key["AccessKeyId"]).last_used_at == clock.now  # type: ignore[union-attr]
    first = clock.now
    clock.now += 30  # within the resolution: not written again
    verifier.verify(_signed(key, clock.now))
    assert services.access_keys.get(key["AccessKeyId"]).last_used_at == first  # type: ignore[union-attr]
    clock.now += 60
    verifier.verify(_signed(key, clock.now))
    assert services.access_keys.get(key["AccessKeyId"]).last_used_at == clock.now  # type: ignore[union-attr]
    listed = ops.list_access_keys(services, ctx(ALICE), None)["AccessKeyMetadata"]
    assert listed[0]["LastUsedDate"] == clock.now


def test_settings_region_is_what_the_scope_must_name(tmp_path: Path) -> None:
    # Guard for the test above: the default region is the one it signs for.
    assert Settings(data_dir=tmp_path).region == "us-east-1"
