"""Policy unit tests: declare who may do what, and check a key policy against it.

A test file is JSON::

    {
      "description": "optional text",
      "policy": "policies/key-policy.json",
      "identityPolicies": {
        "arn:aws:iam::111122223333:user/alice": ["policies/alice.json"],
        "arn:aws:iam::111122223333:role/App": {"Version": "2012-10-17", "Statement": []}
      },
      "keyArn": "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
      "keyAccount": "111122223333",
      "cases": [
        {
          "name": "alice may decrypt for IT",
          "principal": "arn:aws:iam::111122223333:user/alice",
          "principalTags": {"team": "it"},
          "action": "kms:Decrypt",
          "resource": "optional; defaults to keyArn, or * for account actions",
          "context": {"kms:EncryptionContext:Dept": "IT", "aws:CurrentTime": {"$date": "..."}},
          "grants": [{"GranteePrincipal": "arn:aws:iam::111122223333:role/App",
                      "Operations": ["Decrypt"],
                      "Constraints": {"EncryptionContextSubset": {"Dept": "IT"}}}],
          "expect": "allowed"
        }
      ]
    }

* ``policy`` is the key policy: a path relative to the test file, or an inline JSON
  object (its line/column positions then refer to the re-serialised text).
* ``identityPolicies`` (optional) maps a principal ARN to its identity policies (one
  or a list; paths or inline objects). A role session uses its role's policies.
* ``keyAccount`` defaults to the account in ``keyArn``.
* ``grants`` (optional) are the key's grants for the case, in AWS's
  ``GrantListEntry`` shape; a grant can only allow, never lift a Deny.
* ``expect`` is ``allowed``, ``explicitDeny`` or ``implicitDeny``.
* Context values are JSON strings, numbers, booleans or lists of them (a list is a
  multi-valued key); ``{"$date": "..."}``, ``{"$ip": "..."}`` and
  ``{"$base64": "..."}`` give datetimes, IP addresses and bytes.

Account-level actions (``kms:CreateKey``, ``kms:ListKeys``, ``trent:ReadAuditLog``...)
are decided from the identity policies alone, with the account root allowed.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass
from ipaddress import ip_address
from pathlib import Path
from typing import Any

from policies.actions import is_account_action
from policies.authorize import Evaluation, decide_account_action, decide_key_access
from policies.errors import PolicyDocumentError
from policies.evaluate import Decision
from policies.grants import Grant, GrantDocumentError, grant_from_json
from policies.model import Policy, PolicyKind
from policies.operands import ContextScalar, parse_date
from policies.parser import parse_policy
from policies.request import ContextError, ContextValue, Request


class TestFileError(ValueError):
    """The test file itself is unusable (bad JSON, a missing field, an invalid policy)."""

    __test__ = False


@dataclass(frozen=True, slots=True)
class CaseResult:
    __test__ = False

    name: str
    principal: str
    action: str
    expected: Decision
    actual: Decision | None
    basis: str | None
    error: str | None = None

    @property
    def passed(self) -> bool:
        return self.error is None and self.actual is self.expected


@dataclass(frozen=True, slots=True)
class TestReport:
    __test__ = False

    path: str
    description: str | None
    results: tuple[CaseResult, ...]

    @property
    def passed(self) -> bool:
        return all(result.passed for result in self.results)

    @property
    def failures(self) -> tuple[CaseResult, ...]:
        return tuple(result for result in self.results if not result.passed)


def run_test_file(path: str | Path) -> TestReport:
    """Run every case of a test file; raise TestFileError if the file is unusable."""
    file = Path(path)
    try:
        document = json.loads(file.read_text(encoding="utf-8"), object_pairs_hook=_no_duplicates)
    except (OSError, ValueError) as error:
        raise TestFileError(f"{file}: {error}") from error
    if not isinstance(document, dict):
        raise TestFileError(f"{file}: a test file is a JSON object")
    suite = _Suite(file, document)
    return TestReport(
        path=str(file),
        description=document.get("description"),
        results=tuple(suite.run(case, index) for index, case in enumerate(suite.cases)),
    )


def decode_context(raw: Mapping[str, Any]) -> dict[str, ContextValue]:
    """Context values from JSON: scalars, lists, and ``$date``/``$ip``/``$base64`` objects."""
    decoded: dict[str, ContextValue] = {}
    for name, value in raw.items():
        if isinstance(value, list):
            decoded[name] = [_context_scalar(name, item) for item in value]
        else:
            decoded[name] = _context_scalar(name, value)
    return decoded


def _context_scalar(name: str, value: object) -> ContextScalar:
    if isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, dict) and len(value) == 1:
        ((tag, text),) = value.items()
        if isinstance(text, str):
            try:
                if tag == "$date":
                    return parse_date(text)
                if tag == "$ip":
                    return ip_address(text)
                if tag == "$base64":
                    return base64.b64decode(text, validate=True)
            except ValueError as error:
                raise TestFileError(f"context value of {name}: {error}") from error
    raise TestFileError(f"context value of {name} is not supported: {value!r}")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


class _Suite:
    def __init__(self, file: Path, document: dict[str, Any]) -> None:
        self.file = file
        self.key_policy = self.load(document.get("policy"), PolicyKind.KEY, "policy")
        key_arn = document.get("keyArn")
        if not isinstance(key_arn, str):
            raise TestFileError(f"{file}: keyArn must be the key's ARN")
        self.key_arn = key_arn
        parts = key_arn.split(":")
        key_account = document.get("keyAccount", parts[4] if len(parts) >= 6 else None)
        if not isinstance(key_account, str):
            raise TestFileError(f"{file}: keyAccount is missing and keyArn has no account")
        self.key_account = key_account
        self.identity: dict[str, list[Policy]] = {}
        raw_identity = document.get("identityPolicies", {})
        if not isinstance(raw_identity, dict):
            raise TestFileError(f"{file}: identityPolicies maps principal ARNs to policies")
        for principal, entries in raw_identity.items():
            listed = entries if isinstance(entries, list) else [entries]
            self.identity[principal] = [
                self.load(entry, PolicyKind.IDENTITY, f"identityPolicies[{principal}][{index}]")
                for index, entry in enumerate(listed)
            ]
        cases = document.get("cases")
        if not isinstance(cases, list) or not cases:
            raise TestFileError(f"{file}: cases must be a non-empty list")
        self.cases: list[Any] = cases

    def load(self, entry: Any, kind: PolicyKind, label: str) -> Policy:
        if isinstance(entry, str):
            path = self.file.parent / entry
            try:
                text = path.read_text(encoding="utf-8")
            except OSError as error:
                raise TestFileError(f"{self.file}: {label}: {error}") from error
            source = entry
        elif isinstance(entry, dict):
            text = json.dumps(entry, indent=2)
            source = label
        else:
            raise TestFileError(f"{self.file}: {label} must be a path or a JSON object")
        try:
            return parse_policy(text, kind, source=source)
        except PolicyDocumentError as error:
            raise TestFileError(f"{self.file}: {label} is not a valid policy: {error}") from error

    def run(self, case: Any, index: int) -> CaseResult:
        if not isinstance(case, dict):
            raise TestFileError(f"{self.file}: case {index} must be an object")
        name = str(case.get("name", f"case {index}"))
        principal = case.get("principal")
        action = case.get("action")
        try:
            expected = Decision(str(case.get("expect")))
        except ValueError as error:
            raise TestFileError(
                f"{self.file}: case {name!r}: expect must be allowed, explicitDeny or implicitDeny"
            ) from error
        if not isinstance(principal, str) or not isinstance(action, str):
            raise TestFileError(f"{self.file}: case {name!r} needs a principal and an action")
        try:
            evaluation = self.decide(case, principal, action)
        except (ContextError, TestFileError, ValueError) as error:
            return CaseResult(name, principal, action, expected, None, None, str(error))
        return CaseResult(
            name, principal, action, expected, evaluation.decision, evaluation.basis.value
        )

    def decide(self, case: dict[str, Any], principal: str, action: str) -> Evaluation:
        account_level = is_account_action(action)
        resource = case.get("resource", "*" if account_level else self.key_arn)
        request = Request(
            principal=principal,
            action=action,
            resource=resource,
            principal_tags=case.get("principalTags", {}),
            context=decode_context(case.get("context", {})),
        )
        policies = list(self.identity.get(principal, []))
        role = request.caller.role_arn
        if role is not None:
            policies.extend(self.identity.get(role, []))
        if account_level:
            return decide_account_action(policies, request, request.caller.is_account_root)
        return decide_key_access(
            self.key_policy,
            policies,
            request,
            self.key_account,
            grants=self.grants(case),
        )

    def grants(self, case: dict[str, Any]) -> list[Grant]:
        if "grantAllows" in case:
            raise TestFileError(
                f'{self.file}: grantAllows is gone: give the grants themselves as "grants" '
                "(GranteePrincipal, Operations, Constraints)"
            )
        raw = case.get("grants", [])
        if not isinstance(raw, list):
            raise TestFileError(f"{self.file}: grants must be a list")
        try:
            return [grant_from_json(grant, self.key_arn, index) for index, grant in enumerate(raw)]
        except GrantDocumentError as error:
            raise TestFileError(f"{self.file}: {error}") from error
