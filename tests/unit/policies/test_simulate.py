"""The simulator: determinism, wildcard expansion, explanations."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from ipaddress import ip_address
from typing import Any

import pytest

from policies import PolicyError, context_keys, expand_actions, parse_policy, simulate
from tests.unit.policies.support import (
    ACCOUNT,
    ALICE,
    APP,
    CAROL,
    KEY_ARN,
    ROOT,
    policy_text,
    statement,
)

KEY_POLICY = policy_text(
    statement("Allow", ROOT, "kms:*", Sid="Root"),
    statement(
        "Allow",
        APP,
        ["kms:Encrypt", "kms:Decrypt"],
        Sid="Use",
        Condition={"StringEquals": {"kms:EncryptionContext:Dept": "IT"}},
    ),
    statement(
        "Deny", "*", "kms:*", Sid="TLS", Condition={"Bool": {"aws:SecureTransport": "false"}}
    ),
)
IDENTITY = policy_text(statement(action=["kms:Decrypt", "kms:ListKeys"]))


def run(**overrides: object) -> dict[str, Any]:
    arguments: dict[str, object] = {
        "key_policy": KEY_POLICY,
        "identity_policies": {"alice-policy": IDENTITY},
        "principal": ALICE,
        "actions": ["kms:Decrypt"],
        "resource": KEY_ARN,
        "context": {"aws:SecureTransport": True},
    }
    arguments.update(overrides)
    return simulate(**arguments)  # type: ignore[arg-type]


def results(output: dict[str, Any]) -> list[dict[str, Any]]:
    value: list[dict[str, Any]] = output["EvaluationResults"]
    return value


def test_output_is_deterministic_and_json_serialisable() -> None:
    context = {
        "aws:SecureTransport": True,
        "aws:CurrentTime": datetime(2026, 1, 1, tzinfo=UTC),
        "aws:SourceIp": ip_address("10.0.0.1"),
        "aws:TagKeys": ["b", "a"],
        "kms:EncryptionContext:Dept": "IT",
        "aws:SourceBlob": b"\x00\x01",
    }
    reordered = dict(reversed(list(context.items())))
    first = json.dumps(run(actions=["kms:*"], context=context), sort_keys=True)
    second = json.dumps(run(actions=["kms:*"], context=reordered), sort_keys=True)
    assert first == second
    assert first == json.dumps(run(actions=["kms:*"], context=context), sort_keys=True)


def test_wildcards_expand_against_the_catalogue_in_order() -> None:
    assert expand_actions(["kms:GenerateDataKey*", "kms:GenerateDataKey"]) == [
        "kms:GenerateDataKey",
        "kms:GenerateDataKeyPair",
        "kms:GenerateDataKeyPairWithoutPlaintext",
        "kms:GenerateDataKeyWithoutPlaintext",
    ]
    assert "trent:ReadAuditLog" in expand_actions(["*"])
    assert "kms:ReEncryptTo" in expand_actions(["kms:ReEncrypt*"])
    with pytest.raises(ValueError):
        expand_actions(["kms:Nothing*"])


def test_delegated_decision_is_explained() -> None:
    (result,) = results(run())
    assert result["Decision"] == "allowed"
    assert result["Basis"] == "delegatedToIdentityPolicy"
    decisive = result["DecisiveStatements"]
    assert [(s["Source"], s["Sid"], s["Index"]) for s in decisive] == [
        ("key-policy", "Root", 0),
        ("alice-policy", None, 0),
    ]
    assert decisive[0]["StartPosition"] == {"Line": 4, "Column": 5}
    assert result["PolicyDecisions"] == [
        {
            "Source": "key-policy",
            "Kind": "key",
            "Decision": "implicitDeny",
            "DelegatesToIdentityPolicies": True,
        },
        {
            "Source": "alice-policy",
            "Kind": "identity",
            "Decision": "allowed",
            "DelegatesToIdentityPolicies": False,
        },
    ]


def test_explicit_deny_lists_only_deny_statements_as_decisive() -> None:
    (result,) = results(run(context={"aws:SecureTransport": False}))
    assert result["Decision"] == "explicitDeny"
    assert [s["Sid"] for s in result["DecisiveStatements"]] == ["TLS"]
    assert {s["Sid"] for s in result["MatchedStatements"]} == {"Root", "TLS", None}


def test_condition_explanation_and_missing_values() -> None:
    (result,) = results(run(principal=APP, identity_policies={}, context={}))
    assert result["Decision"] == "implicitDeny"
    assert result["MissingContextValues"] == ["aws:SecureTransport", "kms:EncryptionContext:Dept"]
    use = next(s for s in result["EvaluatedStatements"] if s["Sid"] == "Use")
    assert use["Applies"] is False
    assert use["Conditions"] == [
        {
            "Operator": "StringEquals",
            "Key": "kms:EncryptionContext:Dept",
            "RequestValues": [],
            "PolicyValues": ["IT"],
            "Result": False,
            "Indeterminate": False,
            "Reason": None,
            "MatchedBecauseMissing": False,
            "FailedBecauseMissing": True,
        }
    ]
    tls = next(s for s in result["EvaluatedStatements"] if s["Sid"] == "TLS")
    assert tls["Conditions"][0]["FailedBecauseMissing"] is True


def test_account_actions_use_identity_policies_only() -> None:
    output = run(actions=["kms:ListKeys", "kms:CreateKey"])
    decisions = [(r["Action"], r["Resource"], r["Decision"]) for r in results(output)]
    assert decisions == [("kms:ListKeys", "*", "allowed"), ("kms:CreateKey", "*", "implicitDeny")]


def test_root_is_allowed_account_actions() -> None:
    (result,) = results(run(principal=ROOT, actions=["trent:ReadAuditLog"], identity_policies={}))
    assert (result["Decision"], result["Basis"]) == ("allowed", "accountRoot")


def test_cross_account_caller() -> None:
    (result,) = results(run(principal=CAROL))
    assert result["Decision"] == "implicitDeny"
    assert run(principal=CAROL)["PrincipalAccount"] == "444455556666"


def test_without_a_key_policy_identity_policies_decide() -> None:
    (result,) = results(run(key_policy=None))
    assert (result["Decision"], result["Basis"]) == ("allowed", "identityPolicy")


def test_key_actions_need_a_resource() -> None:
    with pytest.raises(ValueError):
        run(resource=None)


def test_invalid_policies_raise_policy_error() -> None:
    with pytest.raises(PolicyError):
        run(key_policy='{"Statement": []}')


def test_identity_policies_as_a_list_are_named_by_position() -> None:
    (result,) = results(run(identity_policies=[IDENTITY]))
    assert result["DecisiveStatements"][1]["Source"] == "identity-policy-0"


def test_context_keys_discovery() -> None:
    policy = parse_policy(KEY_POLICY)
    assert context_keys([policy]) == ["aws:SecureTransport", "kms:EncryptionContext:Dept"]


def test_a_grant_given_as_data_explains_the_decision_it_made() -> None:
    bob = f"arn:aws:iam::{ACCOUNT}:user/bob"
    grant = {"GrantId": "g-1", "GranteePrincipal": bob, "Operations": ["Decrypt"]}
    (result,) = results(run(principal=bob, identity_policies={}, grants=[grant]))
    assert (result["Decision"], result["Basis"]) == ("allowed", "grant")
    assert result["DecisiveGrants"] == ["g-1"]


def test_a_grant_for_another_principal_or_operation_allows_nothing() -> None:
    bob = f"arn:aws:iam::{ACCOUNT}:user/bob"
    others = [
        {"GranteePrincipal": f"arn:aws:iam::{ACCOUNT}:user/carol", "Operations": ["Decrypt"]},
        {"GranteePrincipal": bob, "Operations": ["Encrypt"]},
    ]
    (result,) = results(run(principal=bob, identity_policies={}, grants=others))
    assert (result["Decision"], result["DecisiveGrants"]) == ("implicitDeny", [])
