"""Lint: valid policies that are dangerous or do not do what they seem to.

``lint_policy`` returns findings sorted by position. Errors are what the service
refuses (separation of duties) or what grants far more than intended (an unconditional
``Principal: "*"`` allow); warnings are everything else. (Unknown action and
condition-key names are not lint findings: the parser refuses them.) The codes are
stable:

=============================== ======== ==================================================
code                            severity meaning
=============================== ======== ==================================================
separation-of-duties            error    a non-root principal may manage and use the key
public-allow                    error    ``Allow`` to ``Principal: "*"`` without a condition
full-access-to-non-root         warning  ``kms:*`` or ``*`` given to a non-root principal
missing-version                 warning  no ``Version``: 2008 semantics, variables literal
legacy-version                  warning  ``Version`` 2008-10-17: variables are literal
literal-variable                warning  ``${...}`` text in a policy without variables
statement-matches-nothing       warning  the statement can never apply
allow-with-not-action           warning  ``Allow`` + ``NotAction`` grants unlisted actions
allow-with-not-resource         warning  ``Allow`` + ``NotResource``
set-operator-on-single-value    warning  ``ForAllValues``/``ForAnyValue`` on a single key
plain-operator-on-multi-value   warning  a plain operator on a multi-valued key
mfa-without-if-exists           warning  ``Bool aws:MultiFactorAuthPresent`` w/o IfExists
arn-value-not-arn               warning  an Arn* condition value that is not an ARN
no-policy-administrator         warning  nobody may ever call ``kms:PutKeyPolicy``
unsupplied-condition-key        warning  a documented key Trent never puts in a request
=============================== ======== ==================================================
"""

from __future__ import annotations

from policies import condition_keys
from policies.conditions import result_when_missing
from policies.findings import Finding, Severity, make_finding
from policies.matching import ArnPattern
from policies.model import (
    VERSION_2008,
    Condition,
    Effect,
    Policy,
    PolicyKind,
    ResourceClause,
    Statement,
)
from policies.operators import Family
from policies.separation import covered_actions, separation_of_duties_violations
from policies.source import Locator, NodeKind, Position, pointer_positions, read_json

_KMS_SERVICE = "kms"
_KEY_RESOURCE_PREFIX = "key/"


def lint_policy(policy: Policy) -> list[Finding]:
    """All findings for a parsed policy, sorted by position then code."""
    linter = _Linter(policy)
    linter.run()
    findings = linter.findings + separation_of_duties_violations(policy)
    return sorted(findings, key=lambda finding: (finding.line, finding.column, finding.code))


def has_errors(findings: list[Finding]) -> bool:
    return any(finding.severity is Severity.ERROR for finding in findings)


