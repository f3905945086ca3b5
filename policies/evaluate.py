"""Evaluating one policy against a request: which statements apply, and why.

A statement applies when its principal, action, resource and every condition match.
This module reports, per policy, the Deny statements that apply, the Allow
statements that name the caller directly, and (key policies only) the Allow
statements that name the caller's *account* — the delegation to identity policies
that :mod:`policies.authorize` combines with them.

Matching rules:

* **Principal.** ``*`` matches everyone. An ARN matches the caller with that ARN; a
  role ARN also matches every session of the role; a service name matches that
  service. The account root ARN matches the root caller directly and every other
  caller of that account *as an account match*: in an ``Allow`` that is delegation
  (it grants nothing by itself); in a ``Deny`` it denies everyone in the account.
* **NotPrincipal** (``Deny`` only) applies to a caller unless *every* level of the
  caller's hierarchy is listed: the account root, then the user or role, then the
  session. Exempting alice therefore needs both her ARN and her account's root ARN;
  other users of the account stay denied. This is AWS's documented behaviour.
* **Action/NotAction**: case-insensitive; the vendor must be equal, the name is a glob.
* **Resource/NotResource**: case-sensitive, segment-wise ARN globs; ``*`` in a key
  policy means "this key" (the request's resource is always the key's ARN). A
  resource entry whose variable cannot be resolved matches nothing; under
  ``NotResource`` that is indeterminate and resolved like conditions (towards deny).
* A statement without ``Action``/``NotAction`` or ``Resource``/``NotResource``
  matches nothing.

The functions are pure: the only inputs are the parsed policy and the request.
"""

from __future__ import annotations

from enum import StrEnum
from typing import NamedTuple

from policies.conditions import ConditionResult, evaluate_condition
from policies.model import Policy, PrincipalClause, ResourceClause, StatementRef
from policies.principals import CallerIdentity
from policies.request import Request


class Decision(StrEnum):
    ALLOWED = "allowed"
    EXPLICIT_DENY = "explicitDeny"
    IMPLICIT_DENY = "implicitDeny"


class PrincipalMatch(StrEnum):
    """How a statement's principal matched the caller."""

    #: The caller itself, its role, a service name, or everyone.
    DIRECT = "direct"
    #: The root ARN of the caller's account: delegation in an Allow.
    ACCOUNT = "account"


# Enum attribute lookups cost ~100 ns each on Python 3.11; the hot path uses these.
_DIRECT = PrincipalMatch.DIRECT
_ACCOUNT = PrincipalMatch.ACCOUNT


class StatementEvaluation(NamedTuple):
    """A statement whose principal and action matched, and how the rest went.

    ``principal_match`` is ``None`` for identity-policy statements (no principal).
    Results are named tuples rather than frozen dataclasses because one is built on
    every request and a frozen dataclass costs four times as much to construct.
    """

    statement: StatementRef
    principal_match: PrincipalMatch | None
    applies: bool
    resource_matched: bool
    resource_indeterminate: bool
    conditions: tuple[ConditionResult, ...]


class PolicyEvaluation(NamedTuple):
    policy: Policy
    denies: tuple[StatementEvaluation, ...]
    allows: tuple[StatementEvaluation, ...]
    account_allows: tuple[StatementEvaluation, ...]
    evaluated: tuple[StatementEvaluation, ...]
    missing_keys: tuple[str, ...]

    @property
    def decision(self) -> Decision:
        """This policy on its own: any applicable Deny, else any Allow naming the caller.

        An Allow that names only the caller's account delegates and does not count
        here; see :attr:`delegates`.
        """
        if self.denies:
            return Decision.EXPLICIT_DENY
        if self.allows:
            return Decision.ALLOWED
        return Decision.IMPLICIT_DENY

    @property
    def delegates(self) -> bool:
        """Whether an applicable Allow names the caller's account (delegation to IAM)."""
        return bool(self.account_allows)


def match_principal(clause: PrincipalClause, caller: CallerIdentity) -> PrincipalMatch | None:
    arns = clause.arns
    if clause.negated:
        if clause.everyone:
            return None
        for level in caller.hierarchy:
            if level not in arns and level not in clause.services:
                return _DIRECT
        return None
    if clause.everyone or caller.arn in arns or caller.arn in clause.services:
        return _DIRECT
    if caller.role_arn is not None and caller.role_arn in arns:
        return _DIRECT
    if caller.account_root is not None and caller.account_root in arns:
        return _ACCOUNT
    return None


def match_resource(clause: ResourceClause | None, request: Request) -> bool | None:
    """``True``/``False``, or ``None`` when a NotResource variable is unresolved."""
    if clause is None:
        return False
    matched: bool | None = False
    for pattern in clause.patterns:
        outcome = pattern.matches(request.resource, request.resolve_variable)
        if outcome is True:
            matched = True
            break
        if outcome is None:
            matched = None
    if not clause.negated:
        return matched is True
    return None if matched is None else not matched


_NO_CONDITIONS: tuple[ConditionResult, ...] = ()


def evaluate_policy(policy: Policy, request: Request) -> PolicyEvaluation:
    denies: list[StatementEvaluation] = []
    allows: list[StatementEvaluation] = []
    account_allows: list[StatementEvaluation] = []
    evaluated: list[StatementEvaluation] = []
    missing: dict[str, str] | None = None
    caller = request.caller
    vendor = request.action_vendor
    name = request.action_name
    entries = request.entries
    for statement in policy.statements:
        principal_match: PrincipalMatch | None = None
        if statement.principal is not None:
            principal_match = match_principal(statement.principal, caller)
            if principal_match is None:
                continue
        action = statement.action
        if action is None or not action.matches(vendor, name):
            continue
        for key, written in statement.referenced_keys:
            if key not in entries:
                if missing is None:
                    missing = {}
                missing.setdefault(key, written)
        is_deny = statement.is_deny
        resource = match_resource(statement.resource, request)
        conditions = _NO_CONDITIONS
        applies = resource is True or (resource is None and is_deny)
        if resource is not False and statement.conditions:
            conditions = tuple(
                [
                    evaluate_condition(condition, request, is_deny)
                    for condition in statement.conditions
                ]
            )
            for result in conditions:
                if not result.result:
                    applies = False
        evaluation = StatementEvaluation(
            statement.ref, principal_match, applies, resource is True, resource is None, conditions
        )
        evaluated.append(evaluation)
        if not applies:
            continue
        if is_deny:
            denies.append(evaluation)
        elif principal_match is _ACCOUNT:
            account_allows.append(evaluation)
        else:
            allows.append(evaluation)
    return PolicyEvaluation(
        policy,
        tuple(denies),
        tuple(allows),
        tuple(account_allows),
        tuple(evaluated),
        tuple(missing[key] for key in sorted(missing)) if missing else (),
    )
