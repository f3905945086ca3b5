"""Validating and compiling ``Principal``, ``Action`` and ``Resource`` (and their Not forms)."""

from __future__ import annotations

import re

from policies import condition_keys, vocabulary
from policies.diagnostics import ParseContext
from policies.errors import LEGACY_PARSING, SYNTAX_ERRORS, IssueCode
from policies.matching import ArnPattern, Glob, GlobToken, Wildcard
from policies.model import (
    ActionClause,
    ActionPattern,
    PolicyKind,
    PrincipalClause,
    ResourceClause,
    ResourcePattern,
)
from policies.principals import (
    PARTITION,
    PrincipalSyntaxError,
    canonical_aws_principal,
    check_service_principal,
    root_arn,
)
from policies.source import JsonNode, NodeKind
from policies.variables import (
    Template,
    Variable,
    VariableSyntaxError,
    has_variables,
    literal_template,
    parse_template,
)

_VENDOR = re.compile(r"[A-Za-z0-9.-]+")
_ACTION_NAME = re.compile(r"[A-Za-z0-9*?_.-]+")
_REGION = re.compile(r"[a-z0-9*?-]*")
_ACCOUNT = re.compile(r"[0-9*?]*")
_UNSUPPORTED_PRINCIPAL_TYPES = ("Federated", "CanonicalUser")


def parse_principal(context: ParseContext, node: JsonNode, negated: bool) -> PrincipalClause | None:
    """``"*"`` or a map of ``AWS``/``Service`` to one or more principals."""
    if node.kind is NodeKind.STRING:
        if node.text == "*":
            return PrincipalClause(negated, True, frozenset(), frozenset(), ("*",), node.pointer)
        context.report_at(
            node,
            IssueCode.INVALID_PRINCIPAL,
            f'Invalid principal in policy: {node.text!r}. A bare string principal must be "*"; '
            'name others as {"AWS": ...}.',
        )
        return None
    if node.kind is not NodeKind.OBJECT or not node.members:
        context.report_at(
            node,
            IssueCode.INVALID_PRINCIPAL,
            'Invalid principal in policy: expected "*" or an object such as {"AWS": "<arn>"}.',
        )
        return None
    everyone = False
    arns: list[str] = []
    services: list[str] = []
    valid = True
    for member in node.members:
        if member.key in _UNSUPPORTED_PRINCIPAL_TYPES:
            context.report(
                IssueCode.UNSUPPORTED_PRINCIPAL_TYPE,
                f"Invalid principal in policy: {member.key} principals mean nothing to a key; "
                "use AWS or Service.",
                member.value.pointer,
                member.key_offset,
            )
            valid = False
            continue
        if member.key not in ("AWS", "Service"):
            context.report(
                IssueCode.INVALID_PRINCIPAL,
                f"Invalid principal in policy: unknown principal type {member.key!r}.",
                member.value.pointer,
                member.key_offset,
            )
            valid = False
            continue
        entries = context.strings(member.value, f"{member.key} principal")
        if entries is None:
            valid = False
            continue
        for entry in entries:
            try:
                if member.key == "AWS":
                    canonical = canonical_aws_principal(entry.text)
                    if canonical == "*":
                        everyone = True
                    else:
                        arns.append(_in_partition(canonical, entry.text, context.partition))
                elif entry.text == "*":
                    raise PrincipalSyntaxError(
                        'Invalid principal in policy: use "*" or {"AWS": "*"} for everyone, '
                        'not {"Service": "*"}.',
                        wildcard=True,
                    )
                else:
                    services.append(check_service_principal(entry.text))
            except PrincipalSyntaxError as error:
                code = (
                    IssueCode.WILDCARD_PRINCIPAL if error.wildcard else IssueCode.INVALID_PRINCIPAL
                )
                context.report_at(entry, code, str(error))
                valid = False
    if not valid:
        return None
    shown = (["*"] if everyone else []) + arns + services
    return PrincipalClause(
        negated=negated,
        everyone=everyone,
        arns=frozenset(arns),
        services=frozenset(services),
        entries=tuple(shown),
        pointer=node.pointer,
    )


