"""Evaluating one condition (an operator and a key with its values) against a request.

Combination, as AWS documents it: the values listed for one key are ORed; for a
negated operator (``StringNotEquals``, ``NotIpAddress``, ``ArnNotLike``...) they are
NORed — the request value must differ from every listed value. Keys and operators
are ANDed by the caller.

When the key is absent from the request (or supplied as an empty list):

====================================  ======
operator form                         result
====================================  ======
positive operator                     false
negated operator                      true
any ``...IfExists``                   true
``Null`` ``true`` / ``false``         true / false
``ForAllValues:...``                  true (vacuous)
``ForAnyValue:...`` (no IfExists)     false
====================================  ======

Decisions on the questions the reference leaves open (§6):

* **Indeterminate comparisons fail closed.** A plain (unprefixed) operator applied
  to a key supplied with two or more values, a request value the operator cannot
  interpret (``"abc"`` under ``NumericLessThan``), and an unresolvable policy
  variable under a *negated* operator all give an indeterminate result. It counts
  as *false* in an ``Allow`` statement and as *true* in a ``Deny`` statement, so
  an unclear condition can never grant access and can never lift a denial. The
  result says ``indeterminate`` and why.
* An unresolvable variable under a *positive* operator makes that value match
  nothing, as AWS documents.
* An empty string is a present value (``Null`` says false): the request supplied
  the key. The service should not supply empty strings it means as absent.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from policies.model import Condition
from policies.operands import ContextScalar, Operand, display_value
from policies.operators import Family, SetOperator
from policies.request import Request

MULTIPLE_VALUES = "a plain operator was applied to a key with several values"
UNCOMPARABLE = "a request value could not be compared with this operator"
UNRESOLVED = "a policy variable could not be resolved under a negated operator"


class ConditionResult(NamedTuple):
    """The outcome of one condition, with what was compared.

    ``result`` is the value used for the decision (after an indeterminate outcome
    was resolved by the statement's effect).
    """

    operator: str
    key: str
    request_values: tuple[str, ...]
    policy_values: tuple[str, ...]
    result: bool
    indeterminate: bool = False
    reason: str | None = None
    matched_because_missing: bool = False
    failed_because_missing: bool = False


def evaluate_condition(condition: Condition, request: Request, in_deny: bool) -> ConditionResult:
    """Evaluate one condition; ``in_deny`` says whether the statement is a Deny."""
    operator = condition.operator
    entry = request.entries.get(condition.key_lower)
    values = entry.values if entry is not None else ()
    policy_values = tuple(value.text for value in condition.values)
    if not values:
        outcome = _when_missing(condition)
        return ConditionResult(
            operator=operator.text,
            key=condition.key,
            request_values=(),
            policy_values=policy_values,
            result=outcome,
            matched_because_missing=outcome,
            failed_because_missing=not outcome,
        )
    spec = operator.spec
    reason: str | None = None
    outcome3: bool | None
    if spec.family is Family.NULL:
        outcome3 = False in condition.null_expected
    else:
        operands = [
            value.resolve(spec.family, operator, request.resolve_variable)
            for value in condition.values
        ]
        # What an unresolved policy value contributes to the positive comparison:
        # nothing for a positive operator (AWS), "unknown" for a negated one.
        unresolved: bool | None = None if spec.negated else False
        per_value = [_value_outcome(value, operands, spec.negated, unresolved) for value in values]
        if operator.set_operator is SetOperator.FOR_ALL_VALUES:
            outcome3 = _all(per_value)
        elif operator.set_operator is SetOperator.FOR_ANY_VALUE:
            outcome3 = _any(per_value)
        elif len(values) == 1:
            outcome3 = per_value[0]
        else:
            outcome3 = None
            reason = MULTIPLE_VALUES
        if outcome3 is None and reason is None:
            reason = UNRESOLVED if None in operands and spec.negated else UNCOMPARABLE
    return ConditionResult(
        operator=operator.text,
        key=condition.key,
        request_values=tuple(display_value(value) for value in values),
        policy_values=policy_values,
        result=outcome3 if outcome3 is not None else in_deny,
        indeterminate=outcome3 is None,
        reason=reason,
    )


def result_when_missing(condition: Condition) -> bool:
    """What the condition evaluates to when its key is absent from the request."""
    return _when_missing(condition)


def _when_missing(condition: Condition) -> bool:
    operator = condition.operator
    if operator.spec.family is Family.NULL:
        return True in condition.null_expected
    if operator.set_operator is SetOperator.FOR_ALL_VALUES or operator.if_exists:
        return True
    if operator.set_operator is SetOperator.FOR_ANY_VALUE:
        return False
    return operator.spec.negated


def _value_outcome(
    value: ContextScalar,
    operands: Sequence[Operand | None],
    negated: bool,
    unresolved: bool | None,
) -> bool | None:
    matched: bool | None = False
    for operand in operands:
        compared = unresolved if operand is None else operand.compare(value)
        if compared is True:
            matched = True
            break
        if compared is None:
            matched = None
    if not negated or matched is None:
        return matched
    return not matched


def _all(outcomes: Sequence[bool | None]) -> bool | None:
    if False in outcomes:
        return False
    return None if None in outcomes else True


def _any(outcomes: Sequence[bool | None]) -> bool | None:
    if True in outcomes:
        return True
    return None if None in outcomes else False