class _Linter:
    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.positions: dict[str, Position] = pointer_positions(policy.text)
        self.findings: list[Finding] = []

    def add(self, code: str, severity: Severity, message: str, pointer: str) -> None:
        self.findings.append(make_finding(self.positions, code, severity, message, pointer))

    def run(self) -> None:
        self.version()
        for statement in self.policy.statements:
            self.reachability(statement)
            self.breadth(statement)
            for condition in statement.conditions:
                self.condition(condition)
        if self.policy.kind is PolicyKind.KEY:
            self.administrator()

    def version(self) -> None:
        policy = self.policy
        if policy.version is None:
            self.add(
                "missing-version",
                Severity.WARNING,
                "No Version: the policy is read with 2008-10-17 semantics, so policy "
                'variables are literal text. Add "Version": "2012-10-17".',
                "",
            )
        elif policy.version == VERSION_2008:
            self.add(
                "legacy-version",
                Severity.WARNING,
                'Version 2008-10-17 treats policy variables as literal text; use "2012-10-17".',
                "/Version",
            )
        if not policy.supports_variables:
            for pointer in _strings_with_variables(policy.text):
                self.add(
                    "literal-variable",
                    Severity.WARNING,
                    "This ${...} is literal text: variables need Version 2012-10-17.",
                    pointer,
                )

    def reachability(self, statement: Statement) -> None:
        pointer = statement.ref.pointer
        reasons: list[tuple[str, str]] = []
        if statement.action is None:
            reasons.append(("it has no Action or NotAction", pointer))
        elif statement.action.negated and self._negation_covers_everything(statement):
            reasons.append(("its NotAction excludes every action", statement.action.pointer))
        if statement.resource is None:
            reasons.append(("it has no Resource or NotResource", pointer))
        elif statement.resource.negated and any(
            pattern.everything for pattern in statement.resource.patterns
        ):
            reasons.append(('its NotResource is "*"', statement.resource.pointer))
        elif self.policy.kind is PolicyKind.KEY and not _may_name_a_key(statement.resource):
            reasons.append(
                ("in a key policy its Resource never names a KMS key", statement.resource.pointer)
            )
        principal = statement.principal
        if principal is not None and principal.negated and principal.everyone:
            reasons.append(('its NotPrincipal is "*", which exempts everyone', principal.pointer))
        for reason, where in reasons:
            self.add(
                "statement-matches-nothing",
                Severity.WARNING,
                f"Statement {_name(statement)} can never apply: {reason}.",
                where,
            )

    def _negation_covers_everything(self, statement: Statement) -> bool:
        action = statement.action
        assert action is not None
        if any(pattern.vendor is None for pattern in action.patterns):
            return True
        return self.policy.kind is PolicyKind.KEY and any(
            pattern.vendor == _KMS_SERVICE and pattern.name.matches_everything
            for pattern in action.patterns
        )

    def breadth(self, statement: Statement) -> None:
        if statement.effect is not Effect.ALLOW:
            return
        action = statement.action
        resource = statement.resource
        if action is not None and action.negated:
            self.add(
                "allow-with-not-action",
                Severity.WARNING,
                f"Statement {_name(statement)} allows every action not listed, including "
                "actions added later; list the allowed actions instead.",
                action.pointer,
            )
        if resource is not None and resource.negated:
            self.add(
                "allow-with-not-resource",
                Severity.WARNING,
                f"Statement {_name(statement)} allows every resource not listed.",
                resource.pointer,
            )
        principal = statement.principal
        if principal is None:
            return
        if principal.everyone and not statement.conditions:
            self.add(
                "public-allow",
                Severity.ERROR,
                f'Statement {_name(statement)} allows Principal "*" without a condition: every '
                "principal of this account, and of any account whose IAM policies allow it, "
                "gets these actions. Add a condition (for example on kms:CallerAccount).",
                principal.pointer,
            )
        full = (
            action is not None
            and not action.negated
            and any(
                pattern.vendor is None
                or (pattern.vendor == _KMS_SERVICE and pattern.name.matches_everything)
                for pattern in action.patterns
            )
        )
        non_root = [entry for entry in principal.entries if not entry.endswith(":root")]
        if full and non_root:
            self.add(
                "full-access-to-non-root",
                Severity.WARNING,
                f"Statement {_name(statement)} gives every KMS action to "
                f"{', '.join(non_root)}; only the account root should hold kms:*.",
                action.pointer if action is not None else statement.ref.pointer,
            )

    def condition(self, condition: Condition) -> None:
        operator = condition.operator
        key = condition.key_lower
        if condition_keys.is_checked(key) and not condition_keys.is_supplied(key):
            always = "true" if result_when_missing(condition) else "false"
            self.add(
                "unsupplied-condition-key",
                Severity.WARNING,
                f"Trent never supplies {condition.key}: it is absent from every request, so "
                f"this {operator.text} condition is always {always} (see docs/policies.md).",
                condition.pointer,
            )
        if operator.set_operator is not None and condition_keys.is_single_valued(key):
            self.add(
                "set-operator-on-single-value",
                Severity.WARNING,
                f"{operator.text} on the single-valued key {condition.key}: ForAllValues "
                "matches requests without the key, ForAnyValue is a plain comparison.",
                condition.pointer,
            )
        if operator.set_operator is None and condition_keys.is_multi_valued(key):
            self.add(
                "plain-operator-on-multi-value",
                Severity.WARNING,
                f"{operator.text} on the multi-valued key {condition.key} needs ForAnyValue: "
                "or ForAllValues:; with several values it is indeterminate (treated as a "
                "failed Allow and an applicable Deny).",
                condition.pointer,
            )
        if (
            operator.spec.family is Family.BOOL
            and key == "aws:multifactorauthpresent"
            and not operator.if_exists
        ):
            self.add(
                "mfa-without-if-exists",
                Severity.WARNING,
                "aws:MultiFactorAuthPresent is absent for long-term credentials; use "
                "BoolIfExists so that a Deny on false also catches them.",
                condition.pointer,
            )
        if operator.spec.family is Family.ARN:
            for value in condition.values:
                if value.template is None and ArnPattern.from_text(value.text) is None:
                    self.add(
                        "arn-value-not-arn",
                        Severity.WARNING,
                        f"{value.text!r} is not an ARN (six colon-separated parts), so "
                        f"{operator.text} never matches it; use StringLike for other values.",
                        condition.pointer,
                    )

    def administrator(self) -> None:
        for statement in self.policy.statements:
            if statement.effect is Effect.ALLOW and "kms:PutKeyPolicy" in covered_actions(
                statement.action
            ):
                return
        self.add(
            "no-policy-administrator",
            Severity.WARNING,
            "No statement allows kms:PutKeyPolicy: nobody could ever change this key policy.",
            "/Statement",
        )


def _name(statement: Statement) -> str:
    if statement.sid:
        return f"{statement.sid!r}"
    return f"#{statement.index}"


def _may_name_a_key(clause: ResourceClause) -> bool:
    for pattern in clause.patterns:
        if pattern.everything:
            return True
        segments = pattern.arn.segments if pattern.arn is not None else pattern.prefix
        if not segments[2].matches(_KMS_SERVICE):
            continue
        if pattern.arn is None:
            return True
        prefix = pattern.arn.segments[5].literal_prefix()
        if _KEY_RESOURCE_PREFIX.startswith(prefix) or prefix.startswith(_KEY_RESOURCE_PREFIX):
            return True
    return False


def _strings_with_variables(text: str) -> list[str]:
    root, _ = read_json(text, Locator(text))
    found: list[str] = []
    pending = [root]
    while pending:
        node = pending.pop()
        if node.kind is NodeKind.STRING and "${" in node.text:
            found.append(node.pointer)
        pending.extend(node.items)
        pending.extend(member.value for member in node.members)
    return sorted(found)


__all__ = ["Finding", "Severity", "has_errors", "lint_policy"]
