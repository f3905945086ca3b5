"""Custom key stores: CreateCustomKeyStore, DescribeCustomKeyStores,
UpdateCustomKeyStore, ConnectCustomKeyStore, DisconnectCustomKeyStore and
DeleteCustomKeyStore, and what the keys in a store need (their material is
made, used and destroyed in the store's token).

A store is a token of the configured PKCS#11 module (see
:mod:`app.keys.key_stores` for how AWS's CloudHSM terms map onto it). These
operations are authorized by identity policy only, as AWS's are: a store is
not a key and has no key policy.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field, replace
from typing import Any

from app import markers
from app.crypto.certificates import is_pem_certificate
from app.crypto.pkcs11_session import IncorrectPin, TokenInfo, TokenUnavailable, list_tokens
from app.crypto.sealed import SealedMaterial
from app.crypto.token_keys import (
    TokenConnection,
    TokenKey,
    TokenKeyError,
    TokenKeyRef,
    seal_ref,
    token_material_id,
    unseal_ref,
)
from app.errors import (
    CloudHsmClusterInUseError,
    CloudHsmClusterNotFoundError,
    CloudHsmClusterNotRelatedError,
    CustomKeyStoreHasKeysError,
    CustomKeyStoreInvalidStateError,
    CustomKeyStoreNameInUseError,
    CustomKeyStoreNotFoundError,
    IncorrectTrustAnchorError,
    InvalidMarkerError,
    InvalidStateError,
    LimitExceededError,
    UnsupportedOperationError,
    ValidationError,
)
from app.keys.key_stores import (
    CUSTOM_KEY_STORE_TYPE,
    MAX_KEY_STORES_PER_ACCOUNT,
    ConnectionErrorCode,
    ConnectionState,
    CustomKeyStore,
    key_store_entry,
    password_aad,
)
from app.keys.model import Key
from app.operations import access
from app.operations.context import OperationContext
from app.operations.kinds import read_only
from app.operations.services import Services

# A token that fails (TokenUnavailable, TokenKeyError) is answered as a 503 by
# app.operations.failures: the client gets the generic text, the operator's
# log the reason (which names the module and token, never a PIN).

EXTERNAL_KEY_STORE = "EXTERNAL_KEY_STORE"


# -- the tokens ------------------------------------------------------------


def _tokens(services: Services) -> list[TokenInfo]:
    module = services.settings.pkcs11_module
    if module is None:
        raise CloudHsmClusterNotFoundError(
            "This service has no PKCS#11 module configured (TRENT_PKCS11_MODULE), so it has "
            "no cluster to hold a custom key store."
        )
    return list_tokens(module)


def _token(services: Services, cluster_id: str) -> TokenInfo:
    for token in _tokens(services):
        if token.cluster_id == cluster_id:
            return token
    raise CloudHsmClusterNotFoundError(
        f"No token of this service's PKCS#11 module has the cluster ID {cluster_id}. "
        "`trent key-stores clusters` lists the cluster IDs of its tokens."
    )


def _connection(services: Services, store: CustomKeyStore) -> TokenConnection:
    def pin() -> str:
        return _unseal_password(services, store)

    return services.tokens.connection(store.store_id, store.token_label, store.sealed_password, pin)


def _unseal_password(services: Services, store: CustomKeyStore) -> str:
    return services.root_key.unseal(store.sealed_password, password_aad(store.store_id)).decode(
        "utf-8"
    )


def _store(services: Services, ctx: OperationContext, store_id: str) -> CustomKeyStore:
    """The caller's account's store ``store_id``; another account's is not found."""
    store = services.key_stores.get(store_id)
    if store is None or store.account != ctx.principal.account:
        raise CustomKeyStoreNotFoundError(
            f"Custom key store {store_id} does not exist in this account."
        )
    return store


def _seal_password(services: Services, store_id: str, password: str) -> bytes:
    return services.root_key.seal(password.encode("utf-8"), password_aad(store_id))


