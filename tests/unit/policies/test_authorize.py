"""Requests, the KMS combination and the evaluation record."""

from __future__ import annotations

from datetime import datetime

import pytest

from policies import (
    Basis,
    ContextError,
    Decision,
    PrincipalMatch,
    Request,
    decide_account_action,
    decide_key_access,
    evaluate_policy,
)
from policies.conditions import MULTIPLE_VALUES, UNCOMPARABLE, UNRESOLVED
from tests.unit.policies.support import (
    ACCOUNT,
    ALICE,
    APP,
    BOB,
    CAROL,
    KEY_ARN,
    ROOT,
    identity_policy,
    key_policy,
    statement,
)

DEFAULT = key_policy(statement("Allow", ROOT, "kms:*", Sid="Root"))
ROOT_ALL = statement("Allow", ROOT, "kms:*")


def request(principal: str = ALICE, action: str = "kms:Decrypt", **extra: object) -> Request:
    return Request(principal=principal, action=action, resource=KEY_ARN, **extra)  # type: ignore[arg-type]


# --- Request -------------------------------------------------------------------------------


def test_identity_keys_are_derived_from_the_caller() -> None:
    session = Request(
        principal=f"arn:aws:sts::{ACCOUNT}:assumed-role/App/s1",
        action="kms:Decrypt",
        principal_tags={"Team": "blue"},
    )
    values = {key: entry.values[0] for key, entry in session.entries.items()}
    assert values == {
        "aws:principalarn": APP,
        "aws:principaltype": "AssumedRole",
        "aws:principalaccount": ACCOUNT,
        "kms:calleraccount": ACCOUNT,
        "aws:principaltag/team": "blue",
    }
    assert request().entries["aws:username"].values == ("alice",)
    assert "aws:username" not in request(ROOT).entries


@pytest.mark.parametrize(
    ("principal", "action", "extra"),
    [
        ("*", "kms:Decrypt", {}),
        ("alice", "kms:Decrypt", {}),
        (ALICE, "Decrypt", {}),
        (ALICE, "kms:*", {}),
        (ALICE, "kms:Decrypt", {"principal_account": "444455556666"}),
        (
            ALICE,
            "kms:Decrypt",
            {"context": {"kms:EncryptionContext:A": "x", "kms:encryptioncontext:a": "y"}},
        ),
        (ALICE, "kms:Decrypt", {"context": {"aws:CurrentTime": datetime(2026, 1, 1)}}),
        (ALICE, "kms:Decrypt", {"context": {"aws:Thing": None}}),
        (ALICE, "kms:Decrypt", {"context": {"aws:Thing": {"a": 1}}}),
        (ALICE, "kms:Decrypt", {"context": {"aws:PrincipalArn": BOB}}),
        (ALICE, "kms:Decrypt", {"context": {"": "x"}}),
        (ALICE, "kms:Decrypt", {"principal_tags": {"Team": "a", "team": "b"}}),
    ],
)
def test_invalid_requests_are_refused(
    principal: str, action: str, extra: dict[str, object]
) -> None:
    with pytest.raises(ContextError):
        Request(principal=principal, action=action, **extra)  # type: ignore[arg-type]


def test_context_may_repeat_a_derived_key_with_the_same_value() -> None:
    assert request(context={"aws:PrincipalArn": ALICE}).entries["aws:principalarn"].values == (
        ALICE,
    )


def test_service_principal_with_explicit_account() -> None:
    service = Request(
        principal="logs.us-east-1.amazonaws.com", action="kms:Decrypt", principal_account=ACCOUNT
    )
    assert service.account == ACCOUNT


# --- Combination ------------------------------------------------------------------------------


def test_evaluation_has_no_truth_value() -> None:
    evaluation = decide_key_access(DEFAULT, [], request(), ACCOUNT)
    with pytest.raises(TypeError):
        bool(evaluation)
    assert evaluation.allowed is False


def test_policy_kinds_are_checked() -> None:
    identity = identity_policy(statement())
    with pytest.raises(ValueError):
        decide_key_access(identity, [], request(), ACCOUNT)
    with pytest.raises(ValueError):
        decide_key_access(DEFAULT, [DEFAULT], request(), ACCOUNT)
    with pytest.raises(ValueError):
        decide_account_action([DEFAULT], request(action="kms:ListKeys"), is_root=False)


def test_is_root_must_match_the_caller() -> None:
    with pytest.raises(ValueError):
        decide_account_action([], Request(principal=ALICE, action="kms:ListKeys"), is_root=True)


