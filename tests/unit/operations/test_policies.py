"""Key policies (get, put, the checks on a new one) and identity policies, and
what they let a principal do."""

from __future__ import annotations

import json
from typing import Any

import pytest

from app.errors import (
    AccessDeniedError,
    LimitExceededError,
    MalformedPolicyDocumentError,
    NotFoundError,
    ValidationError,
)
from app.operations import encryption, identity, keys, policy_documents
from tests.unit.operations.conftest import ALICE, ROOT, caller
from tests.unit.operations.fakes import ACCOUNT, FakeWorld

ROOT_ARN = f"arn:aws:iam::{ACCOUNT}:root"
ALICE_ARN = f"arn:aws:iam::{ACCOUNT}:user/alice"
ROOT_STATEMENT = {
    "Sid": "Root",
    "Effect": "Allow",
    "Principal": {"AWS": ROOT_ARN},
    "Action": "kms:*",
    "Resource": "*",
}
ALICE_ENCRYPTS = {
    "Sid": "AliceEncrypts",
    "Effect": "Allow",
    "Principal": {"AWS": ALICE_ARN},
    "Action": "kms:Encrypt",
    "Resource": "*",
}


def document(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def new_key(world: FakeWorld) -> str:
    key_id: str = keys.create_key(world.services, ROOT, keys.CreateKeyRequest())["KeyMetadata"][
        "KeyId"
    ]
    return key_id


def get_policy(world: FakeWorld, key_id: str) -> str:
    result = policy_documents.get_key_policy(
        world.services, ROOT, policy_documents.GetKeyPolicyRequest(key_id)
    )
    policy: str = result["Policy"]
    return policy


def put_policy(world: FakeWorld, key_id: str, policy: str, **options: bool) -> None:
    policy_documents.put_key_policy(
        world.services, ROOT, policy_documents.PutKeyPolicyRequest(key_id, policy, **options)
    )


def alice_encrypts(world: FakeWorld, key_id: str) -> None:
    encryption.encrypt(world.services, ALICE, encryption.EncryptRequest(key_id, b"x"))


def test_a_key_policy_that_is_put_is_the_one_read_back_and_enforced(world: FakeWorld) -> None:
    key_id = new_key(world)
    with pytest.raises(AccessDeniedError):
        alice_encrypts(world, key_id)
    policy = document(ROOT_STATEMENT, ALICE_ENCRYPTS)
    put_policy(world, key_id, policy)
    assert get_policy(world, key_id) == policy
    alice_encrypts(world, key_id)
    with pytest.raises(AccessDeniedError):  # the policy allows Encrypt only
        encryption.generate_data_key(
            world.services,
            ALICE,
            encryption.GenerateDataKeyRequest(key_id, number_of_bytes=16),
        )


def test_a_key_has_one_policy_named_default(world: FakeWorld) -> None:
    key_id = new_key(world)
    listed = policy_documents.list_key_policies(
        world.services, ROOT, policy_documents.ListKeyPoliciesRequest(key_id)
    )
    assert listed == {"PolicyNames": ["default"], "Truncated": False}
    with pytest.raises(NotFoundError):
        policy_documents.get_key_policy(
            world.services, ROOT, policy_documents.GetKeyPolicyRequest(key_id, "other")
        )


def test_a_policy_that_locks_the_caller_out_is_refused_unless_bypassed(world: FakeWorld) -> None:
    key_id = new_key(world)
    before = get_policy(world, key_id)
    lockout = document(ALICE_ENCRYPTS)
    with pytest.raises(MalformedPolicyDocumentError, match="will not allow you"):
        put_policy(world, key_id, lockout)
    assert get_policy(world, key_id) == before
    put_policy(world, key_id, lockout, bypass_policy_lockout_safety_check=True)
    # The account root no longer has access of its own; nobody can read the policy now.
    with pytest.raises(AccessDeniedError):
        get_policy(world, key_id)


def test_malformed_and_oversized_policies_are_refused(world: FakeWorld) -> None:
    key_id = new_key(world)
    before = get_policy(world, key_id)
    misspelt = {**ALICE_ENCRYPTS, "Action": "kms:Encrpyt"}
    for bad in ("not json", document(ROOT_STATEMENT, misspelt)):
        with pytest.raises(MalformedPolicyDocumentError):
            put_policy(world, key_id, bad)
    huge = document(ROOT_STATEMENT, {**ALICE_ENCRYPTS, "Sid": "x" * 40_000})
    with pytest.raises(LimitExceededError):
        put_policy(world, key_id, huge)
    assert get_policy(world, key_id) == before


def test_a_new_key_can_start_with_the_administrators_and_users_template(
    world: FakeWorld,
) -> None:
    created = keys.create_key(
        world.services, ROOT, keys.CreateKeyRequest(administrators=[], users=[ALICE_ARN])
    )
    key_id = created["KeyMetadata"]["KeyId"]
    alice_encrypts(world, key_id)
    with pytest.raises(ValidationError):  # the template or a policy, not both
        keys.create_key(
            world.services,
            ROOT,
            keys.CreateKeyRequest(policy=document(ROOT_STATEMENT), users=[ALICE_ARN]),
        )


def principal_policy(name: str, policy: str | None = None) -> identity.PrincipalPolicyRequest:
    return identity.PrincipalPolicyRequest(ALICE_ARN, name, policy)


def test_identity_policies_are_stored_listed_and_grant_through_root_delegation(
    world: FakeWorld,
) -> None:
    key_id = new_key(world)  # its default policy delegates to the account's identity policies
    with pytest.raises(AccessDeniedError):
        alice_encrypts(world, key_id)
    allow = document({"Effect": "Allow", "Action": "kms:Encrypt", "Resource": "*"})
    identity.put_principal_policy(world.services, ROOT, principal_policy("encrypt", allow))
    alice_encrypts(world, key_id)
    got = identity.get_principal_policy(world.services, ROOT, principal_policy("encrypt"))
    assert got["PolicyDocument"] == allow
    listed = identity.list_principal_policies(world.services, ROOT, principal_policy("-"))
    assert listed["PolicyNames"] == ["encrypt"]
    identity.delete_principal_policy(world.services, ROOT, principal_policy("encrypt"))
    with pytest.raises(AccessDeniedError):
        alice_encrypts(world, key_id)
    with pytest.raises(NotFoundError):
        identity.get_principal_policy(world.services, ROOT, principal_policy("encrypt"))


def test_only_the_account_root_manages_identity_policies_by_default(world: FakeWorld) -> None:
    allow_all = document({"Effect": "Allow", "Action": "kms:*", "Resource": "*"})
    with pytest.raises(AccessDeniedError):  # alice cannot grant herself anything
        identity.put_principal_policy(world.services, ALICE, principal_policy("all", allow_all))
    other_account = caller(account="444455556666")
    with pytest.raises(ValidationError):
        identity.put_principal_policy(
            world.services, other_account, principal_policy("all", allow_all)
        )
    assert world.identity_policies.policies == {}
