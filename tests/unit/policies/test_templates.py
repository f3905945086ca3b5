"""Templates: AWS's default policy exactly, the administrators/users policy, round trips."""

from __future__ import annotations

import json

import pytest

from policies import (
    Decision,
    PolicyKind,
    Request,
    TemplatePrincipalError,
    administrators_users_policy,
    decide_key_access,
    default_key_policy,
    has_errors,
    lint_policy,
    parse_policy,
    separation_of_duties_violations,
)
from tests.unit.policies.support import (
    ACCOUNT,
    ALICE,
    APP,
    BOB,
    KEY_ADMIN,
    KEY_ARN,
    ROOT,
    VECTORS,
)

AWS_DEFAULT = """{
  "Version" : "2012-10-17",
  "Id" : "key-default-1",
  "Statement" : [ {
    "Sid" : "Enable IAM User Permissions",
    "Effect" : "Allow",
    "Principal" : {
      "AWS" : "arn:aws:iam::111122223333:root"
    },
    "Action" : "kms:*",
    "Resource" : "*"
  } ]
}
"""


def test_default_key_policy_is_aws_default_byte_for_byte() -> None:
    assert default_key_policy("aws", ACCOUNT) == AWS_DEFAULT


def test_default_key_policy_round_trips() -> None:
    policy = parse_policy(default_key_policy("aws-cn", ACCOUNT))
    (only,) = policy.statements
    assert (policy.id, only.sid) == ("key-default-1", "Enable IAM User Permissions")
    assert only.principal is not None
    assert only.principal.arns == {f"arn:aws-cn:iam::{ACCOUNT}:root"}
    assert lint_policy(policy) == []


def _administrators_users() -> str:
    return administrators_users_policy("aws", ACCOUNT, [KEY_ADMIN], [APP, ALICE])


def test_administrators_users_policy_shape() -> None:
    document = json.loads(_administrators_users())
    sids = [statement["Sid"] for statement in document["Statement"]]
    assert sids == [
        "Enable IAM User Permissions",
        "Allow access for Key Administrators",
        "Allow use of the key",
    ]
    admin_actions = document["Statement"][1]["Action"]
    assert not any(
        action.startswith("kms:Create") and action != "kms:CreateAlias" for action in admin_actions
    )
    assert "kms:CreateGrant" not in admin_actions and "kms:Create*" not in admin_actions
    assert document["Statement"][1]["Principal"] == {"AWS": [KEY_ADMIN]}
    assert document["Statement"][2]["Principal"] == {"AWS": [APP, ALICE]}


def test_administrators_users_policy_passes_separation_of_duties_and_lint() -> None:
    policy = parse_policy(_administrators_users())
    assert separation_of_duties_violations(policy) == []
    assert not has_errors(lint_policy(policy))


@pytest.mark.parametrize(
    ("administrators", "users", "sids"),
    [
        ([], [APP], ["Enable IAM User Permissions", "Allow use of the key"]),
        ([KEY_ADMIN], [], ["Enable IAM User Permissions", "Allow access for Key Administrators"]),
        ([], [], ["Enable IAM User Permissions"]),
    ],
)
def test_statements_without_principals_are_left_out(
    administrators: list[str], users: list[str], sids: list[str]
) -> None:
    policy = parse_policy(administrators_users_policy("aws", ACCOUNT, administrators, users))
    assert [statement.sid for statement in policy.statements] == sids


def test_account_ids_are_canonicalised_and_duplicates_dropped() -> None:
    text = administrators_users_policy("aws", ACCOUNT, [KEY_ADMIN, KEY_ADMIN], ["444455556666"])
    document = json.loads(text)
    assert document["Statement"][1]["Principal"]["AWS"] == [KEY_ADMIN]
    assert document["Statement"][2]["Principal"]["AWS"] == ["arn:aws:iam::444455556666:root"]


@pytest.mark.parametrize(
    ("partition", "account", "administrators", "users"),
    [
        ("aws", ACCOUNT, [APP], [APP]),
        ("aws", "12345", [], []),
        ("AWS", ACCOUNT, [], []),
        ("aws", ACCOUNT, ["*"], []),
        ("aws", ACCOUNT, [f"arn:aws:iam::{ACCOUNT}:role/*"], []),
        ("aws", ACCOUNT, [], ["bob"]),
    ],
)
def test_invalid_template_inputs_are_refused(
    partition: str, account: str, administrators: list[str], users: list[str]
) -> None:
    with pytest.raises(ValueError):
        administrators_users_policy(partition, account, administrators, users)


@pytest.mark.parametrize(
    ("administrators", "users", "role", "principal"),
    [
        (
            ["arn:awshlp:iam::602527102821:root"],
            [],
            "administrators",
            "arn:awshlp:iam::602527102821:root",
        ),
        ([], ["arn:aws-cn:iam::602527102821:root"], "users", "arn:aws-cn:iam::602527102821:root"),
        (
            [],
            [f"arn:aws:iam::{ACCOUNT}:user/caf\u00e9"],
            "users",
            f"arn:aws:iam::{ACCOUNT}:user/caf\u00e9",
        ),
        (["*"], [], "administrators", "*"),
        ([APP], [APP], "administrators and users", APP),
        ([ACCOUNT], [ROOT], "administrators and users", ROOT),
    ],
)
def test_an_unusable_principal_is_a_typed_error_naming_it(
    administrators: list[str], users: list[str], role: str, principal: str
) -> None:
    with pytest.raises(TemplatePrincipalError) as caught:
        administrators_users_policy("aws", ACCOUNT, administrators, users)
    assert caught.value.role == role
    assert caught.value.principal == principal
    assert principal in str(caught.value)


def test_principal_lists_must_not_be_strings() -> None:
    with pytest.raises(TypeError):
        administrators_users_policy("aws", ACCOUNT, KEY_ADMIN, [])


@pytest.mark.parametrize(
    ("principal", "action", "expected"),
    [
        (KEY_ADMIN, "kms:PutKeyPolicy", Decision.ALLOWED),
        (KEY_ADMIN, "kms:Decrypt", Decision.IMPLICIT_DENY),
        (KEY_ADMIN, "kms:CreateGrant", Decision.IMPLICIT_DENY),
        (APP, "kms:Decrypt", Decision.ALLOWED),
        (APP, "kms:DisableKey", Decision.IMPLICIT_DENY),
        (BOB, "kms:Decrypt", Decision.IMPLICIT_DENY),
        (ROOT, "kms:PutKeyPolicy", Decision.ALLOWED),
    ],
)
def test_administrators_users_policy_decisions(
    principal: str, action: str, expected: Decision
) -> None:
    policy = parse_policy(_administrators_users())
    request = Request(principal=principal, action=action, resource=KEY_ARN)
    assert decide_key_access(policy, [], request, ACCOUNT).decision is expected


def test_vector_policy_files_are_the_current_template_output() -> None:
    folder = VECTORS / "policy_tests" / "policies"
    assert (folder / "default-key-policy.json").read_text() == default_key_policy("aws", ACCOUNT)
    assert (folder / "administrators-users-policy.json").read_text() == (
        administrators_users_policy("aws", ACCOUNT, [KEY_ADMIN], [APP, ALICE])
    )


def test_identity_policy_files_of_the_vectors_are_valid() -> None:
    folder = VECTORS / "policy_tests" / "policies"
    for path in sorted(folder.glob("*-identity-policy.json")):
        assert parse_policy(path.read_text(), PolicyKind.IDENTITY).statements
