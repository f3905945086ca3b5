"""Grants as data: who they name, what they cover, and how they combine with policies."""

from __future__ import annotations

import pytest

from policies import Basis, Decision, Request, decide_key_access
from policies.grants import (
    Grant,
    GrantConstraints,
    GrantDocumentError,
    grant_from_json,
    grant_json,
    grant_operation,
)
from tests.unit.policies.support import (
    ACCOUNT,
    ALICE,
    APP,
    BOB,
    KEY_ARN,
    ROOT,
    identity_policy,
    key_policy,
    statement,
)

NOTHING = key_policy(statement("Allow", BOB, "kms:DescribeKey"))
SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/App/worker-1"
OTHER_KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/00000000-0000-0000-0000-000000000000"


def grant(
    grantee: str = ALICE,
    *operations: str,
    constraints: GrantConstraints | None = None,
    grant_id: str = "g-1",
    key_arn: str = KEY_ARN,
) -> Grant:
    return Grant(
        grant_id=grant_id,
        key_arn=key_arn,
        grantee_principal=grantee,
        operations=frozenset(operations or ("Decrypt",)),
        constraints=constraints,
    )


def request(
    principal: str = ALICE, action: str = "kms:Decrypt", context: dict[str, str] | None = None
) -> Request:
    conditions = {f"kms:EncryptionContext:{k}": v for k, v in (context or {}).items()}
    return Request(principal=principal, action=action, resource=KEY_ARN, context=conditions)


def decide(req: Request, *grants: Grant, policy: object = NOTHING, **kw: object):  # type: ignore[no-untyped-def]
    return decide_key_access(policy, kw.pop("identity", []), req, ACCOUNT, grants=grants, **kw)  # type: ignore[arg-type]


def test_a_grant_allows_its_operation_to_its_grantee_and_names_itself() -> None:
    evaluation = decide(request(), grant())
    assert (evaluation.decision, evaluation.basis) == (Decision.ALLOWED, Basis.GRANT)
    assert evaluation.decisive_grants == ("g-1",)


@pytest.mark.parametrize(
    ("req", "why"),
    [
        (request(principal=BOB), "another principal"),
        (request(action="kms:Encrypt"), "an operation the grant does not carry"),
        (request(action="kms:ScheduleKeyDeletion"), "an operation no grant can carry"),
        (Request(principal=ALICE, action="kms:Decrypt", resource=OTHER_KEY), "another key"),
    ],
)
def test_a_grant_allows_nothing_else(req: Request, why: str) -> None:
    evaluation = decide(req, grant())
    assert evaluation.decision is Decision.IMPLICIT_DENY, why
    assert evaluation.decisive_grants == ()


def test_a_grant_never_lifts_an_explicit_deny() -> None:
    denying = key_policy(statement("Deny", ALICE, "kms:Decrypt"))
    evaluation = decide(request(), grant(), policy=denying)
    assert evaluation.decision is Decision.EXPLICIT_DENY
    identity_deny = identity_policy(statement("Deny", None, "kms:*", Resource="*"))
    evaluation = decide(request(), grant(), identity=[identity_deny])
    assert evaluation.decision is Decision.EXPLICIT_DENY


def test_a_grant_to_a_role_covers_its_sessions() -> None:
    assert decide(request(principal=SESSION), grant(APP)).allowed


def test_a_grant_to_the_account_needs_an_identity_allow_for_anyone_but_the_root() -> None:
    to_account = grant(ROOT)
    assert decide(request(principal=ROOT), to_account).allowed
    assert not decide(request(), to_account).allowed
    allow = identity_policy(statement("Allow", None, "kms:Decrypt", Resource="*"))
    assert decide(request(), to_account, identity=[allow]).allowed


def test_grants_are_read_only_when_the_policies_do_not_decide() -> None:
    reads: list[int] = []

    def source() -> list[Grant]:
        reads.append(1)
        return [grant()]

    allowing = key_policy(statement("Allow", ALICE, "kms:Decrypt"))
    assert decide_key_access(allowing, [], request(), ACCOUNT, grants=source).allowed
    denying = key_policy(statement("Deny", ALICE, "kms:Decrypt"))
    assert not decide_key_access(denying, [], request(), ACCOUNT, grants=source).allowed
    assert reads == []
    assert decide_key_access(NOTHING, [], request(), ACCOUNT, grants=source).allowed
    assert reads == [1]


SUBSET = GrantConstraints("EncryptionContextSubset", {"Dept": "IT"})
EQUALS = GrantConstraints("EncryptionContextEquals", {"Dept": "IT", "App": "pay"})


@pytest.mark.parametrize(
    ("constraints", "context", "allowed"),
    [
        (SUBSET, {"Dept": "IT"}, True),
        (SUBSET, {"Dept": "IT", "Extra": "x"}, True),
        (SUBSET, {"dept": "IT"}, True),  # keys compare without case
        (SUBSET, {"Dept": "it"}, False),  # values exactly
        (SUBSET, {}, False),
        (SUBSET, {"Other": "IT"}, False),
        (EQUALS, {"App": "pay", "Dept": "IT"}, True),
        (EQUALS, {"Dept": "IT"}, False),
        (EQUALS, {"App": "pay", "Dept": "IT", "Extra": "x"}, False),
    ],
)
def test_constraints_test_the_encryption_context(
    constraints: GrantConstraints, context: dict[str, str], allowed: bool
) -> None:
    evaluation = decide(request(context=context), grant(constraints=constraints))
    assert evaluation.allowed is allowed