def _check_trust_anchor(pem: str | None) -> str:
    if pem is None:
        return ""
    if not is_pem_certificate(pem):
        raise IncorrectTrustAnchorError(
            "TrustAnchorCertificate must be a PEM-encoded X.509 certificate."
        )
    return pem


def _check_cluster_free(services: Services, cluster_id: str, but: str | None = None) -> None:
    for account_store in services.key_stores.all_stores():
        if account_store.cluster_id == cluster_id and account_store.store_id != but:
            raise CloudHsmClusterInUseError(
                f"The cluster {cluster_id} is already associated with custom key store "
                f"{account_store.store_id}."
            )


def _check_quota(services: Services, account: str) -> None:
    if len(services.key_stores.list_for(account)) >= MAX_KEY_STORES_PER_ACCOUNT:
        raise LimitExceededError(
            f"An account can have at most {MAX_KEY_STORES_PER_ACCOUNT} custom key stores."
        )


def _check_name_free(services: Services, account: str, name: str, but: str | None = None) -> None:
    for other in services.key_stores.list_for(account):
        if other.name == name and other.store_id != but:
            raise CustomKeyStoreNameInUseError(
                f"The custom key store name {name} is already in use in this account."
            )


# -- the operations --------------------------------------------------------


@dataclass(frozen=True)
class CreateCustomKeyStoreRequest:
    custom_key_store_name: str
    cloud_hsm_cluster_id: str | None = None
    trust_anchor_certificate: str | None = None
    key_store_password: str | None = field(default=None, repr=False)
    custom_key_store_type: str = CUSTOM_KEY_STORE_TYPE
    #: Any XksProxy* member was given (external key stores are not offered).
    xks_proxy: bool = False


def create_custom_key_store(
    services: Services, ctx: OperationContext, req: CreateCustomKeyStoreRequest
) -> dict[str, Any]:
    access.authorize_account_action(services, ctx, "kms:CreateCustomKeyStore")
    if req.custom_key_store_type == EXTERNAL_KEY_STORE or req.xks_proxy:
        raise UnsupportedOperationError(
            "External key stores (XKS proxies) are not supported by this service; use "
            "CustomKeyStoreType AWS_CLOUDHSM, a token of its PKCS#11 module."
        )
    for value, member in (
        (req.cloud_hsm_cluster_id, "CloudHsmClusterId"),
        (req.key_store_password, "KeyStorePassword"),
    ):
        if value is None:
            raise ValidationError(
                f"{member} is required for a custom key store of type AWS_CLOUDHSM.",
                field=member,
            )
    assert req.cloud_hsm_cluster_id is not None and req.key_store_password is not None
    account = ctx.principal.account
    _check_quota(services, account)
    trust_anchor = _check_trust_anchor(req.trust_anchor_certificate)
    token = _token(services, req.cloud_hsm_cluster_id)
    store_id = "cks-" + os.urandom(9).hex()[:17]
    store = CustomKeyStore(
        store_id=store_id,
        account=account,
        name=req.custom_key_store_name,
        cluster_id=token.cluster_id,
        token_label=token.label,
        trust_anchor=trust_anchor,
        sealed_password=_seal_password(services, store_id, req.key_store_password),
        state=ConnectionState.DISCONNECTED,
        created_at=services.now(),
    )
    with services.unit_of_work():
        _check_quota(services, account)
        _check_name_free(services, account, store.name)
        _check_cluster_free(services, store.cluster_id)
        services.key_stores.insert(store)
    return {"CustomKeyStoreId": store_id}


@dataclass(frozen=True)
class DescribeCustomKeyStoresRequest:
    custom_key_store_id: str | None = None
    custom_key_store_name: str | None = None
    limit: int = 100
    marker: str | None = None


