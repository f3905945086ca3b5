"""The audit MAC key as a sealed row (SQLite and PostgreSQL): stored once on
first use, whatever number of processes start together; the key derived
before it was stored keeps verifying old logs; a row gone after a change of
root key is refused, never replaced by a new key."""

from __future__ import annotations

import os
import threading

import pytest

from app.audit.chain import MAC_KEY_LABEL
from app.audit.log import AuditLog
from app.audit.mac_key import audit_mac_key, mac_key_seal_aad
from app.audit.record import micros
from app.audit.repository import StoredMacKey
from app.audit.verify import verify
from app.crypto.root_key import EnvRootKeyProvider, RootKeyError, load_root_key
from app.errors import ServiceUnavailableError
from app.store.audit.checkpoints import insert_mac_key, mac_key
from app.store.audit.models import AuditMacKeyRow
from app.store.audit.repository import SqlAuditRepository
from app.store.sealed_rows import AUDIT_MAC_KEY, replace_sealed_blob, sealed_rows
from tests.integration.test_audit_fixtures import (
    T0,
    AuditEnv,
    audit_env,  # noqa: F401  (fixture)
    make_event,
    open_pool,
    reopen,
)


def _new_log(env: AuditEnv) -> AuditLog:
    return AuditLog(load_root_key(env.settings), env.settings, SqlAuditRepository(env.store))


def _delete_row() -> None:
    assert AuditMacKeyRow.delete().execute() == 1


def _other_root_key() -> EnvRootKeyProvider:
    return EnvRootKeyProvider(os.urandom(32))


def test_store_functions_insert_once_and_replace_by_compare_and_set(
    audit_env: AuditEnv,  # noqa: F811
) -> None:
    assert mac_key() is None
    first = StoredMacKey(sealed_key=b"\x01sealed-one", root_key_id="rk1-one", created_at=5)
    second = StoredMacKey(sealed_key=b"\x01sealed-two", root_key_id="rk1-two", created_at=6)
    with audit_env.store.transaction():
        assert insert_mac_key(audit_env.store, first) is True
    with audit_env.store.transaction():
        assert insert_mac_key(audit_env.store, second) is False
    assert mac_key() == first
    assert "sealed-one" not in repr(first)  # the sealed bytes stay out of reprs

    (row,) = [row for row in sealed_rows(audit_env.store) if row.kind == AUDIT_MAC_KEY]
    assert row.blob == first.sealed_key
    # A blob that changed since it was read is not overwritten.
    stale = type(row)(kind=AUDIT_MAC_KEY, row_id=row.row_id, blob=b"\x01something else")
    assert not replace_sealed_blob(audit_env.store, stale, b"\x02new", root_key_id="rk2-x")
    assert mac_key() == first
    assert replace_sealed_blob(audit_env.store, row, b"\x02new", root_key_id="rk2-x")
    assert mac_key() == StoredMacKey(sealed_key=b"\x02new", root_key_id="rk2-x", created_at=5)


def test_first_use_seals_the_derived_key_and_a_new_log_reads_it(
    audit_env: AuditEnv,  # noqa: F811
) -> None:
    root_key = load_root_key(audit_env.settings)
    audit_env.append(3)
    stored = mac_key()
    assert stored is not None and stored.root_key_id == root_key.key_id
    assert stored.created_at == micros(T0)  # the first append's time
    derived = root_key.derive(MAC_KEY_LABEL)
    assert root_key.unseal(stored.sealed_key, mac_key_seal_aad()) == derived
    assert derived not in stored.sealed_key
    assert _new_log(audit_env).mac_key() == derived
    assert verify(_new_log(audit_env)).ok


def test_a_log_written_before_the_row_existed_keeps_verifying(
    audit_env: AuditEnv,  # noqa: F811
) -> None:
    # A log of an older release: events made with the derived key, no row.
    audit_env.append(4)
    _delete_row()
    log = _new_log(audit_env)
    # Verifying stores nothing.
    assert verify(log).ok and mac_key() is None
    audit_env.log = log
    audit_env.append(2)
    assert mac_key() is not None
    assert verify(_new_log(audit_env)).ok


