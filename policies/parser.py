"""Policy text → :class:`~policies.model.Policy`, or every reason it is not a policy.

``parse_policy`` checks, in order: the size quota (:class:`PolicyTooLargeError`), the
character set (tab, LF, CR, U+0020–U+00FF), JSON syntax (duplicate keys and
``NaN``/``Infinity`` refused), then the policy grammar. Grammar problems are all
collected and raised together as one :class:`PolicyError`.

Decisions taken here (the reference marks them open, §6):

* ``Version``: ``2012-10-17`` and ``2008-10-17`` are accepted in key policies; a
  missing ``Version`` means 2008 semantics (variables are literal text). The lint
  warns about both. Anything else is refused. Identity policies must say
  ``2012-10-17``, as IAM requires.
* Duplicate ``Sid`` values are refused in both kinds of policy: results name
  statements by Sid, so two statements must never share one.
* ``Allow`` with ``NotPrincipal`` is refused; ``NotPrincipal`` is kept for ``Deny``.
* A key-policy statement without ``Action``/``NotAction`` or ``Resource``/``NotResource``
  is accepted, as KMS accepts it, and matches nothing; the lint reports it. An
  identity-policy statement without them is refused, as IAM refuses it ("Policy
  statement must contain actions." / "... resources.").
* Action and condition-key names are checked (:mod:`policies.vocabulary`): a ``kms:``
  pattern that matches no KMS action, a non-``kms:`` action in a key policy, and an
  ``aws:``/``kms:`` condition key that is neither documented nor supplied by Trent are
  refused, because a ``Deny`` that uses one never applies. Wildcards are matched, never
  expanded, so ``kms:*`` still covers actions added later.

``strict=False`` skips the checks of the last two points. It exists only to read back
documents stored before those checks existed, so that a stricter parser never locks a
key or a caller out; every new document is parsed strictly.
"""

from __future__ import annotations

import re

from policies.diagnostics import ParseContext
from policies.errors import (
    LEGACY_PARSING,
    MAX_POLICY_BYTES,
    SYNTAX_ERRORS,
    Issue,
    IssueCode,
    PolicyError,
    PolicyTooLargeError,
)
from policies.model import (
    VERSION_2008,
    VERSION_2012,
    ActionClause,
    Condition,
    Effect,
    Policy,
    PolicyKind,
    PrincipalClause,
    ResourceClause,
    Statement,
    StatementRef,
)
from policies.parser_conditions import parse_conditions
from policies.parser_elements import parse_actions, parse_principal, parse_resources
from policies.source import (
    DISALLOWED_CHARACTER,
    JsonNode,
    Locator,
    NodeKind,
    read_json,
)
from policies.variables import Variable

_TOP_LEVEL = ("Version", "Id", "Statement")
_STATEMENT_MEMBERS = (
    "Sid",
    "Effect",
    "Principal",
    "NotPrincipal",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
)
_EXCLUSIVE_PAIRS = (
    ("Principal", "NotPrincipal"),
    ("Action", "NotAction"),
    ("Resource", "NotResource"),
)
_IDENTITY_SID = re.compile(r"[A-Za-z0-9]*")


def parse_policy(
    text: str,
    kind: PolicyKind = PolicyKind.KEY,
    *,
    source: str = "policy",
    partition: str = "aws",
    strict: bool = True,
) -> Policy:
    """Parse and validate a policy document.

    ``source`` labels the policy in evaluation results (a file name, "key-policy",
    an identity policy's name). ``partition`` is used to turn a bare account id
    principal into its root ARN. ``strict=False`` is for reading back stored
    documents only (see the module docstring).
    """
    if not isinstance(text, str):
        raise TypeError(f"policy text must be str, not {type(text).__name__}")
    size = len(text.encode("utf-8", errors="surrogatepass"))
    if size > MAX_POLICY_BYTES:
        raise PolicyTooLargeError(size)
    locator = Locator(text)
    bad = DISALLOWED_CHARACTER.search(text)
    if bad is not None:
        position = locator.position(bad.start())
        raise PolicyError(
            [
                Issue(
                    IssueCode.INVALID_CHARACTER.value,
                    f"Policy contains the character U+{ord(bad.group()):04X}; only tab, LF, CR "
                    "and U+0020 to U+00FF are allowed.",
                    "",
                    position.line,
                    position.column,
                )
            ]
        )
    root, json_issues = read_json(text, locator)
    context = ParseContext(locator=locator, kind=kind, partition=partition, strict=strict)
    context.issues.extend(json_issues)
    policy = _Builder(context, text, source).policy(root)
    if context.issues or policy is None:
        raise PolicyError(context.issues)
    return policy


