"""The state shared while one document is validated: where issues go, and how to type-check.

Validation keeps going after a problem so that one run reports every issue; each
check that fails records an :class:`~policies.errors.Issue` here and returns
``None`` for the element it could not build.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from policies.errors import SYNTAX_ERRORS, Issue, IssueCode
from policies.model import PolicyKind
from policies.source import JsonNode, Locator, NodeKind


@dataclass
class ParseContext:
    locator: Locator
    kind: PolicyKind
    partition: str
    supports_variables: bool = False
    #: Refuse unknown ``kms:``/``trent:`` actions, unknown ``aws:``/``kms:`` condition
    #: keys and identity statements without Action or Resource. Off only to read back
    #: documents stored before these checks existed (see ``parse_policy``).
    strict: bool = True
    issues: list[Issue] = field(default_factory=list)

    def report(self, code: IssueCode, message: str, pointer: str, offset: int) -> None:
        position = self.locator.position(offset)
        self.issues.append(Issue(code.value, message, pointer, position.line, position.column))

    def report_at(self, node: JsonNode, code: IssueCode, message: str) -> None:
        self.report(code, message, node.pointer, node.start)

    def strings(self, node: JsonNode, what: str) -> list[JsonNode] | None:
        """A string or a non-empty array of strings (IAM's "one or a list" shape)."""
        if node.kind is NodeKind.STRING:
            return [node]
        if node.kind is NodeKind.ARRAY:
            result: list[JsonNode] = []
            for item in node.items:
                if item.kind is NodeKind.STRING:
                    result.append(item)
                else:
                    self.report_at(
                        item,
                        IssueCode.INVALID_TYPE,
                        f"{SYNTAX_ERRORS} Each {what} must be a string.",
                    )
            return result if len(result) == len(node.items) else None
        self.report_at(
            node,
            IssueCode.INVALID_TYPE,
            f"{SYNTAX_ERRORS} {what} must be a string or an array of strings.",
        )
        return None