@read_only
def describe_custom_key_stores(
    services: Services, ctx: OperationContext, req: DescribeCustomKeyStoresRequest
) -> dict[str, Any]:
    access.authorize_account_action(services, ctx, "kms:DescribeCustomKeyStores")
    if req.custom_key_store_id is not None and req.custom_key_store_name is not None:
        raise ValidationError(
            "Specify either CustomKeyStoreId or CustomKeyStoreName, not both.",
            field="CustomKeyStoreId",
        )
    stores = services.key_stores.list_for(ctx.principal.account)
    if req.custom_key_store_id is not None:
        stores = [s for s in stores if s.store_id == req.custom_key_store_id]
        if not stores:
            raise CustomKeyStoreNotFoundError(
                f"Custom key store {req.custom_key_store_id} does not exist in this account."
            )
    elif req.custom_key_store_name is not None:
        stores = [s for s in stores if s.name == req.custom_key_store_name]
        if not stores:
            raise CustomKeyStoreNotFoundError(
                f"No custom key store in this account is named {req.custom_key_store_name}."
            )
    start = 0
    if req.marker is not None:
        after = markers.decode(req.marker, markers.CUSTOM_KEY_STORES)
        ids = [s.store_id for s in stores]
        if after not in ids:
            raise InvalidMarkerError("The marker does not name a custom key store of this list.")
        start = ids.index(after) + 1
    shown = stores[start : start + req.limit]
    truncated = start + req.limit < len(stores)
    result: dict[str, Any] = {
        "CustomKeyStores": [key_store_entry(s) for s in shown],
        "Truncated": truncated,
    }
    if truncated:
        result["NextMarker"] = markers.encode(markers.CUSTOM_KEY_STORES, shown[-1].store_id)
    return result


@dataclass(frozen=True)
class UpdateCustomKeyStoreRequest:
    custom_key_store_id: str
    new_custom_key_store_name: str | None = None
    key_store_password: str | None = field(default=None, repr=False)
    cloud_hsm_cluster_id: str | None = None
    xks_proxy: bool = False


def update_custom_key_store(
    services: Services, ctx: OperationContext, req: UpdateCustomKeyStoreRequest
) -> dict[str, Any]:
    access.authorize_account_action(services, ctx, "kms:UpdateCustomKeyStore")
    if req.xks_proxy:
        raise UnsupportedOperationError("External key stores are not supported by this service.")
    store = _store(services, ctx, req.custom_key_store_id)
    changed = store
    if req.key_store_password is not None or req.cloud_hsm_cluster_id is not None:
        if store.state is not ConnectionState.DISCONNECTED:
            raise CustomKeyStoreInvalidStateError(
                f"Custom key store {store.store_id} is {store.state.value}: disconnect it before "
                "changing its password or cluster."
            )
    if req.cloud_hsm_cluster_id is not None and req.cloud_hsm_cluster_id != store.cluster_id:
        token = _token(services, req.cloud_hsm_cluster_id)
        _check_related(services, store, token, req.key_store_password)
        changed = replace(changed, cluster_id=token.cluster_id, token_label=token.label)
    if req.key_store_password is not None:
        changed = replace(
            changed,
            sealed_password=_seal_password(services, store.store_id, req.key_store_password),
        )
    if req.new_custom_key_store_name is not None:
        changed = replace(changed, name=req.new_custom_key_store_name)
    with services.unit_of_work():
        if changed.name != store.name:
            _check_name_free(services, store.account, changed.name, but=store.store_id)
        if changed.cluster_id != store.cluster_id:
            _check_cluster_free(services, changed.cluster_id, but=store.store_id)
        services.key_stores.update(changed)
    return {}