def _in_partition(canonical: str, written: str, partition: str) -> str:
    """A bare account id becomes the root ARN in the policy's partition."""
    if canonical != written:
        return root_arn(partition, written)
    return canonical


def parse_actions(context: ParseContext, node: JsonNode, negated: bool) -> ActionClause | None:
    name = "NotAction" if negated else "Action"
    entries = context.strings(node, name)
    if entries is None:
        return None
    if not entries:
        context.report_at(node, IssueCode.EMPTY_ACTION, "Policy statement must contain actions.")
        return None
    patterns: list[ActionPattern] = []
    for entry in entries:
        pattern = _action_pattern(context, entry)
        if pattern is not None:
            patterns.append(pattern)
    if len(patterns) != len(entries):
        return None
    return ActionClause(tuple(patterns), negated, node.pointer)


def _action_pattern(context: ParseContext, entry: JsonNode) -> ActionPattern | None:
    text = entry.text
    if text == "*":
        return ActionPattern(text=text, vendor=None, name=Glob.from_text("*"))
    if any(char.isspace() or char == "," for char in text):
        context.report_at(
            entry,
            IssueCode.INVALID_ACTION,
            f"Action {text!r} contains whitespace or a comma; list each action separately.",
        )
        return None
    if ":" not in text:
        context.report_at(
            entry,
            IssueCode.ACTION_MISSING_VENDOR,
            "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.",
        )
        return None
    if text.count(":") > 1:
        context.report_at(
            entry, IssueCode.ACTION_MULTIPLE_COLONS, "Actions/Condition can contain only one colon."
        )
        return None
    vendor, action = text.split(":")
    if not _VENDOR.fullmatch(vendor):
        context.report_at(entry, IssueCode.INVALID_VENDOR, f"Vendor {vendor} is not valid")
        return None
    if not _ACTION_NAME.fullmatch(action):
        context.report_at(
            entry,
            IssueCode.INVALID_ACTION,
            f"Action {text!r} is not valid: the name after the colon must be letters, digits "
            "and the wildcards * and ?.",
        )
        return None
    pattern = ActionPattern(text=text, vendor=vendor.lower(), name=Glob.from_text(action.lower()))
    if context.strict and not _known_action(context, entry, pattern):
        return None
    return pattern


def _known_action(context: ParseContext, entry: JsonNode, pattern: ActionPattern) -> bool:
    vendor = pattern.vendor or ""
    if context.kind is PolicyKind.KEY and vendor != vocabulary.KEY_POLICY_VENDOR:
        context.report_at(
            entry,
            IssueCode.ACTION_NOT_FOR_KEY_POLICY,
            vocabulary.foreign_action_message(pattern.text),
        )
        return False
    if vocabulary.action_names_nothing(vendor, pattern.name):
        context.report_at(
            entry, IssueCode.UNKNOWN_ACTION, vocabulary.unknown_action_message(pattern.text)
        )
        return False
    return True


def check_variables(context: ParseContext, node: JsonNode, template: Template) -> bool:
    """Refuse ``${...}`` variables that name an unknown ``aws:``/``kms:`` key (strict only)."""
    if not context.strict:
        return True
    unknown = [
        part
        for part in template
        if isinstance(part, Variable) and not condition_keys.is_known(part.key.lower())
    ]
    for variable in unknown:
        context.report_at(
            node,
            IssueCode.UNKNOWN_CONDITION_KEY,
            vocabulary.unknown_condition_key_message(variable.name),
        )
    return not unknown


