"""The condition operator catalogue and the parsing of an operator name.

An operator name is ``[ForAllValues:|ForAnyValue:]<Base>[IfExists]``. Names are
case-sensitive, as in IAM (``stringEquals`` is refused). There are 26 base operators
plus ``Null``; ``Null`` takes neither ``IfExists`` (AWS documents that) nor a set
prefix (a product decision: "is this key absent" has no per-value meaning).

A negated operator (``StringNotEquals``, ``NotIpAddress``, ``ArnNotLike``, ...) is
evaluated as the NOR of its positive counterpart over the listed values, so each
negated spec records the positive ``comparison`` it negates.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Family(StrEnum):
    STRING = "String"
    NUMERIC = "Numeric"
    DATE = "Date"
    BOOL = "Bool"
    BINARY = "Binary"
    IP = "IpAddress"
    ARN = "Arn"
    NULL = "Null"


class Comparison(StrEnum):
    EQUALS = "equals"
    EQUALS_IGNORE_CASE = "equalsIgnoreCase"
    LIKE = "like"
    LESS_THAN = "lessThan"
    LESS_THAN_EQUALS = "lessThanEquals"
    GREATER_THAN = "greaterThan"
    GREATER_THAN_EQUALS = "greaterThanEquals"
    IN_NETWORK = "inNetwork"
    IS_NULL = "isNull"


class SetOperator(StrEnum):
    FOR_ALL_VALUES = "ForAllValues"
    FOR_ANY_VALUE = "ForAnyValue"


@dataclass(frozen=True, slots=True)
class OperatorSpec:
    name: str
    family: Family
    comparison: Comparison
    negated: bool = False


def _family_specs(family: Family, prefix: str) -> list[OperatorSpec]:
    return [
        OperatorSpec(f"{prefix}Equals", family, Comparison.EQUALS),
        OperatorSpec(f"{prefix}NotEquals", family, Comparison.EQUALS, negated=True),
        OperatorSpec(f"{prefix}LessThan", family, Comparison.LESS_THAN),
        OperatorSpec(f"{prefix}LessThanEquals", family, Comparison.LESS_THAN_EQUALS),
        OperatorSpec(f"{prefix}GreaterThan", family, Comparison.GREATER_THAN),
        OperatorSpec(f"{prefix}GreaterThanEquals", family, Comparison.GREATER_THAN_EQUALS),
    ]


_SPECS: list[OperatorSpec] = [
    OperatorSpec("StringEquals", Family.STRING, Comparison.EQUALS),
    OperatorSpec("StringNotEquals", Family.STRING, Comparison.EQUALS, negated=True),
    OperatorSpec("StringEqualsIgnoreCase", Family.STRING, Comparison.EQUALS_IGNORE_CASE),
    OperatorSpec(
        "StringNotEqualsIgnoreCase", Family.STRING, Comparison.EQUALS_IGNORE_CASE, negated=True
    ),
    OperatorSpec("StringLike", Family.STRING, Comparison.LIKE),
    OperatorSpec("StringNotLike", Family.STRING, Comparison.LIKE, negated=True),
    *_family_specs(Family.NUMERIC, "Numeric"),
    *_family_specs(Family.DATE, "Date"),
    OperatorSpec("Bool", Family.BOOL, Comparison.EQUALS),
    OperatorSpec("BinaryEquals", Family.BINARY, Comparison.EQUALS),
    OperatorSpec("IpAddress", Family.IP, Comparison.IN_NETWORK),
    OperatorSpec("NotIpAddress", Family.IP, Comparison.IN_NETWORK, negated=True),
    # ArnEquals and ArnLike behave identically, both with wildcards, as AWS documents.
    OperatorSpec("ArnEquals", Family.ARN, Comparison.LIKE),
    OperatorSpec("ArnLike", Family.ARN, Comparison.LIKE),
    OperatorSpec("ArnNotEquals", Family.ARN, Comparison.LIKE, negated=True),
    OperatorSpec("ArnNotLike", Family.ARN, Comparison.LIKE, negated=True),
    OperatorSpec("Null", Family.NULL, Comparison.IS_NULL),
]

BASE_OPERATORS: dict[str, OperatorSpec] = {spec.name: spec for spec in _SPECS}
_BY_LOWER_NAME = {name.lower(): name for name in BASE_OPERATORS}
_IF_EXISTS = "IfExists"


@dataclass(frozen=True, slots=True)
class Operator:
    """A parsed operator name."""

    text: str
    spec: OperatorSpec
    set_operator: SetOperator | None
    if_exists: bool


class OperatorNameError(ValueError):
    """The name is not an operator. ``suggestion`` is the right spelling, if any."""

    def __init__(self, message: str, suggestion: str | None = None) -> None:
        super().__init__(message)
        self.suggestion = suggestion


class NullIfExistsError(OperatorNameError):
    pass


def parse_operator(text: str) -> Operator:
    """Parse an operator name, or raise :class:`OperatorNameError`."""
    rest = text
    set_operator: SetOperator | None = None
    for candidate in SetOperator:
        prefix = f"{candidate.value}:"
        if rest.startswith(prefix):
            set_operator = candidate
            rest = rest[len(prefix) :]
            break
    if_exists = rest.endswith(_IF_EXISTS) and rest not in BASE_OPERATORS
    if if_exists:
        rest = rest[: -len(_IF_EXISTS)]
    spec = BASE_OPERATORS.get(rest)
    if spec is None:
        raise OperatorNameError(f"Invalid Condition type : {text}", suggestion=_suggest(text))
    if spec.family is Family.NULL and if_exists:
        raise NullIfExistsError(f"Invalid Condition type : {text} (Null has no IfExists form)")
    if spec.family is Family.NULL and set_operator is not None:
        raise OperatorNameError(
            f"Invalid Condition type : {text} (Null takes no ForAllValues/ForAnyValue prefix)"
        )
    return Operator(text, spec, set_operator, if_exists)


def _suggest(text: str) -> str | None:
    """The correctly-cased name when ``text`` differs from an operator only by case."""
    prefix = ""
    rest = text
    for candidate in SetOperator:
        if rest.lower().startswith(f"{candidate.value.lower()}:"):
            prefix = f"{candidate.value}:"
            rest = rest[len(prefix) :]
            break
    suffix = ""
    if rest.lower().endswith(_IF_EXISTS.lower()) and rest.lower() not in _BY_LOWER_NAME:
        suffix = _IF_EXISTS
        rest = rest[: -len(_IF_EXISTS)]
    name = _BY_LOWER_NAME.get(rest.lower())
    if name is None:
        return None
    suggestion = f"{prefix}{name}{suffix}"
    return suggestion if suggestion != text else None
