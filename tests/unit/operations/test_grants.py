"""Grants, operation by operation: who may create, use, list, retire and revoke them."""

from __future__ import annotations

import json
from typing import Any

import pytest

import policies
from app.errors import (
    AccessDeniedError,
    DisabledError,
    DryRunOperationError,
    InvalidArnError,
    InvalidGrantIdError,
    InvalidGrantTokenError,
    LimitExceededError,
    NotFoundError,
    ValidationError,
)
from app.operations import encryption, grants, keys, rotation
from app.operations.context import OperationContext
from tests.unit.operations.conftest import ALICE, ROOT, caller
from tests.unit.operations.fakes import ACCOUNT, OTHER_ACCOUNT, FakeWorld

BOB = caller("bob")
CAROL = caller("carol")
ADMIN = caller("admin")
ALICE_ARN = f"arn:aws:iam::{ACCOUNT}:user/alice"
BOB_ARN = f"arn:aws:iam::{ACCOUNT}:user/bob"
CAROL_ARN = f"arn:aws:iam::{ACCOUNT}:user/carol"
ADMIN_ARN = f"arn:aws:iam::{ACCOUNT}:user/admin"
ROOT_ARN = f"arn:aws:iam::{ACCOUNT}:root"
CONTEXT = {"tenant": "t-1"}


def new_key(world: FakeWorld, **request: Any) -> str:
    created = keys.create_key(world.services, ROOT, keys.CreateKeyRequest(**request))
    key_id: str = created["KeyMetadata"]["KeyId"]
    return key_id


def key_arn(world: FakeWorld, key_id: str) -> str:
    key = world.keys.get_key(ACCOUNT, key_id)
    assert key is not None
    return key.arn


def grant(
    world: FakeWorld,
    key_id: str,
    grantee: str = ALICE_ARN,
    *operations: str,
    ctx: OperationContext = ROOT,
    **request: Any,
) -> dict[str, Any]:
    req = grants.CreateGrantRequest(
        key_id=key_id,
        grantee_principal=grantee,
        operations=list(operations or ("Encrypt", "Decrypt")),
        **request,
    )
    return grants.create_grant(world.services, ctx, req)


def encrypt(
    world: FakeWorld,
    ctx: OperationContext,
    key_id: str,
    *,
    context: dict[str, str] | None = None,
    tokens: list[str] | None = None,
) -> dict[str, Any]:
    req = encryption.EncryptRequest(
        key_id=key_id,
        plaintext=b"secret",
        encryption_context=context or {},
        grant_tokens=tokens or [],
    )
    return encryption.encrypt(world.services, ctx, req)


def subset(**pairs: str) -> policies.GrantConstraints:
    return policies.GrantConstraints("EncryptionContextSubset", pairs)


# -- using a grant --


def test_a_grantee_uses_a_new_grant_at_once_with_its_token(world: FakeWorld) -> None:
    key_id = new_key(world)
    with pytest.raises(AccessDeniedError):
        encrypt(world, ALICE, key_id)
    created = grant(world, key_id)
    assert len(created["GrantId"]) == 64
    ctx = caller("alice")
    encrypt(world, ctx, key_id, tokens=[created["GrantToken"]])
    assert ctx.notes.grant_ids == [created["GrantId"]]
    # Without the token too: a grant takes effect when CreateGrant commits.
    encrypt(world, ALICE, key_id)


def test_a_grant_allows_its_operations_only_and_to_its_grantee_only(world: FakeWorld) -> None:
    key_id = new_key(world)
    grant(world, key_id, ALICE_ARN, "Encrypt")
    blob = encrypt(world, ALICE, key_id)["CiphertextBlob"]
    with pytest.raises(AccessDeniedError):
        encryption.decrypt(world.services, ALICE, encryption.DecryptRequest(blob))
    with pytest.raises(AccessDeniedError):
        encrypt(world, BOB, key_id)
    with pytest.raises(AccessDeniedError):
        keys.disable_key(world.services, ALICE, keys.KeyIdRequest(key_id))


def test_revoking_a_grant_refuses_the_next_call_that_used_it(world: FakeWorld) -> None:
    key_id = new_key(world)
    created = grant(world, key_id)
    token = created["GrantToken"]
    encrypt(world, ALICE, key_id, tokens=[token])
    lookups = world.grants.lookups
    grants.revoke_grant(world.services, ROOT, grants.RevokeGrantRequest(key_id, created["GrantId"]))
    with pytest.raises(InvalidGrantTokenError):
        encrypt(world, ALICE, key_id, tokens=[token])
    with pytest.raises(AccessDeniedError):
        encrypt(world, ALICE, key_id)
    # Each call asked the store again: nothing kept the grant alive.
    assert world.grants.lookups >= lookups + 2


