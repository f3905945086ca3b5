"""Rotation: on demand and automatic, and what it means for old ciphertexts."""

from __future__ import annotations

import json

import pytest

from app.audit.verify import verify
from app.errors import DisabledError, LimitExceededError
from app.keys.model import VersionTaken
from app.operations import encryption, keys, rotation
from tests.unit.operations.conftest import ROOT
from tests.unit.operations.fakes import T0, FakeWorld

DAY = 86400.0


def new_key(world: FakeWorld) -> str:
    key_id: str = keys.create_key(world.services, ROOT, keys.CreateKeyRequest())["KeyMetadata"][
        "KeyId"
    ]
    return key_id


def encrypt(world: FakeWorld, key_id: str, plaintext: bytes) -> bytes:
    result = encryption.encrypt(world.services, ROOT, encryption.EncryptRequest(key_id, plaintext))
    blob: bytes = result["CiphertextBlob"]
    return blob


def decrypt(world: FakeWorld, blob: bytes) -> bytes:
    result = encryption.decrypt(world.services, ROOT, encryption.DecryptRequest(blob))
    plaintext: bytes = result["Plaintext"]
    return plaintext


def material_id(world: FakeWorld, key_id: str) -> str:
    described = keys.describe_key(world.services, ROOT, keys.DescribeKeyRequest(key_id))
    found: str = described["KeyMetadata"]["CurrentKeyMaterialId"]
    return found


def test_rotating_on_demand_changes_the_material_and_old_ciphertexts_still_decrypt(
    world: FakeWorld,
) -> None:
    key_id = new_key(world)
    before = material_id(world, key_id)
    old = encrypt(world, key_id, b"before rotation")
    rotation.rotate_key_on_demand(world.services, ROOT, rotation.KeyRotationRequest(key_id))
    assert material_id(world, key_id) != before
    new = encrypt(world, key_id, b"after rotation")
    assert decrypt(world, old) == b"before rotation"
    assert decrypt(world, new) == b"after rotation"
    rotations = rotation.list_key_rotations(
        world.services, ROOT, rotation.ListKeyRotationsRequest(key_id)
    )
    [entry] = rotations["Rotations"]
    assert entry["RotationType"] == "ON_DEMAND" and entry["KeyMaterialState"] == "CURRENT"
    assert entry["RotationDate"] == T0
    everything = rotation.list_key_rotations(
        world.services,
        ROOT,
        rotation.ListKeyRotationsRequest(key_id, include_key_material="ALL_KEY_MATERIAL"),
    )
    assert [e["KeyMaterialState"] for e in everything["Rotations"]] == ["NON_CURRENT", "CURRENT"]


def test_on_demand_rotations_are_limited_per_key(world: FakeWorld) -> None:
    key_id = new_key(world)
    for _ in range(rotation.MAX_ON_DEMAND_ROTATIONS):
        rotation.rotate_key_on_demand(world.services, ROOT, rotation.KeyRotationRequest(key_id))
    with pytest.raises(LimitExceededError):
        rotation.rotate_key_on_demand(world.services, ROOT, rotation.KeyRotationRequest(key_id))


def test_a_disabled_key_is_not_rotated(world: FakeWorld) -> None:
    key_id = new_key(world)
    keys.disable_key(world.services, ROOT, keys.KeyIdRequest(key_id))
    with pytest.raises(DisabledError):
        rotation.rotate_key_on_demand(world.services, ROOT, rotation.KeyRotationRequest(key_id))
    assert [v.version for v in world.keys.list_versions(key_id)] == [1]


def test_automatic_rotation_happens_when_due_and_is_audited(world: FakeWorld) -> None:
    key_id = new_key(world)
    rotation.enable_key_rotation(
        world.services, ROOT, rotation.EnableKeyRotationRequest(key_id, rotation_period_in_days=90)
    )
    status = rotation.get_key_rotation_status(
        world.services, ROOT, rotation.KeyRotationRequest(key_id)
    )
    assert status["KeyRotationEnabled"] is True and status["RotationPeriodInDays"] == 90
    assert status["NextRotationDate"] == T0 + 90 * DAY
    old = encrypt(world, key_id, b"old")

    world.clock.advance(90 * DAY - 1)
    assert rotation.rotate_due_keys(world.services) == []
    world.clock.advance(1)
    [arn] = rotation.rotate_due_keys(world.services)
    assert arn.endswith(key_id)
    assert [v.rotation_type for v in world.keys.list_versions(key_id)] == [None, "AUTOMATIC"]
    assert decrypt(world, old) == b"old"
    status = rotation.get_key_rotation_status(
        world.services, ROOT, rotation.KeyRotationRequest(key_id)
    )
    assert status["NextRotationDate"] == T0 + 180 * DAY
    [event] = world.audit.events
    body = json.loads(event.body)
    assert body["eventName"] == "RotateKey" and body["keyVersion"] == 2
    assert verify(world.services.audit).ok


def test_a_rotation_raced_by_another_process_is_skipped(world: FakeWorld) -> None:
    key_id = new_key(world)
    rotation.enable_key_rotation(
        world.services, ROOT, rotation.EnableKeyRotationRequest(key_id, rotation_period_in_days=90)
    )
    world.clock.advance(90 * DAY)

    def taken(*args: object) -> None:
        raise VersionTaken("another process rotated the key first")

    world.keys.add_version = taken  # type: ignore[assignment, method-assign]
    assert rotation.rotate_due_keys(world.services) == []
    assert world.audit.events == []  # nothing half-done: no event without its rotation


def test_disabling_rotation_stops_the_schedule(world: FakeWorld) -> None:
    key_id = new_key(world)
    rotation.enable_key_rotation(world.services, ROOT, rotation.EnableKeyRotationRequest(key_id))
    rotation.disable_key_rotation(world.services, ROOT, rotation.KeyRotationRequest(key_id))
    world.clock.advance(400 * DAY)
    assert rotation.rotate_due_keys(world.services) == []
    status = rotation.get_key_rotation_status(
        world.services, ROOT, rotation.KeyRotationRequest(key_id)
    )
    assert status == {"KeyId": status["KeyId"], "KeyRotationEnabled": False}