class _Builder:
    def __init__(self, context: ParseContext, text: str, source: str) -> None:
        self.context = context
        self.text = text
        self.source = source

    def unknown_members(self, node: JsonNode, allowed: tuple[str, ...], where: str) -> None:
        for member in node.members:
            if member.key not in allowed:
                self.context.report(
                    IssueCode.UNKNOWN_MEMBER,
                    f"{SYNTAX_ERRORS} Unknown {where} member {member.key!r}.",
                    member.value.pointer,
                    member.key_offset,
                )

    def optional_string(self, node: JsonNode, name: str) -> str | None:
        member = node.member(name)
        if member is None:
            return None
        if member.kind is not NodeKind.STRING:
            self.context.report_at(
                member, IssueCode.INVALID_TYPE, f"{SYNTAX_ERRORS} {name} must be a string."
            )
            return None
        return member.text

    def policy(self, root: JsonNode) -> Policy | None:
        context = self.context
        if root.kind is not NodeKind.OBJECT:
            context.report_at(
                root, IssueCode.NOT_AN_OBJECT, f"{SYNTAX_ERRORS} A policy must be a JSON object."
            )
            return None
        self.unknown_members(root, _TOP_LEVEL, "top-level")
        version = self.version(root)
        context.supports_variables = version == VERSION_2012
        policy_id = self.optional_string(root, "Id")
        statement_nodes = self.statement_nodes(root)
        statements: list[Statement] = []
        seen_sids: dict[str, int] = {}
        for index, node in enumerate(statement_nodes):
            statement = self.statement(node, index, policy_id, seen_sids)
            if statement is not None:
                statements.append(statement)
        if len(statements) != len(statement_nodes) or not statements:
            return None
        return Policy(
            kind=context.kind,
            version=version,
            id=policy_id,
            statements=tuple(statements),
            source=self.source,
            text=self.text,
        )

    def version(self, root: JsonNode) -> str | None:
        node = root.member("Version")
        identity = self.context.kind is PolicyKind.IDENTITY
        too_old = "Policy document must be version 2012-10-17 or greater."
        if node is None:
            if identity:
                self.context.report(IssueCode.VERSION_TOO_OLD, too_old, "", root.start)
            return None
        if node.kind is not NodeKind.STRING or node.text not in (VERSION_2012, VERSION_2008):
            self.context.report_at(
                node,
                IssueCode.INVALID_VERSION,
                f"{SYNTAX_ERRORS} Version must be {VERSION_2012!r} or {VERSION_2008!r}.",
            )
            return None
        if identity and node.text != VERSION_2012:
            self.context.report_at(node, IssueCode.VERSION_TOO_OLD, too_old)
        return node.text

    def statement_nodes(self, root: JsonNode) -> list[JsonNode]:
        node = root.member("Statement")
        if node is None:
            self.context.report(
                IssueCode.MISSING_STATEMENT,
                f"{SYNTAX_ERRORS} A policy needs a Statement.",
                "",
                root.start,
            )
            return []
        if node.kind is NodeKind.OBJECT:
            return [node]
        if node.kind is not NodeKind.ARRAY:
            self.context.report_at(
                node,
                IssueCode.INVALID_STATEMENT,
                f"{SYNTAX_ERRORS} Statement must be an object or an array of objects.",
            )
            return []
        if not node.items:
            self.context.report_at(
                node,
                IssueCode.EMPTY_STATEMENT,
                "A key policy document must have at least one statement.",
            )
            return []
        for item in node.items:
            if item.kind is not NodeKind.OBJECT:
                self.context.report_at(
                    item,
                    IssueCode.INVALID_STATEMENT,
                    f"{SYNTAX_ERRORS} Each statement must be an object.",
                )
        return list(node.items)

    def statement(
        self, node: JsonNode, index: int, policy_id: str | None, seen_sids: dict[str, int]
    ) -> Statement | None:
        if node.kind is not NodeKind.OBJECT:
            return None
        context = self.context
        issues_before = len(context.issues)
        self.unknown_members(node, _STATEMENT_MEMBERS, "statement")
        for first, second in _EXCLUSIVE_PAIRS:
            both = node.member(first) is not None and node.member(second) is not None
            if both:
                context.report_at(
                    node,
                    IssueCode.CONFLICTING_MEMBERS,
                    f"{SYNTAX_ERRORS} A statement cannot have both {first} and {second}.",
                )
        sid = self.sid(node, index, seen_sids)
        effect = self.effect(node)
        principal = self.principal(node, effect)
        action = self.action(node)
        resource, resource_variables = self.resource(node)
        self.required_in_identity_policy(node)
        conditions: tuple[Condition, ...] = ()
        condition_variables: list[Variable] = []
        condition_node = node.member("Condition")
        if condition_node is not None:
            parsed, condition_variables = parse_conditions(context, condition_node)
            conditions = parsed or ()
        if len(context.issues) != issues_before or effect is None:
            return None
        ref = StatementRef(
            source=self.source,
            policy_id=policy_id,
            sid=sid,
            index=index,
            effect=effect,
            span=context.locator.span(node.start, node.end),
            pointer=node.pointer,
        )
        return Statement(
            ref=ref,
            effect=effect,
            is_deny=effect is Effect.DENY,
            principal=principal,
            action=action,
            resource=resource,
            conditions=conditions,
            referenced_keys=_referenced_keys(conditions, resource_variables + condition_variables),
        )

    def required_in_identity_policy(self, node: JsonNode) -> None:
        if self.context.kind is not PolicyKind.IDENTITY or not self.context.strict:
            return
        if node.member("Action") is None and node.member("NotAction") is None:
            self.context.report_at(
                node, IssueCode.MISSING_ACTION, "Policy statement must contain actions."
            )
        if node.member("Resource") is None and node.member("NotResource") is None:
            self.context.report_at(
                node, IssueCode.MISSING_RESOURCE, "Policy statement must contain resources."
            )

    def sid(self, node: JsonNode, index: int, seen_sids: dict[str, int]) -> str | None:
        sid = self.optional_string(node, "Sid")
        if sid is None:
            return None
        sid_node = node.member("Sid")
        assert sid_node is not None
        if self.context.kind is PolicyKind.IDENTITY and not _IDENTITY_SID.fullmatch(sid):
            self.context.report_at(
                sid_node,
                IssueCode.INVALID_SID,
                f"{SYNTAX_ERRORS} Statement IDs (SID) in an identity policy may contain only "
                "letters and digits.",
            )
        if sid in seen_sids:
            self.context.report_at(
                sid_node,
                IssueCode.DUPLICATE_SID,
                "Statement IDs (SID) in a single policy must be unique. "
                f"{sid!r} is also statement {seen_sids[sid]}.",
            )
        else:
            seen_sids[sid] = index
        return sid

    def effect(self, node: JsonNode) -> Effect | None:
        effect_node = node.member("Effect")
        if effect_node is None:
            self.context.report_at(
                node, IssueCode.MISSING_EFFECT, f"{SYNTAX_ERRORS} A statement needs an Effect."
            )
            return None
        if effect_node.kind is NodeKind.STRING and effect_node.text in ("Allow", "Deny"):
            return Effect(effect_node.text)
        shown = effect_node.text if effect_node.kind is NodeKind.STRING else effect_node.kind.value
        self.context.report_at(
            effect_node,
            IssueCode.INVALID_EFFECT,
            f'{LEGACY_PARSING}: Effect must be exactly "Allow" or "Deny" (case-sensitive), '
            f"not {shown!r}.",
        )
        return None

    def principal(self, node: JsonNode, effect: Effect | None) -> PrincipalClause | None:
        context = self.context
        principal_node = node.member("Principal")
        not_principal_node = node.member("NotPrincipal")
        present = principal_node or not_principal_node
        if context.kind is PolicyKind.IDENTITY:
            if present is not None:
                context.report_at(
                    present,
                    IssueCode.PRINCIPAL_NOT_ALLOWED,
                    "Policy document should not specify a principal.",
                )
            return None
        if present is None:
            context.report_at(
                node,
                IssueCode.MISSING_PRINCIPAL,
                "Policy contains a statement with no principal.",
            )
            return None
        negated = principal_node is None
        if negated and effect is Effect.ALLOW:
            context.report_at(
                present,
                IssueCode.ALLOW_WITH_NOT_PRINCIPAL,
                "NotPrincipal is allowed only with Deny; use Principal with a condition on "
                "aws:PrincipalArn instead.",
            )
            return None
        return parse_principal(context, present, negated)

    def action(self, node: JsonNode) -> ActionClause | None:
        action_node = node.member("Action")
        if action_node is not None:
            return parse_actions(self.context, action_node, negated=False)
        not_action_node = node.member("NotAction")
        if not_action_node is not None:
            return parse_actions(self.context, not_action_node, negated=True)
        return None

    def resource(self, node: JsonNode) -> tuple[ResourceClause | None, list[Variable]]:
        resource_node = node.member("Resource")
        if resource_node is not None:
            return parse_resources(self.context, resource_node, negated=False)
        not_resource_node = node.member("NotResource")
        if not_resource_node is not None:
            return parse_resources(self.context, not_resource_node, negated=True)
        return None, []


def _referenced_keys(
    conditions: tuple[Condition, ...], variables: list[Variable]
) -> tuple[tuple[str, str], ...]:
    keys: dict[str, str] = {}
    for condition in conditions:
        keys.setdefault(condition.key_lower, condition.key)
    for variable in variables:
        keys.setdefault(variable.key, variable.name)
    return tuple(sorted(keys.items()))
