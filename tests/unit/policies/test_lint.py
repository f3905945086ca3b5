"""Lint findings and the separation-of-duties check."""

from __future__ import annotations

from typing import Any

import pytest

from policies import (
    Finding,
    PolicyKind,
    Severity,
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
    ROOT,
    key_policy,
    policy_text,
    statement,
)

ROOT_STATEMENT = statement("Allow", ROOT, "kms:*", Sid="Root")


def codes(findings: list[Finding]) -> list[str]:
    return [finding.code for finding in findings]


def lint(*statements: dict[str, Any], version: str | None = "2012-10-17") -> list[Finding]:
    return lint_policy(key_policy(ROOT_STATEMENT, *statements, version=version))


def test_clean_policy_has_no_findings() -> None:
    assert lint(statement("Allow", APP, ["kms:Encrypt", "kms:Decrypt"])) == []


def test_missing_and_legacy_versions_are_reported() -> None:
    assert "missing-version" in codes(lint(version=None))
    assert "legacy-version" in codes(lint(version="2008-10-17"))


def test_variables_under_2008_are_literal() -> None:
    found = lint(
        statement(
            "Allow", APP, Condition={"StringEquals": {"aws:PrincipalTag/x": "${aws:username}"}}
        ),
        version="2008-10-17",
    )
    literal = [finding for finding in found if finding.code == "literal-variable"]
    assert len(literal) == 1
    assert literal[0].pointer == "/Statement/1/Condition/StringEquals/aws:PrincipalTag~1x"
    assert literal[0].severity is Severity.WARNING


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({"Effect": "Allow", "Principal": {"AWS": APP}, "Resource": "*"}, "/Statement/1"),
        ({"Effect": "Allow", "Principal": {"AWS": APP}, "Action": "kms:Decrypt"}, "/Statement/1"),
        (statement("Deny", APP, NotAction="*", action=[]), "/Statement/1/NotAction"),
        (
            statement("Allow", APP, resource="arn:aws:s3:::bucket/*"),
            "/Statement/1/Resource",
        ),
        (
            statement("Allow", APP, resource=f"arn:aws:kms:us-east-1:{ACCOUNT}:alias/app"),
            "/Statement/1/Resource",
        ),
        (
            {"Effect": "Deny", "NotPrincipal": {"AWS": "*"}, "Action": "kms:*", "Resource": "*"},
            "/Statement/1/NotPrincipal",
        ),
        (
            {"Effect": "Deny", "Principal": {"AWS": APP}, "Action": "kms:*", "NotResource": "*"},
            "/Statement/1/NotResource",
        ),
    ],
)
def test_statements_that_can_never_match(body: dict[str, Any], pointer: str) -> None:
    if "NotAction" in body:
        del body["Action"]
    found = [f for f in lint(body) if f.code == "statement-matches-nothing"]
    assert [finding.pointer for finding in found] == [pointer]


def test_resource_that_may_name_a_key_is_not_reported() -> None:
    found = lint(statement("Allow", APP, resource=f"arn:aws:kms:*:{ACCOUNT}:*"))
    assert "statement-matches-nothing" not in codes(found)


def test_allow_with_not_action_and_not_resource() -> None:
    body: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"AWS": APP},
        "NotAction": "kms:Decrypt",
        "NotResource": "arn:aws:kms:us-east-1:111122223333:key/other",
    }
    found = codes(lint(body))
    assert "allow-with-not-action" in found and "allow-with-not-resource" in found


def test_public_allow_without_condition_is_an_error() -> None:
    found = lint(statement("Allow", "*", "kms:Decrypt"))
    public = [f for f in found if f.code == "public-allow"]
    assert public and public[0].severity is Severity.ERROR
    assert public[0].pointer == "/Statement/1/Principal"
    conditioned = lint(
        statement(
            "Allow", "*", "kms:Decrypt", Condition={"StringEquals": {"kms:CallerAccount": ACCOUNT}}
        )
    )
    assert "public-allow" not in codes(conditioned)


def test_full_access_to_non_root() -> None:
    found = lint(statement("Allow", APP, "kms:*"))
    assert "full-access-to-non-root" in codes(found)
    assert "separation-of-duties" in codes(found)
    assert "full-access-to-non-root" not in codes(lint())


def test_set_operator_on_single_valued_key() -> None:
    found = lint(
        statement(
            "Allow", APP, Condition={"ForAnyValue:StringEquals": {"kms:CallerAccount": ACCOUNT}}
        )
    )
    assert "set-operator-on-single-value" in codes(found)


def test_plain_operator_on_multi_valued_key() -> None:
    found = lint(
        statement("Allow", APP, Condition={"StringEquals": {"kms:EncryptionContextKeys": "Dept"}})
    )
    assert "plain-operator-on-multi-value" in codes(found)
    fine = lint(
        statement(
            "Allow",
            APP,
            Condition={"ForAllValues:StringEquals": {"kms:EncryptionContextKeys": "Dept"}},
        )
    )
    assert "plain-operator-on-multi-value" not in codes(fine)


