"""SigV4 access keys: created once with their secret, listed without it,
looked up by the verifier, deleted by their owner or the account root."""

from __future__ import annotations

import dataclasses
from types import MappingProxyType
from typing import Any

import pytest

from app.auth.access_keys import ACCESS_KEY_ID_RE, SECRET_ACCESS_KEY_RE
from app.crypto.root_key import RootKeyError
from app.errors import (
    AccessDeniedError,
    LimitExceededError,
    NotFoundError,
    ServiceUnavailableError,
)
from app.operations import access_keys as ops
from tests.unit.operations.conftest import ALICE, ROOT, caller
from tests.unit.operations.fakes import T0, FakeWorld

BOB = caller("bob")


def create(world: FakeWorld, ctx: Any = ALICE) -> dict[str, Any]:
    key: dict[str, Any] = ops.create_access_key(world.services, ctx, None)["AccessKey"]
    return key


def test_a_new_access_key_has_aws_forms_and_its_secret_is_stored_only_sealed(
    world: FakeWorld,
) -> None:
    key = create(world)
    assert ACCESS_KEY_ID_RE.fullmatch(key["AccessKeyId"])
    assert SECRET_ACCESS_KEY_RE.fullmatch(key["SecretAccessKey"])
    assert key["PrincipalArn"] == ALICE.principal.arn and key["CreateDate"] == T0
    stored = world.access_keys.get(key["AccessKeyId"])
    assert stored is not None
    assert key["SecretAccessKey"].encode() not in stored.sealed_secret.blob


def test_the_lookup_finds_the_owner_and_the_same_secret(world: FakeWorld) -> None:
    key = create(world, caller("alice", tags={"team": "a"}))
    credential = ops.secret_lookup(world.services)(key["AccessKeyId"])
    assert credential is not None
    assert credential.principal.arn == ALICE.principal.arn
    assert dict(credential.principal.tags) == {"team": "a"}
    assert credential.secret.expose_secret_bytes() == key["SecretAccessKey"].encode()
    assert ops.secret_lookup(world.services)("AKIA" + "A" * 16) is None


def test_the_lookup_makes_its_credential_again_only_from_a_changed_record(
    world: FakeWorld,
) -> None:
    key = create(world, caller("alice", tags={"team": "a"}))
    lookup = ops.secret_lookup(world.services)
    first = lookup(key["AccessKeyId"])
    assert first is not None
    assert lookup(key["AccessKeyId"]) is first  # the same record: the same credential
    world.services.access_keys.touch(key["AccessKeyId"], T0 + 1)
    touched = lookup(key["AccessKeyId"])
    assert touched is not None and touched is not first
    assert touched.last_used_at == T0 + 1
    record = world.access_keys.records[key["AccessKeyId"]]
    world.access_keys.records[key["AccessKeyId"]] = dataclasses.replace(
        record, principal_tags=MappingProxyType({"team": "b"})
    )
    # Another binding: the secret, sealed under the old one, no longer unseals.
    with pytest.raises(RootKeyError):
        lookup(key["AccessKeyId"])
    world.access_keys.records[key["AccessKeyId"]] = record
    ops.delete_access_key(world.services, ALICE, ops.AccessKeyRequest(key["AccessKeyId"]))
    assert lookup(key["AccessKeyId"]) is None


def test_listing_shows_metadata_and_never_a_secret(world: FakeWorld) -> None:
    key = create(world)
    listed = ops.list_access_keys(world.services, ALICE, None)["AccessKeyMetadata"]
    assert listed == [
        {
            "AccessKeyId": key["AccessKeyId"],
            "PrincipalArn": ALICE.principal.arn,
            "CreateDate": T0,
            "Status": "Active",
        }
    ]
    # The root may list another principal's keys; that principal may not list the root's.
    request = ops.ListAccessKeysRequest(principal_arn=ALICE.principal.arn)
    assert ops.list_access_keys(world.services, ROOT, request)["AccessKeyMetadata"] == listed
    with pytest.raises(AccessDeniedError):
        ops.list_access_keys(world.services, BOB, ops.ListAccessKeysRequest(ALICE.principal.arn))


