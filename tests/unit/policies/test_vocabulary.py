"""Names a policy may use: actions and condition keys that nothing supplies are refused.

A misspelt action or condition key matches nothing, so a ``Deny`` that uses one
never applies: it fails open. The parser refuses any ``kms:`` action pattern that
matches no documented KMS action and any ``aws:``/``kms:`` condition key that is
neither documented by AWS nor supplied by Trent. A documented key that Trent never
supplies is accepted with a lint warning; it is absent from every request.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from policies import (
    Decision,
    PolicyError,
    PolicyKind,
    Request,
    condition_keys,
    decide_key_access,
    lint_policy,
    parse_policy,
)
from policies.cli import main
from tests.unit.policies.support import (
    ACCOUNT,
    APP,
    KEY_ARN,
    ROOT,
    key_policy,
    policy_text,
    statement,
)

ROOT_STATEMENT = statement("Allow", ROOT, "kms:*", Sid="Root")
APP_ROOT = Path(__file__).resolve().parents[3] / "app"

TYPO_DENY = policy_text(
    ROOT_STATEMENT,
    statement("Allow", APP, ["kms:Encrypt", "kms:Decrypt"], Sid="Use"),
    statement(
        "Deny",
        "*",
        "kms:Encrypt",
        Sid="NoRedTeam",
        Condition={"StringEquals": {"aws:PrincipleTag/team": "red"}},
    ),
)
TYPO_POINTER = "/Statement/2/Condition/StringEquals/aws:PrincipleTag~1team"


def issues_of(text: str, kind: PolicyKind = PolicyKind.KEY) -> list[tuple[str, str]]:
    with pytest.raises(PolicyError) as caught:
        parse_policy(text, kind)
    return [(issue.code, issue.pointer) for issue in caught.value.issues]


def message_of(text: str, kind: PolicyKind = PolicyKind.KEY) -> str:
    with pytest.raises(PolicyError) as caught:
        parse_policy(text, kind)
    return caught.value.message


def with_condition(key: str, operator: str = "StringEquals", value: Any = "x") -> str:
    return policy_text(
        ROOT_STATEMENT, statement("Allow", APP, Condition={operator: {key: value}}, Sid="C")
    )


def identity_text(*statements: dict[str, Any]) -> str:
    return policy_text(*statements)


# --- the defect: a misspelt condition key in a Deny ---------------------------------


def test_a_misspelt_condition_key_in_a_deny_is_refused_with_its_pointer() -> None:
    assert issues_of(TYPO_DENY) == [("unknown-condition-key", TYPO_POINTER)]
    message = message_of(TYPO_DENY)
    assert "aws:PrincipleTag/team" in message


def test_the_misspelt_key_is_refused_in_identity_policies_too() -> None:
    text = identity_text(
        {
            "Effect": "Deny",
            "Action": "kms:Encrypt",
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:PrincipleTag/team": "red"}},
        }
    )
    assert issues_of(text, PolicyKind.IDENTITY) == [
        ("unknown-condition-key", "/Statement/0/Condition/StringEquals/aws:PrincipleTag~1team")
    ]


def test_cli_validate_reports_the_same_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "key-policy.json"
    path.write_text(TYPO_DENY)
    assert main(["validate", str(path)]) == 1
    err = capsys.readouterr().err
    assert "unknown-condition-key" in err
    assert f"(at {TYPO_POINTER})" in err


# --- condition keys ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    [
        "aws:PrincipalArn",
        "AWS:principalarn",  # condition keys are case-insensitive
        "aws:PrincipalTag/team",
        "aws:principaltag/Any.Suffix:with/slashes",
        "aws:RequestTag/env",
        "aws:TagKeys",
        "aws:SourceIp",
        "aws:CurrentTime",
        "kms:EncryptionContext:tenant",
        "KMS:ENCRYPTIONCONTEXT:Tenant",
        "kms:EncryptionContext:aws:ebs:id",
        "kms:EncryptionContextKeys",
        "kms:CallerAccount",
        "kms:ViaService",
        "kms:RecipientAttestation:PCR7",
        "s3:prefix",  # other namespaces are left alone
        "ec2:Anything",
    ],
)
def test_known_condition_keys_are_accepted(key: str) -> None:
    operator = "ForAnyValue:StringEquals" if condition_keys.is_multi_valued(key.lower()) else None
    parse_policy(with_condition(key, operator or "StringEquals"))


@pytest.mark.parametrize(
    "key",
    [
        "aws:PrincipleTag/team",
        "aws:PrincipalTag",  # a tag key needs its tag
        "aws:PrincipalTag/",
        "aws:SourceIP4",
        "aws:Foo",
        "kms:EncryptionContex:tenant",
        "kms:EncryptionContext",
        "kms:CallerAcount",
        "kms:Foo",
        "KMS:FOO",
    ],
)
def test_unknown_aws_and_kms_condition_keys_are_refused(key: str) -> None:
    text = with_condition(key)
    issues = issues_of(text)
    assert [code for code, _ in issues] == ["unknown-condition-key"]
    assert issues[0][1].startswith("/Statement/1/Condition/StringEquals/")


def test_every_unknown_key_is_reported_not_just_the_first() -> None:
    text = policy_text(
        ROOT_STATEMENT,
        statement(
            "Allow",
            APP,
            Condition={"StringEquals": {"kms:Foo": "1", "aws:Bar": "2", "kms:CallerAccount": "3"}},
        ),
    )
    assert [code for code, _ in issues_of(text)] == ["unknown-condition-key"] * 2


def test_a_condition_key_that_differs_by_one_letter_names_the_documented_one() -> None:
    assert "aws:PrincipalTag/" in message_of(with_condition("aws:PrincipleTag/team"))
    assert "kms:CallerAccount" in message_of(with_condition("kms:CallerAcount"))


def test_keys_refused_in_a_key_policy_keep_their_message() -> None:
    text = with_condition("aws:ResourceTag/env")
    assert issues_of(text) == [
        ("condition-key-not-permitted", "/Statement/1/Condition/StringEquals/aws:ResourceTag~1env")
    ]


def test_policy_variables_are_checked_like_condition_keys() -> None:
    good = with_condition("aws:PrincipalTag/owner", "StringEquals", "${aws:username}")
    parse_policy(good)
    bad = with_condition("aws:PrincipalTag/owner", "StringEquals", "${aws:usrname}")
    assert issues_of(bad) == [
        ("unknown-condition-key", "/Statement/1/Condition/StringEquals/aws:PrincipalTag~1owner")
    ]
    resource = policy_text(
        {"Effect": "Allow", "Action": "kms:Encrypt", "Resource": "arn:aws:kms:*:*:key/${kms:Foo}"}
    )
    assert issues_of(resource, PolicyKind.IDENTITY) == [
        ("unknown-condition-key", "/Statement/0/Resource")
    ]


# --- actions ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "action",
    [
        "*",
        "kms:*",
        "kms:Encrypt",
        "KMS:encrypt",  # actions are case-insensitive
        "kms:Encrypt*",
        "kms:GenerateDataKey*",
        "kms:ReEncrypt*",
        "kms:Re?ncryptFrom",
        "kms:*Key",
    ],
)
def test_actions_that_name_a_kms_action_are_accepted(action: str) -> None:
    parse_policy(policy_text(ROOT_STATEMENT, statement("Allow", APP, action)))


@pytest.mark.parametrize(
    "action",
    ["kms:Encryptt", "kms:Foo*", "KMS:DECRYPTT", "kms:ReEncrypt", "kms:?", "kms:Encrypt?"],
)
def test_kms_actions_that_name_nothing_are_refused(action: str) -> None:
    text = policy_text(ROOT_STATEMENT, statement("Allow", APP, ["kms:Decrypt", action]))
    assert issues_of(text) == [("unknown-action", "/Statement/1/Action/1")]
    assert action in message_of(text)


def test_reencrypt_is_refused_with_a_hint() -> None:
    text = policy_text(ROOT_STATEMENT, statement("Allow", APP, "kms:ReEncrypt"))
    assert "kms:ReEncryptFrom" in message_of(text)


def test_a_misspelt_action_in_not_action_is_refused() -> None:
    text = policy_text(
        ROOT_STATEMENT,
        {"Effect": "Deny", "Principal": "*", "NotAction": "kms:Decryptt", "Resource": "*"},
    )
    assert issues_of(text) == [("unknown-action", "/Statement/1/NotAction")]


@pytest.mark.parametrize(
    "action", ["s3:GetObject", "iam:PutPrincipalPolicy", "trent:ReadAuditLog", "ksm:Encrypt"]
)
def test_other_services_actions_are_refused_in_a_key_policy(action: str) -> None:
    text = policy_text(ROOT_STATEMENT, statement("Deny", "*", ["kms:Encrypt", action]))
    assert issues_of(text) == [("action-not-for-key-policy", "/Statement/1/Action/1")]


@pytest.mark.parametrize(
    "action", ["s3:GetObject", "iam:PutPrincipalPolicy", "trent:ReadAuditLog", "TRENT:readauditlog"]
)
def test_identity_policies_may_name_other_services(action: str) -> None:
    text = identity_text({"Effect": "Allow", "Action": action, "Resource": "*"})
    parse_policy(text, PolicyKind.IDENTITY)


@pytest.mark.parametrize("action", ["trent:ReadAuditLogs", "trent:*Foo", "kms:Encryptt"])
def test_identity_policies_refuse_unknown_trent_and_kms_actions(action: str) -> None:
    text = identity_text({"Effect": "Deny", "Action": action, "Resource": "*"})
    assert issues_of(text, PolicyKind.IDENTITY) == [("unknown-action", "/Statement/0/Action")]


# --- identity statements must say what and on what ----------------------------------


def test_identity_statement_without_action_is_refused() -> None:
    text = identity_text({"Effect": "Deny", "Resource": "*"})
    assert issues_of(text, PolicyKind.IDENTITY) == [("missing-action", "/Statement/0")]
    assert message_of(text, PolicyKind.IDENTITY) == "Policy statement must contain actions."


def test_identity_statement_without_resource_is_refused() -> None:
    text = identity_text({"Effect": "Deny", "Action": "kms:Encrypt"})
    assert issues_of(text, PolicyKind.IDENTITY) == [("missing-resource", "/Statement/0")]
    assert message_of(text, PolicyKind.IDENTITY) == "Policy statement must contain resources."


def test_key_statement_without_action_or_resource_is_still_accepted() -> None:
    parse_policy(policy_text(ROOT_STATEMENT, {"Effect": "Deny", "Principal": "*"}))


# --- documented keys Trent never supplies -----------------------------------------------


def unsupplied_policy() -> str:
    return policy_text(
        ROOT_STATEMENT,
        statement(
            "Allow",
            APP,
            "kms:Encrypt",
            Sid="ViaEndpoint",
            Condition={"StringEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}},
        ),
        statement(
            "Allow",
            APP,
            "kms:Decrypt",
            Sid="IfExists",
            Condition={"StringEqualsIfExists": {"aws:SourceVpce": "vpce-1a2b3c4d"}},
        ),
        statement(
            "Allow",
            APP,
            "kms:DescribeKey",
            Sid="Absent",
            Condition={"Null": {"aws:sourcevpce": "true"}},
        ),
        statement(
            "Deny",
            APP,
            "kms:GenerateDataKey",
            Sid="NotFromEndpoint",
            Condition={"StringNotEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}},
        ),
    )


def test_a_documented_key_trent_never_supplies_is_accepted_with_a_warning() -> None:
    policy = parse_policy(unsupplied_policy())
    warnings = [f for f in lint_policy(policy) if f.code == "unsupplied-condition-key"]
    assert [f.pointer for f in warnings] == [
        "/Statement/1/Condition/StringEquals/aws:SourceVpce",
        "/Statement/2/Condition/StringEqualsIfExists/aws:SourceVpce",
        "/Statement/3/Condition/Null/aws:sourcevpce",
        "/Statement/4/Condition/StringNotEquals/aws:SourceVpce",
    ]
    assert all(str(f.severity) == "warning" for f in warnings)
    assert "never supplies" in warnings[0].message


def test_a_supplied_key_has_no_such_warning() -> None:
    policy = key_policy(
        ROOT_STATEMENT,
        statement("Allow", APP, Condition={"StringEquals": {"kms:CallerAccount": ACCOUNT}}),
    )
    assert "unsupplied-condition-key" not in [f.code for f in lint_policy(policy)]


@pytest.mark.parametrize(
    ("action", "decision"),
    [
        # a plain operator on an absent key is false: the Allow never applies
        ("kms:Encrypt", Decision.IMPLICIT_DENY),
        # ...IfExists on an absent key is true
        ("kms:Decrypt", Decision.ALLOWED),
        # Null "true" on an absent key is true
        ("kms:DescribeKey", Decision.ALLOWED),
        # a negated operator on an absent key is true: this Deny applies to every request
        ("kms:GenerateDataKey", Decision.EXPLICIT_DENY),
    ],
)
def test_an_unsupplied_key_is_absent_from_the_request(action: str, decision: Decision) -> None:
    policy = parse_policy(unsupplied_policy())
    request = Request(principal=APP, action=action, resource=KEY_ARN)
    assert decide_key_access(policy, [], request, ACCOUNT).decision is decision


# --- the catalogue of supplied keys is honest -------------------------------------------

_KEY_LITERAL = re.compile(r"""["'](?P<key>(?:aws|kms):[A-Za-z]+(?:[:/])?)""")


def _keys_named_in_app() -> set[str]:
    names: set[str] = set()
    for path in APP_ROOT.rglob("*.py"):
        for match in _KEY_LITERAL.finditer(path.read_text(encoding="utf-8")):
            names.add(match["key"].lower())
    return names


def test_every_condition_key_the_service_supplies_is_catalogued_as_supplied() -> None:
    from policies import actions

    named = _keys_named_in_app()
    action_names = {action.lower() for action in actions.ALL_ACTIONS}
    supplied = {key for key in named if key not in action_names}
    missing = sorted(
        key
        for key in supplied
        if not condition_keys.is_supplied(key) and key not in condition_keys.SUPPLIED_PREFIXES
    )
    assert missing == []


def test_every_catalogued_supplied_key_is_supplied_somewhere() -> None:
    request_module = Path(condition_keys.__file__).with_name("request.py")
    sources = [path.read_text(encoding="utf-8") for path in APP_ROOT.rglob("*.py")]
    sources.append(request_module.read_text(encoding="utf-8"))
    text = "\n".join(sources).lower()
    unused = sorted(
        key
        for key in (*condition_keys.SUPPLIED_KEYS, *condition_keys.SUPPLIED_PREFIXES)
        if f'"{key}' not in text
    )
    assert unused == []
