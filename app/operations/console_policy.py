"""The console's key and policy pages: who may do what with a key, and the
policy playground.

Both are answers of the simulator (:func:`app.operations.policy_authoring.simulate_policy`)
and the validator, called with the caller's own authorization: a key's
access is worked out only for a caller allowed ``kms:GetKeyPolicy`` on it,
from the key policy and the identity policies the caller may read
(``iam:GetPrincipalPolicy``); a policy is applied only through PutKeyPolicy,
with its lockout and separation-of-duties checks.
"""

from __future__ import annotations

import difflib
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import policies
from app.audit import query
from app.errors import KmsError, ValidationError
from app.operations import audit_log, identity, keys, policy_authoring, policy_documents
from app.operations.context import OperationContext
from app.operations.kinds import read_only
from app.operations.services import Services

#: What "may administer" and "may use" are decided on.
ADMINISTER = tuple(sorted(policies.MANAGEMENT_ACTIONS))
USE = tuple(sorted(policies.USAGE_ACTIONS))
#: Principals of a key's audit events looked at (the newest events).
AUDITED_EVENTS = 1000
PLAYGROUND_STEPS = ("lint", "simulate", "test", "diff")


@dataclass(frozen=True)
class KeyAccessRequest:
    key_id: str


@read_only
def key_access_page(
    services: Services, ctx: OperationContext, req: KeyAccessRequest
) -> dict[str, Any]:
    """For each principal the key policy names or the key's audit events show:
    whether it may administer the key, use it, or both (flagged)."""
    described = keys.describe_key(services, ctx, keys.DescribeKeyRequest(req.key_id))
    metadata = described["KeyMetadata"]
    document = policy_documents.get_key_policy(
        services, ctx, policy_documents.GetKeyPolicyRequest(metadata["KeyId"])
    )["Policy"]
    principals = set(_policy_principals(document))
    audited, audit_note = _audited_principals(services, ctx, metadata["Arn"])
    principals |= audited
    rows = []
    notes = [audit_note] if audit_note else []
    for principal in sorted(principals):
        identity_policies, readable = _identity_policies(services, ctx, principal)
        if not readable:
            notes.append(f"{principal}: identity policies not readable; key policy alone")
        result = policies.simulate(
            document,
            identity_policies,
            principal,
            [*ADMINISTER, *USE],
            metadata["Arn"],
            {},
            key_account=metadata["AWSAccountId"],
        )["EvaluationResults"]
        allowed = {r["Action"] for r in result if r["Decision"] == "allowed"}
        administers = sorted(a for a in ADMINISTER if a in allowed)
        uses = sorted(a for a in USE if a in allowed)
        rows.append(
            {
                "Principal": principal,
                "Administers": administers,
                "Uses": uses,
                "Both": bool(administers and uses),
                "SeenInAudit": principal in audited,
            }
        )
    return {"KeyMetadata": metadata, "Principals": rows, "Notes": notes}


def _policy_principals(document: str) -> list[str]:
    found: list[str] = []
    for statement in _statements(json.loads(document)):
        principal = statement.get("Principal")
        values: Any = principal.get("AWS", []) if isinstance(principal, dict) else principal
        for value in values if isinstance(values, list) else [values]:
            if isinstance(value, str) and value.startswith("arn:") and "*" not in value:
                found.append(value)
    return found


def _statements(parsed: Any) -> list[dict[str, Any]]:
    listed = parsed.get("Statement", []) if isinstance(parsed, dict) else []
    listed = listed if isinstance(listed, list) else [listed]
    return [s for s in listed if isinstance(s, dict)]


def _audited_principals(
    services: Services, ctx: OperationContext, key_arn: str
) -> tuple[set[str], str | None]:
    try:
        audit_log.authorize_audit_read(services, ctx, None)
    except KmsError:
        return set(), "Principals from the audit log need trent:ReadAuditLog: key policy only."
    page = query.search(
        services.audit.repository,
        query.AuditQuery(key=key_arn),
        account=ctx.principal.account,
        limit=AUDITED_EVENTS,
    )
    seen = {(e.get("principal") or {}).get("arn") for e in page.events}
    return {arn for arn in seen if isinstance(arn, str)}, None


def _identity_policies(
    services: Services, ctx: OperationContext, principal: str
) -> tuple[dict[str, str], bool]:
    if principal.endswith(":root") or f"::{ctx.principal.account}:" not in principal:
        return {}, True
    try:
        names = identity.list_principal_policies(
            services, ctx, identity.PrincipalPolicyRequest(principal)
        )["PolicyNames"]
        return {
            name: identity.get_principal_policy(
                services, ctx, identity.PrincipalPolicyRequest(principal, name)
            )["PolicyDocument"]
            for name in names
        }, True
    except KmsError:
        return {}, False


@dataclass(frozen=True)
class PlaygroundRequest:
    policy: str = ""
    step: str = "lint"
    key: str | None = None
    principal: str | None = None
    actions: str | None = None
    context: str | None = None
    tests: str | None = None