def _check_related(
    services: Services, store: CustomKeyStore, token: TokenInfo, password: str | None
) -> None:
    """A store may move to another token only if that token holds every key
    object of the store's keys (a restored copy of the token, say)."""
    refs = _store_refs(services, store)
    module = services.settings.pkcs11_module
    if not refs or module is None:
        return

    def pin() -> str:
        if password is not None:
            return password
        return _unseal_password(services, store)

    connection = TokenConnection(module, token.label, pin)
    try:
        missing = [ref for ref in refs if not connection.has_key(ref.object_id)]
    except TokenKeyError:
        missing = refs
    finally:
        connection.close()
    if missing:
        raise CloudHsmClusterNotRelatedError(
            f"The cluster {token.cluster_id} does not hold the key material of the keys in "
            f"custom key store {store.store_id}."
        )


def _store_refs(services: Services, store: CustomKeyStore) -> list[TokenKeyRef]:
    refs = []
    for key_id, arn in services.key_stores.keys_in(store.store_id):
        refs.extend(_refs(services, key_id, arn))
    return refs


def _refs(services: Services, key_id: str, arn: str) -> list[TokenKeyRef]:
    """The token objects of every version of a key in a store."""
    refs = []
    for info in services.keys.list_versions(key_id):
        sealed = services.keys.sealed_version(key_id, info.version)
        if sealed is not None:
            refs.append(unseal_ref(services.root_key, sealed, key_arn=arn, version=info.version))
    return refs


@dataclass(frozen=True)
class KeyStoreIdRequest:
    custom_key_store_id: str


def connect_custom_key_store(
    services: Services, ctx: OperationContext, req: KeyStoreIdRequest
) -> dict[str, Any]:
    """Log in to the store's token now: the store is CONNECTED, or FAILED with
    the reason in ``ConnectionErrorCode`` (the call itself succeeds, as AWS's does)."""
    access.authorize_account_action(services, ctx, "kms:ConnectCustomKeyStore")
    store = _store(services, ctx, req.custom_key_store_id)
    if store.state in (ConnectionState.FAILED, ConnectionState.DISCONNECTING):
        raise CustomKeyStoreInvalidStateError(
            f"Custom key store {store.store_id} is {store.state.value}: disconnect it before "
            "connecting it again."
        )
    if store.state is ConnectionState.CONNECTED:
        return {}
    outcome = replace(store, state=ConnectionState.CONNECTED, error_code=None)
    try:
        token = _token(services, store.cluster_id)
        if token.label != store.token_label:  # pragma: no cover - the id hashes the label
            raise CloudHsmClusterNotFoundError()
        connection = _connection(services, store)
        connection.check()
    except CloudHsmClusterNotFoundError:
        outcome = _failed(store, ConnectionErrorCode.CLUSTER_NOT_FOUND)
    except IncorrectPin:
        outcome = _failed(store, ConnectionErrorCode.INVALID_CREDENTIALS)
    except (TokenUnavailable, TokenKeyError):
        outcome = _failed(store, ConnectionErrorCode.NETWORK_ERRORS)
    if not outcome.connected:
        services.tokens.forget(store.store_id)
    with services.unit_of_work():
        services.key_stores.update(outcome)
    return {}


def _failed(store: CustomKeyStore, code: ConnectionErrorCode) -> CustomKeyStore:
    return replace(store, state=ConnectionState.FAILED, error_code=code.value)


def disconnect_custom_key_store(
    services: Services, ctx: OperationContext, req: KeyStoreIdRequest
) -> dict[str, Any]:
    access.authorize_account_action(services, ctx, "kms:DisconnectCustomKeyStore")
    store = _store(services, ctx, req.custom_key_store_id)
    if store.state in (ConnectionState.DISCONNECTED, ConnectionState.DISCONNECTING):
        raise CustomKeyStoreInvalidStateError(
            f"Custom key store {store.store_id} is already {store.state.value}."
        )
    with services.unit_of_work():
        services.key_stores.update(
            replace(store, state=ConnectionState.DISCONNECTED, error_code=None)
        )
    services.tokens.forget(store.store_id)
    return {}