def test_mfa_without_if_exists() -> None:
    found = lint(
        statement("Deny", APP, Condition={"Bool": {"aws:MultiFactorAuthPresent": "false"}})
    )
    assert "mfa-without-if-exists" in codes(found)


def test_arn_condition_value_that_is_not_an_arn() -> None:
    found = lint(statement("Allow", APP, Condition={"ArnLike": {"aws:SourceArn": "*"}}))
    assert "arn-value-not-arn" in codes(found)


def test_nobody_may_change_the_policy() -> None:
    policy = key_policy(statement("Allow", APP, "kms:Decrypt"))
    assert "no-policy-administrator" in codes(lint_policy(policy))


def test_findings_are_sorted_and_located() -> None:
    found = lint(statement("Allow", "*", "kms:*"), statement("Allow", APP, "kms:ReEncrypt*"))
    assert found == sorted(found, key=lambda f: (f.line, f.column, f.code))
    assert all(finding.line > 1 for finding in found)
    assert str(found[0]).startswith(f"{found[0].line}:{found[0].column}: ")


def test_identity_policies_are_linted_too() -> None:
    text = policy_text({"Effect": "Allow", "NotAction": "kms:Decrypt", "Resource": "*"})
    found = codes(lint_policy(parse_policy(text, PolicyKind.IDENTITY)))
    assert found == ["allow-with-not-action"]


# --- Separation of duties ------------------------------------------------------------------------


def violations(*statements: dict[str, Any]) -> list[Finding]:
    return separation_of_duties_violations(key_policy(ROOT_STATEMENT, *statements))


def test_same_principal_managing_and_using_is_a_violation() -> None:
    found = violations(
        statement("Allow", KEY_ADMIN, ["kms:PutKeyPolicy", "kms:DisableKey"]),
        statement("Allow", KEY_ADMIN, "kms:Decrypt"),
    )
    assert len(found) == 1
    assert found[0].severity is Severity.ERROR and KEY_ADMIN in found[0].message
    assert found[0].pointer == "/Statement/2/Principal"


def test_create_grant_counts_as_use() -> None:
    assert violations(statement("Allow", KEY_ADMIN, ["kms:Create*", "kms:Disable*"]))


def test_read_only_actions_are_neutral() -> None:
    assert not violations(
        statement(
            "Allow",
            APP,
            ["kms:Decrypt", "kms:DescribeKey", "kms:List*", "kms:GetKeyPolicy", "kms:GetPublicKey"],
        )
    )


@pytest.mark.parametrize(
    "action",
    [
        "kms:GetParametersForImport",
        "kms:ImportKeyMaterial",
        "kms:DeleteImportedKeyMaterial",
        "kms:Get*",
        "kms:*Import*",
    ],
)
def test_import_actions_are_administration(action: str) -> None:
    """Bringing or deleting key material decides what the key is, so a key
    user may not hold it (kms:Get* included, as it covers GetParametersForImport)."""
    found = violations(statement("Allow", APP, ["kms:Decrypt", action]))
    assert len(found) == 1 and APP in found[0].message


def test_account_root_is_exempt() -> None:
    assert not violations()


def test_star_principal_contributes_to_everyone() -> None:
    found = violations(
        statement(
            "Allow", "*", "kms:Decrypt", Condition={"StringEquals": {"kms:CallerAccount": ACCOUNT}}
        ),
        statement("Allow", KEY_ADMIN, "kms:PutKeyPolicy"),
    )
    assert [KEY_ADMIN in finding.message for finding in found] == [True]


def test_role_actions_reach_its_named_sessions() -> None:
    session = f"arn:aws:sts::{ACCOUNT}:assumed-role/KeyAdmin/ops"
    found = violations(
        statement("Allow", KEY_ADMIN, "kms:ScheduleKeyDeletion"),
        statement("Allow", session, "kms:Encrypt"),
    )
    assert len(found) == 1 and session in found[0].message


def test_separate_principals_are_fine() -> None:
    assert not violations(
        statement("Allow", KEY_ADMIN, "kms:PutKeyPolicy"),
        statement("Allow", [APP, ALICE], ["kms:Encrypt", "kms:Decrypt"]),
        statement("Deny", BOB, "kms:*"),
    )


def test_not_action_allow_is_expanded_against_the_catalogue() -> None:
    assert violations(
        {"Effect": "Allow", "Principal": {"AWS": APP}, "NotAction": "kms:Decrypt", "Resource": "*"}
    )


def test_identity_policies_have_no_separation_findings() -> None:
    text = policy_text(statement(action="kms:*"))
    assert separation_of_duties_violations(parse_policy(text, PolicyKind.IDENTITY)) == []


def test_has_errors() -> None:
    assert has_errors(violations(statement("Allow", APP, "kms:*")))
    assert not has_errors(lint(version=None))