@read_only
def playground(services: Services, ctx: OperationContext, req: PlaygroundRequest) -> dict[str, Any]:
    """Lint always; then simulate, run a test file or diff, as asked."""
    result: dict[str, Any] = {"Request": req, "Current": None}
    key_arn = None
    if req.key:
        described = keys.describe_key(services, ctx, keys.DescribeKeyRequest(req.key))
        key_arn = described["KeyMetadata"]["Arn"]
        current = policy_documents.get_key_policy(
            services,
            ctx,
            policy_documents.GetKeyPolicyRequest(described["KeyMetadata"]["KeyId"]),
        )["Policy"]
        result["Current"] = current
        result["KeyArn"] = key_arn
    policy = req.policy or result["Current"] or ""
    result["Policy"] = policy
    if not policy:
        return result
    result["Lint"] = policy_authoring.validate_policy(
        services, ctx, policy_authoring.ValidatePolicyRequest(policy)
    )
    if req.step == "simulate":
        result["Simulation"] = _simulate(services, ctx, req, policy, key_arn)
    elif req.step == "test":
        result["Tests"] = _run_tests(req.tests or "")
    elif req.step == "diff":
        if result["Current"] is None:
            raise ValidationError("Name a key to compare its current policy with.", field="key")
        result["Diff"] = policy_diff(result["Current"], policy)
    return result


def _simulate(
    services: Services,
    ctx: OperationContext,
    req: PlaygroundRequest,
    policy: str,
    key_arn: str | None,
) -> dict[str, Any]:
    if not req.principal or not req.actions:
        raise ValidationError("A simulation needs a principal and an action.", field="principal")
    actions = [a.strip() for a in req.actions.replace(",", " ").split() if a.strip()]
    context, warnings = parse_context(req.context or "")
    warnings += [
        f"{a} is not a known action: it matches nothing"
        for a in actions
        if "*" not in a and a not in policies.ALL_ACTIONS
    ]
    resource = key_arn or (
        f"arn:{services.settings.partition}:kms:{services.settings.region}:"
        f"{ctx.principal.account}:key/00000000-0000-0000-0000-000000000000"
    )
    answer = policy_authoring.simulate_policy(
        services,
        ctx,
        policy_authoring.SimulatePolicyRequest(
            principal=req.principal,
            actions=actions,
            policy=policy,
            resource=resource,
            context=context,
        ),
    )
    answer["Warnings"] = warnings
    return answer


def parse_context(text: str) -> tuple[dict[str, Any], list[str]]:
    """``name=value`` lines (a name repeated makes a list); warns of names
    without a namespace, which no condition key matches."""
    context: dict[str, Any] = {}
    warnings: list[str] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        name, sep, value = line.partition("=")
        name = name.strip()
        if not sep or not name:
            raise ValidationError(f"Context line {number} is not name=value.", field="context")
        if ":" not in name:
            warnings.append(f"{name} has no namespace: did you mean kms:EncryptionContext:{name}?")
        value = value.strip()
        if name in context:
            previous = context[name]
            context[name] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            context[name] = value
    return context, warnings


def policy_diff(current: str, proposed: str) -> list[str]:
    return list(
        difflib.unified_diff(
            _normalised(current).splitlines(),
            _normalised(proposed).splitlines(),
            "current",
            "proposed",
            lineterm="",
        )
    )


def _normalised(document: str) -> str:
    try:
        return json.dumps(json.loads(document), indent=2, sort_keys=True)
    except ValueError:
        return document


def _run_tests(text: str) -> dict[str, Any]:
    """A policy test file pasted in: its policies must be inline (a path
    would name a file of this server)."""
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise ValidationError(f"The test file is not JSON: {exc}", field="tests") from None
    if not isinstance(document, dict):
        raise ValidationError("A test file is a JSON object.", field="tests")
    entries = [document.get("policy")]
    identity_policies = document.get("identityPolicies") or {}
    if isinstance(identity_policies, dict):
        for value in identity_policies.values():
            entries += value if isinstance(value, list) else [value]
    if any(isinstance(entry, str) for entry in entries):
        raise ValidationError(
            "Policies in a pasted test file must be inline objects.", field="tests"
        )
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "tests.json"
        path.write_text(text, encoding="utf-8")
        try:
            report = policies.run_test_file(path)
        except policies.TestFileError as exc:
            raise ValidationError(str(exc).replace(str(path), "test file"), field="tests") from None
    return {
        "Passed": report.passed,
        "Cases": [
            {
                "Name": r.name,
                "Principal": r.principal,
                "Action": r.action,
                "Expected": r.expected.value,
                "Actual": r.actual.value if r.actual else None,
                "Error": r.error,
                "Passed": r.passed,
            }
            for r in report.results
        ],
    }


@dataclass(frozen=True)
class ApplyPolicyRequest:
    key: str
    policy: str


def apply_policy(
    services: Services, ctx: OperationContext, req: ApplyPolicyRequest
) -> dict[str, Any]:
    """PutKeyPolicy itself: its authorization, lockout and separation-of-duties checks."""
    key_id = keys.describe_key(services, ctx, keys.DescribeKeyRequest(req.key))["KeyMetadata"][
        "KeyId"
    ]
    policy_documents.put_key_policy(
        services, ctx, policy_documents.PutKeyPolicyRequest(key_id=key_id, policy=req.policy)
    )
    return {"Applied": key_id}
