"""Parsing and validation: every rejection with its code, JSON pointer and line/column."""

from __future__ import annotations

import json

import pytest

from policies import (
    MAX_POLICY_BYTES,
    Issue,
    IssueCode,
    PolicyError,
    PolicyKind,
    PolicyTooLargeError,
    parse_policy,
)
from tests.unit.policies.support import ACCOUNT, ALICE, ROOT, policy_text, statement


def issues(text: str, kind: PolicyKind = PolicyKind.KEY) -> list[Issue]:
    with pytest.raises(PolicyError) as caught:
        parse_policy(text, kind)
    return caught.value.issues


def only_issue(text: str, kind: PolicyKind = PolicyKind.KEY) -> Issue:
    found = issues(text, kind)
    assert len(found) == 1, found
    return found[0]


def position_of(text: str, needle: str, occurrence: int = 1) -> tuple[int, int]:
    """1-based line and column of the ``occurrence``-th ``needle`` in ``text``."""
    offset = -1
    for _ in range(occurrence):
        offset = text.index(needle, offset + 1)
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, column


def assert_issue(
    text: str,
    code: IssueCode,
    pointer: str,
    needle: str,
    *,
    occurrence: int = 1,
    kind: PolicyKind = PolicyKind.KEY,
) -> Issue:
    issue = only_issue(text, kind)
    assert (issue.code, issue.pointer) == (code.value, pointer)
    assert (issue.line, issue.column) == position_of(text, needle, occurrence)
    return issue


def allow_alice(**overrides: object) -> dict[str, object]:
    body = statement("Allow", ALICE)
    body.update(overrides)
    return body


# --- JSON layer -------------------------------------------------------------------------


def test_duplicate_keys_are_refused_at_the_second_occurrence() -> None:
    text = (
        '{"Version": "2012-10-17",\n "Statement": [{"Effect": "Allow",\n'
        '  "Effect": "Deny", "Principal": "*", "Action": "kms:*", "Resource": "*"}]}'
    )
    issue = assert_issue(
        text, IssueCode.DUPLICATE_KEY, "/Statement/0/Effect", '"Effect"', occurrence=2
    )
    assert issue.line == 3