def test_a_principal_has_at_most_two_access_keys(world: FakeWorld) -> None:
    create(world)
    create(world)
    with pytest.raises(LimitExceededError):
        create(world)
    create(world, BOB)  # the quota is per principal


def test_only_the_owner_or_the_account_root_deletes_a_key(world: FakeWorld) -> None:
    first, second = create(world), create(world)
    with pytest.raises(AccessDeniedError):
        ops.delete_access_key(world.services, BOB, ops.AccessKeyRequest(first["AccessKeyId"]))
    ops.delete_access_key(world.services, ALICE, ops.AccessKeyRequest(first["AccessKeyId"]))
    ops.delete_access_key(world.services, ROOT, ops.AccessKeyRequest(second["AccessKeyId"]))
    assert ops.secret_lookup(world.services)(first["AccessKeyId"]) is None
    assert world.access_keys.list_for(ALICE.principal.arn) == []
    with pytest.raises(NotFoundError):
        ops.delete_access_key(world.services, ALICE, ops.AccessKeyRequest(first["AccessKeyId"]))


def test_the_last_use_is_written_at_most_once_a_minute(world: FakeWorld) -> None:
    key = create(world)
    lookup, record_use = ops.secret_lookup(world.services), ops.record_use(world.services)
    credential = lookup(key["AccessKeyId"])
    assert credential is not None
    record_use(credential)
    assert world.access_keys.records[key["AccessKeyId"]].last_used_at == T0
    world.clock.advance(30)
    again = lookup(key["AccessKeyId"])
    assert again is not None
    record_use(again)
    assert world.access_keys.records[key["AccessKeyId"]].last_used_at == T0
    world.clock.advance(ops.LAST_USED_RESOLUTION_SECONDS)
    record_use(again)
    assert world.access_keys.records[key["AccessKeyId"]].last_used_at == world.clock.now


def test_requests_that_still_hold_the_old_time_do_not_write_it_again(
    world: FakeWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Until the new time is read back, every request of the key carries the
    old one: the process writes it once, not once per request."""
    key = create(world)
    record_use = ops.record_use(world.services)
    stale = ops.secret_lookup(world.services)(key["AccessKeyId"])
    assert stale is not None and stale.last_used_at is None
    writes: list[float] = []
    touch = world.access_keys.touch

    def counted(access_key_id: str, now: float) -> None:
        writes.append(now)
        touch(access_key_id, now)

    monkeypatch.setattr(world.access_keys, "touch", counted)
    for _ in range(4):
        record_use(stale)
    assert writes == [T0]
    world.clock.advance(ops.LAST_USED_RESOLUTION_SECONDS)
    record_use(stale)
    record_use(stale)
    assert writes == [T0, world.clock.now]


def test_a_last_use_that_could_not_be_written_is_tried_again(
    world: FakeWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = create(world)
    record_use = ops.record_use(world.services)
    credential = ops.secret_lookup(world.services)(key["AccessKeyId"])
    assert credential is not None
    touch = world.access_keys.touch
    failures = [ServiceUnavailableError("the database is down")]

    def flaky(access_key_id: str, now: float) -> None:
        if failures:
            raise failures.pop()
        touch(access_key_id, now)

    monkeypatch.setattr(world.access_keys, "touch", flaky)
    with pytest.raises(ServiceUnavailableError):
        record_use(credential)
    assert world.access_keys.records[key["AccessKeyId"]].last_used_at is None
    record_use(credential)
    assert world.access_keys.records[key["AccessKeyId"]].last_used_at == T0


def test_another_accounts_root_cannot_delete_a_key(world: FakeWorld) -> None:
    key = create(world)
    stranger = caller(account="444455556666")
    with pytest.raises(AccessDeniedError):
        ops.delete_access_key(world.services, stranger, ops.AccessKeyRequest(key["AccessKeyId"]))
    assert world.access_keys.get(key["AccessKeyId"]) is not None
