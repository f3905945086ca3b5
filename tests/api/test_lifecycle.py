"""Key states, deletion, rotation, aliases and tags through the REST door."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app.config import Settings
from app.crypto.ciphertext import parse_header
from app.operations.scheduler import run_jobs_once
from app.pipeline.runtime import runtime
from tests.api.kms import Kms
from tests.conftest import ACCOUNT, TokenFactory, b64, unb64

DAY = 86400.0


class Clock:
    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(app: Flask) -> Clock:
    fake = Clock(1_800_000_000.0)
    with app.app_context():
        runtime().services.clock = fake
    return fake


@pytest.fixture
def kms(client: FlaskClient, token: TokenFactory) -> Kms:
    return Kms(client, token(root=True))


def run_jobs(app: Flask) -> tuple[list[str], list[str]]:
    with app.app_context():
        return run_jobs_once(runtime().services)


def code(response: object) -> str:
    return str(response.get_json()["error"]["code"])  # type: ignore[attr-defined]


# The key-state table of kms-api.md §3 for every operation of this service:
# state → expected outcome ("ok" or the AWS error code).
OK, DIS, INV = "ok", "DisabledException", "KMSInvalidStateException"
STATE_TABLE: dict[str, tuple[str, str, str]] = {
    #                         Enabled Disabled PendingDeletion
    "Encrypt": (OK, DIS, INV),
    "Decrypt": (OK, DIS, INV),
    "ReEncrypt": (OK, DIS, INV),
    "GenerateDataKey": (OK, DIS, INV),
    "GenerateDataKeyWithoutPlaintext": (OK, DIS, INV),
    "DescribeKey": (OK, OK, OK),
    "GetKeyPolicy": (OK, OK, OK),
    "PutKeyPolicy": (OK, OK, OK),
    "ListResourceTags": (OK, OK, OK),
    "ListKeyRotations": (OK, OK, OK),
    "GetKeyRotationStatus": (OK, OK, OK),
    "ListAliases": (OK, OK, OK),
    "DeleteAlias": (OK, OK, OK),
    "CreateAlias": (OK, OK, INV),
    "UpdateAlias": (OK, OK, INV),
    "EnableKey": (OK, OK, INV),
    "DisableKey": (OK, OK, INV),
    "TagResource": (OK, OK, INV),
    "UntagResource": (OK, OK, INV),
    "UpdateKeyDescription": (OK, OK, INV),
    "ScheduleKeyDeletion": (OK, OK, INV),
    "CancelKeyDeletion": (INV, INV, OK),
    "EnableKeyRotation": (OK, DIS, INV),
    "DisableKeyRotation": (OK, DIS, INV),
    "RotateKeyOnDemand": (OK, DIS, INV),
}
STATES = ("Enabled", "Disabled", "PendingDeletion")


def perform(kms: Kms, operation: str, key_id: str, blob: str, other: str) -> object:
    """One call of ``operation`` on ``key_id``; ``blob`` was encrypted under it
    while it was enabled, ``other`` is an enabled key."""
    k = f"/v1/keys/{key_id}"
    calls: dict[str, Callable[[], object]] = {
        "Encrypt": lambda: kms.encrypt(key_id, b"x"),
        "Decrypt": lambda: kms.decrypt(blob),
        "ReEncrypt": lambda: kms.post(
            "/v1/re-encrypt", {"CiphertextBlob": blob, "DestinationKeyId": other}
        ),
        "GenerateDataKey": lambda: kms.data_key(key_id, KeySpec="AES_256"),
        "GenerateDataKeyWithoutPlaintext": lambda: kms.data_key(
            key_id, plaintext=False, KeySpec="AES_256"
        ),
        "DescribeKey": lambda: kms.describe(key_id),
        "GetKeyPolicy": lambda: kms.get(k + "/policy"),
        "PutKeyPolicy": lambda: kms.put(
            k + "/policy",
            {"Policy": kms.get(k + "/policy").get_json()["Policy"]},  # type: ignore[attr-defined]
        ),
        "ListResourceTags": lambda: kms.get(k + "/tags"),
        "ListKeyRotations": lambda: kms.get(k + "/rotations"),
        "GetKeyRotationStatus": lambda: kms.get(k + "/rotation"),
        "ListAliases": lambda: kms.get("/v1/aliases", KeyId=key_id),
        "DeleteAlias": lambda: kms.delete("/v1/aliases/alias/state-existing"),
        "CreateAlias": lambda: kms.post(
            "/v1/aliases", {"AliasName": "alias/state-new", "TargetKeyId": key_id}
        ),
        "UpdateAlias": lambda: kms.put("/v1/aliases/alias/state-other", {"TargetKeyId": key_id}),
        "EnableKey": lambda: kms.enable(key_id),
        "DisableKey": lambda: kms.disable(key_id),
        "TagResource": lambda: kms.post(k + "/tags", {"Tags": [{"TagKey": "a", "TagValue": "b"}]}),
        "UntagResource": lambda: kms.delete(k + "/tags", TagKeys="a"),
        "UpdateKeyDescription": lambda: kms.patch(k, {"Description": "d"}),
        "ScheduleKeyDeletion": lambda: kms.schedule_deletion(key_id, 7),
        "CancelKeyDeletion": lambda: kms.cancel_deletion(key_id),
        "EnableKeyRotation": lambda: kms.put(k + "/rotation", {}),
        "DisableKeyRotation": lambda: kms.delete(k + "/rotation"),
        "RotateKeyOnDemand": lambda: kms.post(k + "/rotations"),
    }
    return calls[operation]()


@pytest.mark.parametrize("operation", sorted(STATE_TABLE))
@pytest.mark.parametrize("state_index", range(3), ids=STATES)
def test_key_state_table(kms: Kms, operation: str, state_index: int) -> None:
    key_id = kms.new_key()
    other = kms.new_key()
    blob = kms.ciphertext(key_id, b"state")
    kms.post("/v1/aliases", {"AliasName": "alias/state-existing", "TargetKeyId": key_id})
    kms.post("/v1/aliases", {"AliasName": "alias/state-other", "TargetKeyId": other})
    if STATES[state_index] == "Disabled":
        assert kms.disable(key_id).status_code == 200
    elif STATES[state_index] == "PendingDeletion":
        assert kms.schedule_deletion(key_id, 7).status_code == 200
    expected = STATE_TABLE[operation][state_index]
    response = perform(kms, operation, key_id, blob, other)
    if expected == OK:
        assert response.status_code == 200, response.get_data(as_text=True)  # type: ignore[attr-defined]
    else:
        assert response.status_code == 409, response.get_data(as_text=True)  # type: ignore[attr-defined]
        assert code(response) == expected
        message = response.get_json()["error"]["message"]  # type: ignore[attr-defined]
        assert f"key/{key_id}" in message or "pending deletion" in message


def test_disable_and_enable(kms: Kms) -> None:
    key_id = kms.new_key()
    assert kms.disable(key_id).status_code == 200
    meta = kms.describe(key_id).get_json()["KeyMetadata"]
    assert (meta["KeyState"], meta["Enabled"]) == ("Disabled", False)
    response = kms.encrypt(key_id, b"x")
    assert code(response) == "DisabledException"
    assert response.get_json()["error"]["message"].endswith(f"key/{key_id} is disabled.")
    assert kms.enable(key_id).status_code == 200
    assert kms.encrypt(key_id, b"x").status_code == 200


def test_schedule_and_cancel_deletion(kms: Kms, clock: Clock) -> None:
    key_id = kms.new_key()
    response = kms.schedule_deletion(key_id)
    body = response.get_json()
    assert body["KeyState"] == "PendingDeletion" and body["PendingWindowInDays"] == 30
    assert body["DeletionDate"] == clock.now + 30 * DAY
    assert body["KeyId"].endswith(key_id)
    meta = kms.describe(key_id).get_json()["KeyMetadata"]
    assert meta["DeletionDate"] == clock.now + 30 * DAY
    cancelled = kms.cancel_deletion(key_id)
    assert cancelled.get_json() == {"KeyId": body["KeyId"]}
    meta = kms.describe(key_id).get_json()["KeyMetadata"]
    # AWS leaves a key whose deletion was cancelled Disabled.
    assert meta["KeyState"] == "Disabled" and "DeletionDate" not in meta


def test_deletion_after_the_window_removes_the_key_its_aliases_and_its_material(
    app: Flask, kms: Kms, clock: Clock, settings: Settings
) -> None:
    key_id = kms.new_key()
    keep = kms.new_key()
    blob = kms.ciphertext(key_id, b"doomed")
    kms.post(f"/v1/keys/{key_id}/rotations")
    kms.post("/v1/aliases", {"AliasName": "alias/doomed", "TargetKeyId": key_id})
    kms.post(f"/v1/keys/{key_id}/tags", {"Tags": [{"TagKey": "t", "TagValue": "v"}]})
    kms.schedule_deletion(key_id, 7)
    clock.advance(7 * DAY - 60)
    assert run_jobs(app)[1] == []
    assert kms.describe(key_id).status_code == 200
    clock.advance(120)
    rotated, deleted = run_jobs(app)
    assert deleted == [f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{key_id}"]
    assert kms.describe(key_id).status_code == 404
    assert kms.describe("alias/doomed").status_code == 404
    response = kms.decrypt(blob)
    assert response.status_code == 403
    assert kms.describe(keep).status_code == 200
    db = sqlite3.connect(settings.data_dir / "trent.db")
    for table in ("key", "key_version", "alias", "key_tag"):
        rows = db.execute(
            f'SELECT COUNT(*) FROM "{table}" WHERE {"id" if table == "key" else "key_id"} = ?',
            (key_id,),
        ).fetchone()[0]
        assert rows == 0, table
    assert db.execute("SELECT COUNT(*) FROM key_version").fetchone()[0] == 1  # keep's only
    # The service records the deletion it made, as AWS does.
    events = [json.loads(bytes(b)) for (b,) in db.execute("SELECT body FROM audit_event")]
    deletion = [e for e in events if e["eventName"] == "DeleteKey"]
    assert len(deletion) == 1
    assert deletion[0]["door"] == "scheduler" and deletion[0]["resources"] == [
        f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{key_id}"
    ]


def test_on_demand_rotation_keeps_old_ciphertexts_decrypting(kms: Kms) -> None:
    key_id = kms.new_key()
    old = kms.ciphertext(key_id, b"before")
    material_before = kms.describe(key_id).get_json()["KeyMetadata"]["CurrentKeyMaterialId"]
    assert parse_header(unb64(old)).key_version == 1
    response = kms.post(f"/v1/keys/{key_id}/rotations")
    assert response.status_code == 200 and response.get_json()["KeyId"].endswith(key_id)
    new = kms.ciphertext(key_id, b"after")
    assert parse_header(unb64(new)).key_version == 2
    material_after = kms.describe(key_id).get_json()["KeyMetadata"]["CurrentKeyMaterialId"]
    assert material_after != material_before
    assert unb64(kms.decrypt(old).get_json()["Plaintext"]) == b"before"
    assert unb64(kms.decrypt(new).get_json()["Plaintext"]) == b"after"
    rotations = kms.get(f"/v1/keys/{key_id}/rotations").get_json()
    assert [r["RotationType"] for r in rotations["Rotations"]] == ["ON_DEMAND"]
    assert rotations["Rotations"][0]["KeyMaterialState"] == "CURRENT"
    everything = kms.get(f"/v1/keys/{key_id}/rotations", IncludeKeyMaterial="ALL_KEY_MATERIAL")
    states = [r["KeyMaterialState"] for r in everything.get_json()["Rotations"]]
    assert states == ["NON_CURRENT", "CURRENT"]


def test_on_demand_rotations_are_limited_to_25(kms: Kms) -> None:
    key_id = kms.new_key()
    for _ in range(25):
        assert kms.post(f"/v1/keys/{key_id}/rotations").status_code == 200
    response = kms.post(f"/v1/keys/{key_id}/rotations")
    assert code(response) == "LimitExceededException"


def test_automatic_rotation_happens_when_due(app: Flask, kms: Kms, clock: Clock) -> None:
    key_id = kms.new_key()
    blobs = [kms.ciphertext(key_id, b"v1")]
    assert kms.put(f"/v1/keys/{key_id}/rotation", {"RotationPeriodInDays": 90}).status_code == 200
    status = kms.get(f"/v1/keys/{key_id}/rotation").get_json()
    assert status["KeyRotationEnabled"] is True and status["RotationPeriodInDays"] == 90
    assert status["NextRotationDate"] == clock.now + 90 * DAY
    clock.advance(89 * DAY)
    assert run_jobs(app)[0] == []
    clock.advance(1 * DAY)
    assert run_jobs(app)[0] == [f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{key_id}"]
    assert run_jobs(app)[0] == []  # not twice
    blobs.append(kms.ciphertext(key_id, b"v2"))
    assert parse_header(unb64(blobs[-1])).key_version == 2
    clock.advance(90 * DAY)
    run_jobs(app)
    blobs.append(kms.ciphertext(key_id, b"v3"))
    assert parse_header(unb64(blobs[-1])).key_version == 3
    for expected, blob in zip((b"v1", b"v2", b"v3"), blobs, strict=True):
        assert unb64(kms.decrypt(blob).get_json()["Plaintext"]) == expected
    rotations = kms.get(f"/v1/keys/{key_id}/rotations").get_json()["Rotations"]
    assert [r["RotationType"] for r in rotations] == ["AUTOMATIC", "AUTOMATIC"]
    assert kms.get(f"/v1/keys/{key_id}/rotation").get_json()["NextRotationDate"] == (
        clock.now + 90 * DAY
    )


def test_disabled_keys_are_not_rotated_and_pending_deletion_reads_off(
    app: Flask, kms: Kms, clock: Clock
) -> None:
    key_id = kms.new_key()
    kms.put(f"/v1/keys/{key_id}/rotation", {"RotationPeriodInDays": 90})
    kms.disable(key_id)
    clock.advance(100 * DAY)
    assert run_jobs(app)[0] == []
    kms.enable(key_id)
    assert len(run_jobs(app)[0]) == 1  # overdue: rotated at once when re-enabled
    kms.schedule_deletion(key_id, 7)
    assert kms.get(f"/v1/keys/{key_id}/rotation").get_json()["KeyRotationEnabled"] is False
    kms.cancel_deletion(key_id)
    assert kms.get(f"/v1/keys/{key_id}/rotation").get_json()["KeyRotationEnabled"] is True


def test_rotation_jobs_racing_in_two_processes_rotate_once(
    app: Flask, kms: Kms, clock: Clock, settings: Settings
) -> None:
    from app import create_app

    key_id = kms.new_key()
    kms.put(f"/v1/keys/{key_id}/rotation", {"RotationPeriodInDays": 90})
    clock.advance(91 * DAY)
    second = create_app(settings)
    with second.app_context():
        runtime().services.clock = clock
    first_result = run_jobs(app)[0]
    second_result = run_jobs(second)[0]
    assert len(first_result) + len(second_result) == 1
    assert len(kms.get(f"/v1/keys/{key_id}/rotations").get_json()["Rotations"]) == 1


# Aliases


def test_alias_lifecycle(kms: Kms) -> None:
    key_a, key_b = kms.new_key(), kms.new_key()
    assert (
        kms.post("/v1/aliases", {"AliasName": "alias/app", "TargetKeyId": key_a}).status_code == 200
    )
    duplicate = kms.post("/v1/aliases", {"AliasName": "alias/app", "TargetKeyId": key_b})
    assert code(duplicate) == "AlreadyExistsException"
    assert duplicate.get_json()["error"]["message"] == (
        f"An alias with the name arn:aws:kms:us-east-1:{ACCOUNT}:alias/app already exists"
    )
    blob = kms.ciphertext("alias/app", b"via alias")
    assert kms.decrypt(blob, key_id="alias/app").status_code == 200
    listed = kms.get("/v1/aliases").get_json()["Aliases"]
    assert [(a["AliasName"], a["TargetKeyId"]) for a in listed] == [("alias/app", key_a)]
    assert listed[0]["AliasArn"] == f"arn:aws:kms:us-east-1:{ACCOUNT}:alias/app"
    assert kms.put("/v1/aliases/alias/app", {"TargetKeyId": key_b}).status_code == 200
    assert kms.describe("alias/app").get_json()["KeyMetadata"]["KeyId"] == key_b
    assert kms.get("/v1/aliases", KeyId=key_a).get_json()["Aliases"] == []
    # The alias now names B: a ciphertext under A no longer matches it.
    assert code(kms.decrypt(blob, key_id="alias/app")) == "IncorrectKeyException"
    assert kms.delete("/v1/aliases/alias/app").status_code == 200
    assert kms.delete("/v1/aliases/alias/app").status_code == 404


def test_alias_pagination(kms: Kms) -> None:
    key_id = kms.new_key()
    for i in range(5):
        kms.post("/v1/aliases", {"AliasName": f"alias/a{i}", "TargetKeyId": key_id})
    first = kms.get("/v1/aliases", Limit=3).get_json()
    assert len(first["Aliases"]) == 3 and first["Truncated"]
    rest = kms.get("/v1/aliases", Limit=3, Marker=first["NextMarker"]).get_json()
    assert len(rest["Aliases"]) == 2 and not rest["Truncated"]


# Tags


def test_tags(kms: Kms) -> None:
    key_id = kms.new_key(Tags=[{"TagKey": "a", "TagValue": "1"}])
    kms.post(
        f"/v1/keys/{key_id}/tags",
        {"Tags": [{"TagKey": "a", "TagValue": "2"}, {"TagKey": "b", "TagValue": ""}]},
    )
    tags = kms.get(f"/v1/keys/{key_id}/tags").get_json()
    assert tags == {
        "Tags": [{"TagKey": "a", "TagValue": "2"}, {"TagKey": "b", "TagValue": ""}],
        "Truncated": False,
    }
    kms.delete(f"/v1/keys/{key_id}/tags", TagKeys=["a", "missing"])
    assert kms.get(f"/v1/keys/{key_id}/tags").get_json()["Tags"] == [
        {"TagKey": "b", "TagValue": ""}
    ]
    for bad, message in (
        ([{"TagKey": "aws:x", "TagValue": "v"}], "Tags beginning with aws: are reserved"),
        (
            [{"TagKey": "d", "TagValue": "1"}, {"TagKey": "d", "TagValue": "2"}],
            "Duplicate tag keys",
        ),
        ([{"TagKey": f"k{i}", "TagValue": "v"} for i in range(50)], "Too many tags"),
    ):
        response = kms.post(f"/v1/keys/{key_id}/tags", {"Tags": bad})
        assert code(response) == "TagException"
        assert response.get_json()["error"]["message"] == message


# Nothing secret at rest


def test_no_plaintext_data_key_or_material_reaches_the_database_files(
    app: Flask, kms: Kms, settings: Settings
) -> None:
    from app.crypto.material import unseal_material

    secrets: list[bytes] = []
    key_id = kms.new_key()
    for i in range(20):
        plaintext = f"PLAINTEXT-MARKER-{i:04d}-".encode() * 4
        secrets.append(plaintext)
        blob = kms.ciphertext(key_id, plaintext, {"i": str(i)})
        kms.decrypt(blob, {"i": str(i)})
        data_key = unb64(kms.data_key(key_id, KeySpec="AES_256").get_json()["Plaintext"])
        secrets.append(data_key)
        kms.post(
            "/v1/re-encrypt",
            {
                "CiphertextBlob": blob,
                "SourceEncryptionContext": {"i": str(i)},
                "DestinationKeyId": key_id,
            },
        )
    kms.post(f"/v1/keys/{key_id}/rotations")
    with app.app_context(), runtime().services.connection():
        services = runtime().services
        key = services.keys.get_key(ACCOUNT, key_id)
        assert key is not None
        for version in (1, 2):
            sealed = services.keys.sealed_version(key_id, version)
            assert sealed is not None
            material = unseal_material(services.root_key, sealed, key_arn=key.arn, version=version)
            secrets.append(material.expose_secret_bytes())
    files = [p for p in Path(settings.data_dir).iterdir() if p.name.startswith("trent.db")]
    assert any(p.name.endswith("-wal") for p in files), files
    blobs = b"".join(p.read_bytes() for p in files)
    for secret in secrets:
        for form in (secret, b64(secret).encode(), secret.hex().encode()):
            assert form not in blobs
