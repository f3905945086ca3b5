"""Validating and compiling a statement's ``Condition`` block.

Values are parsed into typed operands here, once: numbers into ``Decimal``, dates
into aware datetimes, CIDR blocks into networks, base64 into bytes and ``*Like``
patterns into compiled globs. Policy variables are accepted only in String and ARN
operators (the reference notes that AWS's pages disagree about ``Bool``; variables
there would let a request-supplied value decide a boolean test, so they are refused).
"""

from __future__ import annotations

from policies import condition_keys, vocabulary
from policies.diagnostics import ParseContext
from policies.errors import LEGACY_PARSING, SYNTAX_ERRORS, IssueCode
from policies.model import Condition, PolicyKind, PolicyValue
from policies.operands import (
    BinaryEquals,
    BoolEquals,
    DateCompare,
    InNetwork,
    NumericCompare,
    Operand,
    parse_binary,
    parse_bool_text,
    parse_date,
    parse_decimal,
    parse_network,
    textual_operand,
)
from policies.operators import (
    Comparison,
    Family,
    NullIfExistsError,
    Operator,
    OperatorNameError,
    SetOperator,
    parse_operator,
)
from policies.parser_elements import check_variables
from policies.source import JsonMember, JsonNode, NodeKind
from policies.variables import (
    Variable,
    VariableSyntaxError,
    has_variables,
    literal_template,
    parse_template,
)

_SCALARS = (NodeKind.STRING, NodeKind.NUMBER, NodeKind.BOOLEAN)


def parse_conditions(
    context: ParseContext, node: JsonNode
) -> tuple[tuple[Condition, ...] | None, list[Variable]]:
    """All (operator, key) pairs of a ``Condition`` block, and the variables they use."""
    if node.kind is not NodeKind.OBJECT:
        context.report_at(
            node, IssueCode.INVALID_TYPE, f"{SYNTAX_ERRORS} Condition must be an object."
        )
        return None, []
    conditions: list[Condition] = []
    variables: list[Variable] = []
    valid = True
    for member in node.members:
        operator = _operator(context, member)
        block = member.value
        if block.kind is not NodeKind.OBJECT or not block.members:
            context.report_at(
                block,
                IssueCode.INVALID_CONDITION,
                f"{SYNTAX_ERRORS} Condition operator {member.key} must map at least one "
                "condition key to its values.",
            )
            valid = False
            continue
        if operator is None:
            valid = False
            continue
        for entry in block.members:
            condition = _condition(context, operator, entry)
            if condition is None:
                valid = False
                continue
            conditions.append(condition)
            for value in condition.values:
                if value.template is not None:
                    variables.extend(p for p in value.template if isinstance(p, Variable))
    if not valid:
        return None, variables
    return tuple(conditions), variables


def _operator(context: ParseContext, member: JsonMember) -> Operator | None:
    try:
        return parse_operator(member.key)
    except NullIfExistsError as error:
        code, message = IssueCode.NULL_IF_EXISTS, str(error)
    except OperatorNameError as error:
        code, message = IssueCode.UNKNOWN_OPERATOR, str(error)
        if error.suggestion is not None:
            message += f" (operator names are case-sensitive: did you mean {error.suggestion}?)"
    context.report(code, message, member.value.pointer, member.key_offset)
    return None


def _condition(context: ParseContext, operator: Operator, entry: JsonMember) -> Condition | None:
    key = entry.key
    key_lower = key.lower()
    pointer = entry.value.pointer
    if not condition_keys.is_well_formed(key):
        message = (
            "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."
            if ":" not in key
            else f"{SYNTAX_ERRORS} Condition key {key!r} is not valid."
        )
        context.report(IssueCode.INVALID_CONDITION_KEY, message, pointer, entry.key_offset)
        return None
    if context.kind is PolicyKind.KEY and condition_keys.is_forbidden_in_key_policy(key_lower):
        context.report(
            IssueCode.CONDITION_KEY_NOT_PERMITTED,
            condition_keys.KEY_POLICY_FORBIDDEN_MESSAGE,
            pointer,
            entry.key_offset,
        )
        return None
    if context.strict and not condition_keys.is_known(key_lower):
        context.report(
            IssueCode.UNKNOWN_CONDITION_KEY,
            vocabulary.unknown_condition_key_message(key),
            pointer,
            entry.key_offset,
        )
        return None
    subject = condition_keys.overly_permissive_subject(key_lower)
    if operator.set_operator is SetOperator.FOR_ALL_VALUES and subject is not None:
        context.report(
            IssueCode.OVERLY_PERMISSIVE_CONDITION,
            "OverlyPermissiveCondition: Using the ForAllValues set operator with a "
            f"single-valued condition key matches requests without the specified {subject}. "
            "To fix, remove ForAllValues.",
            pointer,
            entry.key_offset,
        )
        return None
    value_nodes = _value_nodes(context, entry.value)
    if value_nodes is None:
        return None
    values: list[PolicyValue] = []
    null_expected: list[bool] = []
    for value_node in value_nodes:
        if operator.spec.family is Family.NULL:
            flag = _boolean(value_node)
            if flag is None:
                _invalid_value(context, value_node, operator, 'expected "true" or "false"')
                return None
            null_expected.append(flag)
            values.append(PolicyValue(value_node.text, None))
            continue
        value = _policy_value(context, operator, value_node)
        if value is None:
            return None
        values.append(value)
    return Condition(
        operator=operator,
        key=key,
        key_lower=key_lower,
        values=tuple(values),
        null_expected=tuple(null_expected),
        pointer=pointer,
        span=context.locator.span(entry.key_offset, entry.value.end),
    )


