"""Re-sealing everything under a new root key (``trent root-key migrate``).

Each row is unsealed under the old root key, sealed under the new one, the new
blob is unsealed again and compared with the plaintext, and only then written
back, in a transaction of its own that also checks the row still holds the
blob that was read. The first byte of a blob names the kind of root key that
sealed it (``seal_format``), so a migration stopped at any point (a crash, a
``kill -9``) resumes by skipping rows already in the new format. Nothing is
retired until every row has been read back under the new root key.

The audit MAC key is one of those rows (:mod:`app.audit.mac_key`): it is
stored first, if the log never stored it, so that the chain keeps its key
whichever way the root key moves.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from app.audit.checkpoints import SIGNING_KEY_NAME
from app.audit.mac_key import audit_mac_key, mac_key_seal_aad
from app.crypto import constant_time_equal
from app.crypto.root_key import RootKeyError, RootKeyProvider
from app.crypto.signing import signing_key_seal_aad
from app.crypto.token_keys import token_ref_aad
from app.crypto.typed_material import version_seal_aad
from app.keys.key_stores import ORIGIN_AWS_CLOUDHSM, password_aad
from app.operations.access_keys import access_key_seal_aad
from app.store.audit.repository import SqlAuditRepository
from app.store.database import Store
from app.store.sealed_rows import (
    ACCESS_KEY,
    AUDIT_MAC_KEY,
    AUDIT_SIGNING_KEY,
    CUSTOM_KEY_STORE,
    KEY_VERSION,
    SealedRow,
    replace_sealed_blob,
    sealed_rows,
)


class MigrationError(Exception):
    """The migration cannot go on; nothing further was changed."""


# Only compared between two root keys, never used as a key.
_MADE_FROM_LABEL = b"trent/root-key/migrate/made-from"


@dataclass(frozen=True)
class Progress:
    resealed: int
    already: int


def aad_of(row: SealedRow) -> bytes:
    """What the row's blob is bound to, exactly as the service seals it."""
    if row.kind == KEY_VERSION and row.origin == ORIGIN_AWS_CLOUDHSM:
        # A reference to the key object in a custom key store's token.
        return token_ref_aad(row.key_arn, row.version)
    if row.kind == KEY_VERSION:
        return version_seal_aad(key_arn=row.key_arn, version=row.version, key_spec=row.key_spec)
    if row.kind == ACCESS_KEY:
        return access_key_seal_aad(row.access_key_id, row.principal_arn, row.principal_tags)
    if row.kind == AUDIT_SIGNING_KEY:
        return signing_key_seal_aad(name=SIGNING_KEY_NAME, version=row.version)
    if row.kind == CUSTOM_KEY_STORE:
        return password_aad(row.row_id)
    if row.kind == AUDIT_MAC_KEY:
        return mac_key_seal_aad()
    raise MigrationError(f"unknown sealed row kind {row.kind!r}")


def check_made_from(old: RootKeyProvider, new: RootKeyProvider) -> None:
    """Refuse a token root key found under the configured label unless it was
    made from ``old`` (``--to pkcs11`` imports ``old`` as its derivation
    secret, so both derive the same keys): any other is some other root key,
    and this service's rows must not be sealed under it."""
    if not constant_time_equal(old.derive(_MADE_FROM_LABEL), new.derive(_MADE_FROM_LABEL)):
        raise MigrationError(
            f"the root key {new.key_id} found under the configured label was not made from "
            f"the current root key {old.key_id} by an earlier run of this migration; "
            "choose another label"
        )


def check_resumed_with(store: Store, new: RootKeyProvider) -> int:
    """Refuse an existing ``new`` root key unless an interrupted run of this
    migration made it: some rows are already sealed under its kind of root
    key and every one of them unseals under it. The number of such rows."""
    count = 0
    for row in sealed_rows(store):
        if row.blob[:1] != bytes([new.seal_format]):
            continue
        count += 1
        try:
            new.unseal(row.blob, aad_of(row))
        except RootKeyError:
            raise MigrationError(
                f"{row.kind} {row.row_id} is sealed under another root key than {new.key_id}; "
                "it is not the key of an interrupted migration"
            ) from None
    if count == 0:
        raise MigrationError(
            f"root key {new.key_id} already exists and seals none of the rows: it is not the "
            "key of an interrupted migration (if an interrupted run made it before re-sealing "
            "anything, move it away and run the migration again)"
        )
    return count


def store_mac_key(store: Store, old: RootKeyProvider) -> None:
    """Store the audit MAC key sealed under ``old`` if the log never did (a
    log not written to since the key became a row): derived from ``old``, it
    could not be derived from the new root key afterwards."""
    repository = SqlAuditRepository(store)
    with store.connection():
        if repository.mac_key() is not None:
            return
        try:
            audit_mac_key(old, repository, now_us=int(time.time() * 1_000_000))
        except RootKeyError as exc:
            raise MigrationError(str(exc)) from None


def reseal_all(
    store: Store,
    old: RootKeyProvider,
    new: RootKeyProvider,
    *,
    after_row: Callable[[Progress], None] | None = None,
) -> Progress:
    """Re-seal every row not yet sealed under ``new``'s kind of root key."""
    if old.seal_format == new.seal_format:
        raise MigrationError("the old and new root keys are of the same kind; nothing to migrate")
    resealed = already = 0
    for row in sealed_rows(store):
        if row.blob[:1] == bytes([new.seal_format]):
            already += 1
            continue
        aad = aad_of(row)
        try:
            plaintext = old.unseal(row.blob, aad)
        except RootKeyError:
            raise MigrationError(
                f"{row.kind} {row.row_id} does not unseal under the current root key "
                f"{old.key_id}; nothing was changed for it"
            ) from None
        blob = new.seal(plaintext, aad)
        if not constant_time_equal(new.unseal(blob, aad), plaintext):
            raise MigrationError(f"{row.kind} {row.row_id} did not read back under the new key")
        if not replace_sealed_blob(store, row, blob, root_key_id=new.key_id):
            raise MigrationError(
                f"{row.kind} {row.row_id} changed during the migration; stop the service "
                "and run the migration again"
            )
        resealed += 1
        if after_row is not None:
            after_row(Progress(resealed, already))
    return Progress(resealed, already)


def verify_all(store: Store, new: RootKeyProvider) -> int:
    """Every row unseals under ``new``; the number of rows, or :class:`MigrationError`."""
    problems: list[str] = []
    count = 0
    for row in sealed_rows(store):
        count += 1
        try:
            new.unseal(row.blob, aad_of(row))
        except RootKeyError:
            problems.append(f"{row.kind} {row.row_id}")
    if problems:
        shown = ", ".join(problems[:5]) + (" …" if len(problems) > 5 else "")
        raise MigrationError(
            f"{len(problems)} sealed row(s) do not unseal under the new root key ({shown}); "
            "the old root key was kept"
        )
    return count