def test_a_grant_never_overrides_an_explicit_deny(world: FakeWorld) -> None:
    deny = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": ROOT_ARN}, "Action": "kms:*", "Resource": "*"},
            {
                "Effect": "Deny",
                "Principal": {"AWS": ALICE_ARN},
                "Action": "kms:Encrypt",
                "Resource": "*",
            },
        ],
    }
    key_id = new_key(world, policy=json.dumps(deny))
    token = grant(world, key_id)["GrantToken"]
    with pytest.raises(AccessDeniedError):
        encrypt(world, ALICE, key_id, tokens=[token])


def test_constraints_decide_by_the_encryption_context(world: FakeWorld) -> None:
    key_id = new_key(world)
    grant(world, key_id, ALICE_ARN, "Encrypt", "Decrypt", constraints=subset(tenant="t-1"))
    blob = encrypt(world, ALICE, key_id, context={"tenant": "t-1", "extra": "x"})["CiphertextBlob"]
    with pytest.raises(AccessDeniedError):
        encrypt(world, ALICE, key_id, context={"tenant": "t-2"})
    with pytest.raises(AccessDeniedError):
        encrypt(world, ALICE, key_id)
    decrypted = encryption.decrypt(
        world.services,
        ALICE,
        encryption.DecryptRequest(blob, encryption_context={"tenant": "t-1", "extra": "x"}),
    )
    assert decrypted["Plaintext"] == b"secret"


def test_re_encrypt_through_grants_on_both_keys(world: FakeWorld) -> None:
    source, destination = new_key(world), new_key(world)
    blob = encrypt(world, ROOT, source)["CiphertextBlob"]
    grant(world, source, ALICE_ARN, "ReEncryptFrom")
    request = encryption.ReEncryptRequest(blob, destination_key_id=destination)
    with pytest.raises(AccessDeniedError):
        encryption.re_encrypt(world.services, ALICE, request)
    grant(world, destination, ALICE_ARN, "ReEncryptTo")
    assert encryption.re_encrypt(world.services, ALICE, request)["KeyId"].endswith(destination)


def test_a_grant_to_a_user_does_not_reach_the_same_name_in_another_account(
    world: FakeWorld,
) -> None:
    key_id = new_key(world)
    grant(world, key_id)
    with pytest.raises((AccessDeniedError, NotFoundError)):
        encrypt(world, caller("alice", account=OTHER_ACCOUNT), key_arn(world, key_id))


# -- creating grants through a grant --


def test_a_grantee_cannot_widen_its_own_grant(world: FakeWorld) -> None:
    key_id = new_key(world)
    grant(world, key_id, ALICE_ARN, "CreateGrant", "Encrypt", constraints=subset(tenant="t-1"))
    # Within: fewer operations, the same constraint.
    narrower = grant(world, key_id, BOB_ARN, "Encrypt", ctx=ALICE, constraints=subset(tenant="t-1"))
    encrypt(world, BOB, key_id, context=CONTEXT, tokens=[narrower["GrantToken"]])
    for operations, constraints in [
        (("Decrypt",), subset(tenant="t-1")),  # an operation it lacks
        (("Encrypt",), None),  # dropping the constraint
        (("Encrypt",), subset(tenant="t-2")),  # another tenant
        (("Encrypt", "CreateGrant", "Decrypt"), subset(tenant="t-1")),
    ]:
        with pytest.raises(AccessDeniedError):
            grant(world, key_id, CAROL_ARN, *operations, ctx=ALICE, constraints=constraints)
    with pytest.raises(AccessDeniedError):  # to itself, wider
        grant(world, key_id, ALICE_ARN, "Decrypt", ctx=ALICE, constraints=subset(tenant="t-1"))


# -- creating: shape, idempotence, quota, dry run --