@pytest.mark.parametrize("word", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_numbers_are_refused(word: str) -> None:
    text = policy_text(
        allow_alice(Condition={"NumericLessThan": {"kms:RotationPeriodInDays": "X"}})
    )
    text = text.replace('"X"', word)
    assert_issue(
        text,
        IssueCode.NON_FINITE_NUMBER,
        "/Statement/0/Condition/NumericLessThan/kms:RotationPeriodInDays",
        word,
    )


def test_json_syntax_error_has_line_and_column() -> None:
    text = '{\n  "Version": "2012-10-17",\n  "Statement": [ , ]\n}'
    assert_issue(text, IssueCode.JSON_SYNTAX, "/Statement/0", ",", occurrence=2)


def test_trailing_data_is_a_syntax_error() -> None:
    text = policy_text(allow_alice()) + "\n{}"
    issue = only_issue(text)
    assert issue.code == IssueCode.JSON_SYNTAX.value
    assert (issue.line, issue.column) == position_of(text, "{}")


def test_deep_nesting_is_refused() -> None:
    text = '{"Statement": ' + "[" * 40 + "]" * 40 + "}"
    assert only_issue(text).code == IssueCode.TOO_DEEP.value


def test_characters_outside_latin1_are_refused() -> None:
    text = policy_text(allow_alice(Sid="Kosten in €"))
    assert_issue(text, IssueCode.INVALID_CHARACTER, "", "€")


def test_escaped_characters_outside_latin1_are_refused() -> None:
    text = policy_text(allow_alice(Sid="X")).replace('"X"', '"\\u20ac"')
    assert_issue(text, IssueCode.INVALID_CHARACTER, "/Statement/0/Sid", '"\\u20ac"')


def test_latin1_characters_are_accepted() -> None:
    policy = parse_policy(policy_text(allow_alice(Sid="Schlüssel für Zahlungen")))
    assert policy.statements[0].sid == "Schlüssel für Zahlungen"


def test_control_characters_in_strings_are_refused() -> None:
    text = policy_text(allow_alice(Sid="a")).replace('"a"', '"a\\u0001"')
    assert only_issue(text).code == IssueCode.INVALID_CHARACTER.value


# --- Size ---------------------------------------------------------------------------------


def _padded(size: int) -> str:
    text = policy_text(allow_alice())
    return text + " " * (size - len(text.encode("utf-8")))


def test_policy_of_exactly_the_limit_is_accepted() -> None:
    assert parse_policy(_padded(MAX_POLICY_BYTES)).statements


def test_policy_over_the_limit_is_too_large_not_malformed() -> None:
    with pytest.raises(PolicyTooLargeError) as caught:
        parse_policy(_padded(MAX_POLICY_BYTES + 1))
    assert caught.value.size == MAX_POLICY_BYTES + 1
    assert not isinstance(caught.value, PolicyError)


def test_size_counts_utf8_bytes_not_characters() -> None:
    text = policy_text(allow_alice(Sid="é" * 20))
    padded = text + " " * (MAX_POLICY_BYTES - len(text) - 10)
    assert len(padded) < MAX_POLICY_BYTES < len(padded.encode("utf-8"))
    with pytest.raises(PolicyTooLargeError):
        parse_policy(padded)


# --- Document shape -------------------------------------------------------------------------


def test_policy_must_be_an_object() -> None:
    assert_issue("[1]", IssueCode.NOT_AN_OBJECT, "", "[")


def test_unknown_top_level_member() -> None:
    text = policy_text(allow_alice())[:-2] + ',\n  "Extra field": 1\n}'
    assert_issue(text, IssueCode.UNKNOWN_MEMBER, "/Extra field", '"Extra field"')


def test_unknown_statement_member() -> None:
    text = policy_text(allow_alice(Conditions={}))
    assert_issue(text, IssueCode.UNKNOWN_MEMBER, "/Statement/0/Conditions", '"Conditions"')


@pytest.mark.parametrize("version", ["2013-10-17", "2012-10-17 ", ""])
def test_unknown_version_is_refused(version: str) -> None:
    text = policy_text(allow_alice(), version=version)
    assert_issue(text, IssueCode.INVALID_VERSION, "/Version", f'"{version}"')


def test_version_must_be_a_string() -> None:
    text = policy_text(allow_alice()).replace('"2012-10-17"', "2012")
    assert only_issue(text).code == IssueCode.INVALID_VERSION.value


@pytest.mark.parametrize("version", ["2012-10-17", "2008-10-17", None])
def test_key_policy_accepts_both_versions_and_none(version: str | None) -> None:
    assert parse_policy(policy_text(allow_alice(), version=version)).version == version


def test_identity_policy_needs_2012() -> None:
    text = policy_text(statement(), version="2008-10-17")
    issue = assert_issue(
        text, IssueCode.VERSION_TOO_OLD, "/Version", '"2008', kind=PolicyKind.IDENTITY
    )
    assert issue.message == "Policy document must be version 2012-10-17 or greater."
    missing = only_issue(policy_text(statement(), version=None), PolicyKind.IDENTITY)
    assert (missing.code, missing.pointer) == (IssueCode.VERSION_TOO_OLD.value, "")


def test_missing_statement() -> None:
    assert_issue('{"Version": "2012-10-17"}', IssueCode.MISSING_STATEMENT, "", "{")


def test_empty_statement_list() -> None:
    text = '{"Version": "2012-10-17", "Statement": []}'
    issue = assert_issue(text, IssueCode.EMPTY_STATEMENT, "/Statement", "[")
    assert issue.message == "A key policy document must have at least one statement."


def test_statement_elements_must_be_objects() -> None:
    text = '{"Version": "2012-10-17", "Statement": ["Allow"]}'
    assert_issue(text, IssueCode.INVALID_STATEMENT, "/Statement/0", '"Allow"')


def test_single_statement_object_is_accepted() -> None:
    text = json.dumps({"Version": "2012-10-17", "Statement": allow_alice()})
    policy = parse_policy(text)
    assert [s.ref.pointer for s in policy.statements] == ["/Statement"]


# --- Sid and Effect ---------------------------------------------------------------------------


def test_duplicate_sids_are_refused() -> None:
    text = policy_text(allow_alice(Sid="Same"), allow_alice(Sid="Same"))
    issue = assert_issue(text, IssueCode.DUPLICATE_SID, "/Statement/1/Sid", '"Same"', occurrence=2)
    assert issue.message.startswith("Statement IDs (SID) in a single policy must be unique.")


def test_key_policy_sid_may_contain_spaces_identity_sid_may_not() -> None:
    assert parse_policy(policy_text(allow_alice(Sid="Allow use of the key")))
    text = policy_text(statement(Sid="Allow use"))
    assert_issue(
        text, IssueCode.INVALID_SID, "/Statement/0/Sid", '"Allow use"', kind=PolicyKind.IDENTITY
    )


@pytest.mark.parametrize("effect", ["allow", "DENY", "Permit"])
def test_effect_is_case_sensitive(effect: str) -> None:
    text = policy_text(allow_alice(Effect=effect))
    issue = assert_issue(text, IssueCode.INVALID_EFFECT, "/Statement/0/Effect", f'"{effect}"')
    assert issue.message.startswith("The policy failed legacy parsing")


def test_missing_effect() -> None:
    body = allow_alice()
    del body["Effect"]
    text = policy_text(body)
    assert_issue(text, IssueCode.MISSING_EFFECT, "/Statement/0", '{\n      "Principal"')


# --- Principals --------------------------------------------------------------------------------


def test_key_policy_statement_needs_a_principal() -> None:
    text = policy_text(statement())
    issue = assert_issue(text, IssueCode.MISSING_PRINCIPAL, "/Statement/0", '{\n      "Effect"')
    assert issue.message == "Policy contains a statement with no principal."


def test_identity_policy_must_not_name_a_principal() -> None:
    text = policy_text(allow_alice())
    issue = assert_issue(
        text, IssueCode.PRINCIPAL_NOT_ALLOWED, "/Statement/0/Principal", '{\n        "AWS"',
        kind=PolicyKind.IDENTITY,
    )  # fmt: skip
    assert issue.message == "Policy document should not specify a principal."


def test_principal_and_not_principal_together() -> None:
    text = policy_text(allow_alice(Effect="Deny", NotPrincipal={"AWS": ROOT}))
    issue = only_issue(text)
    assert (issue.code, issue.pointer) == (IssueCode.CONFLICTING_MEMBERS.value, "/Statement/0")


@pytest.mark.parametrize(
    ("first", "second"), [("Action", "NotAction"), ("Resource", "NotResource")]
)
def test_mutually_exclusive_members(first: str, second: str) -> None:
    body = allow_alice()
    body[second] = body[first]
    issue = only_issue(policy_text(body))
    assert (issue.code, issue.pointer) == (IssueCode.CONFLICTING_MEMBERS.value, "/Statement/0")


def test_allow_with_not_principal_is_refused() -> None:
    body = statement("Allow", NotPrincipal={"AWS": ROOT})
    text = policy_text(body)
    assert_issue(
        text, IssueCode.ALLOW_WITH_NOT_PRINCIPAL, "/Statement/0/NotPrincipal", '{\n        "AWS"'
    )


def test_deny_with_not_principal_is_accepted() -> None:
    policy = parse_policy(policy_text(statement("Deny", NotPrincipal={"AWS": [ALICE, ROOT]})))
    clause = policy.statements[0].principal
    assert clause is not None and clause.negated and clause.arns == {ALICE, ROOT}


@pytest.mark.parametrize(
    "principal",
    [
        f"arn:aws:iam::{ACCOUNT}:role/*",
        f"arn:aws:iam::{ACCOUNT}:user/al?ce",
        "arn:aws:iam::*:root",
        f"arn:aws:sts::{ACCOUNT}:assumed-role/App/*",
    ],
)
def test_partial_wildcard_principals_are_refused(principal: str) -> None:
    text = policy_text(statement("Allow", principal))
    assert_issue(text, IssueCode.WILDCARD_PRINCIPAL, "/Statement/0/Principal/AWS", f'"{principal}"')


@pytest.mark.parametrize(
    "principal",
    [
        "arn:aws:iam::12345:user/alice",
        f"arn:aws:iam::{ACCOUNT}:group/admins",
        f"arn:aws:iam::{ACCOUNT}:user/",
        f"arn:aws:s3:::{ACCOUNT}",
        "alice",
        f"arn:aws:iam:us-east-1:{ACCOUNT}:root",
    ],
)
def test_malformed_principals_are_refused(principal: str) -> None:
    text = policy_text(statement("Allow", principal))
    assert_issue(text, IssueCode.INVALID_PRINCIPAL, "/Statement/0/Principal/AWS", f'"{principal}"')


def test_principal_list_reports_the_bad_entry() -> None:
    text = policy_text(statement("Allow", [ALICE, "arn:aws:iam::1:root"]))
    assert_issue(
        text, IssueCode.INVALID_PRINCIPAL, "/Statement/0/Principal/AWS/1", '"arn:aws:iam::1:root"'
    )


def test_bare_string_principal_must_be_star() -> None:
    text = policy_text(allow_alice(Principal=ALICE))
    assert only_issue(text).code == IssueCode.INVALID_PRINCIPAL.value


def test_federated_principals_are_refused() -> None:
    text = policy_text(allow_alice(Principal={"Federated": "cognito-identity.amazonaws.com"}))
    assert_issue(
        text,
        IssueCode.UNSUPPORTED_PRINCIPAL_TYPE,
        "/Statement/0/Principal/Federated",
        '"Federated"',
    )


def test_service_star_is_refused() -> None:
    text = policy_text(allow_alice(Principal={"Service": "*"}))
    assert only_issue(text).code == IssueCode.WILDCARD_PRINCIPAL.value


def test_accepted_principal_forms() -> None:
    principals = [
        "*",
        ACCOUNT,
        ROOT,
        ALICE,
        f"arn:aws:iam::{ACCOUNT}:role/service-role/App",
        f"arn:aws:sts::{ACCOUNT}:assumed-role/App/session-1",
        f"arn:aws:sts::{ACCOUNT}:federated-user/bob",
        f"arn:aws-cn:iam::{ACCOUNT}:root",
    ]
    body = allow_alice(Principal={"AWS": principals, "Service": "logs.us-east-1.amazonaws.com"})
    clause = parse_policy(policy_text(body)).statements[0].principal
    assert clause is not None and clause.everyone
    assert ROOT in clause.arns  # the bare account id, canonicalised
    assert clause.services == {"logs.us-east-1.amazonaws.com"}


def test_bare_account_id_uses_the_given_partition() -> None:
    text = policy_text(statement("Allow", ACCOUNT))
    clause = parse_policy(text, partition="aws-cn").statements[0].principal
    assert clause is not None and clause.arns == {f"arn:aws-cn:iam::{ACCOUNT}:root"}


def test_star_principal_object_form() -> None:
    clause = parse_policy(policy_text(statement("Allow", "*"))).statements[0].principal
    clause_aws = parse_policy(policy_text(allow_alice(Principal={"AWS": "*"}))).statements[0]
    assert clause is not None and clause.everyone
    assert clause_aws.principal is not None and clause_aws.principal.everyone


# --- Actions -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "code", "message"),
    [
        (
            "Decrypt",
            IssueCode.ACTION_MISSING_VENDOR,
            "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.",
        ),
        (
            "kms:Decrypt:x",
            IssueCode.ACTION_MULTIPLE_COLONS,
            "Actions/Condition can contain only one colon.",
        ),
        ("k$s:Decrypt", IssueCode.INVALID_VENDOR, "Vendor k$s is not valid"),
        ("*:Decrypt", IssueCode.INVALID_VENDOR, "Vendor * is not valid"),
        ("kms:Encrypt kms:Decrypt", IssueCode.INVALID_ACTION, None),
        ("kms:Encrypt,kms:Decrypt", IssueCode.INVALID_ACTION, None),
        ("kms:", IssueCode.INVALID_ACTION, None),
    ],
)
def test_malformed_actions(action: str, code: IssueCode, message: str | None) -> None:
    text = policy_text(statement("Allow", ALICE, action=["kms:Encrypt", action]))
    issue = assert_issue(text, code, "/Statement/0/Action/1", f'"{action}"')
    if message is not None:
        assert issue.message == message


