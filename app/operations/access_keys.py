"""SigV4 access keys: create, list and delete them, and look them up for the verifier.

A principal creates access keys for itself (at most
:data:`MAX_ACCESS_KEYS_PER_PRINCIPAL`, AWS's IAM quota). The secret is
returned by :func:`create_access_key` once and never again; it is stored only
sealed under the root key, with an AAD binding the access key id, the owner's
ARN and the owner's tags, so a row whose owner or tags were rewritten in the
database does not unseal (and so authenticates nobody).

A key is deleted by its owner, or by the root of the account it belongs to;
deletion removes the row, and the verifier's lookup reads the row on every
request, so a deleted key stops working at once in every process.

:func:`sigv4_verifier` builds the AWS door's verifier with the lookup
(:func:`secret_lookup`) and the last-used bookkeeping (:func:`record_use`).
The lookup reads the database: call the verifier inside
``services.connection()``.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final

from app.auth.access_keys import (
    ANY_ACCESS_KEY_ID_RE,
    STATUS_ACTIVE,
    AccessKeyCredential,
    AccessKeyRecord,
    SecretAccessKey,
    is_access_key_id,
    new_access_key_id,
    new_secret_access_key,
)
from app.auth.principal import Principal, PrincipalType
from app.auth.sigv4 import SigV4Verifier
from app.crypto.material import bound_aad
from app.crypto.sealed import SealedMaterial
from app.errors import AccessDeniedError, LimitExceededError, NotFoundError, ValidationError
from app.operations.context import OperationContext
from app.operations.services import Services

#: AWS IAM's quota of access keys per user.
MAX_ACCESS_KEYS_PER_PRINCIPAL: Final = 2
#: The last-used time is written at most this often per key, so a busy key
#: does not turn every request into a database write.
LAST_USED_RESOLUTION_SECONDS: Final = 60.0
#: Unsealed secrets kept per process (bounded; each for ``key_cache_seconds``).
SECRET_CACHE_ENTRIES: Final = 1024

_SEAL_PURPOSE: Final = b"trent/access-key/v1"
_SEAL_VERSION: Final = 1
_PRINCIPAL_ARN_RE: Final = re.compile(
    r"arn:(?P<partition>aws[a-z-]*):iam::(?P<account>[0-9]{12}):"
    r"(?:(?P<root>root)|(?P<type>user|role)/(?P<name>[\w+=,.@-]{1,64}))",
    re.ASCII,
)


@dataclass(frozen=True)
class AccessKeyRequest:
    access_key_id: str


@dataclass(frozen=True)
class ListAccessKeysRequest:
    """``principal_arn`` names another principal of the caller's account
    (the account root only); ``None`` lists the caller's own keys."""

    principal_arn: str | None = None


def access_key_arn(partition: str, account: str, access_key_id: str) -> str:
    """The ARN-like name of an access key, for the audit log."""
    return f"arn:{partition}:iam::{account}:access-key/{access_key_id}"


def access_key_seal_aad(access_key_id: str, principal_arn: str, tags: Mapping[str, str]) -> bytes:
    """The AAD an access key's secret is sealed with: its id, owner and tags."""
    binding = json.dumps(
        [access_key_id, principal_arn, dict(sorted(tags.items()))], separators=(",", ":")
    )
    return bound_aad(_SEAL_PURPOSE, binding, _SEAL_VERSION)


def _metadata(record: AccessKeyRecord) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "AccessKeyId": record.access_key_id,
        "PrincipalArn": record.principal_arn,
        "CreateDate": record.created_at,
        "Status": record.status,
    }
    if record.last_used_at is not None:
        entry["LastUsedDate"] = record.last_used_at
    return entry


def create_access_key(services: Services, ctx: OperationContext, _: object) -> dict[str, Any]:
    """A new access key for the caller; the only response that carries its secret."""
    principal = ctx.principal
    access_key_id = new_access_key_id(services.random_bytes)
    secret = new_secret_access_key(services.random_bytes)
    tags = dict(principal.tags)
    now = services.now()
    sealed = SealedMaterial(
        services.root_key.seal(
            secret.expose_secret_bytes(), access_key_seal_aad(access_key_id, principal.arn, tags)
        )
    )
    record = AccessKeyRecord(
        access_key_id=access_key_id,
        account=principal.account,
        principal_arn=principal.arn,
        sealed_secret=sealed,
        created_at=now,
        principal_tags=MappingProxyType(tags),
    )
    ctx.notes.add_resource(access_key_arn(principal.partition, principal.account, access_key_id))
    with services.unit_of_work():
        if not services.access_keys.insert(record, max_per_principal=MAX_ACCESS_KEYS_PER_PRINCIPAL):
            raise LimitExceededError(
                f"Cannot exceed quota for AccessKeysPerUser: {MAX_ACCESS_KEYS_PER_PRINCIPAL}"
            )
    return {
        "AccessKey": {
            "AccessKeyId": access_key_id,
            # The one place the secret leaves the service: to its owner, once.
            "SecretAccessKey": secret.expose_secret_bytes().decode("ascii"),
            "PrincipalArn": principal.arn,
            "CreateDate": now,
            "Status": STATUS_ACTIVE,
        }
    }