@pytest.mark.parametrize(
    ("request_members", "field"),
    [
        ({"operations": ["Encrypt", "GenerateMac"]}, "Operations"),
        ({"operations": ["Sign"]}, "Operations"),
        ({"grantee_principal": "arn:aws:iam::111122223333:group/devs"}, "GranteePrincipal"),
        ({"grantee_principal": "not-an-arn"}, "GranteePrincipal"),
        ({"retiring_principal": "logs.amazonaws.com"}, "RetiringPrincipal"),
        ({"grantee_service_principal": "logs.amazonaws.com"}, "GranteeServicePrincipal"),
        ({"grantee_principal": None}, "GranteePrincipal"),
    ],
)
def test_a_grant_that_cannot_be_is_refused_and_nothing_is_stored(
    world: FakeWorld, request_members: dict[str, Any], field: str
) -> None:
    key_id = new_key(world)
    members: dict[str, Any] = {
        "key_id": key_id,
        "grantee_principal": ALICE_ARN,
        "operations": ["Encrypt"],
        **request_members,
    }
    with pytest.raises(ValidationError) as raised:
        grants.create_grant(world.services, ROOT, grants.CreateGrantRequest(**members))
    assert raised.value.field == field
    assert world.grants.grants == {}


def test_a_name_makes_create_grant_idempotent(world: FakeWorld) -> None:
    key_id = new_key(world)
    first = grant(world, key_id, name="app-encrypt")
    again = grant(world, key_id, name="app-encrypt")
    assert again["GrantId"] == first["GrantId"]
    assert again["GrantToken"] != first["GrantToken"]
    encrypt(world, ALICE, key_id, tokens=[first["GrantToken"], again["GrantToken"]])
    different = grant(world, key_id, ALICE_ARN, "Encrypt", name="app-encrypt")
    assert different["GrantId"] != first["GrantId"]
    unnamed = [grant(world, key_id)["GrantId"] for _ in range(2)]
    assert len(set(unnamed)) == 2
    assert len(world.grants.grants) == 4


def test_a_key_holds_at_most_50000_grants(world: FakeWorld) -> None:
    key_id = new_key(world)
    arn = key_arn(world, key_id)
    for index in range(grants.MAX_GRANTS_PER_KEY):
        world.grants.insert(
            key_id,
            policies.Grant(f"{index:064x}", arn, ALICE_ARN, frozenset({"Encrypt"})),
        )
    with pytest.raises(LimitExceededError, match="50000 grants"):
        grant(world, key_id)
    assert world.grants.count_for_key(key_id) == grants.MAX_GRANTS_PER_KEY
    other = new_key(world)
    grant(world, other)


def test_dry_run_creates_retires_and_revokes_nothing(world: FakeWorld) -> None:
    key_id = new_key(world)
    with pytest.raises(DryRunOperationError):
        grant(world, key_id, dry_run=True)
    assert world.grants.grants == {}
    created = grant(world, key_id, retiring_principal=BOB_ARN)
    with pytest.raises(DryRunOperationError):
        grants.revoke_grant(
            world.services, ROOT, grants.RevokeGrantRequest(key_id, created["GrantId"], True)
        )
    with pytest.raises(DryRunOperationError):
        grants.retire_grant(
            world.services,
            BOB,
            grants.RetireGrantRequest(grant_token=created["GrantToken"], dry_run=True),
        )
    assert list(world.grants.grants) == [created["GrantId"]]
    with pytest.raises(AccessDeniedError):  # a dry run is authorized like the call itself
        grant(world, key_id, ctx=ALICE, dry_run=True)


def test_create_grant_needs_an_enabled_key(world: FakeWorld) -> None:
    key_id = new_key(world)
    keys.disable_key(world.services, ROOT, keys.KeyIdRequest(key_id))
    with pytest.raises(DisabledError):
        grant(world, key_id)


# -- separation of duties --


def test_a_key_administrator_is_not_granted_the_use_of_the_key(world: FakeWorld) -> None:
    key_id = new_key(world, administrators=[ADMIN_ARN], users=[ALICE_ARN])
    with pytest.raises(ValidationError, match="BypassSeparationOfDutiesCheck"):
        grant(world, key_id, ADMIN_ARN, "Decrypt")
    with pytest.raises(ValidationError, match="separation of duties"):
        grant(world, key_id, ADMIN_ARN, "CreateGrant")
    assert world.grants.grants == {}
    grant(world, key_id, ADMIN_ARN, "DescribeKey")  # not use
    grant(world, key_id, ADMIN_ARN, "Decrypt", bypass_separation_of_duties_check=True)
    grant(world, key_id, BOB_ARN, "Decrypt")


# -- listing --


