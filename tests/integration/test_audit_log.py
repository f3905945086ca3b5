"""The audit log on a real database: append, checkpoints, and the verifier
catching every kind of tampering with the right first bad sequence number."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable
from pathlib import Path

import psycopg2
import pytest

from app.audit.chain import entry_hash
from app.audit.checkpoints import CheckpointFileError, read_exported, signer_key_id
from app.audit.verify import AuditIntegrityError, VerifyReport, verify
from app.crypto.signing import generate_signing_key, sign
from app.store.audit.models import (
    AuditCheckpointRow,
    AuditEventRow,
    AuditHeadRow,
    AuditSigningKeyRow,
)
from tests.conftest import POSTGRES_URL
from tests.integration.test_audit_fixtures import (
    ALICE,
    AuditEnv,
    audit_env,  # noqa: F401  (fixture)
    reopen,
)

BOB_ARN = "arn:aws:iam::111122223333:user/mallory"


def _kinds(report: VerifyReport) -> set[str]:
    return {finding.kind for finding in report.findings}


def _row(seq: int) -> AuditEventRow:
    return AuditEventRow.get(AuditEventRow.seq == seq)


def _set(at: int, **values: object) -> None:
    assert AuditEventRow.update(**values).where(AuditEventRow.seq == at).execute() == 1


def _full_report(env: AuditEnv) -> VerifyReport:
    return verify(env.log, exported_checkpoints=env.export_file)


@pytest.fixture
def populated(audit_env: AuditEnv) -> AuditEnv:  # noqa: F811
    """20 events; a checkpoint over 1..15, exported; 16..20 not yet checkpointed."""
    audit_env.append(15)
    assert audit_env.log.checkpoint() is not None
    audit_env.append(5)
    report = _full_report(audit_env)
    assert report.ok, report.findings
    assert report.events_checked == 20 and report.checkpoints_checked == 1
    return audit_env


def test_appends_are_numbered_from_one_and_verify(audit_env: AuditEnv) -> None:  # noqa: F811
    assert audit_env.append(30) == list(range(1, 31))
    report = verify(audit_env.log)
    assert report.ok and report.events_checked == 30 and report.first_bad_seq is None


def test_append_batch_and_verification_with_only_the_mac_key(
    audit_env: AuditEnv,  # noqa: F811
) -> None:
    from tests.integration.test_audit_fixtures import make_event

    with audit_env.store.transaction():
        assert audit_env.log.append_batch([make_event(i) for i in range(5)]) == [1, 2, 3, 4, 5]
    audit_env.log.checkpoint()
    mac_key, _, _ = audit_env.log.verifier_keys()
    # An offline verifier: the MAC key, and the public key from the export file.
    report = verify(
        mac_key, exported_checkpoints=audit_env.export_file, repository=audit_env.log.repository
    )
    assert report.ok and report.exported_checkpoints_checked == 1
    wrong = verify(hashlib.sha256(b"not the key").digest(), repository=audit_env.log.repository)
    assert not wrong.ok and wrong.first_bad_seq == 1 and "mac_mismatch" in _kinds(wrong)


def _modify_body_byte(env: AuditEnv) -> None:
    body = bytearray(bytes(_row(7).body))
    at = body.index(b"Encrypt")
    body[at] = ord("D")  # "Encrypt" -> "Dncrypt"
    _set(7, body=bytes(body))


def _modify_typed_column(env: AuditEnv) -> None:
    _set(7, principal_arn=BOB_ARN)


def _modify_entry_hash(env: AuditEnv) -> None:
    _set(7, entry_hash=hashlib.sha256(b"forged").digest())


def _delete_middle_row(env: AuditEnv) -> None:
    assert AuditEventRow.delete().where(AuditEventRow.seq == 7).execute() == 1


def _forged_copy(source_seq: int, seq: int, prev_hash: bytes) -> dict[str, object]:
    """A row copied from ``source_seq``, relinked at ``seq`` (hashes recomputed,
    as an attacker would; only the MAC cannot be made)."""
    source = _row(source_seq)
    body = bytes(source.body).replace(b"req-", b"rEq-")
    mac = hashlib.sha256(b"guessed mac").digest()
    values = {name: getattr(source, name) for name in source._meta.fields if name != "id"}
    values.update(
        seq=seq,
        event_id=f"forged-{seq}",
        body=body,
        body_mac=mac,
        prev_hash=prev_hash,
        entry_hash=entry_hash(prev_hash, seq, body, mac),
    )
    return values


def _insert_forged_row_in_the_middle(env: AuditEnv) -> None:
    for seq in range(20, 9, -1):
        _set(seq, seq=seq + 1)
    AuditEventRow.insert(**_forged_copy(9, 10, bytes(_row(9).entry_hash))).execute()
    AuditHeadRow.update(last_seq=21).execute()


def _append_forged_row_and_move_the_head(env: AuditEnv) -> None:
    forged = _forged_copy(20, 21, bytes(_row(20).entry_hash))
    AuditEventRow.insert(**forged).execute()
    AuditHeadRow.update(last_seq=21, head_hash=forged["entry_hash"]).execute()


def _append_forged_row_behind_the_head(env: AuditEnv) -> None:
    AuditEventRow.insert(**_forged_copy(20, 21, bytes(_row(20).entry_hash))).execute()


def _swap_two_rows(env: AuditEnv) -> None:
    _set(7, seq=-7)
    _set(8, seq=7)
    _set(-7, seq=8)


TAMPERING: dict[str, tuple[Callable[[AuditEnv], None], int, str]] = {
    "modify a body byte": (_modify_body_byte, 7, "mac_mismatch"),
    "modify a typed column": (_modify_typed_column, 7, "column_mismatch"),
    "modify entry_hash": (_modify_entry_hash, 7, "hash_mismatch"),
    "delete a middle row": (_delete_middle_row, 7, "missing"),
    "insert a forged row in the middle": (_insert_forged_row_in_the_middle, 10, "mac_mismatch"),
    "append a forged row": (_append_forged_row_and_move_the_head, 21, "mac_mismatch"),
    "forged row behind the head": (_append_forged_row_behind_the_head, 21, "beyond_head"),
    "swap two rows' seq": (_swap_two_rows, 7, "mac_mismatch"),
}


@pytest.mark.parametrize("name", list(TAMPERING))
def test_tampering_is_detected_at_the_first_bad_seq(populated: AuditEnv, name: str) -> None:
    tamper, first_bad, kind = TAMPERING[name]
    tamper(populated)
    report = _full_report(populated)
    assert not report.ok
    assert report.first_bad_seq == first_bad, report.findings
    assert kind in _kinds(report), report.findings
    # The verifier needs no export file to see tampering inside the chain.
    assert verify(populated.log).first_bad_seq == first_bad


def test_an_edited_column_is_reported_without_blaming_the_mac(populated: AuditEnv) -> None:
    _modify_typed_column(populated)
    assert _kinds(_full_report(populated)) == {"column_mismatch"}


def test_an_edited_entry_hash_is_reported_once(populated: AuditEnv) -> None:
    _modify_entry_hash(populated)
    report = _full_report(populated)
    assert [(f.kind, f.seq) for f in report.findings] == [("hash_mismatch", 7)]


def _truncate_cleanly(keep: int) -> None:
    """Cut the table after ``keep`` and tidy up as a careful attacker would:
    head moved back, stored checkpoints removed. Only the export remembers."""
    AuditEventRow.delete().where(AuditEventRow.seq > keep).execute()
    last = _row(keep)
    AuditHeadRow.update(
        last_seq=keep, head_hash=bytes(last.entry_hash), recorded_at=last.recorded_at
    ).execute()
    AuditCheckpointRow.delete().execute()


def test_a_truncated_tail_is_caught_by_the_exported_checkpoint(populated: AuditEnv) -> None:
    _truncate_cleanly(12)
    # Inside the database everything is consistent again…
    assert verify(populated.log, own_sources=False).ok
    # …but the exported checkpoint says there were at least 15 events.
    report = _full_report(populated)
    assert not report.ok
    assert report.first_bad_seq == 13
    assert "truncated" in _kinds(report)


def test_a_cut_tail_with_stale_head_is_caught_without_the_export(populated: AuditEnv) -> None:
    AuditEventRow.delete().where(AuditEventRow.seq > 17).execute()
    report = verify(populated.log)
    assert report.first_bad_seq == 18 and "missing" in _kinds(report)


def _restore_sqlite(env: AuditEnv, backup: Path) -> None:
    def restore() -> None:
        database = Path(env.settings.database[len("sqlite:///") :])
        for suffix in ("-wal", "-shm"):
            Path(f"{database}{suffix}").unlink(missing_ok=True)
        shutil.copyfile(backup, database)

    reopen(env, restore)


def _pg_admin() -> psycopg2.extensions.connection:
    assert POSTGRES_URL
    admin = psycopg2.connect(POSTGRES_URL)
    admin.autocommit = True
    return admin


def _pg_name(env: AuditEnv) -> str:
    return env.settings.database.rpartition("/")[2]


def _pg_copy(source: str, target: str) -> None:
    admin = _pg_admin()
    with admin.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (source,)
        )
        cursor.execute(f'DROP DATABASE IF EXISTS "{target}"')
        cursor.execute(f'CREATE DATABASE "{target}" TEMPLATE "{source}"')
    admin.close()


def test_restoring_an_older_copy_is_caught(audit_env: AuditEnv) -> None:  # noqa: F811
    env = audit_env
    env.append(10)
    assert env.log.checkpoint() is not None
    if env.engine == "sqlite":
        backup = env.tmp_path / "backup.db"
        env.store.execute_sql(f"VACUUM INTO '{backup}'")
    else:
        reopen(env, lambda: _pg_copy(_pg_name(env), _pg_name(env) + "_backup"))
    env.append(10)
    assert env.log.checkpoint() is not None
    assert len(read_exported(env.export_file)[0]) == 2
    if env.engine == "sqlite":
        _restore_sqlite(env, backup)
    else:

        def restore() -> None:
            _pg_copy(_pg_name(env) + "_backup", _pg_name(env))
            admin = _pg_admin()
            with admin.cursor() as cursor:
                cursor.execute(f'DROP DATABASE "{_pg_name(env)}_backup"')
            admin.close()

        reopen(env, restore)

    assert verify(env.log, own_sources=False).ok  # the old copy is consistent in itself
    report = _full_report(env)
    assert not report.ok
    assert report.first_bad_seq == 11
    assert {"truncated", "exported_checkpoint_missing"} <= _kinds(report)
    # The export file is never extended with a history that diverges from it.
    with pytest.raises(CheckpointFileError):
        env.log.export_checkpoints()


def test_checkpoints_chain_and_are_exported_incrementally(audit_env: AuditEnv) -> None:  # noqa: F811
    env = audit_env
    assert env.log.checkpoint() is None  # nothing to sign yet
    env.append(3)
    first = env.log.checkpoint()
    assert first is not None and (first.first_seq, first.last_seq) == (1, 3)
    assert env.log.checkpoint() is None  # nothing new
    env.append(2)
    second = env.log.checkpoint()
    assert second is not None
    assert (second.checkpoint_no, second.first_seq, second.last_seq) == (2, 4, 5)
    assert second.prev_checkpoint_hash == first.digest()
    exported, problems = read_exported(env.export_file)
    assert problems == []
    assert [e.checkpoint for e in exported] == [first, second]
    assert env.log.export_checkpoints() == 0  # already up to date
    other = env.tmp_path / "second-copy.jsonl"
    assert env.log.export_checkpoints(other) == 2
    assert env.log.latest_checkpoint() == second
    key_id, public = next(iter(env.log.public_keys().items()))
    assert key_id == second.signer_key_id and signer_key_id(public) == key_id


def test_a_tampered_chain_is_never_signed(audit_env: AuditEnv) -> None:  # noqa: F811
    env = audit_env
    env.append(5)
    env.log.checkpoint()
    env.append(5)
    _set(8, body=bytes(_row(8).body).replace(b"Encrypt", b"Decrypt"))
    with pytest.raises(AuditIntegrityError) as caught:
        env.log.checkpoint()
    assert caught.value.finding.seq == 8
    assert AuditCheckpointRow.select().count() == 1


CHAIN_TAMPERING: dict[str, tuple[Callable[[], None], str]] = {
    "modify a body byte": (
        lambda: _set(17, body=bytes(_row(17).body).replace(b"Encrypt", b"Decrypt")),
        "mac_mismatch",
    ),
    "modify entry_hash": (
        lambda: _set(17, entry_hash=hashlib.sha256(b"forged").digest()),
        "hash_mismatch",
    ),
    "modify prev_hash": (
        lambda: _set(17, prev_hash=hashlib.sha256(b"forged").digest()),
        "mac_mismatch",
    ),
    "delete a row": (
        lambda: AuditEventRow.delete().where(AuditEventRow.seq == 17).execute(),
        "missing",
    ),
}


@pytest.mark.parametrize("name", list(CHAIN_TAMPERING))
def test_the_checkpoint_refuses_a_tampered_chain(populated: AuditEnv, name: str) -> None:
    tamper, kind = CHAIN_TAMPERING[name]
    tamper()
    with pytest.raises(AuditIntegrityError) as caught:
        populated.log.checkpoint()
    assert (caught.value.finding.kind, caught.value.finding.seq) == (kind, 17)
    assert AuditCheckpointRow.select().count() == 1


def test_a_column_only_change_is_left_to_verify(populated: AuditEnv) -> None:
    """A checkpoint signs the chain head, which a typed column is not part
    of: it signs over an edited column (without parsing the bodies), and
    `audit verify` reports the column."""
    _set(17, principal_arn=BOB_ARN)
    checkpoint = populated.log.checkpoint()
    assert checkpoint is not None and checkpoint.last_seq == 20
    report = _full_report(populated)
    assert not report.ok and report.first_bad_seq == 17
    assert [(f.kind, f.seq) for f in report.findings] == [("column_mismatch", 17)]


def test_a_swapped_signing_key_is_not_trusted(populated: AuditEnv) -> None:
    # An attacker with write access replaces the signing key's public half
    # with their own and re-signs the checkpoint after editing an event.
    private, public = generate_signing_key()
    attacker_id = signer_key_id(public)
    AuditSigningKeyRow.update(public_key=public, key_id=attacker_id).execute()
    from app.audit.checkpoints import Checkpoint

    stored = populated.log.repository.latest_checkpoint()
    assert stored is not None
    forged = Checkpoint.from_stored(stored)
    forged = forged.__class__(**{**forged.__dict__, "signer_key_id": attacker_id})
    forged = forged.with_signature(sign(private, forged.signed_bytes()))
    AuditCheckpointRow.update(signer_key_id=attacker_id, signature=forged.signature).execute()
    report = verify(populated.log)
    assert not report.ok
    assert {"signing_key_invalid", "checkpoint_signer_unknown"} <= _kinds(report)


def test_a_missing_head_row_fails_closed(audit_env: AuditEnv) -> None:  # noqa: F811
    from app.errors import ServiceUnavailableError

    audit_env.append(2)
    AuditHeadRow.delete().execute()
    with pytest.raises(ServiceUnavailableError):
        audit_env.append(1)
    with pytest.raises(ServiceUnavailableError):
        audit_env.log.ready()
    report = verify(audit_env.log)
    assert "head_missing" in _kinds(report)


def test_the_log_shows_who_appended_in_the_rest_api_shape(audit_env: AuditEnv) -> None:  # noqa: F811
    from app.audit import query

    audit_env.append(1)
    page = query.search(audit_env.log.repository, query.AuditQuery(), account=None, limit=1)
    event = page.events[0]
    assert event["principal"]["arn"] == ALICE
    assert event["seq"] == 1 and len(event["hash"]) == 64


def test_recorded_time_never_goes_backwards(audit_env: AuditEnv) -> None:  # noqa: F811
    from app.audit import query

    audit_env.append(2)
    audit_env.clock.now -= 3600  # this process's clock jumps back an hour
    audit_env.append(2)
    times = [_row(seq).recorded_at for seq in range(1, 5)]
    assert times == sorted(times) and times[2] == times[1]
    assert verify(audit_env.log).ok
    # A time range is exact even so: the events after the jump count as recorded
    # no earlier than the one before them.
    since = int(times[1] // 1_000_000)
    page = query.search(audit_env.log.repository, query.AuditQuery(since=since), account=None)
    assert [e["seq"] for e in page.events] == [4, 3, 2]


def test_a_forged_time_reversal_is_reported(audit_env: AuditEnv) -> None:  # noqa: F811
    """Even someone holding the MAC key cannot reorder time unnoticed."""
    import json

    from app.audit.canonical import canonical_json
    from app.audit.chain import entry_mac

    audit_env.append(3)
    mac_key, _, _ = audit_env.log.verifier_keys()
    row = _row(3)
    body = json.loads(bytes(row.body))
    body["recordedAt"] = _row(1).recorded_at - 1
    encoded = canonical_json(body)
    prev = bytes(row.prev_hash)
    mac = entry_mac(mac_key, 3, prev, encoded)
    digest = entry_hash(prev, 3, encoded, mac)
    _set(3, body=encoded, body_mac=mac, entry_hash=digest, recorded_at=body["recordedAt"])
    AuditHeadRow.update(head_hash=digest, recorded_at=body["recordedAt"]).execute()
    report = verify(audit_env.log)
    assert report.findings[0].kind == "time_reversed" and report.first_bad_seq == 3