def delete_custom_key_store(
    services: Services, ctx: OperationContext, req: KeyStoreIdRequest
) -> dict[str, Any]:
    access.authorize_account_action(services, ctx, "kms:DeleteCustomKeyStore")
    store = _store(services, ctx, req.custom_key_store_id)
    if store.state is not ConnectionState.DISCONNECTED:
        raise CustomKeyStoreInvalidStateError(
            f"Custom key store {store.store_id} is {store.state.value}: disconnect it first."
        )
    with services.unit_of_work():
        if services.key_stores.count_keys(store.store_id):
            raise CustomKeyStoreHasKeysError(
                f"Custom key store {store.store_id} still holds keys: schedule their deletion "
                "and wait for it to complete first."
            )
        services.key_stores.delete(store.store_id)
    return {}


# -- the keys in a store ---------------------------------------------------


def cluster_of(services: Services, key: Key) -> str | None:
    """DescribeKey's ``CloudHsmClusterId`` of a key in a store."""
    if key.custom_key_store_id is None:
        return None
    store = services.key_stores.get(key.custom_key_store_id)
    return None if store is None else store.cluster_id


def connected_store(services: Services, ctx: OperationContext, store_id: str) -> CustomKeyStore:
    """The caller's store, which must be connected (CreateKey, GenerateRandom)."""
    store = _store(services, ctx, store_id)
    if not store.connected:
        raise CustomKeyStoreInvalidStateError(
            f"Custom key store {store.store_id} is {store.state.value}; it must be CONNECTED."
        )
    return store


@dataclass(frozen=True)
class NewTokenKey:
    ref: TokenKeyRef
    sealed: SealedMaterial
    material_id: str


def new_token_key(
    services: Services, store: CustomKeyStore, *, key_uuid: uuid.UUID, arn: str
) -> NewTokenKey:
    """Generate version 1 of ``arn`` in the store's token."""
    object_id = _connection(services, store).generate_key(f"{arn}#1")
    ref = TokenKeyRef(store.store_id, object_id)
    return NewTokenKey(
        ref=ref,
        sealed=seal_ref(services.root_key, ref, key_arn=arn, version=1),
        material_id=token_material_id(key_uuid, ref),
    )


def discard_token_key(services: Services, store: CustomKeyStore, ref: TokenKeyRef) -> None:
    """Destroy a key object whose key was never stored (CreateKey failed after
    generating it); best effort."""
    try:
        _connection(services, store).destroy_key(ref.object_id)
    except TokenKeyError:
        pass


def token_key(services: Services, key: Key, version: int) -> TokenKey | None:
    """What encrypts and decrypts for ``key`` at ``version``: the object in its
    store's token. The store must be connected (read on every call, so a
    disconnect through any process stops every process's use at once)."""
    sealed = services.keys.sealed_version(key.key_id, version)
    if sealed is None:
        return None
    ref = unseal_ref(services.root_key, sealed, key_arn=key.arn, version=version)
    store = services.key_stores.get(ref.store_id)
    if store is None or not store.connected or store.store_id != key.custom_key_store_id:
        # AWS's answer for a key whose custom key store is not connected.
        raise InvalidStateError(f"{key.arn} is unavailable.")
    return TokenKey(ref, _connection(services, store))


def destroy_token_keys(services: Services, key: Key) -> int:
    """Destroy the token objects of a key being deleted, if its store is
    connected; returns how many. A disconnected store keeps them (an operator
    can remove them from the token; their labels name the key ARN)."""
    store = services.key_stores.get(key.custom_key_store_id or "")
    if store is None or not store.connected:
        return 0
    connection = _connection(services, store)
    destroyed = 0
    for ref in _refs(services, key.key_id, key.arn):
        try:
            destroyed += connection.destroy_key(ref.object_id)
        except TokenKeyError:
            return destroyed
    return destroyed


def random_from_store(
    services: Services, ctx: OperationContext, store_id: str, count: int
) -> bytes:
    """GenerateRandom's bytes from a store's token."""
    store = connected_store(services, ctx, store_id)
    return _connection(services, store).random(count)
