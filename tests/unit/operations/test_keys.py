"""Key lifecycle on in-memory repositories: create, describe, list, enable and
disable, scheduled deletion and its cancellation, the deletion job."""

from __future__ import annotations

import json
from typing import Any

import pytest

from app.audit.verify import verify
from app.errors import (
    AccessDeniedError,
    DisabledError,
    InvalidStateError,
    LimitExceededError,
    NotFoundError,
    ValidationError,
)
from app.operations import encryption, keys
from tests.unit.operations.conftest import ALICE, ROOT, caller
from tests.unit.operations.fakes import ACCOUNT, OTHER_ACCOUNT, T0, FakeWorld

DAY = 86400.0


def create(world: FakeWorld, **request: Any) -> dict[str, Any]:
    metadata: dict[str, Any] = keys.create_key(
        world.services, ROOT, keys.CreateKeyRequest(**request)
    )["KeyMetadata"]
    return metadata


def encrypt(world: FakeWorld, key_id: str, plaintext: bytes = b"secret") -> dict[str, Any]:
    return encryption.encrypt(
        world.services, ROOT, encryption.EncryptRequest(key_id=key_id, plaintext=plaintext)
    )


def test_a_new_key_is_an_enabled_symmetric_key_of_the_callers_account(world: FakeWorld) -> None:
    metadata = create(world, description="payroll", tags=[("team", "finance")])
    assert metadata["KeyState"] == "Enabled" and metadata["Enabled"] is True
    assert metadata["KeySpec"] == "SYMMETRIC_DEFAULT"
    assert metadata["KeyUsage"] == "ENCRYPT_DECRYPT"
    assert metadata["AWSAccountId"] == ACCOUNT
    assert metadata["Description"] == "payroll"
    assert metadata["CreationDate"] == T0
    assert metadata["Arn"] == f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{metadata['KeyId']}"
    assert len(metadata["CurrentKeyMaterialId"]) == 64
    # Stored with its tags, its default policy and one sealed version.
    stored = world.keys.get_key(ACCOUNT, metadata["KeyId"])
    assert stored is not None and dict(stored.tags) == {"team": "finance"}
    statement = json.loads(stored.policy)["Statement"][0]
    assert statement["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}
    assert world.keys.sealed_version(metadata["KeyId"], 1) is not None


def test_key_ids_and_material_come_from_the_services_randomness(world: FakeWorld) -> None:
    before = world.random.drawn
    first = create(world)
    assert world.random.drawn - before >= 16 + 32  # a UUID and 32 bytes of material
    second = create(world)
    assert first["KeyId"] != second["KeyId"]
    assert first["CurrentKeyMaterialId"] != second["CurrentKeyMaterialId"]


def test_describe_and_list_show_only_the_callers_keys(world: FakeWorld) -> None:
    ours = create(world)
    keys.create_key(world.services, caller(account=OTHER_ACCOUNT), keys.CreateKeyRequest())
    described = keys.describe_key(world.services, ROOT, keys.DescribeKeyRequest(ours["KeyId"]))
    assert described["KeyMetadata"] == ours
    listed = keys.list_keys(world.services, ROOT, keys.ListRequest())
    assert listed == {
        "Keys": [{"KeyId": ours["KeyId"], "KeyArn": ours["Arn"]}],
        "Truncated": False,
    }
    with pytest.raises(NotFoundError):
        keys.describe_key(
            world.services, caller(account=OTHER_ACCOUNT), keys.DescribeKeyRequest(ours["KeyId"])
        )


def test_list_keys_pages_with_a_marker(world: FakeWorld) -> None:
    made = sorted(create(world)["KeyId"] for _ in range(3))
    first = keys.list_keys(world.services, ROOT, keys.ListRequest(limit=2))
    assert [k["KeyId"] for k in first["Keys"]] == made[:2] and first["Truncated"]
    rest = keys.list_keys(world.services, ROOT, keys.ListRequest(marker=first["NextMarker"]))
    assert [k["KeyId"] for k in rest["Keys"]] == made[2:] and not rest["Truncated"]


def test_unsupported_key_specs_are_refused_and_nothing_is_stored(world: FakeWorld) -> None:
    with pytest.raises(ValidationError):
        create(world, key_spec="RSA_2048")
    with pytest.raises(ValidationError):
        create(world, multi_region=True)
    assert world.keys.keys == {}


def test_a_user_without_an_identity_policy_cannot_create_keys(world: FakeWorld) -> None:
    with pytest.raises(AccessDeniedError):
        keys.create_key(world.services, ALICE, keys.CreateKeyRequest())
    world.identity_policies.put(
        ACCOUNT,
        ALICE.principal.arn,
        "creator",
        json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "kms:CreateKey", "Resource": "*"}],
            }
        ),
        T0,
    )
    created = keys.create_key(world.services, ALICE, keys.CreateKeyRequest())
    assert created["KeyMetadata"]["KeyState"] == "Enabled"


