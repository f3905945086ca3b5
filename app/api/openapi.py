"""``/openapi.json``, generated from the routes' own declarations.

Each REST route is a :class:`~app.pipeline.route.Route`: the schema it loads,
and where each member of that schema comes from (its path, its query string
or its JSON body), the very objects the pipeline serves requests with. The
document is built from those and the schemas' own fields
(:mod:`app.api.json_schema`), never by hand, so it says what the server
enforces; a constraint it cannot express makes building it fail.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.api import access_keys, audit, grants, health, identity, key_stores, keys, policy
from app.api.door import error_headers
from app.api.json_schema import (
    UnexpressedConstraint,
    field_schema,
    members_of,
    ruled,
    schema_object,
)
from app.errors import all_error_classes
from app.operations.services import Services
from app.pipeline.route import Route
from app.schemas.base import TextList


def _path_names(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{")]


def _parameters(route: Route) -> list[dict[str, Any]]:
    members = members_of(route.schema) if route.schema is not None else {}
    parameters = []
    for name in _path_names(route.path):
        if name not in members:
            raise UnexpressedConstraint(f"{route.name}: {{{name}}} is in no schema")
        parameters.append(
            {
                "name": name,
                "in": "path",
                "required": True,
                "schema": ruled(field_schema(members[name]), route.rules.get(name)),
            }
        )
    in_query = (
        [(k, f) for k, f in members.items() if k not in _path_names(route.path)]
        if route.members == "query"
        else []
    )
    for name, member in [*in_query, *route.extra_query]:
        parameter: dict[str, Any] = {
            "name": name,
            "in": "query",
            "required": bool(member.required) and name not in route.defaulted,
            "schema": ruled(field_schema(member), route.rules.get(name)),
        }
        if isinstance(member, TextList):
            parameter.update(style="form", explode=True)
        parameters.append(parameter)
    return parameters


def _request_body(route: Route) -> dict[str, Any] | None:
    if route.schema is None or route.members != "body":
        return None
    body = schema_object(route.schema, without=_path_names(route.path), rules=route.rules)
    return {
        "required": bool(body.get("required")),
        "content": {"application/json": {"schema": body}},
    }


def _consumers(route: Route) -> dict[str, str]:
    """Where each request member of ``route`` is taken from: name -> location."""
    where = {name: "path" for name in _path_names(route.path)}
    if route.schema is not None and route.members in ("body", "query"):
        location = "requestBody" if route.members == "body" else "query"
        for name in members_of(route.schema):
            where.setdefault(name, location)
    return where


def _links(route: Route) -> dict[str, Any]:
    links: dict[str, Any] = {}
    for target in sorted(ROUTES, key=lambda r: r.name):
        if target is route:
            continue
        consumed = _consumers(target)
        parameters = {}
        body = {}
        for name, expression in route.produces.items():
            location = consumed.get(name)
            if location == "requestBody":
                body[name] = expression
            elif location is not None:
                parameters[f"{location}.{name}"] = expression
        if parameters or body:
            link: dict[str, Any] = {"operationId": target.name}
            if parameters:
                link["parameters"] = parameters
            if body:
                link["requestBody"] = body
            links[target.name] = link
    return links


_REQUEST_ID_HEADER = {
    "description": "The request's id, also in its audit event.",
    "required": True,
    "schema": {"type": "string"},
}


def _responses(route: Route) -> dict[str, Any]:
    success: dict[str, Any] = {
        "description": "Success",
        "headers": {"X-Request-Id": _REQUEST_ID_HEADER},
    }
    if route.media_type == "application/json":
        success["content"] = {"application/json": {"schema": {"type": "object"}}}
    else:
        success["content"] = {route.media_type: {"schema": {"type": "string"}}}
    links = _links(route)
    if links:
        success["links"] = links
    responses: dict[str, Any] = {"200": success}
    for status in sorted({c.status for c in all_error_classes()}):
        responses[str(status)] = {"$ref": f"#/components/responses/Error{status}"}
    return responses


def _error_headers(status: int) -> dict[str, Any]:
    """The headers the REST door adds to an error of ``status`` (as
    :func:`~app.api.door.error_headers` does), and X-Request-Id."""
    classes = [c for c in all_error_classes() if c.status == status]
    added = [{name for name, _ in error_headers(cls())} for cls in classes]
    headers: dict[str, Any] = {"X-Request-Id": _REQUEST_ID_HEADER}
    for name in sorted(set().union(*added)):
        headers[name] = {
            "required": all(name in names for names in added),
            "schema": {"type": "string"},
        }
    return headers


def _error_responses() -> dict[str, Any]:
    """Every error status, in the REST door's one error shape."""
    return {
        f"Error{status}": {
            "description": "Error",
            "headers": _error_headers(status),
            "content": {
                "application/json": {"schema": {"$ref": f"#/components/schemas/Error{status}"}}
            },
        }
        for status in sorted({c.status for c in all_error_classes()})
    }


def _error_schema(codes: list[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["error"],
        "additionalProperties": False,
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message", "request_id"],
                "additionalProperties": False,
                "properties": {
                    "code": {"enum": codes},
                    "message": {"type": "string"},
                    "request_id": {"type": "string"},
                },
            }
        },
    }


def _error_schemas() -> dict[str, Any]:
    """The REST door's error shape: any code (``Error``), and per status the
    codes that status is answered with (``Error400``, ``Error401``, …)."""
    errors = all_error_classes()
    schemas = {"Error": _error_schema(sorted({c.code for c in errors}))}
    for status in sorted({c.status for c in errors}):
        schemas[f"Error{status}"] = _error_schema(
            sorted({c.code for c in errors if c.status == status})
        )
    return schemas


def build_document(version: str) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for route in sorted(ROUTES, key=lambda r: (r.path, r.method or "")):
        operation: dict[str, Any] = {
            "operationId": route.name,
            "summary": route.summary,
            "responses": _responses(route),
        }
        if route.authenticated:
            operation["security"] = [{"bearer": []}]
        body = _request_body(route)
        if body is not None:
            operation["requestBody"] = body
        parameters = _parameters(route)
        if parameters:
            operation["parameters"] = parameters
        paths.setdefault(route.path, {})[str(route.method).lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": "Trent", "version": version, "description": DESCRIPTION},
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            },
            "schemas": _error_schemas(),
            "responses": _error_responses(),
        },
    }


DESCRIPTION = (
    "Generated from the schemas the server validates requests with. Also enforced, and not "
    "expressible here: unknown or repeated query parameters are refused; integer query "
    "parameters are plain decimal digits; a JSON integer is written without a fraction or "
    "exponent. Rules between members are in the operations' summaries."
)


def _document(services: Services) -> Mapping[str, Any]:
    return build_document("1")


#: Every route of the REST door, this document's own included.
ROUTES: tuple[Route, ...] = (
    *health.ROUTES,
    *identity.ROUTES,
    *keys.ROUTES,
    *grants.ROUTES,
    *key_stores.ROUTES,
    *policy.ROUTES,
    *audit.ROUTES,
    *access_keys.ROUTES,
    Route("OpenApi", method="GET", rule="/openapi.json", summary="This document.", probe=_document),
)