def list_access_keys(
    services: Services, ctx: OperationContext, req: ListAccessKeysRequest | None
) -> dict[str, Any]:
    """Ids, owners and dates of a principal's access keys; never a secret."""
    caller = ctx.principal
    target = caller.arn if req is None or req.principal_arn is None else req.principal_arn
    if target != caller.arn:
        match = _PRINCIPAL_ARN_RE.fullmatch(target)
        if match is None:
            raise ValidationError("PrincipalArn is not a principal ARN.", field="PrincipalArn")
        same_account = match["partition"] == caller.partition and match["account"] == caller.account
        if not (caller.is_root and same_account):
            raise AccessDeniedError(
                f"User: {caller.arn} is not authorized to perform: iam:ListAccessKeys "
                f"on resource: {target}"
            )
    ctx.notes.add_resource(target)
    records = services.access_keys.list_for(target)
    return {"AccessKeyMetadata": [_metadata(r) for r in records]}


def delete_access_key(services: Services, ctx: OperationContext, req: AccessKeyRequest) -> None:
    """Delete an access key of the caller's, or (the account root) of its account."""
    caller = ctx.principal
    access_key_id = req.access_key_id
    if not ANY_ACCESS_KEY_ID_RE.fullmatch(access_key_id):
        raise NotFoundError("The Access Key cannot be found.")
    not_found = NotFoundError(f"The Access Key with id {access_key_id} cannot be found.")
    with services.unit_of_work():
        record = services.access_keys.get(access_key_id)
        if record is None:
            raise not_found
        arn = access_key_arn(caller.partition, record.account, access_key_id)
        ctx.notes.add_resource(arn)
        is_owner = record.principal_arn == caller.arn
        is_account_root = caller.is_root and record.account == caller.account
        if not (is_owner or is_account_root):
            raise AccessDeniedError(
                f"User: {caller.arn} is not authorized to perform: iam:DeleteAccessKey "
                f"on resource: {arn}"
            )
        if not services.access_keys.delete(access_key_id):
            raise not_found


# ---------------------------------------------------------------------------
# What the AWS door's verifier needs
# ---------------------------------------------------------------------------


class _UnsealedSecrets:
    """A small per-process cache of unsealed secrets, so that a root key in an
    HSM is not asked to unseal on every request.

    An entry is used only if the stored row still has the same sealed blob
    and the same binding (owner and tags) it was unsealed with; the row itself
    is read on every request, so a deleted or changed key is never served
    from here. Entries expire after ``ttl_seconds`` (0 disables the cache).
    """

    def __init__(
        self, ttl_seconds: float, max_entries: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._ttl = ttl_seconds
        self._max = max_entries
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, tuple[float, bytes, bytes, SecretAccessKey]] = OrderedDict()

    def get(self, access_key_id: str, blob: bytes, aad: bytes) -> SecretAccessKey | None:
        with self._lock:
            entry = self._entries.get(access_key_id)
            if entry is None:
                return None
            expires_at, cached_blob, cached_aad, secret = entry
            if self._clock() >= expires_at or cached_blob != blob or cached_aad != aad:
                del self._entries[access_key_id]
                return None
            self._entries.move_to_end(access_key_id)
            return secret

    def put(self, access_key_id: str, blob: bytes, aad: bytes, secret: SecretAccessKey) -> None:
        if self._ttl <= 0:
            return
        with self._lock:
            self._entries[access_key_id] = (self._clock() + self._ttl, blob, aad, secret)
            self._entries.move_to_end(access_key_id)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)

    def discard(self, access_key_id: str) -> None:
        with self._lock:
            self._entries.pop(access_key_id, None)