def test_a_disabled_key_refuses_encryption_until_enabled_again(world: FakeWorld) -> None:
    key_id = create(world)["KeyId"]
    keys.disable_key(world.services, ROOT, keys.KeyIdRequest(key_id))
    described = keys.describe_key(world.services, ROOT, keys.DescribeKeyRequest(key_id))
    assert described["KeyMetadata"]["KeyState"] == "Disabled"
    with pytest.raises(DisabledError):
        encrypt(world, key_id)
    keys.enable_key(world.services, ROOT, keys.KeyIdRequest(key_id))
    assert encrypt(world, key_id)["KeyId"].endswith(key_id)


def test_a_description_update_is_stored(world: FakeWorld) -> None:
    key_id = create(world, description="old")["KeyId"]
    keys.update_key_description(
        world.services, ROOT, keys.UpdateKeyDescriptionRequest(key_id, "new")
    )
    described = keys.describe_key(world.services, ROOT, keys.DescribeKeyRequest(key_id))
    assert described["KeyMetadata"]["Description"] == "new"


def test_scheduled_deletion_blocks_use_and_cancelling_leaves_the_key_disabled(
    world: FakeWorld,
) -> None:
    key_id = create(world)["KeyId"]
    ciphertext = encrypt(world, key_id)["CiphertextBlob"]
    scheduled = keys.schedule_key_deletion(
        world.services, ROOT, keys.ScheduleKeyDeletionRequest(key_id, pending_window_in_days=7)
    )
    assert scheduled["KeyState"] == "PendingDeletion"
    assert scheduled["DeletionDate"] == T0 + 7 * DAY
    assert scheduled["PendingWindowInDays"] == 7
    with pytest.raises(InvalidStateError):
        encrypt(world, key_id)
    with pytest.raises(InvalidStateError):
        encryption.decrypt(world.services, ROOT, encryption.DecryptRequest(ciphertext))
    with pytest.raises(InvalidStateError):  # a pending key cannot be rescheduled
        keys.schedule_key_deletion(world.services, ROOT, keys.ScheduleKeyDeletionRequest(key_id))

    keys.cancel_key_deletion(world.services, ROOT, keys.KeyIdRequest(key_id))
    metadata = keys.describe_key(world.services, ROOT, keys.DescribeKeyRequest(key_id))[
        "KeyMetadata"
    ]
    assert metadata["KeyState"] == "Disabled" and "DeletionDate" not in metadata
    keys.enable_key(world.services, ROOT, keys.KeyIdRequest(key_id))
    decrypted = encryption.decrypt(world.services, ROOT, encryption.DecryptRequest(ciphertext))
    assert decrypted["Plaintext"] == b"secret"


def test_cancelling_a_deletion_that_was_never_scheduled_is_refused(world: FakeWorld) -> None:
    key_id = create(world)["KeyId"]
    with pytest.raises(InvalidStateError):
        keys.cancel_key_deletion(world.services, ROOT, keys.KeyIdRequest(key_id))


def test_the_deletion_job_deletes_only_keys_whose_waiting_period_ended(world: FakeWorld) -> None:
    doomed = create(world)["KeyId"]
    kept = create(world)["KeyId"]
    keys.schedule_key_deletion(
        world.services, ROOT, keys.ScheduleKeyDeletionRequest(doomed, pending_window_in_days=7)
    )
    world.clock.advance(7 * DAY - 1)
    assert keys.delete_expired_keys(world.services) == []
    world.clock.advance(1)
    [arn] = keys.delete_expired_keys(world.services)
    assert arn.endswith(doomed)
    assert world.keys.get_key(ACCOUNT, doomed) is None
    assert world.keys.sealed_version(doomed, 1) is None  # the material is gone with it
    assert world.keys.get_key(ACCOUNT, kept) is not None
    # The deletion is in the audit log, as the service's own act, and the chain verifies.
    [event] = world.audit.events
    body = json.loads(event.body)
    assert body["eventName"] == "DeleteKey" and body["door"] == "scheduler"
    assert body["resources"] == [arn]
    assert verify(world.services.audit).ok


def test_the_account_quota_is_kept(world: FakeWorld) -> None:
    world.keys.count_keys = lambda account: keys.MAX_KEYS_PER_ACCOUNT  # type: ignore[method-assign]
    with pytest.raises(LimitExceededError):
        create(world)
    assert world.keys.keys == {}


def test_a_creation_that_fails_half_way_leaves_nothing_behind(world: FakeWorld) -> None:
    def broken(key_id: str, tags: object) -> None:
        raise OSError("disk full")

    # The key row and its first version are written, then the tags fail.
    world.keys.replace_tags = broken  # type: ignore[assignment, method-assign]
    with pytest.raises(OSError):
        create(world, tags=[("team", "finance")])
    assert world.keys.keys == {} and world.keys.versions == {}
    assert world.database.commits == 0