def test_list_grants_pages_and_filters_and_never_shows_a_token(world: FakeWorld) -> None:
    key_id = new_key(world)
    made = [grant(world, key_id, BOB_ARN if i % 2 else ALICE_ARN)["GrantId"] for i in range(5)]
    seen: list[str] = []
    marker = None
    while True:
        page = grants.list_grants(
            world.services, ROOT, grants.ListGrantsRequest(key_id, limit=2, marker=marker)
        )
        seen += [entry["GrantId"] for entry in page["Grants"]]
        assert all("GrantToken" not in entry for entry in page["Grants"])
        if not page["Truncated"]:
            break
        marker = page["NextMarker"]
    assert seen == made
    entry = grants.list_grants(
        world.services, ROOT, grants.ListGrantsRequest(key_id, grant_id=made[1])
    )["Grants"]
    assert [e["GrantId"] for e in entry] == [made[1]]
    assert entry[0]["GranteePrincipal"] == BOB_ARN
    assert entry[0]["IssuingAccount"] == ROOT_ARN
    assert entry[0]["Operations"] == ["Decrypt", "Encrypt"]
    bobs = grants.list_grants(
        world.services, ROOT, grants.ListGrantsRequest(key_id, grantee_principal=BOB_ARN)
    )["Grants"]
    assert [e["GrantId"] for e in bobs] == [made[1], made[3]]
    with pytest.raises(InvalidGrantIdError):
        grants.list_grants(world.services, ROOT, grants.ListGrantsRequest(key_id, grant_id="x"))
    with pytest.raises(AccessDeniedError):
        grants.list_grants(world.services, ALICE, grants.ListGrantsRequest(key_id))


def test_list_retirable_grants_spans_keys_in_the_callers_account_only(world: FakeWorld) -> None:
    first, second = new_key(world), new_key(world)
    a = grant(world, first, retiring_principal=BOB_ARN)["GrantId"]
    grant(world, first)
    b = grant(world, second, retiring_principal=BOB_ARN)["GrantId"]
    listed = grants.list_retirable_grants(
        world.services, ROOT, grants.ListRetirableGrantsRequest(BOB_ARN)
    )
    assert [entry["GrantId"] for entry in listed["Grants"]] == [a, b]
    with pytest.raises(AccessDeniedError):
        grants.list_retirable_grants(
            world.services,
            ROOT,
            grants.ListRetirableGrantsRequest(f"arn:aws:iam::{OTHER_ACCOUNT}:user/bob"),
        )
    with pytest.raises(AccessDeniedError):  # needs kms:ListRetirableGrants (IAM)
        grants.list_retirable_grants(
            world.services, BOB, grants.ListRetirableGrantsRequest(BOB_ARN)
        )


# -- retiring and revoking --


def test_the_retiring_principal_retires_by_token(world: FakeWorld) -> None:
    key_id = new_key(world)
    created = grant(world, key_id, retiring_principal=BOB_ARN)
    request = grants.RetireGrantRequest(grant_token=created["GrantToken"])
    with pytest.raises(AccessDeniedError):
        grants.retire_grant(world.services, CAROL, request)
    ctx = caller("bob")
    grants.retire_grant(world.services, ctx, request)
    assert ctx.notes.grant_ids == [created["GrantId"]]
    assert world.grants.grants == {}
    with pytest.raises(InvalidGrantTokenError):
        grants.retire_grant(world.services, ctx, request)


def test_the_grantee_retires_only_a_grant_that_includes_retire_grant(world: FakeWorld) -> None:
    key_id = new_key(world)
    arn = key_arn(world, key_id)
    plain = grant(world, key_id)["GrantId"]
    retirable = grant(world, key_id, ALICE_ARN, "Encrypt", "RetireGrant")["GrantId"]
    with pytest.raises(AccessDeniedError):
        grants.retire_grant(
            world.services, ALICE, grants.RetireGrantRequest(key_id=arn, grant_id=plain)
        )
    grants.retire_grant(
        world.services, ALICE, grants.RetireGrantRequest(key_id=arn, grant_id=retirable)
    )
    assert list(world.grants.grants) == [plain]


