"""Separation of duties: no principal but the account root may both manage and use a key.

The service refuses a key policy with a violation unless the caller sets an explicit
(audited) bypass flag. The check is deliberately conservative:

* A principal's actions are the union over every ``Allow`` statement naming it,
  regardless of conditions (a condition is one policy edit away from being removed,
  and an administrator can edit the policy).
* What ``"*"`` is given, every named principal is given too; what a role is given,
  each of its sessions named in the policy is given too.
* *Management* actions (changing a key, its policy, aliases, tags, rotation,
  deletion, grants revocation...) and *usage* actions (cryptographic operations,
  Sign, Verify, GenerateMac and VerifyMac among them, ``kms:GetPublicKey`` and
  ``kms:CreateGrant``) must not meet. Read-only actions (Describe/Get/List) are
  neutral: key users may describe the key.
* The account root (``arn:…:iam::<acct>:root``) is exempt: it stands for the account
  and its IAM administrators, who hold every permission anyway.
"""

from __future__ import annotations

import re

from policies.actions import ALL_ACTIONS, MANAGEMENT_ACTIONS, USAGE_ACTIONS
from policies.findings import Finding, Severity, make_finding
from policies.model import ActionClause, Effect, Policy, PolicyKind
from policies.source import pointer_positions

SEPARATION_OF_DUTIES = "separation-of-duties"
_SESSION = re.compile(r"arn:(?P<p>[^:]+):sts::(?P<a>[0-9]{12}):assumed-role/(?P<r>[^/]+)/.+")


def covered_actions(clause: ActionClause | None) -> frozenset[str]:
    """The catalogue actions an Action/NotAction clause covers."""
    if clause is None:
        return frozenset()
    covered: set[str] = set()
    for action in ALL_ACTIONS:
        vendor, _, name = action.lower().partition(":")
        if clause.matches(vendor, name):
            covered.add(action)
    return frozenset(covered)


def _granted_actions(policy: Policy) -> tuple[dict[str, set[str]], dict[str, str]]:
    """What each named principal (not the root) is given, with what ``*`` and its
    role are given folded in; and where each was first given a usage action."""
    granted: dict[str, set[str]] = {}
    usage_pointer: dict[str, str] = {}
    for statement in policy.statements:
        principal = statement.principal
        if statement.effect is not Effect.ALLOW or principal is None or principal.negated:
            continue
        covered = covered_actions(statement.action)
        if not covered:
            continue
        for entry in principal.entries:
            if entry.endswith(":root"):
                continue
            granted.setdefault(entry, set()).update(covered)
            if covered & USAGE_ACTIONS:
                usage_pointer.setdefault(entry, statement.ref.pointer)
    everyone = granted.get("*", set())
    for entry, actions in granted.items():
        actions |= everyone
        role = _role_of(entry)
        if role is not None:
            actions |= granted.get(role, set())
    return granted, usage_pointer


def _role_of(principal: str) -> str | None:
    session = _SESSION.fullmatch(principal)
    if session is None:
        return None
    return f"arn:{session['p']}:iam::{session['a']}:role/{session['r']}"


def management_actions_of(policy: Policy, principal: str) -> frozenset[str]:
    """The management actions the key policy gives ``principal`` (by the same
    conservative reading as the check: conditions ignored, ``*`` and the role of a
    session included). The account root manages nothing here: it is exempt.

    CreateGrant uses this to refuse a grant of key use to a key administrator.
    """
    if principal.endswith(":root"):
        return frozenset()
    granted, _ = _granted_actions(policy)
    actions = set(granted.get(principal, granted.get("*", set())))
    role = _role_of(principal)
    if role is not None:
        actions |= granted.get(role, set())
    return frozenset(actions & MANAGEMENT_ACTIONS)


def separation_of_duties_violations(policy: Policy) -> list[Finding]:
    """One error finding per non-root principal given both management and usage actions."""
    if policy.kind is not PolicyKind.KEY:
        return []
    granted, usage_pointer = _granted_actions(policy)
    positions = pointer_positions(policy.text)
    findings: list[Finding] = []
    for entry in sorted(granted):
        management = sorted(granted[entry] & MANAGEMENT_ACTIONS)
        usage = sorted(granted[entry] & USAGE_ACTIONS)
        if not management or not usage:
            continue
        pointer = usage_pointer.get(entry) or usage_pointer.get("*", "")
        who = "every principal (*)" if entry == "*" else entry
        findings.append(
            make_finding(
                positions,
                SEPARATION_OF_DUTIES,
                Severity.ERROR,
                f"{who} may both manage the key ({_sample(management)}) and use it "
                f"({_sample(usage)}); give administrators and users separate statements "
                "(kms:CreateGrant counts as use).",
                f"{pointer}/Principal" if pointer else "",
            )
        )
    return findings


def _sample(actions: list[str]) -> str:
    shown = ", ".join(actions[:3])
    return shown + (f" and {len(actions) - 3} more" if len(actions) > 3 else "")
