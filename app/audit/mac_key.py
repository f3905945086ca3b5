"""The audit MAC key: one row, sealed under the root key.

Every event's MAC (:mod:`app.audit.chain`) is made with this key. A log's
first MAC key is derived from the root key (``derive(MAC_KEY_LABEL)``), which
is what every log written before the key was stored used, so those logs keep
verifying; it is then sealed under the root key and stored, bound to its
purpose by the AAD, with the fingerprint of the root key that sealed it. From
then on the row is the key: ``trent root-key migrate`` re-seals it like every
other sealed row, so the chain keeps verifying under a new root key of any
kind, in either direction.

:func:`audit_mac_key` is the one way the service obtains the key (the audit
log, the writer process, the checkpointer, ``trent audit verify``, restore).
It fails closed: a row that does not unseal, or a missing row while the log
holds events that the derived key does not verify (the row was deleted after
a migration), raises :class:`~app.crypto.root_key.RootKeyError` instead of
starting a new MAC key that would hide the break.
"""

from __future__ import annotations

from app.audit.chain import MAC_KEY_LABEL, mac_matches
from app.audit.repository import AuditRepository, StoredMacKey
from app.crypto.root_key import RootKeyError, RootKeyProvider

#: The length of the audit MAC key (HMAC-SHA256).
MAC_KEY_BYTES = 32

# The AAD binds the sealed blob to this one purpose: a blob sealed for a key
# version, an access key or a signing key never unseals as the MAC key.
_SEAL_AAD = b"trent/audit/mac-key/v1"


def mac_key_seal_aad() -> bytes:
    """What the sealed MAC key is bound to (``root-key migrate`` re-seals with it)."""
    return _SEAL_AAD


def audit_mac_key(
    root_key: RootKeyProvider,
    repository: AuditRepository,
    *,
    now_us: int,
    create: bool = True,
) -> bytes:
    """The audit MAC key, unsealed from its row (inside a connection).

    With no row yet, the key derived from the root key, after checking that it
    verifies the newest event; with ``create`` it is also sealed and stored.
    Several processes may get here at once: each inserts only if no row
    exists, then every one uses the row that was stored first.
    """
    stored = repository.mac_key()
    if stored is None:
        derived = root_key.derive(MAC_KEY_LABEL)
        _check_derived_key(derived, repository)
        if not create:
            return derived
        record = StoredMacKey(
            sealed_key=root_key.seal(derived, _SEAL_AAD),
            root_key_id=root_key.key_id,
            created_at=now_us,
        )
        with repository.transaction(invalidates=False):
            repository.insert_mac_key(record)
        stored = repository.mac_key()
        if stored is None:
            raise RootKeyError("the audit MAC key was stored but cannot be read back")
    return _unseal(root_key, stored)


def _unseal(root_key: RootKeyProvider, stored: StoredMacKey) -> bytes:
    """The key in ``stored``, or :class:`RootKeyError` naming the root key it needs."""
    try:
        key = root_key.unseal(stored.sealed_key, _SEAL_AAD)
    except RootKeyError:
        raise RootKeyError(
            f"the audit MAC key (sealed under root key {stored.root_key_id}) does not unseal "
            f"under the configured root key {root_key.key_id}: configure the root key that "
            "sealed it (after `trent root-key migrate`, the new one)"
        ) from None
    if len(key) != MAC_KEY_BYTES:
        raise RootKeyError("the stored audit MAC key is not a MAC key")
    return key


def _check_derived_key(derived: bytes, repository: AuditRepository) -> None:
    """Refuse the derived key if the log's newest event was MACed with another key.

    That is the case when the row was deleted after ``root-key migrate``
    (the events were made with a key the new root key cannot derive): starting
    a new MAC key would leave a chain that silently stops verifying.
    """
    last = repository.last_event_seq()
    if last == 0:
        return
    newest = next(iter(repository.events_in_order(last - 1, last, 1)), None)
    if newest is not None and mac_matches(
        derived, newest.seq, newest.prev_hash, newest.body, newest.body_mac
    ):
        return
    raise RootKeyError(
        f"the audit MAC key row is missing and the key derived from the root key does not "
        f"verify the newest audit event ({last}): the row was deleted or the root key changed; "
        "restore the audit_mac_key row from a backup (the log's events need the key it holds)"
    )