@pytest.mark.parametrize(
    ("key_statements", "identity_statements", "principal", "basis"),
    [
        ([statement("Allow", ALICE)], [], ALICE, Basis.KEY_POLICY),
        ([ROOT_ALL], [statement()], ALICE, Basis.DELEGATED_TO_IDENTITY_POLICY),
        ([ROOT_ALL], [], ALICE, Basis.DELEGATED_WITHOUT_IDENTITY_ALLOW),
        ([statement("Allow", BOB)], [statement()], ALICE, Basis.KEY_POLICY_DOES_NOT_DELEGATE),
        ([statement("Allow", BOB)], [], ALICE, Basis.NO_ALLOW),
        ([statement("Allow", CAROL)], [], CAROL, Basis.CROSS_ACCOUNT_WITHOUT_IDENTITY_ALLOW),
        ([statement("Allow", CAROL)], [statement()], CAROL, Basis.KEY_POLICY_AND_IDENTITY_POLICY),
        ([statement("Allow", ALICE)], [statement("Deny")], ALICE, Basis.EXPLICIT_DENY),
    ],
)
def test_basis(
    key_statements: list[dict[str, object]],
    identity_statements: list[dict[str, object]],
    principal: str,
    basis: Basis,
) -> None:
    identity = [identity_policy(body) for body in identity_statements]
    evaluation = decide_key_access(
        key_policy(*key_statements), identity, request(principal), ACCOUNT
    )
    assert evaluation.basis is basis


def test_decisive_and_matched_statements() -> None:
    policy = key_policy(
        statement("Allow", ROOT, "kms:*", Sid="Root"),
        statement("Allow", ALICE, "kms:Decrypt", Sid="Alice"),
        statement("Allow", BOB, "kms:Decrypt", Sid="Bob"),
    )
    identity = identity_policy(statement(Sid="Mine"))
    evaluation = decide_key_access(policy, [identity], request(), ACCOUNT)
    assert [ref.sid for ref in evaluation.decisive_statements] == ["Alice"]
    assert [ref.sid for ref in evaluation.matched_statements] == ["Root", "Alice", "Mine"]
    matches = [item.principal_match for item in evaluation.statements]
    assert matches == [PrincipalMatch.ACCOUNT, PrincipalMatch.DIRECT, None]


def test_missing_context_values_are_sorted_and_unique() -> None:
    policy = key_policy(
        statement(
            "Allow",
            ALICE,
            Condition={
                "StringEquals": {
                    "kms:EncryptionContext:B": "x",
                    "kms:EncryptionContext:a": "${aws:PrincipalTag/t}",
                }
            },
        ),
        statement("Deny", ALICE, "kms:Encrypt", Condition={"Bool": {"test:Z": "true"}}),
        statement("Allow", ALICE, Condition={"StringEquals": {"KMS:encryptioncontext:b": "y"}}),
    )
    evaluation = decide_key_access(policy, [], request(), ACCOUNT)
    assert evaluation.missing_context_values == (
        "aws:PrincipalTag/t",
        "kms:EncryptionContext:a",
        "kms:EncryptionContext:B",
    )


def test_indeterminate_conditions_say_why() -> None:
    def reason(
        condition: dict[str, object], context: dict[str, object], principal: str = ALICE
    ) -> str | None:
        policy = key_policy(statement("Allow", principal, Condition=condition))
        (evaluated,) = evaluate_policy(policy, request(principal, context=context)).evaluated
        (result,) = evaluated.conditions
        assert result.indeterminate and not result.result
        return result.reason

    assert (
        reason({"StringEquals": {"aws:TagKeys": "a"}}, {"aws:TagKeys": ["a", "b"]})
        == MULTIPLE_VALUES
    )
    assert reason({"NumericLessThan": {"test:N": "1"}}, {"test:N": "x"}) == UNCOMPARABLE
    assert (
        reason({"StringNotEquals": {"test:X": "${aws:username}"}}, {"test:X": "y"}, APP)
        == UNRESOLVED
    )


def test_account_action_decisions() -> None:
    allow = identity_policy(statement(action="kms:CreateKey"))
    deny = identity_policy(statement("Deny", action="kms:CreateKey"))
    create = Request(principal=ALICE, action="kms:CreateKey")
    assert decide_account_action([allow], create, is_root=False).decision is Decision.ALLOWED
    assert (
        decide_account_action([allow, deny], create, is_root=False).decision
        is Decision.EXPLICIT_DENY
    )
    root = Request(principal=ROOT, action="kms:CreateKey")
    assert decide_account_action([], root, is_root=True).basis is Basis.ACCOUNT_ROOT