def _value_nodes(context: ParseContext, node: JsonNode) -> list[JsonNode] | None:
    if node.kind in _SCALARS:
        return [node]
    if node.kind is NodeKind.ARRAY:
        if not node.items:
            context.report_at(
                node,
                IssueCode.EMPTY_CONDITION_VALUES,
                f"{SYNTAX_ERRORS} A condition key needs at least one value.",
            )
            return None
        bad = [item for item in node.items if item.kind not in _SCALARS]
        for item in bad:
            context.report_at(
                item,
                IssueCode.INVALID_CONDITION_VALUE,
                f"{SYNTAX_ERRORS} Condition values must be strings, numbers or booleans.",
            )
        return None if bad else list(node.items)
    context.report_at(
        node,
        IssueCode.INVALID_CONDITION_VALUE,
        f"{SYNTAX_ERRORS} Condition values must be strings, numbers or booleans.",
    )
    return None


def _boolean(node: JsonNode) -> bool | None:
    if node.kind is NodeKind.NUMBER:
        return None
    return parse_bool_text(node.text)


def _invalid_value(context: ParseContext, node: JsonNode, operator: Operator, detail: str) -> None:
    context.report_at(
        node,
        IssueCode.INVALID_CONDITION_VALUE,
        f"{LEGACY_PARSING}: {node.text!r} is not a valid value for {operator.text} ({detail}).",
    )


def _policy_value(context: ParseContext, operator: Operator, node: JsonNode) -> PolicyValue | None:
    family = operator.spec.family
    comparison = operator.spec.comparison
    text = node.text
    if family in (Family.STRING, Family.ARN):
        wildcards = family is Family.ARN or comparison is Comparison.LIKE
        if context.supports_variables:
            try:
                template = parse_template(text, wildcards=wildcards)
            except VariableSyntaxError as error:
                context.report_at(node, IssueCode.INVALID_VARIABLE, f"{SYNTAX_ERRORS} {error}")
                return None
            if not check_variables(context, node, template):
                return None
        else:
            template = literal_template(text, wildcards=wildcards)
        if has_variables(template):
            return PolicyValue(text, None, template)
        tokens = tuple(part for part in template if not isinstance(part, Variable))
        return PolicyValue(text, textual_operand(family, comparison, tokens))
    if context.supports_variables and "${" in text:
        context.report_at(
            node,
            IssueCode.VARIABLE_NOT_ALLOWED,
            f"{LEGACY_PARSING}: policy variables cannot be used with {operator.text}; only "
            "String and ARN operators substitute variables.",
        )
        return None
    try:
        operand = _typed_operand(family, operator, node)
    except ValueError as error:
        _invalid_value(context, node, operator, str(error))
        return None
    return PolicyValue(text, operand)


def _typed_operand(family: Family, operator: Operator, node: JsonNode) -> Operand:
    comparison = operator.spec.comparison
    if node.kind is NodeKind.BOOLEAN and family is not Family.BOOL:
        raise ValueError("a boolean is not allowed here")
    if family is Family.NUMERIC:
        return NumericCompare(parse_decimal(node.text), comparison)
    if family is Family.DATE:
        return DateCompare(parse_date(node.text), comparison)
    if family is Family.BOOL:
        flag = _boolean(node)
        if flag is None:
            raise ValueError('expected "true" or "false"')
        return BoolEquals(flag)
    if node.kind is not NodeKind.STRING:
        raise ValueError("expected a string")
    if family is Family.BINARY:
        return BinaryEquals(parse_binary(node.text))
    return InNetwork(parse_network(node.text))
