"""Imported key material on in-memory repositories: the key's states and
material through import, deletion, expiry and cancelled deletion."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

from app.crypto.key_import import wrap_key_material
from app.errors import (
    AccessDeniedError,
    IncorrectKeyMaterialError,
    InvalidImportTokenError,
    InvalidStateError,
    UnsupportedOperationError,
)
from app.keys.model import KeyState
from app.operations import encryption, key_import, keys
from tests.unit.operations.conftest import ALICE, ROOT
from tests.unit.operations.fakes import FakeWorld

DAY = 86400.0


def external(world: FakeWorld) -> str:
    created = keys.create_key(world.services, ROOT, keys.CreateKeyRequest(origin="EXTERNAL"))
    key_id: str = created["KeyMetadata"]["KeyId"]
    return key_id


def request(world: FakeWorld, key_id: str, material: bytes, **extra: Any) -> Any:
    params = key_import.get_parameters_for_import(
        world.services,
        ROOT,
        key_import.GetParametersForImportRequest(key_id, "RSA_AES_KEY_WRAP_SHA_256", "RSA_2048"),
    )
    wrapped = wrap_key_material(params["PublicKey"], "RSA_AES_KEY_WRAP_SHA_256", material)
    extra.setdefault("expiration_model", "KEY_MATERIAL_DOES_NOT_EXPIRE")
    return key_import.ImportKeyMaterialRequest(key_id, params["ImportToken"], wrapped, **extra)


def state(world: FakeWorld, key_id: str) -> KeyState:
    key = world.keys.get_key_by_id(key_id)
    assert key is not None
    return key.state


def encrypt(world: FakeWorld, key_id: str) -> dict[str, Any]:
    return encryption.encrypt(
        world.services, ROOT, encryption.EncryptRequest(key_id=key_id, plaintext=b"p")
    )


def test_the_wrapping_key_is_stored_sealed_and_the_token_only_as_its_digest(
    world: FakeWorld,
) -> None:
    key_id = external(world)
    params = key_import.get_parameters_for_import(
        world.services,
        ROOT,
        key_import.GetParametersForImportRequest(key_id, "RSAES_OAEP_SHA_1", "RSA_2048"),
    )
    (stored,) = world.import_tokens.tokens.values()
    assert params["ImportToken"].hex() not in repr(stored)
    assert params["ImportToken"] not in stored.sealed_wrapping_key
    assert stored.key_id == key_id and stored.expires_at == world.clock.now + DAY
    assert b"\x30\x82" not in stored.sealed_wrapping_key[:8]  # not a bare DER key
    assert "sealed_wrapping_key" not in repr(stored)


def test_a_failed_import_changes_nothing(world: FakeWorld) -> None:
    key_id = external(world)
    material = os.urandom(32)
    key_import.import_key_material(world.services, ROOT, request(world, key_id, material))
    before = (dict(world.keys.versions), world.keys.keys[key_id])
    with pytest.raises(IncorrectKeyMaterialError):
        with world.services.unit_of_work():
            key_import.import_key_material(
                world.services, ROOT, request(world, key_id, os.urandom(32))
            )
    assert (dict(world.keys.versions), world.keys.keys[key_id]) == before


def test_only_callers_the_policy_allows_may_import(world: FakeWorld) -> None:
    key_id = external(world)
    with pytest.raises(AccessDeniedError):
        key_import.get_parameters_for_import(
            world.services,
            ALICE,
            key_import.GetParametersForImportRequest(key_id, "RSAES_OAEP_SHA_1", "RSA_2048"),
        )


def test_a_token_whose_sealed_key_belongs_elsewhere_is_invalid(world: FakeWorld) -> None:
    first, second = external(world), external(world)
    req = request(world, first, os.urandom(32))
    (token,) = world.import_tokens.tokens.values()
    # A token row moved to another key does not unseal there.
    world.import_tokens.tokens[token.digest] = type(token)(**{**token.__dict__, "key_id": second})
    with pytest.raises(InvalidImportTokenError):
        key_import.import_key_material(
            world.services,
            ROOT,
            key_import.ImportKeyMaterialRequest(
                second, req.import_token, req.encrypted_key_material, None, req.expiration_model
            ),
        )


def test_expiry_deletes_the_material_and_the_tokens_once(world: FakeWorld) -> None:
    key_id = external(world)
    material = os.urandom(32)
    valid_to = world.clock.now + 10 * DAY
    key_import.import_key_material(
        world.services,
        ROOT,
        request(
            world, key_id, material, expiration_model="KEY_MATERIAL_EXPIRES", valid_to=valid_to
        ),
    )
    assert state(world, key_id) is KeyState.ENABLED
    assert key_import.expire_imported_material(world.services) == []
    world.clock.advance(10 * DAY)
    with pytest.raises(InvalidStateError, match="pending import"):
        encrypt(world, key_id)
    (arn,) = key_import.expire_imported_material(world.services)
    assert arn.endswith(key_id) and state(world, key_id) is KeyState.PENDING_IMPORT
    assert world.keys.sealed_version(key_id, 1) is None
    assert world.import_tokens.tokens == {}
    assert key_import.expire_imported_material(world.services) == []
    [event] = world.audit.events
    body = json.loads(event.body)
    assert body["eventName"] == "DeleteExpiredKeyMaterial" and body["door"] == "scheduler"
    assert body["resources"] == [arn]


def test_material_deleted_while_pending_deletion_leaves_the_key_pending_import_on_cancel(
    world: FakeWorld,
) -> None:
    key_id = external(world)
    key_import.import_key_material(world.services, ROOT, request(world, key_id, os.urandom(32)))
    keys.schedule_key_deletion(world.services, ROOT, keys.ScheduleKeyDeletionRequest(key_id, 7))
    key_import.delete_imported_key_material(
        world.services, ROOT, key_import.DeleteImportedKeyMaterialRequest(key_id)
    )
    assert state(world, key_id) is KeyState.PENDING_DELETION
    keys.cancel_key_deletion(world.services, ROOT, keys.KeyIdRequest(key_id))
    assert state(world, key_id) is KeyState.PENDING_IMPORT
    with pytest.raises(InvalidStateError):
        keys.enable_key(world.services, ROOT, keys.KeyIdRequest(key_id))


def test_new_key_material_for_rotation_is_refused(world: FakeWorld) -> None:
    key_id = external(world)
    material = os.urandom(32)
    key_import.import_key_material(world.services, ROOT, request(world, key_id, material))
    with pytest.raises(UnsupportedOperationError):
        key_import.import_key_material(
            world.services, ROOT, request(world, key_id, material, import_type="NEW_KEY_MATERIAL")
        )


def test_the_wrapping_key_is_made_outside_any_transaction(
    world: FakeWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """RSA_4096 generation can take a second: it must not hold the write lock."""
    key_id = external(world)
    made_in_transaction: list[bool] = []
    real = key_import.new_wrapping_key

    def watched(spec: str) -> Any:
        made_in_transaction.append(world.database.in_transaction())
        return real(spec)

    monkeypatch.setattr(key_import, "new_wrapping_key", watched)
    commits = world.database.commits
    key_import.get_parameters_for_import(
        world.services,
        ROOT,
        key_import.GetParametersForImportRequest(key_id, "RSAES_OAEP_SHA_256", "RSA_2048"),
    )
    assert made_in_transaction == [False]
    assert world.database.commits == commits + 1
    assert len(world.import_tokens.tokens) == 1