def test_empty_action_list() -> None:
    text = policy_text(statement("Allow", ALICE, action=[]))
    issue = assert_issue(text, IssueCode.EMPTY_ACTION, "/Statement/0/Action", "[]")
    assert issue.message == "Policy statement must contain actions."


def test_action_patterns_are_lower_cased_once() -> None:
    pattern = parse_policy(policy_text(statement("Allow", ALICE, action="KMS:Decrypt")))
    action = pattern.statements[0].action
    assert action is not None and action.patterns[0].vendor == "kms"
    assert action.patterns[0].name.source == "decrypt"


# --- Resources --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("resource", "code"),
    [
        ("arn:aws:kms", IssueCode.INVALID_RESOURCE),
        ("key/1234", IssueCode.INVALID_RESOURCE),
        ("arn:aws:kms:us-east-1:111122223333:", IssueCode.INVALID_RESOURCE),
        ("arn:foo:kms:us-east-1:111122223333:key/1", IssueCode.INVALID_PARTITION),
        ("arn:aws:*:us-east-1:111122223333:key/1", IssueCode.RESOURCE_VENDOR_WILDCARD),
        ("arn:aws:kms:us-east-1:11112222333x:key/1", IssueCode.INVALID_RESOURCE),
    ],
)
def test_malformed_resources(resource: str, code: IssueCode) -> None:
    text = policy_text(statement("Allow", ALICE, resource=resource))
    assert_issue(text, code, "/Statement/0/Resource", f'"{resource}"')


