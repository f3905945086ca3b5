"""Table-driven evaluator tests: tests/vectors/policy_cases.json."""

from __future__ import annotations

import json
from typing import Any

import pytest

from policies import (
    Decision,
    Policy,
    PolicyKind,
    Request,
    decide_account_action,
    decide_key_access,
    parse_policy,
)
from policies.grants import grant_from_json
from policies.testing import decode_context
from tests.unit.policies.support import VECTORS

DOCUMENT = json.loads((VECTORS / "policy_cases.json").read_text(encoding="utf-8"))
CASES: list[dict[str, Any]] = DOCUMENT["cases"]


def _parse(policy: Any, kind: PolicyKind, source: str) -> Policy:
    text = policy if isinstance(policy, str) else json.dumps(policy, indent=2)
    return parse_policy(text, kind, source=source)


def test_there_are_enough_vectors() -> None:
    assert len(CASES) >= 120
    assert len({case["name"] for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_vector(case: dict[str, Any]) -> None:
    identity = [
        _parse(policy, PolicyKind.IDENTITY, f"identity-{index}")
        for index, policy in enumerate(case.get("identityPolicies", []))
    ]
    raw = case["request"]
    account_mode = case.get("mode") == "account"
    request = Request(
        principal=raw["principal"],
        action=raw["action"],
        resource=raw.get("resource", "*" if account_mode else DOCUMENT["keyArn"]),
        principal_tags=raw.get("principalTags", {}),
        context=decode_context(raw.get("context", {})),
    )
    if account_mode:
        evaluation = decide_account_action(identity, request, request.caller.is_account_root)
    else:
        evaluation = decide_key_access(
            _parse(case["keyPolicy"], PolicyKind.KEY, "key-policy"),
            identity,
            request,
            DOCUMENT["keyAccount"],
            grants=[grant_from_json(grant, DOCUMENT["keyArn"]) for grant in case.get("grants", [])],
        )
    assert evaluation.decision is Decision(case["expect"]), (
        f"{case['why']}: got {evaluation.decision} ({evaluation.basis})"
    )
