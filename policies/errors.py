"""Why a policy document was refused.

Two exceptions, deliberately unrelated except for a common base, because the
service maps them to different KMS errors::

    PolicyDocumentError
    ├── PolicyError            MalformedPolicyDocumentException; carries ``issues``
    └── PolicyTooLargeError    LimitExceededException

Every :class:`Issue` has a stable machine ``code`` (an :class:`IssueCode` value), a
message that uses AWS's wording where AWS's wording is known, an RFC 6901 JSON
pointer to the offending element and its 1-based line and column in the source text.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

#: The documented key policy size quota, in UTF-8 bytes.
MAX_POLICY_BYTES = 32_768

SYNTAX_ERRORS = "Syntax errors in policy."
LEGACY_PARSING = "The policy failed legacy parsing"


class IssueCode(StrEnum):
    """Stable codes of validation problems. Clients may rely on these strings."""

    JSON_SYNTAX = "json-syntax"
    DUPLICATE_KEY = "duplicate-key"
    NON_FINITE_NUMBER = "non-finite-number"
    TOO_DEEP = "too-deep"
    INVALID_CHARACTER = "invalid-character"
    NOT_AN_OBJECT = "not-an-object"
    UNKNOWN_MEMBER = "unknown-member"
    INVALID_TYPE = "invalid-type"
    INVALID_VERSION = "invalid-version"
    VERSION_TOO_OLD = "version-too-old"
    MISSING_STATEMENT = "missing-statement"
    EMPTY_STATEMENT = "empty-statement"
    INVALID_STATEMENT = "invalid-statement"
    INVALID_SID = "invalid-sid"
    DUPLICATE_SID = "duplicate-sid"
    MISSING_EFFECT = "missing-effect"
    INVALID_EFFECT = "invalid-effect"
    MISSING_PRINCIPAL = "missing-principal"
    PRINCIPAL_NOT_ALLOWED = "principal-not-allowed"
    CONFLICTING_MEMBERS = "conflicting-members"
    ALLOW_WITH_NOT_PRINCIPAL = "allow-with-not-principal"
    INVALID_PRINCIPAL = "invalid-principal"
    WILDCARD_PRINCIPAL = "wildcard-principal"
    UNSUPPORTED_PRINCIPAL_TYPE = "unsupported-principal-type"
    EMPTY_ACTION = "empty-action"
    ACTION_MISSING_VENDOR = "action-missing-vendor"
    ACTION_MULTIPLE_COLONS = "action-multiple-colons"
    INVALID_VENDOR = "invalid-vendor"
    INVALID_ACTION = "invalid-action"
    UNKNOWN_ACTION = "unknown-action"
    ACTION_NOT_FOR_KEY_POLICY = "action-not-for-key-policy"
    MISSING_ACTION = "missing-action"
    MISSING_RESOURCE = "missing-resource"
    EMPTY_RESOURCE = "empty-resource"
    INVALID_RESOURCE = "invalid-resource"
    INVALID_PARTITION = "invalid-partition"
    RESOURCE_VENDOR_WILDCARD = "resource-vendor-wildcard"
    INVALID_CONDITION = "invalid-condition"
    UNKNOWN_OPERATOR = "unknown-operator"
    NULL_IF_EXISTS = "null-if-exists"
    INVALID_CONDITION_KEY = "invalid-condition-key"
    UNKNOWN_CONDITION_KEY = "unknown-condition-key"
    CONDITION_KEY_NOT_PERMITTED = "condition-key-not-permitted"
    OVERLY_PERMISSIVE_CONDITION = "overly-permissive-condition"
    EMPTY_CONDITION_VALUES = "empty-condition-values"
    INVALID_CONDITION_VALUE = "invalid-condition-value"
    VARIABLE_NOT_ALLOWED = "variable-not-allowed"
    INVALID_VARIABLE = "invalid-variable"


@dataclass(frozen=True, slots=True)
class Issue:
    """One problem found in a policy document."""

    code: str
    message: str
    pointer: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.line}:{self.column}: {self.code}: {self.message} (at {self.pointer or '/'})"


class PolicyDocumentError(Exception):
    """Base of the two ways a policy document can be refused."""


class PolicyError(PolicyDocumentError):
    """The document is not a valid policy. ``issues`` lists every problem found."""

    def __init__(self, issues: list[Issue]) -> None:
        if not issues:
            raise ValueError("PolicyError needs at least one issue")
        self.issues = sorted(issues, key=lambda issue: (issue.line, issue.column, issue.code))
        first = self.issues[0]
        more = f" (and {len(self.issues) - 1} more)" if len(self.issues) > 1 else ""
        super().__init__(f"{first}{more}")

    @property
    def message(self) -> str:
        """The first issue's message: what an AWS-style error body carries."""
        return self.issues[0].message


class PolicyTooLargeError(PolicyDocumentError):
    """The document exceeds the size quota (AWS answers ``LimitExceededException``)."""

    def __init__(self, size: int, limit: int = MAX_POLICY_BYTES) -> None:
        self.size = size
        self.limit = limit
        super().__init__(f"Policy is {size} bytes; the limit is {limit} bytes (UTF-8).")