def _principal_of(record: AccessKeyRecord) -> Principal | None:
    match = _PRINCIPAL_ARN_RE.fullmatch(record.principal_arn)
    if match is None or match["account"] != record.account:
        return None
    principal_type: PrincipalType = (
        "root" if match["root"] else ("user" if match["type"] == "user" else "role")
    )
    return Principal(
        partition=match["partition"],
        account=match["account"],
        type=principal_type,
        name=None if match["root"] else match["name"],
        tags=MappingProxyType(dict(record.principal_tags)),
        auth_method="sigv4",
        token_id=record.access_key_id,
    )


def secret_lookup(services: Services) -> Callable[[str], AccessKeyCredential | None]:
    """The verifier's lookup: the owner and the unsealed secret of an active
    access key, or ``None``. Reads the database on every call.

    A row that does not unseal (tampered, or sealed under another root key)
    raises :class:`app.crypto.root_key.RootKeyError`: a service fault (503),
    never a silent success.
    """
    cache = _UnsealedSecrets(services.settings.key_cache_seconds, SECRET_CACHE_ENTRIES)
    # What the last lookup of each key made of its record: the read cache
    # hands out the same record object until the row changes (or the entry
    # expires), and the owner, the AAD and the credential are then the same
    # too. Made afresh from any other record; the secret is still checked
    # against the cache of unsealed secrets (its expiry, its binding) every time.
    made: dict[
        str, tuple[AccessKeyRecord, Principal | None, bytes, AccessKeyCredential | None]
    ] = {}

    def lookup(access_key_id: str) -> AccessKeyCredential | None:
        if not is_access_key_id(access_key_id):
            return None
        record = services.access_keys.get(access_key_id)
        if record is None or record.status != STATUS_ACTIVE:
            cache.discard(access_key_id)
            made.pop(access_key_id, None)
            return None
        earlier = made.get(access_key_id)
        if earlier is not None and earlier[0] is record:
            _, principal, aad, credential = earlier
        else:
            principal = _principal_of(record)
            aad = access_key_seal_aad(access_key_id, record.principal_arn, record.principal_tags)
            credential = None
        if principal is None:
            return None
        blob = record.sealed_secret.blob
        secret = cache.get(access_key_id, blob, aad)
        if secret is None:
            secret = SecretAccessKey(services.root_key.unseal(blob, aad))
            cache.put(access_key_id, blob, aad, secret)
        if credential is None or credential.secret is not secret:
            credential = AccessKeyCredential(
                access_key_id=access_key_id,
                principal=principal,
                secret=secret,
                last_used_at=record.last_used_at,
            )
            if len(made) >= SECRET_CACHE_ENTRIES:
                made.clear()
            made[access_key_id] = (record, principal, aad, credential)
        return credential

    return lookup


def record_use(services: Services) -> Callable[[AccessKeyCredential], None]:
    """The verifier's ``on_verified``: write the key's last-used time, at most
    once per :data:`LAST_USED_RESOLUTION_SECONDS`. Runs only after a signature
    verified, so knowing a key id is not enough to touch its row."""

    # When this process last wrote each key's time (or is writing it). Until
    # the new time is committed and read back, every request of the key holds
    # a credential with the old one: without this, each of them would write it
    # too. Under load that was a herd: four writes in a row in one worker, a
    # 30 ms stall of all its connections, once a minute (the write waits its
    # turn for the database behind the audit writer, and other requests run
    # meanwhile). Only keys whose signature verified are remembered.
    written: dict[str, float] = {}

    def on_verified(credential: AccessKeyCredential) -> None:
        now = services.now()
        key_id = credential.access_key_id
        for last in (credential.last_used_at, written.get(key_id)):
            if last is not None and 0 <= now - last < LAST_USED_RESOLUTION_SECONDS:
                return
        if len(written) >= SECRET_CACHE_ENTRIES:
            written.clear()
        written[key_id] = now  # claimed before the write: it may yield
        try:
            with services.unit_of_work():
                services.access_keys.touch(key_id, now)
        except BaseException:
            if written.get(key_id) == now:
                del written[key_id]  # not written: the next request tries again
            raise

    return on_verified


def sigv4_verifier(services: Services) -> SigV4Verifier:
    """The AWS door's SigV4 verifier, wired to the access key table."""
    return SigV4Verifier(
        services.settings,
        secret_lookup(services),
        # Read the service's clock at each call, so that it can be replaced.
        clock=lambda: services.now(),
        on_verified=record_use(services),
    )
