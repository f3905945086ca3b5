"""Trent's key-policy language: parse, evaluate, simulate, lint, template and test.

A pure library (standard library only), used by the service on every request and
offline by policy authors. The usual flow::

    policy = parse_policy(text)                       # once, then cache
    evaluation = decide_key_access(policy, identity_policies, request, key_account)
    if not evaluation.allowed: ...

See ``policies/README.md`` for the language as Trent implements it and the
decisions taken where AWS leaves the behaviour open.
"""

from policies.actions import (
    ACCOUNT_ACTIONS,
    ADMINISTRATIVE_ACTIONS,
    ALL_ACTIONS,
    CRYPTOGRAPHIC_ACTIONS,
    MANAGEMENT_ACTIONS,
    READ_ONLY_ACTIONS,
    USAGE_ACTIONS,
    expand_action_pattern,
    is_account_action,
)
from policies.authorize import (
    Basis,
    Evaluation,
    PolicyDecision,
    decide_account_action,
    decide_key_access,
    decide_retire_grant,
)
from policies.conditions import ConditionResult
from policies.errors import (
    MAX_POLICY_BYTES,
    Issue,
    IssueCode,
    PolicyDocumentError,
    PolicyError,
    PolicyTooLargeError,
)
from policies.evaluate import (
    Decision,
    PolicyEvaluation,
    PrincipalMatch,
    StatementEvaluation,
    evaluate_policy,
)
from policies.findings import Finding, Severity
from policies.grants import (
    GRANT_OPERATIONS,
    Grant,
    GrantConstraints,
    GrantDocumentError,
    constraints_from_json,
    constraints_json,
    grant_from_json,
    grant_json,
    grant_operation,
)
from policies.lint import has_errors, lint_policy
from policies.model import (
    Condition,
    Effect,
    Policy,
    PolicyKind,
    Statement,
    StatementRef,
)
from policies.parser import parse_policy
from policies.principals import PrincipalKind, describe_caller, root_arn
from policies.request import ContextError, ContextValue, Request
from policies.separation import management_actions_of, separation_of_duties_violations
from policies.simulate import context_keys, expand_actions, simulate
from policies.source import Position, SourceSpan
from policies.templates import (
    TemplatePrincipalError,
    administrators_users_policy,
    default_key_policy,
)
from policies.testing import CaseResult, TestFileError, TestReport, run_test_file

__all__ = [
    "GRANT_OPERATIONS",
    "Grant",
    "GrantConstraints",
    "GrantDocumentError",
    "constraints_from_json",
    "constraints_json",
    "grant_from_json",
    "grant_json",
    "grant_operation",
    "management_actions_of",
    "decide_retire_grant",
    "PrincipalKind",
    "describe_caller",
    "root_arn",
    "ACCOUNT_ACTIONS",
    "ADMINISTRATIVE_ACTIONS",
    "ALL_ACTIONS",
    "CRYPTOGRAPHIC_ACTIONS",
    "MANAGEMENT_ACTIONS",
    "MAX_POLICY_BYTES",
    "READ_ONLY_ACTIONS",
    "USAGE_ACTIONS",
    "Basis",
    "CaseResult",
    "Condition",
    "ConditionResult",
    "ContextError",
    "ContextValue",
    "Decision",
    "Effect",
    "Evaluation",
    "Finding",
    "Issue",
    "IssueCode",
    "Policy",
    "PolicyDecision",
    "PolicyDocumentError",
    "PolicyError",
    "PolicyEvaluation",
    "PolicyKind",
    "PolicyTooLargeError",
    "Position",
    "PrincipalMatch",
    "Request",
    "Severity",
    "SourceSpan",
    "Statement",
    "StatementEvaluation",
    "StatementRef",
    "TemplatePrincipalError",
    "TestFileError",
    "TestReport",
    "administrators_users_policy",
    "context_keys",
    "decide_account_action",
    "decide_key_access",
    "default_key_policy",
    "evaluate_policy",
    "expand_action_pattern",
    "expand_actions",
    "has_errors",
    "is_account_action",
    "lint_policy",
    "parse_policy",
    "run_test_file",
    "separation_of_duties_violations",
    "simulate",
]