def parse_resources(
    context: ParseContext, node: JsonNode, negated: bool
) -> tuple[ResourceClause | None, list[Variable]]:
    name = "NotResource" if negated else "Resource"
    entries = context.strings(node, name)
    if entries is None:
        return None, []
    if not entries:
        context.report_at(
            node, IssueCode.EMPTY_RESOURCE, "Policy statement must contain resources."
        )
        return None, []
    patterns: list[ResourcePattern] = []
    variables: list[Variable] = []
    for entry in entries:
        pattern = _resource_pattern(context, entry)
        if pattern is not None:
            patterns.append(pattern)
            if pattern.template is not None:
                variables.extend(part for part in pattern.template if isinstance(part, Variable))
    if len(patterns) != len(entries):
        return None, []
    return ResourceClause(tuple(patterns), negated, node.pointer), variables


def _resource_pattern(context: ParseContext, entry: JsonNode) -> ResourcePattern | None:
    text = entry.text
    if text == "*":
        return ResourcePattern(text=text, everything=True, arn=None)
    not_arn = f'Resource {text} must be in ARN format or "*".'
    if not text.startswith("arn:"):
        context.report_at(entry, IssueCode.INVALID_RESOURCE, not_arn)
        return None
    template = _template(context, entry, wildcards=True)
    if template is None:
        return None
    segments = _split_template(template)
    if len(segments) != 6 or not segments[5]:
        context.report_at(entry, IssueCode.INVALID_RESOURCE, not_arn)
        return None
    if any(has_variables(segment) for segment in segments[:5]):
        context.report_at(
            entry,
            IssueCode.VARIABLE_NOT_ALLOWED,
            f"Resource {text}: policy variables are allowed only in the resource part of an "
            "ARN, after the fifth colon.",
        )
        return None
    partition, service, region, account = (_plain(segment) for segment in segments[1:5])
    if not PARTITION.fullmatch(partition):
        context.report_at(
            entry,
            IssueCode.INVALID_PARTITION,
            f'Partition "{partition}" is not valid for resource "{text}".',
        )
        return None
    if not service or "*" in service or "?" in service:
        context.report_at(
            entry,
            IssueCode.RESOURCE_VENDOR_WILDCARD,
            "Resource vendor must be fully qualified and cannot contain regexes.",
        )
        return None
    if not _REGION.fullmatch(region) or not _ACCOUNT.fullmatch(account):
        context.report_at(entry, IssueCode.INVALID_RESOURCE, f"{LEGACY_PARSING}: {not_arn}")
        return None
    prefix = tuple(Glob(_tokens(segment)) for segment in segments[:5])
    last = segments[5]
    if has_variables(last):
        return ResourcePattern(text=text, everything=False, arn=None, prefix=prefix, template=last)
    return ResourcePattern(
        text=text, everything=False, arn=ArnPattern([*prefix, Glob(_tokens(last))])
    )


def _template(context: ParseContext, entry: JsonNode, *, wildcards: bool) -> Template | None:
    if not context.supports_variables:
        return literal_template(entry.text, wildcards=wildcards)
    try:
        template = parse_template(entry.text, wildcards=wildcards)
    except VariableSyntaxError as error:
        context.report_at(entry, IssueCode.INVALID_VARIABLE, f"{SYNTAX_ERRORS} {error}")
        return None
    return template if check_variables(context, entry, template) else None


def _split_template(template: Template) -> list[Template]:
    """Split on the first five literal colons; colons inside ``${...}`` do not count."""
    segments: list[list[GlobToken | Variable]] = [[]]
    for part in template:
        if isinstance(part, Variable) or isinstance(part, Wildcard) or len(segments) > 5:
            segments[-1].append(part)
            continue
        for position, piece in enumerate(part.split(":", 5 - (len(segments) - 1))):
            if position:
                segments.append([])
            if piece:
                segments[-1].append(piece)
    return [tuple(segment) for segment in segments]


def _tokens(segment: Template) -> tuple[GlobToken, ...]:
    return tuple(part for part in segment if not isinstance(part, Variable))


def _plain(segment: Template) -> str:
    return "".join(
        part.value if isinstance(part, Wildcard) else part
        for part in segment
        if not isinstance(part, Variable)
    )
