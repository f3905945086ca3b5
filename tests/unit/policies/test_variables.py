"""Policy-variable templates and JSON pointers."""

from __future__ import annotations

import pytest

from policies import Decision, Request, decide_key_access
from policies.matching import ANY_SEQUENCE
from policies.source import pointer_child
from policies.variables import Variable, VariableSyntaxError, parse_template, substitute
from tests.unit.policies.support import ACCOUNT, APP, KEY_ARN, key_policy, statement


def test_template_parts() -> None:
    template = parse_template("key/${aws:username}/*${*}", wildcards=True)
    assert template == (
        "key/",
        Variable("aws:username", "aws:username", None),
        "/",
        ANY_SEQUENCE,
        "*",
    )


def test_defaults_and_escapes() -> None:
    (variable,) = parse_template("${aws:PrincipalTag/team, 'company-wide'}", wildcards=False)
    assert variable == Variable("aws:PrincipalTag/team", "aws:principaltag/team", "company-wide")
    assert parse_template("${$}{x}${?}", wildcards=True) == ("${x}?",)


@pytest.mark.parametrize(
    "text", ["${aws:username", "${}", "${username}", "${aws:x, default}", "${aws:x, 'a'b'}"]
)
def test_malformed_variables(text: str) -> None:
    with pytest.raises(VariableSyntaxError):
        parse_template(text, wildcards=False)


def test_substitution_is_literal_and_single_pass() -> None:
    template = parse_template("${aws:a}-${aws:b}", wildcards=True)
    values = {"aws:a": "*", "aws:b": "${aws:a}"}
    assert substitute(template, values.get) == ("*-${aws:a}",)
    assert substitute(template, {"aws:a": "x"}.get) is None


def test_pointer_escaping() -> None:
    assert pointer_child("/Condition", "aws:RequestTag/a~b") == "/Condition/aws:RequestTag~1a~0b"
    assert pointer_child("", 0) == "/0"


def test_unresolved_value_beside_a_definite_match_under_a_negated_operator() -> None:
    # NOR over ("${aws:username}", "x"): the request equals "x", so the condition is
    # definitely false whatever the unresolved value would have been.
    condition = {"StringNotEquals": {"test:Thing": ["${aws:username}", "x"]}}
    policy = key_policy(
        statement("Allow", APP, "kms:*"), statement("Deny", APP, Condition=condition)
    )
    request = Request(
        principal=APP, action="kms:Decrypt", resource=KEY_ARN, context={"test:Thing": "x"}
    )
    assert decide_key_access(policy, [], request, ACCOUNT).decision is Decision.ALLOWED