def test_constraints_are_not_applied_to_describe_key_and_retire_grant() -> None:
    constrained = grant(ALICE, "DescribeKey", "RetireGrant", constraints=SUBSET)
    assert decide(request(action="kms:DescribeKey"), constrained).allowed
    assert decide(request(action="kms:RetireGrant"), constrained).allowed


def test_constraint_keys_that_differ_only_by_case_are_refused() -> None:
    with pytest.raises(ValueError, match="case"):
        GrantConstraints("EncryptionContextSubset", {"a": "1", "A": "2"})


PARENT = grant(ALICE, "CreateGrant", "Decrypt", "Encrypt", constraints=SUBSET)


@pytest.mark.parametrize(
    ("child", "allowed"),
    [
        (grant(BOB, "Decrypt", constraints=SUBSET), True),
        (grant(BOB, "Decrypt", "Encrypt", constraints=SUBSET), True),
        (
            grant(
                BOB,
                "Decrypt",
                constraints=GrantConstraints("EncryptionContextEquals", {"Dept": "IT"}),
            ),
            True,
        ),
        (
            grant(
                BOB,
                "Decrypt",
                constraints=GrantConstraints("EncryptionContextSubset", {"Dept": "IT", "App": "x"}),
            ),
            True,
        ),
        (grant(BOB, "Decrypt"), False),  # drops the constraint
        (grant(BOB, "Decrypt", "ReEncryptFrom", constraints=SUBSET), False),  # adds an operation
        (
            grant(
                BOB,
                "Decrypt",
                constraints=GrantConstraints("EncryptionContextSubset", {"Dept": "HR"}),
            ),
            False,
        ),
        (
            grant(
                BOB,
                "Decrypt",
                constraints=GrantConstraints("EncryptionContextSubset", {"App": "x"}),
            ),
            False,
        ),
    ],
)
def test_a_grant_with_create_grant_hands_out_nothing_wider_than_itself(
    child: Grant, allowed: bool
) -> None:
    evaluation = decide(request(action="kms:CreateGrant"), PARENT, new_grant=child)
    assert evaluation.allowed is allowed


def test_equals_can_only_be_handed_on_as_the_same_equals() -> None:
    parent = grant(ALICE, "CreateGrant", "Decrypt", constraints=EQUALS)
    same = grant(
        BOB,
        "Decrypt",
        constraints=GrantConstraints("EncryptionContextEquals", {"dept": "IT", "App": "pay"}),
    )
    looser = grant(
        BOB,
        "Decrypt",
        constraints=GrantConstraints("EncryptionContextSubset", {"Dept": "IT", "App": "pay"}),
    )
    assert decide(request(action="kms:CreateGrant"), parent, new_grant=same).allowed
    assert not decide(request(action="kms:CreateGrant"), parent, new_grant=looser).allowed


def test_create_grant_through_a_grant_needs_the_grant_being_created() -> None:
    assert not decide(request(action="kms:CreateGrant"), PARENT).allowed


def test_grants_round_trip_through_aws_json() -> None:
    original = Grant(
        grant_id="g-9",
        key_arn=KEY_ARN,
        grantee_principal=ALICE,
        operations=frozenset({"Encrypt", "Decrypt"}),
        constraints=SUBSET,
        retiring_principal=BOB,
        name="n",
    )
    entry = grant_json(original)
    assert entry["Operations"] == ["Decrypt", "Encrypt"]
    assert grant_from_json(entry, KEY_ARN) == original


@pytest.mark.parametrize(
    "document",
    [
        "not an object",
        {"Operations": ["Decrypt"]},
        {"GranteePrincipal": ALICE, "Operations": []},
        {"GranteePrincipal": ALICE, "Operations": ["Decrypt", "PutKeyPolicy"]},
        {"GranteePrincipal": ALICE, "Operations": ["Decrypt"], "Constraints": {"Bogus": {}}},
        {
            "GranteePrincipal": ALICE,
            "Operations": ["Decrypt"],
            "Constraints": {"EncryptionContextSubset": {"a": "1"}, "EncryptionContextEquals": {}},
        },
        {"GranteePrincipal": ALICE, "Operations": ["Decrypt"], "Tokens": []},
    ],
)
def test_invalid_grant_documents_are_refused_with_a_reason(document: object) -> None:
    with pytest.raises(GrantDocumentError):
        grant_from_json(document, KEY_ARN)


def test_grant_operation_names_the_operation_an_action_is() -> None:
    assert grant_operation("kms:ReEncryptFrom") == "ReEncryptFrom"
    assert grant_operation("KMS:decrypt") == "Decrypt"
    assert grant_operation("kms:PutKeyPolicy") is None
    assert grant_operation("trent:ReadAuditLog") is None
