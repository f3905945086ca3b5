"""Simulation warnings (unknown actions, context keys without a namespace) and the summary."""

from __future__ import annotations

from typing import Any

from policies import simulate
from policies.simulation_report import summary_lines, warnings
from tests.unit.policies.support import ALICE, APP, KEY_ARN, ROOT, policy_text, statement

KEY_POLICY = policy_text(
    statement("Allow", ROOT, "kms:*", Sid="Root"),
    statement(
        "Allow",
        APP,
        ["kms:Encrypt", "kms:Decrypt"],
        Sid="Use",
        Condition={"StringEquals": {"kms:EncryptionContext:tenant": "t-1"}},
    ),
    statement("Deny", ALICE, "kms:Decrypt", Sid="NoAlice"),
)


def run(actions: list[str], context: dict[str, Any], principal: str = APP) -> dict[str, Any]:
    return simulate(KEY_POLICY, {}, principal, actions, KEY_ARN, context)


def test_a_misspelt_action_is_an_implicit_deny_with_a_warning() -> None:
    output = run(["kms:Decryptt"], {"kms:EncryptionContext:tenant": "t-1"})
    assert output["EvaluationResults"][0]["Decision"] == "implicitDeny"
    (warning,) = output["Warnings"]
    assert "kms:Decryptt is not a known action" in warning
    assert "did you mean kms:Decrypt?" in warning


def test_a_context_key_without_a_namespace_is_warned_about() -> None:
    output = run(["kms:Encrypt"], {"tenant": "t-1"})
    (result,) = output["EvaluationResults"]
    assert result["Decision"] == "implicitDeny"
    assert result["MissingContextValues"] == ["kms:EncryptionContext:tenant"]
    (warning,) = output["Warnings"]
    assert "'tenant' has no namespace" in warning
    assert "kms:EncryptionContext:tenant" in warning


def test_a_clean_request_has_no_warnings() -> None:
    output = run(
        ["kms:Encrypt", "kms:encrypt", "kms:Generate*"], {"kms:EncryptionContext:tenant": "t-1"}
    )
    assert output["Warnings"] == []
    assert output["EvaluationResults"][0]["Decision"] == "allowed"


def test_warnings_come_in_request_order_once_each() -> None:
    assert warnings(["kms:Foo", "kms:Foo", "kms:Decrypt", "zzz"], ["b", "a:x", "a"]) == [
        "kms:Foo is not a known action: no statement can allow it, "
        "so it is decided as implicitDeny",
        "zzz is not a known action: no statement can allow it, so it is decided as implicitDeny",
        "context key 'b' has no namespace, so no condition reads it "
        "(did you mean kms:EncryptionContext:b?)",
        "context key 'a' has no namespace, so no condition reads it "
        "(did you mean kms:EncryptionContext:a?)",
    ]


def test_the_summary_is_one_line_per_action_with_what_decided_it() -> None:
    output = run(["kms:Encrypt", "kms:Sign"], {"kms:EncryptionContext:tenant": "t-1"})
    output_alice = simulate(KEY_POLICY, {}, ALICE, ["kms:Decrypt"], KEY_ARN, {})
    encrypt, sign = summary_lines(output)
    assert encrypt.split()[:3] == ["kms:Encrypt", "allowed", "keyPolicy:"]
    assert "by key-policy statement 'Use' (#1, line " in encrypt
    assert sign.split()[:2] == ["kms:Sign", "implicitDeny"]
    assert "no statement or grant decided it" in sign
    # Columns line up.
    assert encrypt.index("allowed") == sign.index("implicitDeny")
    (denied,) = summary_lines(output_alice)
    assert denied.split()[:2] == ["kms:Decrypt", "explicitDeny"]
    assert "statement 'NoAlice' (#2" in denied


def test_the_summary_names_missing_context_and_grants() -> None:
    (missing,) = summary_lines(run(["kms:Encrypt"], {}))
    assert "missing context: kms:EncryptionContext:tenant" in missing
    granted = {
        "EvaluationResults": [
            {
                "Action": "kms:Decrypt",
                "Decision": "allowed",
                "Basis": "grant",
                "DecisiveStatements": [],
                "DecisiveGrants": ["g-1"],
            }
        ]
    }
    assert summary_lines(granted) == ["kms:Decrypt  allowed  grant: by grant g-1"]
    assert summary_lines({"EvaluationResults": []}) == []
