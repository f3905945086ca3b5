"""The policy simulator: decisions for a list of actions, explained, as plain JSON data.

``simulate`` is modelled on IAM's ``SimulateCustomPolicy``, made KMS-aware: it takes
a key policy and the caller's identity policies, expands action wildcards against
the KMS action catalogue, decides each action as the service would (key actions by
:func:`~policies.authorize.decide_key_access`, account actions by
:func:`~policies.authorize.decide_account_action`) and explains the result:
decisive and matched statements with their source spans, every statement whose
principal and action matched with its per-condition outcome, the keys the policies
read that the request did not supply, and each policy's own verdict. ``Warnings``
names what in the request is probably a mistake (an unknown action, a context key
without a namespace).

Grants are an input like the policies (``grants``: :class:`~policies.grants.Grant`
objects or AWS's ``GrantListEntry`` JSON), so a decision a grant made is explained
by the grant's id (``DecisiveGrants``) like a policy's by its statements.

Without a key policy (``None``) the identity policies alone are evaluated for every
action, as IAM's simulator does; the service itself would also need a key policy
that allows or delegates.

The output is deterministic: the same input gives byte-identical
``json.dumps(result, sort_keys=True)``. Lists keep a defined order (actions in
input order then catalogue order; statements by policy then index).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from policies.actions import expand_action_pattern, is_account_action
from policies.authorize import Evaluation, decide_account_action, decide_key_access
from policies.conditions import ConditionResult
from policies.evaluate import StatementEvaluation
from policies.grants import Grant, grant_from_json
from policies.model import Policy, PolicyKind, StatementRef
from policies.operands import display_value
from policies.parser import parse_policy
from policies.request import ContextValue, Request
from policies.simulation_report import warnings

KEY_POLICY_SOURCE = "key-policy"
IdentityPolicies = Sequence[str | Policy] | Mapping[str, str | Policy]


def simulate(
    key_policy: str | Policy | None,
    identity_policies: IdentityPolicies,
    principal: str,
    actions: Sequence[str],
    resource: str | None = None,
    context: Mapping[str, ContextValue] | None = None,
    *,
    principal_tags: Mapping[str, str] | None = None,
    principal_account: str | None = None,
    key_account: str | None = None,
    grants: Sequence[Grant | Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """Simulate ``actions`` for ``principal``; raise PolicyError for an invalid policy
    and GrantDocumentError for an invalid grant."""
    parsed_key_policy = _key_policy(key_policy)
    parsed_grants = [
        grant if isinstance(grant, Grant) else grant_from_json(grant, resource or "*", index)
        for index, grant in enumerate(grants)
    ]
    parsed_identity = _identity_policies(identity_policies)
    expanded = expand_actions(actions)
    results = []
    for action in expanded:
        account_level = is_account_action(action)
        target = "*" if account_level else resource
        if target is None:
            raise ValueError(f"{action} acts on a key: give the key ARN as resource")
        request = Request(
            principal=principal,
            action=action,
            resource=target,
            principal_account=principal_account,
            principal_tags=dict(principal_tags or {}),
            context=dict(context or {}),
        )
        if parsed_key_policy is None:
            evaluation = _identity_only(parsed_identity, request)
        elif account_level:
            evaluation = decide_account_action(
                parsed_identity, request, is_root=request.caller.is_account_root
            )
        else:
            owner = key_account or _account_of(target) or request.account or ""
            evaluation = decide_key_access(
                parsed_key_policy, parsed_identity, request, owner, grants=parsed_grants
            )
        results.append(_result(action, target, evaluation))
    return {
        "Principal": principal,
        "PrincipalAccount": principal_account or _account_of(principal),
        "Resource": resource,
        "Context": {name: _context_json(value) for name, value in sorted((context or {}).items())},
        "EvaluationResults": results,
        # Mistakes in the request that would otherwise pass as a decision
        # (policies.simulation_report).
        "Warnings": warnings(actions, sorted(context or {})),
    }


def expand_actions(actions: Sequence[str]) -> list[str]:
    """Wildcard patterns expanded against the catalogue; duplicates dropped, order kept."""
    expanded: list[str] = []
    for action in actions:
        if "*" in action or "?" in action:
            matches = expand_action_pattern(action)
            if not matches:
                raise ValueError(f"{action} matches no known action")
        else:
            matches = (action,)
        for match in matches:
            if match not in expanded:
                expanded.append(match)
    return expanded


def context_keys(policies: Sequence[Policy]) -> list[str]:
    """Every condition key and variable the policies read (IAM's GetContextKeysFor…)."""
    keys: dict[str, str] = {}
    for policy in policies:
        for statement in policy.statements:
            for key, written in statement.referenced_keys:
                keys.setdefault(key, written)
    return [keys[key] for key in sorted(keys)]


def _key_policy(key_policy: str | Policy | None) -> Policy | None:
    if key_policy is None or isinstance(key_policy, Policy):
        return key_policy
    return parse_policy(key_policy, PolicyKind.KEY, source=KEY_POLICY_SOURCE)


def _identity_policies(policies: IdentityPolicies) -> list[Policy]:
    named: list[tuple[str, str | Policy]]
    if isinstance(policies, Mapping):
        named = [(str(name), policy) for name, policy in policies.items()]
    else:
        named = [(f"identity-policy-{index}", policy) for index, policy in enumerate(policies)]
    return [
        policy
        if isinstance(policy, Policy)
        else parse_policy(policy, PolicyKind.IDENTITY, source=name)
        for name, policy in named
    ]


def _identity_only(policies: Sequence[Policy], request: Request) -> Evaluation:
    # The account-root default is deliberately off: this answers what the identity
    # policies themselves say.
    return decide_account_action(policies, request, is_root=False)


def _account_of(arn: str) -> str | None:
    parts = arn.split(":")
    if len(parts) >= 6 and parts[0] == "arn" and len(parts[4]) == 12 and parts[4].isdigit():
        return parts[4]
    return None


def _position(line: int, column: int) -> dict[str, int]:
    return {"Line": line, "Column": column}


def _statement_json(ref: StatementRef) -> dict[str, Any]:
    return {
        "Source": ref.source,
        "PolicyId": ref.policy_id,
        "Sid": ref.sid,
        "Index": ref.index,
        "Effect": ref.effect.value,
        "Pointer": ref.pointer,
        "StartPosition": _position(ref.span.start.line, ref.span.start.column),
        "EndPosition": _position(ref.span.end.line, ref.span.end.column),
    }


def _condition_json(result: ConditionResult) -> dict[str, Any]:
    return {
        "Operator": result.operator,
        "Key": result.key,
        "RequestValues": list(result.request_values),
        "PolicyValues": list(result.policy_values),
        "Result": result.result,
        "Indeterminate": result.indeterminate,
        "Reason": result.reason,
        "MatchedBecauseMissing": result.matched_because_missing,
        "FailedBecauseMissing": result.failed_because_missing,
    }


def _evaluated_json(evaluation: StatementEvaluation) -> dict[str, Any]:
    entry = _statement_json(evaluation.statement)
    entry.update(
        {
            "Applies": evaluation.applies,
            "PrincipalMatch": evaluation.principal_match.value
            if evaluation.principal_match is not None
            else None,
            "ResourceMatched": evaluation.resource_matched,
            "ResourceIndeterminate": evaluation.resource_indeterminate,
            "Conditions": [_condition_json(result) for result in evaluation.conditions],
        }
    )
    return entry


def _result(action: str, resource: str, evaluation: Evaluation) -> dict[str, Any]:
    return {
        "Action": action,
        "Resource": resource,
        "Decision": evaluation.decision.value,
        "Basis": evaluation.basis.value,
        "DecisiveStatements": [_statement_json(ref) for ref in evaluation.decisive_statements],
        "DecisiveGrants": list(evaluation.decisive_grants),
        "MatchedStatements": [_statement_json(ref) for ref in evaluation.matched_statements],
        "EvaluatedStatements": [_evaluated_json(item) for item in evaluation.statements],
        "MissingContextValues": list(evaluation.missing_context_values),
        "PolicyDecisions": [
            {
                "Source": item.source,
                "Kind": item.kind.value,
                "Decision": item.decision.value,
                "DelegatesToIdentityPolicies": item.delegates,
            }
            for item in evaluation.policy_decisions
        ],
    }


def _context_json(value: ContextValue) -> Any:
    if isinstance(value, list | tuple):
        return [_context_json(item) for item in value]
    if isinstance(value, bool | int | str):
        return value
    return display_value(value)
