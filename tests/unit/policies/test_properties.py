"""Metamorphic properties of the evaluator, and parser fuzzing (hypothesis)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from policies import (
    Decision,
    PolicyError,
    PolicyKind,
    PolicyTooLargeError,
    Request,
    decide_key_access,
    parse_policy,
)
from tests.unit.policies.support import (
    ACCOUNT,
    ALICE,
    APP,
    BOB,
    CAROL,
    EXTERNAL,
    KEY_ARN,
    ROOT,
)

SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/App/s1"
EXTERNAL_ROOT = f"arn:aws:iam::{EXTERNAL}:root"
OTHER_KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/other"
CALLERS = [ALICE, BOB, ROOT, SESSION, CAROL, EXTERNAL_ROOT]
ACTIONS = ["kms:Decrypt", "kms:Encrypt", "kms:PutKeyPolicy", "kms:GenerateDataKey"]
CONDITIONS: list[dict[str, Any]] = [
    {"StringEquals": {"kms:EncryptionContext:Dept": "IT"}},
    {"StringNotEquals": {"kms:EncryptionContext:Dept": ["HR", "IT"]}},
    {"StringLike": {"kms:EncryptionContext:Dept": "${aws:PrincipalTag/dept}"}},
    {"StringNotEqualsIfExists": {"kms:EncryptionContext:Owner": "${aws:username}"}},
    {"ForAllValues:StringEquals": {"kms:EncryptionContextKeys": ["Dept", "Owner"]}},
    {"ForAnyValue:StringLike": {"kms:EncryptionContextKeys": "D*"}},
    {"StringEquals": {"kms:EncryptionContextKeys": "Dept"}},
    {"Bool": {"aws:SecureTransport": "true"}},
    {"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}},
    {"Null": {"kms:EncryptionContext:Dept": "true"}},
    {"NumericLessThan": {"kms:EncryptionContext:Level": "3"}},
    {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::${aws:PrincipalAccount}:user/*"}},
]
CONTEXTS: list[dict[str, Any]] = [
    {},
    {"kms:EncryptionContext:Dept": "IT", "kms:EncryptionContextKeys": ["Dept"]},
    {
        "kms:EncryptionContext:Dept": "HR",
        "kms:EncryptionContext:Owner": "alice",
        "kms:EncryptionContextKeys": ["Dept", "Owner"],
        "aws:SecureTransport": True,
        "aws:SourceIp": "10.1.1.1",
    },
    {"kms:EncryptionContext:Level": "high", "aws:SourceIp": "192.0.2.1"},
]


def _statement(draw: st.DrawFn, effect: str, with_principal: bool) -> dict[str, Any]:
    body: dict[str, Any] = {"Effect": effect}
    if with_principal:
        if effect == "Deny" and draw(st.booleans()):
            body["NotPrincipal"] = {"AWS": draw(st.lists(st.sampled_from(CALLERS[:3]), min_size=1))}
        else:
            chosen = draw(st.sampled_from(["*", ROOT, ALICE, APP, BOB, SESSION, EXTERNAL_ROOT]))
            body["Principal"] = chosen if chosen == "*" else {"AWS": chosen}
    actions = draw(
        st.lists(st.sampled_from(["kms:*", "*", "kms:Decrypt", "kms:Gen*", "kms:E*"]), min_size=1)
    )
    body["NotAction" if draw(st.booleans()) and effect == "Deny" else "Action"] = actions
    resource = draw(st.sampled_from(["*", KEY_ARN, OTHER_KEY, f"arn:aws:kms:*:{ACCOUNT}:key/*"]))
    body["NotResource" if draw(st.integers(0, 5)) == 0 else "Resource"] = resource
    conditions = draw(st.lists(st.sampled_from(CONDITIONS), max_size=2))
    if conditions:
        merged: dict[str, Any] = {}
        for condition in conditions:
            for operator, block in condition.items():
                merged.setdefault(operator, {}).update(block)
        body["Condition"] = merged
    return body


@st.composite
def statements(draw: st.DrawFn, with_principal: bool, effect: str | None = None) -> dict[str, Any]:
    chosen = effect or draw(st.sampled_from(["Allow", "Deny"]))
    return _statement(draw, chosen, with_principal)


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "key": draw(st.lists(statements(with_principal=True), min_size=1, max_size=4)),
        "identity": draw(st.lists(statements(with_principal=False), max_size=3)),
        "caller": draw(st.sampled_from(CALLERS)),
        "action": draw(st.sampled_from(ACTIONS)),
        "context": draw(st.sampled_from(CONTEXTS)),
        "tags": draw(st.sampled_from([{}, {"dept": "IT"}, {"dept": "*"}])),
    }


def _text(body: list[dict[str, Any]] | dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": body}, indent=1)


def decide(scenario: dict[str, Any], key: Any = None, identity: Any = None) -> Decision:
    key_statements = scenario["key"] if key is None else key
    identity_statements = scenario["identity"] if identity is None else identity
    key_policy = parse_policy(_text(key_statements), PolicyKind.KEY)
    identity_policies = [
        parse_policy(_text(statement), PolicyKind.IDENTITY) for statement in identity_statements
    ]
    request = Request(
        principal=scenario["caller"],
        action=scenario["action"],
        resource=KEY_ARN,
        principal_tags=scenario["tags"],
        context=scenario["context"],
    )
    return decide_key_access(key_policy, identity_policies, request, ACCOUNT).decision


@settings(max_examples=120, deadline=None)
@given(
    scenario=scenarios(),
    extra=statements(with_principal=True, effect="Deny"),
    extra_identity=statements(with_principal=False, effect="Deny"),
    where=st.sampled_from(["key", "identity"]),
)
def test_adding_a_deny_never_turns_a_deny_into_an_allow(
    scenario: dict[str, Any], extra: dict[str, Any], extra_identity: dict[str, Any], where: str
) -> None:
    before = decide(scenario)
    if where == "key":
        after = decide(scenario, key=[*scenario["key"], extra])
    else:
        after = decide(scenario, identity=[*scenario["identity"], extra_identity])
    if before is not Decision.ALLOWED:
        assert after is not Decision.ALLOWED
    if before is Decision.EXPLICIT_DENY:
        assert after is Decision.EXPLICIT_DENY


@settings(max_examples=120, deadline=None)
@given(
    scenario=scenarios(),
    extra=statements(with_principal=True, effect="Allow"),
    extra_identity=statements(with_principal=False, effect="Allow"),
    where=st.sampled_from(["key", "identity"]),
)
def test_adding_an_allow_never_turns_an_allow_into_a_deny(
    scenario: dict[str, Any], extra: dict[str, Any], extra_identity: dict[str, Any], where: str
) -> None:
    before = decide(scenario)
    if where == "key":
        after = decide(scenario, key=[*scenario["key"], extra])
    else:
        after = decide(scenario, identity=[*scenario["identity"], extra_identity])
    if before is Decision.ALLOWED:
        assert after is Decision.ALLOWED
    if before is Decision.EXPLICIT_DENY:
        assert after is Decision.EXPLICIT_DENY


@settings(max_examples=120, deadline=None)
@given(scenario=scenarios(), data=st.data())
def test_statement_and_policy_order_never_matter(
    scenario: dict[str, Any], data: st.DataObject
) -> None:
    shuffled_key = data.draw(st.permutations(scenario["key"]))
    shuffled_identity = data.draw(st.permutations(scenario["identity"]))
    assert decide(scenario) is decide(scenario, key=shuffled_key, identity=shuffled_identity)


@settings(max_examples=80, deadline=None)
@given(scenario=scenarios())
def test_single_object_and_list_forms_decide_alike(scenario: dict[str, Any]) -> None:
    single = {**scenario, "key": scenario["key"][:1]}
    as_list = decide(single)
    key_policy = parse_policy(_text(scenario["key"][0]), PolicyKind.KEY)
    request = Request(
        principal=single["caller"],
        action=single["action"],
        resource=KEY_ARN,
        principal_tags=single["tags"],
        context=single["context"],
    )
    identity = [parse_policy(_text(s), PolicyKind.IDENTITY) for s in single["identity"]]
    assert decide_key_access(key_policy, identity, request, ACCOUNT).decision is as_list


# --- Parser fuzzing ----------------------------------------------------------------------------

VOCABULARY = [
    "Version", "Statement", "Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction",
    "Resource", "NotResource", "Condition", "AWS", "Service", "Allow", "Deny", "2012-10-17",
    "2008-10-17", "StringEquals", "ForAllValues:StringLike", "NullIfExists", "Bool",
    "kms:EncryptionContext:x", "aws:SourceIp", "*", "kms:*", ROOT, KEY_ARN, "${aws:username}",
    "${", "arn:aws:kms", "NumericLessThan", "DateEquals", "IpAddress", "BinaryEquals",
]  # fmt: skip

json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=False),
        st.sampled_from(VOCABULARY),
        st.text(max_size=8),
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(
            st.one_of(st.sampled_from(VOCABULARY), st.text(max_size=5)), children, max_size=5
        ),
    ),
    max_leaves=25,
)


def _parses_or_refuses(text: str, kind: PolicyKind) -> None:
    try:
        parse_policy(text, kind)
    except (PolicyError, PolicyTooLargeError):
        pass


@settings(max_examples=400, deadline=None)
@given(text=st.text(max_size=200), kind=st.sampled_from(list(PolicyKind)))
def test_parser_only_raises_policy_errors_on_arbitrary_text(text: str, kind: PolicyKind) -> None:
    _parses_or_refuses(text, kind)


@settings(max_examples=400, deadline=None)
@given(document=json_values, kind=st.sampled_from(list(PolicyKind)))
def test_parser_only_raises_policy_errors_on_arbitrary_json(
    document: Any, kind: PolicyKind
) -> None:
    _parses_or_refuses(json.dumps(document), kind)


@settings(max_examples=400, deadline=None)
@given(
    statement=statements(with_principal=True),
    cut=st.integers(min_value=0, max_value=400),
    insert=st.text(max_size=3),
    kind=st.sampled_from(list(PolicyKind)),
)
def test_parser_only_raises_policy_errors_on_mutated_policies(
    statement: dict[str, Any], cut: int, insert: str, kind: PolicyKind
) -> None:
    text = _text([statement])
    position = min(cut, len(text))
    _parses_or_refuses(text[:position] + insert + text[position + 1 :], kind)
