"""The parsed policy: frozen, typed, and compiled for fast evaluation.

Patterns are compiled when a policy is parsed (action patterns lower-cased, globs
split into chunks, principal entries canonicalised into sets), so evaluating a
request does no string parsing of the policy at all. Every statement keeps its
source span and a :class:`StatementRef` that evaluation results point to.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from policies.matching import ArnPattern, Glob, PatternTokens
from policies.operands import Operand, textual_operand
from policies.operators import Family, Operator
from policies.source import SourceSpan
from policies.variables import Resolver, Template, substitute

VERSION_2012 = "2012-10-17"
VERSION_2008 = "2008-10-17"


class PolicyKind(StrEnum):
    """A key policy (resource policy, names principals) or an identity policy."""

    KEY = "key"
    IDENTITY = "identity"


class Effect(StrEnum):
    ALLOW = "Allow"
    DENY = "Deny"


@dataclass(frozen=True, slots=True)
class ActionPattern:
    """One ``Action``/``NotAction`` entry, lower-cased. ``vendor`` is None for ``*``."""

    text: str
    vendor: str | None
    name: Glob

    def matches(self, vendor: str, name: str) -> bool:
        if self.vendor is None:
            return True
        return vendor == self.vendor and self.name.matches(name)


@dataclass(frozen=True, slots=True)
class ActionClause:
    patterns: tuple[ActionPattern, ...]
    negated: bool
    pointer: str

    def matches(self, vendor: str, name: str) -> bool:
        for pattern in self.patterns:
            if pattern.matches(vendor, name):
                return not self.negated
        return self.negated


@dataclass(frozen=True, slots=True)
class ResourcePattern:
    """One ``Resource``/``NotResource`` entry.

    ``arn`` is precompiled when the entry has no variables; otherwise ``template``
    holds the resource part (after the fifth colon) and ``prefix`` the first five
    segments, which variables may not occupy.
    """

    text: str
    everything: bool
    arn: ArnPattern | None
    prefix: tuple[Glob, ...] = ()
    template: Template | None = None

    def matches(self, resource: str, resolve: Resolver) -> bool | None:
        """Whether ``resource`` matches; ``None`` when a variable cannot be resolved."""
        if self.everything:
            return True
        if self.arn is not None:
            return self.arn.matches(resource)
        if self.template is None:
            return False
        tokens = substitute(self.template, resolve)
        if tokens is None:
            return None
        return ArnPattern([*self.prefix, Glob(tokens)]).matches(resource)


@dataclass(frozen=True, slots=True)
class ResourceClause:
    patterns: tuple[ResourcePattern, ...]
    negated: bool
    pointer: str


@dataclass(frozen=True, slots=True)
class PrincipalClause:
    """``Principal`` or ``NotPrincipal``: canonical ARNs and service names."""

    negated: bool
    everyone: bool
    arns: frozenset[str]
    services: frozenset[str]
    entries: tuple[str, ...]
    pointer: str


@dataclass(frozen=True, slots=True)
class PolicyValue:
    """One condition value: its source text and its prepared operand.

    ``template`` is set when the value contains policy variables; the operand is then
    built per request after substitution (see :meth:`resolve`).
    """

    text: str
    operand: Operand | None
    template: Template | None = None

    def resolve(self, family: Family, operator: Operator, resolve: Resolver) -> Operand | None:
        if self.operand is not None:
            return self.operand
        if self.template is None:
            return None
        tokens: PatternTokens | None = substitute(self.template, resolve)
        if tokens is None:
            return None
        return textual_operand(family, operator.spec.comparison, tokens)


@dataclass(frozen=True, slots=True)
class Condition:
    """One (operator, key) pair of a ``Condition`` block with its values."""

    operator: Operator
    key: str
    key_lower: str
    values: tuple[PolicyValue, ...]
    null_expected: tuple[bool, ...]
    pointer: str
    span: SourceSpan


@dataclass(frozen=True, slots=True)
class StatementRef:
    """How results name a statement: policy source, policy Id, Sid, index, span."""

    source: str
    policy_id: str | None
    sid: str | None
    index: int
    effect: Effect
    span: SourceSpan
    pointer: str


@dataclass(frozen=True, slots=True)
class Statement:
    ref: StatementRef
    effect: Effect
    #: ``effect is Effect.DENY``, precomputed for the evaluator's hot path.
    is_deny: bool
    principal: PrincipalClause | None
    action: ActionClause | None
    resource: ResourceClause | None
    conditions: tuple[Condition, ...]
    #: ``(lower-case key, key as written)`` for every condition key and variable.
    referenced_keys: tuple[tuple[str, str], ...]

    @property
    def sid(self) -> str | None:
        return self.ref.sid

    @property
    def index(self) -> int:
        return self.ref.index


@dataclass(frozen=True, slots=True)
class Policy:
    kind: PolicyKind
    version: str | None
    id: str | None
    statements: tuple[Statement, ...]
    source: str
    text: str

    @property
    def supports_variables(self) -> bool:
        return self.version == VERSION_2012