def test_the_account_retires_and_delegates_retiring_through_iam(world: FakeWorld) -> None:
    key_id = new_key(world)
    arn = key_arn(world, key_id)
    first = grant(world, key_id)["GrantId"]
    second = grant(world, key_id)["GrantId"]
    grants.retire_grant(world.services, ROOT, grants.RetireGrantRequest(key_id=arn, grant_id=first))
    request = grants.RetireGrantRequest(key_id=arn, grant_id=second)
    with pytest.raises(AccessDeniedError):
        grants.retire_grant(world.services, CAROL, request)
    allow = {"Effect": "Allow", "Action": "kms:RetireGrant", "Resource": "*"}
    world.identity_policies.put(
        ACCOUNT,
        CAROL_ARN,
        "retire",
        json.dumps({"Version": "2012-10-17", "Statement": [allow]}),
        0.0,
    )
    grants.retire_grant(world.services, CAROL, request)
    assert world.grants.grants == {}


def test_an_identity_policy_deny_stops_the_retiring_principal(world: FakeWorld) -> None:
    key_id = new_key(world)
    token = grant(world, key_id, retiring_principal=BOB_ARN)["GrantToken"]
    deny = {"Effect": "Deny", "Action": "kms:RetireGrant", "Resource": "*"}
    world.identity_policies.put(
        ACCOUNT, BOB_ARN, "no", json.dumps({"Version": "2012-10-17", "Statement": [deny]}), 0.0
    )
    with pytest.raises(AccessDeniedError):
        grants.retire_grant(world.services, BOB, grants.RetireGrantRequest(grant_token=token))


@pytest.mark.parametrize(
    ("members", "error"),
    [
        ({}, ValidationError),
        ({"grant_id": "0" * 64}, ValidationError),
        ({"key_id": "KEY", "grant_id": "0" * 64}, InvalidArnError),
        ({"key_id": "ARN", "grant_id": "nope"}, InvalidGrantIdError),
        ({"key_id": "ARN", "grant_id": "0" * 64}, NotFoundError),
        ({"grant_token": "not a token"}, InvalidGrantTokenError),
    ],
)
def test_retire_grant_refuses_what_names_no_grant(
    world: FakeWorld, members: dict[str, str], error: type[Exception]
) -> None:
    key_id = new_key(world)
    substitutes = {"KEY": key_id, "ARN": key_arn(world, key_id)}
    resolved = {name: substitutes.get(value, value) for name, value in members.items()}
    with pytest.raises(error):
        grants.retire_grant(world.services, ROOT, grants.RetireGrantRequest(**resolved))


def test_revoke_needs_kms_revoke_grant_on_the_key(world: FakeWorld) -> None:
    key_id = new_key(world, administrators=[ADMIN_ARN], users=[ALICE_ARN])
    grant_id = grant(world, key_id, BOB_ARN, "Encrypt")["GrantId"]
    request = grants.RevokeGrantRequest(key_id, grant_id)
    with pytest.raises(AccessDeniedError):
        grants.revoke_grant(world.services, BOB, request)  # the grantee cannot
    grants.revoke_grant(world.services, ADMIN, request)  # a key administrator can
    with pytest.raises(NotFoundError):
        grants.revoke_grant(world.services, ADMIN, request)
    with pytest.raises(AccessDeniedError):
        encrypt(world, BOB, key_id)


# -- grants and the key's life --


def test_grants_survive_disabling_and_rotation_and_go_with_the_key(world: FakeWorld) -> None:
    key_id = new_key(world)
    grant_id = grant(world, key_id)["GrantId"]
    keys.disable_key(world.services, ROOT, keys.KeyIdRequest(key_id))
    with pytest.raises(DisabledError):
        encrypt(world, ALICE, key_id)
    keys.enable_key(world.services, ROOT, keys.KeyIdRequest(key_id))
    rotation.rotate_key_on_demand(world.services, ROOT, rotation.KeyRotationRequest(key_id))
    blob = encrypt(world, ALICE, key_id)["CiphertextBlob"]
    assert encryption.decrypt(world.services, ALICE, encryption.DecryptRequest(blob))
    assert world.grants.get(grant_id) is not None
    keys.schedule_key_deletion(
        world.services, ROOT, keys.ScheduleKeyDeletionRequest(key_id, pending_window_in_days=7)
    )
    world.clock.advance(8 * 86400)
    keys.delete_expired_keys(world.services)
    assert world.grants.get(grant_id) is None


