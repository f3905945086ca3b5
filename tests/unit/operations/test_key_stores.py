"""Custom key store operations on fakes: what needs no token (quota, paging,
refusals, authorization, the stored PIN). The token itself is exercised in
tests/pkcs11/test_key_stores.py against SoftHSM."""

from __future__ import annotations

from dataclasses import replace

import pytest

from app.crypto.root_key import RootKeyError
from app.errors import (
    AccessDeniedError,
    CloudHsmClusterNotFoundError,
    CustomKeyStoreInvalidStateError,
    CustomKeyStoreNotFoundError,
    InvalidMarkerError,
    LimitExceededError,
    ValidationError,
)
from app.keys.key_stores import ConnectionState, CustomKeyStore, password_aad
from app.operations import key_stores, keys
from tests.unit.operations.conftest import ALICE, ROOT
from tests.unit.operations.fakes import FakeWorld

PIN = "a-token-pin"


def add_store(world: FakeWorld, number: int, **changes: object) -> CustomKeyStore:
    store_id = f"cks-{number:017x}"
    store = CustomKeyStore(
        store_id=store_id,
        account=ROOT.principal.account,
        name=f"store-{number}",
        cluster_id=f"cluster-{number:011d}",
        token_label=f"token-{number}",
        trust_anchor="",
        sealed_password=world.services.root_key.seal(PIN.encode(), password_aad(store_id)),
        state=ConnectionState.DISCONNECTED,
        created_at=float(number),
    )
    store = replace(store, **changes)  # type: ignore[arg-type]
    world.key_stores.insert(store)
    return store


def create(world: FakeWorld, **extra: object) -> dict[str, object]:
    request = key_stores.CreateCustomKeyStoreRequest(
        custom_key_store_name="s",
        cloud_hsm_cluster_id="cluster-aaaaaaaaaaa",
        key_store_password=PIN,
        **extra,  # type: ignore[arg-type]
    )
    return key_stores.create_custom_key_store(world.services, ROOT, request)


def describe(world: FakeWorld, **extra: object) -> dict[str, object]:
    request = key_stores.DescribeCustomKeyStoresRequest(**extra)  # type: ignore[arg-type]
    return key_stores.describe_custom_key_stores(world.services, ROOT, request)


def test_without_a_pkcs11_module_there_is_no_cluster(world: FakeWorld) -> None:
    with pytest.raises(CloudHsmClusterNotFoundError, match="TRENT_PKCS11_MODULE"):
        create(world)
    assert world.key_stores.stores == {}


def test_the_eleventh_store_is_over_the_quota(world: FakeWorld) -> None:
    for number in range(10):
        add_store(world, number)
    with pytest.raises(LimitExceededError):
        create(world)


def test_a_password_and_cluster_are_required(world: FakeWorld) -> None:
    request = key_stores.CreateCustomKeyStoreRequest(custom_key_store_name="s")
    with pytest.raises(ValidationError) as caught:
        key_stores.create_custom_key_store(world.services, ROOT, request)
    assert caught.value.field == "CloudHsmClusterId"


def test_describe_pages_through_the_accounts_stores_oldest_first(world: FakeWorld) -> None:
    made = [add_store(world, number).store_id for number in range(5)]
    add_store(world, 9, account="444455556666")
    seen: list[str] = []
    marker = None
    while True:
        page = describe(world, limit=2, marker=marker)
        seen += [entry["CustomKeyStoreId"] for entry in page["CustomKeyStores"]]  # type: ignore[attr-defined]
        if not page["Truncated"]:
            assert "NextMarker" not in page
            break
        marker = page["NextMarker"]
    assert seen == made
    with pytest.raises(InvalidMarkerError):
        describe(world, marker="bm90LWEtbWFya2Vy")
    with pytest.raises(ValidationError):
        describe(world, custom_key_store_id=made[0], custom_key_store_name="store-0")


def test_the_password_is_kept_sealed_and_bound_to_its_store(world: FakeWorld) -> None:
    store = add_store(world, 1)
    assert PIN.encode() not in store.sealed_password
    assert PIN not in repr(store)
    other = add_store(world, 2)
    with pytest.raises(RootKeyError):  # bound to store 1, not store 2
        world.services.root_key.unseal(store.sealed_password, password_aad(other.store_id))


def test_store_operations_are_authorized_by_identity_policy(world: FakeWorld) -> None:
    store = add_store(world, 1)
    with pytest.raises(AccessDeniedError):
        key_stores.describe_custom_key_stores(
            world.services, ALICE, key_stores.DescribeCustomKeyStoresRequest()
        )
    with pytest.raises(AccessDeniedError):
        key_stores.delete_custom_key_store(
            world.services, ALICE, key_stores.KeyStoreIdRequest(store.store_id)
        )
    assert store.store_id in world.key_stores.stores


def test_state_rules_of_connect_disconnect_and_delete(world: FakeWorld) -> None:
    failed = add_store(world, 1, state=ConnectionState.FAILED, error_code="INVALID_CREDENTIALS")
    with pytest.raises(CustomKeyStoreInvalidStateError):
        key_stores.connect_custom_key_store(
            world.services, ROOT, key_stores.KeyStoreIdRequest(failed.store_id)
        )
    with pytest.raises(CustomKeyStoreInvalidStateError):
        key_stores.delete_custom_key_store(
            world.services, ROOT, key_stores.KeyStoreIdRequest(failed.store_id)
        )
    key_stores.disconnect_custom_key_store(
        world.services, ROOT, key_stores.KeyStoreIdRequest(failed.store_id)
    )
    stored = world.key_stores.get(failed.store_id)
    assert stored is not None
    assert stored.state is ConnectionState.DISCONNECTED and stored.error_code is None
    key_stores.delete_custom_key_store(
        world.services, ROOT, key_stores.KeyStoreIdRequest(failed.store_id)
    )
    with pytest.raises(CustomKeyStoreNotFoundError):
        key_stores.delete_custom_key_store(
            world.services, ROOT, key_stores.KeyStoreIdRequest(failed.store_id)
        )


def test_a_key_cannot_be_made_in_a_disconnected_store(world: FakeWorld) -> None:
    store = add_store(world, 1)
    request = keys.CreateKeyRequest(origin="AWS_CLOUDHSM", custom_key_store_id=store.store_id)
    with pytest.raises(CustomKeyStoreInvalidStateError):
        keys.create_key(world.services, ROOT, request)
    assert world.keys.keys == {}