def test_the_row_is_stored_once_under_concurrent_first_use(
    audit_env: AuditEnv,  # noqa: F811
) -> None:
    """Eight processes' logs (each its own connection) reach for the key at
    once, half of them inside an append's transaction: one row, one key."""
    count = 8
    start = threading.Barrier(count, timeout=60)
    keys: list[bytes] = []
    errors: list[BaseException] = []
    store = open_pool(audit_env.settings, size=count)

    def first_use(n: int) -> None:
        try:
            log = AuditLog(
                load_root_key(audit_env.settings), audit_env.settings, SqlAuditRepository(store)
            )
            with store.connection():
                start.wait()
                if n % 2:
                    with store.transaction():
                        log.append(make_event(n))
                keys.append(log.mac_key())
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=first_use, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    store.close()
    assert not errors, errors
    assert len(keys) == count and len(set(keys)) == 1
    assert AuditMacKeyRow.select().count() == 1
    assert keys[0] == load_root_key(audit_env.settings).derive(MAC_KEY_LABEL)
    assert verify(_new_log(audit_env)).ok


def _as_after_a_migration(env: AuditEnv) -> None:
    """What a change of root key leaves: a row holding a key the root key
    cannot derive, and events made with it (simulated on one root key: the
    row re-sealed with another MAC key before any event)."""
    root_key = load_root_key(env.settings)
    other = os.urandom(32)
    env.log.mac_key()  # stores the row, as any first use does
    with env.store.transaction():
        AuditMacKeyRow.update(sealed_key=root_key.seal(other, mac_key_seal_aad())).execute()
    env.log = _new_log(env)
    assert env.log.mac_key() == other
    env.append(3)
    assert verify(_new_log(env)).ok


def test_a_row_deleted_after_a_root_key_change_is_refused(
    audit_env: AuditEnv,  # noqa: F811
) -> None:
    _as_after_a_migration(audit_env)
    _delete_row()

    log = _new_log(audit_env)
    with pytest.raises(RootKeyError, match="MAC key row is missing"):
        log.mac_key()
    # Appending fails closed, and nothing is stored: no new MAC key.
    with pytest.raises(ServiceUnavailableError), audit_env.store.transaction():
        log.append(make_event(99))
    assert mac_key() is None
    with pytest.raises(ServiceUnavailableError):
        log.ready()
    report = verify(log)
    assert not report.ok
    assert any(
        f.kind == "mac_key_invalid" and "row is missing" in f.detail for f in report.findings
    )
    assert mac_key() is None


def test_a_row_sealed_under_another_root_key_is_refused(
    audit_env: AuditEnv,  # noqa: F811
) -> None:
    audit_env.append(2)
    other = _other_root_key()
    stored = mac_key()
    assert stored is not None
    with pytest.raises(RootKeyError) as raised:
        audit_mac_key(other, SqlAuditRepository(audit_env.store), now_us=0)
    assert stored.root_key_id in str(raised.value) and other.key_id in str(raised.value)
    log = AuditLog(other, audit_env.settings, SqlAuditRepository(audit_env.store))
    with pytest.raises(ServiceUnavailableError), audit_env.store.transaction():
        log.append(make_event(99))
    assert mac_key() == stored


def test_a_database_from_before_the_migration_verifies_with_the_derived_key(
    audit_env: AuditEnv,  # noqa: F811
) -> None:
    """What restore verifies when the backup is older than migration 0008."""
    audit_env.append(3)
    with audit_env.store.transaction():
        audit_env.store.database.execute_sql('DROP TABLE "audit_mac_key"')
    reopen(audit_env)
    assert mac_key() is None
    assert verify(audit_env.log).ok
