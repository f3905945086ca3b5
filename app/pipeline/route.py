"""What a route declares: everything the pipeline needs to serve it, once.

A :class:`Route` names the operation, the schema its request is loaded with,
where its members come from (path, query string, JSON body) and how its
answer is written. The pipeline (:mod:`app.pipeline.pipeline`) serves every
request from these declarations alone, and the OpenAPI document
(:mod:`app.api.openapi`) is generated from the same objects, so there is
nothing to keep in step.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from marshmallow import Schema, fields

from app.operations.context import OperationContext
from app.operations.services import Services

Operation = Callable[[Services, OperationContext, Any], Mapping[str, Any] | None]
#: Where a route's request members come from, besides its path.
Members = Literal["body", "query", "none"]

#: Path arguments (Werkzeug rule variables) → the request member they fill.
PATH_MEMBERS: Mapping[str, str] = {
    "key_id": "KeyId",
    "alias_name": "AliasName",
    "principal_arn": "PrincipalArn",
    "policy_name": "PolicyName",
    "event_id": "EventId",
    "access_key_id": "AccessKeyId",
    "grant_id": "GrantId",
    "custom_key_store_id": "CustomKeyStoreId",
}


@dataclass(frozen=True)
class QueryChoice:
    """A query parameter that picks the schema (``?plaintext=false``)."""

    parameter: str
    schemas: Mapping[str, type[Schema]]
    default: str


@dataclass(frozen=True)
class Rendered:
    """An answer body other than the operation's result as JSON."""

    media_type: str
    chunks: Iterable[bytes | str]
    #: Headers the answer adds (``Content-Disposition``, a page's
    #: ``Content-Security-Policy``).
    headers: tuple[tuple[str, str], ...] = ()


#: Turns an operation's result into the answer (after its event is durable).
Renderer = Callable[[Services, Mapping[str, Any]], "Rendered | Mapping[str, Any]"]
#: An unauthenticated, unaudited route's whole work (health, the API
#: document, the metrics): a JSON document, or an answer of another type.
Probe = Callable[[Services], "Mapping[str, Any] | Rendered"]


@dataclass(frozen=True, eq=False)
class Route:
    """One operation of one door.

    REST routes have a ``method`` and a Werkzeug ``rule``; the AWS door's
    targets have neither (the ``X-Amz-Target`` header chooses them).
    """

    name: str
    operation: Operation | None = None
    schema: type[Schema] | None = None
    method: str | None = None
    #: Werkzeug rule; its variables are named as in :data:`PATH_MEMBERS`.
    rule: str | None = None
    summary: str = ""
    members: Members = "body"
    #: Query parameters the route reads outside its schema (documented only).
    extra_query: tuple[tuple[str, fields.Field[Any]], ...] = ()
    choice: QueryChoice | None = None
    #: Query members defaulted when absent although the schema requires them.
    defaulted: Mapping[str, Any] = field(default_factory=dict)
    render: Renderer | None = None
    #: For routes that run no operation: ``/healthz``, ``/readyz``, ``/metrics``,
    #: ``/openapi.json``.
    probe: Probe | None = None
    #: Values a success makes usable by later calls (OpenAPI links).
    produces: Mapping[str, str] = field(default_factory=dict)
    #: The media type of a successful answer.
    media_type: str = "application/json"
    #: Patterns a member must also match, checked by the operation itself.
    rules: Mapping[str, re.Pattern[str]] = field(default_factory=dict)

    def at(self, method: str, rule: str, summary: str, **declared: Any) -> Route:
        """This operation served at ``method`` and ``rule`` (the REST door)."""
        return replace(self, method=method, rule=rule, summary=summary, **declared)

    @property
    def authenticated(self) -> bool:
        return self.probe is None

    @property
    def path(self) -> str:
        """The rule as an OpenAPI path: ``/v1/keys/{KeyId}/encrypt``."""
        return re.sub(
            r"<(?:\w+:)?(\w+)>", lambda m: "{" + PATH_MEMBERS[m.group(1)] + "}", self.rule or ""
        )

    def schema_for(self, query: Mapping[str, Any]) -> type[Schema] | None:
        if self.choice is None:
            return self.schema
        return self.choice.schemas[query.get(self.choice.parameter, self.choice.default)]