def test_simulation_shows_stored_grants_only_to_who_may_list_them(world: FakeWorld) -> None:
    from app.operations import policy_authoring

    reader = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": ROOT_ARN}, "Action": "kms:*", "Resource": "*"},
            {
                "Effect": "Allow",
                "Principal": {"AWS": BOB_ARN},
                "Action": "kms:GetKeyPolicy",
                "Resource": "*",
            },
        ],
    }
    key_id = new_key(world, policy=json.dumps(reader))
    grant_id = grant(world, key_id, ALICE_ARN, "Encrypt")["GrantId"]
    request = policy_authoring.SimulatePolicyRequest(
        principal=ALICE_ARN, actions=["kms:Encrypt"], key_id=key_id
    )
    (seen,) = policy_authoring.simulate_policy(world.services, ROOT, request)["EvaluationResults"]
    assert (seen["Decision"], seen["DecisiveGrants"]) == ("allowed", [grant_id])
    (hidden,) = policy_authoring.simulate_policy(world.services, BOB, request)["EvaluationResults"]
    assert (hidden["Decision"], hidden["DecisiveGrants"]) == ("implicitDeny", [])


def test_key_policies_condition_create_grant_on_the_grant_keys(world: FakeWorld) -> None:
    narrow = {
        "Effect": "Allow",
        "Principal": {"AWS": BOB_ARN},
        "Action": "kms:CreateGrant",
        "Resource": "*",
        "Condition": {
            "ForAllValues:StringEquals": {"kms:GrantOperations": ["Encrypt", "Decrypt"]},
            "StringEquals": {
                "kms:GranteePrincipal": ALICE_ARN,
                "kms:GrantConstraintType": "EncryptionContextSubset",
                "kms:EncryptionContext:tenant": "t-1",
            },
            "Bool": {"kms:GrantIsForAWSResource": "false"},
            "Null": {"kms:RetiringPrincipal": "true"},
        },
    }
    root = {"Effect": "Allow", "Principal": {"AWS": ROOT_ARN}, "Action": "kms:*", "Resource": "*"}
    key_id = new_key(
        world, policy=json.dumps({"Version": "2012-10-17", "Statement": [root, narrow]})
    )
    t1 = subset(tenant="t-1")
    grant(world, key_id, ALICE_ARN, "Encrypt", ctx=BOB, constraints=t1)
    for grantee, operations, constraints, extra in [
        (ALICE_ARN, ("Encrypt", "ReEncryptFrom"), t1, {}),  # an operation outside the list
        (CAROL_ARN, ("Encrypt",), t1, {}),  # another grantee
        (ALICE_ARN, ("Encrypt",), None, {}),  # no constraint
        (ALICE_ARN, ("Encrypt",), subset(tenant="t-2"), {}),  # another tenant
        (ALICE_ARN, ("Encrypt",), t1, {"retiring_principal": CAROL_ARN}),
    ]:
        with pytest.raises(AccessDeniedError):
            grant(world, key_id, grantee, *operations, ctx=BOB, constraints=constraints, **extra)


# -- grants on the other key types --


def test_grants_on_hmac_and_signing_keys_carry_their_own_operations(world: FakeWorld) -> None:
    from app.operations import mac, signing

    hmac_key = new_key(world, key_spec="HMAC_256", key_usage="GENERATE_VERIFY_MAC")
    signing_key = new_key(world, key_spec="ECC_NIST_P256", key_usage="SIGN_VERIFY")
    with pytest.raises(ValidationError, match="HMAC_256"):
        grant(world, hmac_key, ALICE_ARN, "Encrypt")
    with pytest.raises(ValidationError, match="symmetric encryption keys"):
        grant(world, signing_key, ALICE_ARN, "Sign", constraints=subset(tenant="t-1"))
    token = grant(world, hmac_key, ALICE_ARN, "GenerateMac")["GrantToken"]
    made = mac.generate_mac(
        world.services,
        ALICE,
        mac.GenerateMacRequest(hmac_key, b"message", "HMAC_SHA_256", grant_tokens=[token]),
    )
    assert len(made["Mac"]) == 32
    with pytest.raises(AccessDeniedError):  # VerifyMac was not granted
        mac.verify_mac(
            world.services,
            ALICE,
            mac.VerifyMacRequest(hmac_key, b"message", made["Mac"], "HMAC_SHA_256"),
        )
    grant(world, signing_key, ALICE_ARN, "Sign", "GetPublicKey")
    signed = signing.sign(
        world.services, ALICE, signing.SignRequest(signing_key, b"message", "ECDSA_SHA_256")
    )
    assert signed["SigningAlgorithm"] == "ECDSA_SHA_256"
    public = signing.get_public_key(world.services, ALICE, signing.GetPublicKeyRequest(signing_key))
    assert public["KeyUsage"] == "SIGN_VERIFY"