def test_resource_message_is_aws_wording() -> None:
    text = policy_text(statement("Allow", ALICE, resource="key/1"))
    assert only_issue(text).message == 'Resource key/1 must be in ARN format or "*".'


def test_variable_outside_the_resource_part_is_refused() -> None:
    resource = "arn:aws:kms:us-east-1:${aws:PrincipalAccount}:key/*"
    text = policy_text(statement("Allow", ALICE, resource=resource))
    assert_issue(text, IssueCode.VARIABLE_NOT_ALLOWED, "/Statement/0/Resource", f'"{resource}"')


def test_variable_in_resource_part_is_accepted() -> None:
    resource = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/${{aws:username}}"
    policy = parse_policy(policy_text(statement("Allow", ALICE, resource=resource)))
    assert policy.statements[0].referenced_keys == (("aws:username", "aws:username"),)


def test_malformed_variable_is_refused() -> None:
    resource = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/${{aws:username"
    text = policy_text(statement("Allow", ALICE, resource=resource))
    assert only_issue(text).code == IssueCode.INVALID_VARIABLE.value


def test_malformed_variable_is_literal_under_2008() -> None:
    resource = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/${{aws:username"
    assert parse_policy(policy_text(statement("Allow", ALICE, resource=resource), version=None))


def test_missing_action_or_resource_is_accepted_and_matches_nothing() -> None:
    body = allow_alice()
    del body["Action"]
    del body["Resource"]
    statement_model = parse_policy(policy_text(body)).statements[0]
    assert statement_model.action is None and statement_model.resource is None


# --- Conditions ----------------------------------------------------------------------------------


def with_condition(condition: object, kind: PolicyKind = PolicyKind.KEY) -> str:
    if kind is PolicyKind.KEY:
        return policy_text(allow_alice(Condition=condition))
    return policy_text(statement(Condition=condition))


@pytest.mark.parametrize(
    ("operator", "hint"),
    [("stringEquals", "StringEquals"), ("ForAnyValue:stringlikeifexists", None)],
)
def test_operator_names_are_case_sensitive(operator: str, hint: str | None) -> None:
    text = with_condition({operator: {"aws:SourceIp": "x"}})
    issue = assert_issue(
        text, IssueCode.UNKNOWN_OPERATOR, f"/Statement/0/Condition/{operator}", f'"{operator}"'
    )
    assert issue.message.startswith(f"Invalid Condition type : {operator}")
    if hint is not None:
        assert f"did you mean {hint}?" in issue.message


def test_unknown_operator() -> None:
    text = with_condition({"StringEqualz": {"aws:SourceIp": "x"}})
    issue = only_issue(text)
    assert issue.code == IssueCode.UNKNOWN_OPERATOR.value
    assert "did you mean" not in issue.message


def test_null_if_exists_is_refused() -> None:
    text = with_condition({"NullIfExists": {"aws:SourceIp": "true"}})
    assert_issue(
        text, IssueCode.NULL_IF_EXISTS, "/Statement/0/Condition/NullIfExists", '"NullIfExists"'
    )


def test_every_operator_and_modifier_is_accepted() -> None:
    values = {
        "String": "x",
        "Numeric": "1",
        "Date": "2026-01-01T00:00:00Z",
        "Bool": "true",
        "Binary": "QUJD",
        "Ip": "10.0.0.0/8",
        "NotIp": "10.0.0.0/8",
        "Arn": "arn:aws:iam::111122223333:root",
    }
    bases = [
        "StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase",
        "StringLike", "StringNotLike", "NumericEquals", "NumericNotEquals", "NumericLessThan",
        "NumericLessThanEquals", "NumericGreaterThan", "NumericGreaterThanEquals", "DateEquals",
        "DateNotEquals", "DateLessThan", "DateLessThanEquals", "DateGreaterThan",
        "DateGreaterThanEquals", "Bool", "BinaryEquals", "IpAddress", "NotIpAddress",
        "ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike",
    ]  # fmt: skip
    assert len(bases) == 26
    condition: dict[str, dict[str, str]] = {"Null": {"kms:ViaService": "true"}}
    for base in bases:
        value = next(v for prefix, v in values.items() if base.startswith(prefix))
        for prefix in ("", "ForAllValues:", "ForAnyValue:"):
            for suffix in ("", "IfExists"):
                condition[f"{prefix}{base}{suffix}"] = {"aws:TagKeys": value}
    parsed = parse_policy(with_condition(condition, PolicyKind.IDENTITY), PolicyKind.IDENTITY)
    assert len(parsed.statements[0].conditions) == 1 + 26 * 6


@pytest.mark.parametrize("key", ["kms:EncryptionContext:Dept", "aws:RequestTag/Project"])
def test_for_all_values_on_single_valued_context_keys_is_overly_permissive(key: str) -> None:
    text = with_condition({"ForAllValues:StringEquals": {key: "x"}})
    issue = assert_issue(
        text,
        IssueCode.OVERLY_PERMISSIVE_CONDITION,
        f"/Statement/0/Condition/ForAllValues:StringEquals/{key.replace('/', '~1')}",
        f'"{key}"',
    )
    assert issue.message.startswith(
        "OverlyPermissiveCondition: Using the ForAllValues set operator with a single-valued "
        "condition key matches requests without the specified"
    )
    assert issue.message.endswith("To fix, remove ForAllValues.")


def test_for_any_value_on_encryption_context_is_accepted() -> None:
    text = with_condition({"ForAnyValue:StringEquals": {"kms:EncryptionContext:Dept": "x"}})
    assert parse_policy(text)


@pytest.mark.parametrize(
    "key", ["aws:ResourceTag/Project", "kms:ResourceAliases", "AWS:resourcetag/x"]
)
def test_resource_keys_are_not_permitted_in_key_policies(key: str) -> None:
    text = with_condition({"ForAnyValue:StringEquals": {key: "x"}})
    issue = only_issue(text)
    assert issue.code == IssueCode.CONDITION_KEY_NOT_PERMITTED.value
    assert issue.message.startswith("These condition keys are not permitted in a key policy:")
    identity = with_condition({"ForAnyValue:StringEquals": {key: "x"}}, PolicyKind.IDENTITY)
    assert parse_policy(identity, PolicyKind.IDENTITY)


def test_condition_key_needs_a_vendor() -> None:
    text = with_condition({"IpAddress": {"SourceIp": "10.0.0.0/8"}})
    issue = assert_issue(
        text,
        IssueCode.INVALID_CONDITION_KEY,
        "/Statement/0/Condition/IpAddress/SourceIp",
        '"SourceIp"',
    )
    assert issue.message.startswith("Actions/Conditions must be prefaced by a vendor")


@pytest.mark.parametrize(
    ("operator", "value"),
    [
        ("NumericEquals", "abc"),
        ("NumericEquals", True),
        ("DateEquals", "yesterday"),
        ("DateEquals", "2026-13-01T00:00:00Z"),
        ("IpAddress", "300.1.1.1"),
        ("BinaryEquals", "***"),
        ("Bool", "yes"),
        ("Null", "maybe"),
        ("StringEquals", None),
        ("StringEquals", {"nested": "x"}),
    ],
)
def test_invalid_condition_values(operator: str, value: object) -> None:
    text = with_condition({operator: {"aws:SourceIp": value}})
    issue = only_issue(text)
    assert issue.code == IssueCode.INVALID_CONDITION_VALUE.value
    assert issue.pointer == f"/Statement/0/Condition/{operator}/aws:SourceIp"
    key_line, key_column = position_of(text, '"aws:SourceIp": ')
    assert (issue.line, issue.column) == (key_line, key_column + len('"aws:SourceIp": '))


def test_invalid_condition_value_position_points_at_the_value() -> None:
    text = with_condition({"NumericLessThan": {"kms:RotationPeriodInDays": ["90", "soon"]}})
    assert_issue(
        text,
        IssueCode.INVALID_CONDITION_VALUE,
        "/Statement/0/Condition/NumericLessThan/kms:RotationPeriodInDays/1",
        '"soon"',
    )


def test_empty_condition_value_list() -> None:
    text = with_condition({"StringEquals": {"aws:SourceIp": []}})
    assert only_issue(text).code == IssueCode.EMPTY_CONDITION_VALUES.value


def test_empty_operator_block() -> None:
    text = with_condition({"StringEquals": {}})
    assert only_issue(text).code == IssueCode.INVALID_CONDITION.value


@pytest.mark.parametrize("operator", ["NumericEquals", "Bool", "DateEquals", "IpAddress"])
def test_variables_are_refused_outside_string_and_arn_operators(operator: str) -> None:
    text = with_condition({operator: {"aws:SourceIp": "${aws:username}"}})
    assert only_issue(text).code == IssueCode.VARIABLE_NOT_ALLOWED.value


def test_malformed_variable_in_condition() -> None:
    text = with_condition({"StringEquals": {"aws:SourceIp": "${aws:user name, 'x}"}})
    assert only_issue(text).code == IssueCode.INVALID_VARIABLE.value


# --- Several issues, positions of statements ---------------------------------------------


def test_all_issues_are_reported_in_position_order() -> None:
    text = policy_text(
        allow_alice(Effect="allow"),
        allow_alice(Action="Decrypt", Condition={"stringEquals": {"aws:SourceIp": "x"}}),
    )
    found = issues(text)
    assert [issue.code for issue in found] == [
        IssueCode.INVALID_EFFECT.value,
        IssueCode.ACTION_MISSING_VENDOR.value,
        IssueCode.UNKNOWN_OPERATOR.value,
    ]
    assert found == sorted(found, key=lambda issue: (issue.line, issue.column))
    assert str(found[0]).startswith(f"{found[0].line}:{found[0].column}: invalid-effect:")


def test_statements_keep_their_source_span() -> None:
    text = '{"Version": "2012-10-17",\n "Statement": [\n  {"Effect": "Allow",\n   "Principal": "*",\n   "Action": "kms:*", "Resource": "*",\n   "Condition": {"Bool": {"aws:SecureTransport": true}}},\n  {"Sid": "B", "Effect": "Deny", "Principal": "*", "Action": "kms:*", "Resource": "*"}\n ]}'  # noqa: E501
    first, second = parse_policy(text).statements
    assert (first.ref.span.start.line, first.ref.span.start.column) == (3, 3)
    assert (first.ref.span.end.line, first.ref.span.end.column) == (6, 56)
    assert (second.ref.span.start.line, second.ref.span.start.column) == (7, 3)
    assert second.ref.span.end.line == 7
    assert (second.ref.sid, second.ref.index, second.ref.pointer) == ("B", 1, "/Statement/1")


def test_non_string_input_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        parse_policy(b"{}")  # type: ignore[arg-type]
