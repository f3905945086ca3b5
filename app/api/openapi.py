"""``/openapi.json``, generated from the routes' marshmallow schemas.

Each REST route declares itself with :func:`documented`; the document is built
from those declarations and the schemas' fields, never written by hand.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import Blueprint, Response, jsonify
from marshmallow import Schema, fields

from app.api.schemas.base import Blob, Flag, Int, StringMap, Text, TextList
from app.errors import all_error_classes

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class RouteDoc:
    method: str
    path: str
    operation: str
    summary: str
    request: type[Schema] | None
    authenticated: bool


ROUTES: list[RouteDoc] = []


def documented(
    method: str,
    path: str,
    operation: str,
    summary: str,
    request: type[Schema] | None = None,
    *,
    authenticated: bool = True,
) -> Callable[[F], F]:
    def register(view: F) -> F:
        ROUTES.append(RouteDoc(method, path, operation, summary, request, authenticated))
        # The audit log names a request's event after the operation its route serves.
        view.trent_operation = operation  # type: ignore[attr-defined]
        return view

    return register


def field_schema(field: fields.Field[Any]) -> dict[str, Any]:
    meta = {k: v for k, v in field.metadata.items() if not k.startswith("x-") or k == "x-maxBytes"}
    if isinstance(field, Text):
        return {"type": "string", **meta}
    if isinstance(field, Int):
        return {"type": "integer", **meta}
    if isinstance(field, Flag):
        return {"type": "boolean"}
    if isinstance(field, Blob):
        return {"type": "string", "format": "byte", "description": f"base64; {meta}"}
    if isinstance(field, StringMap):
        return {"type": "object", "additionalProperties": {"type": "string"}, **meta}
    if isinstance(field, TextList):
        items = dict(meta.pop("items", {}))
        return {"type": "array", "items": {"type": "string", **items}, **meta}
    if isinstance(field, fields.Nested):
        nested = field.schema
        return schema_object(type(nested))
    if isinstance(field, fields.List):
        return {"type": "array", "items": field_schema(field.inner)}
    return {}


def schema_object(schema: type[Schema]) -> dict[str, Any]:
    instance = schema()
    properties = {
        (f.data_key or name): field_schema(f) for name, f in sorted(instance.fields.items())
    }
    required = sorted((f.data_key or name) for name, f in instance.fields.items() if f.required)
    document: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
    }
    if required:
        document["required"] = required
    return document


def build_document(version: str) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for route in sorted(ROUTES, key=lambda r: (r.path, r.method)):
        operation: dict[str, Any] = {
            "operationId": route.operation,
            "summary": route.summary,
            "responses": {
                "200": {"description": "Success"},
                "default": {
                    "description": "Error",
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                    },
                },
            },
        }
        if route.authenticated:
            operation["security"] = [{"bearer": []}]
        if route.request is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": schema_object(route.request)}},
            }
        parameters = [
            {"name": part[1:-1], "in": "path", "required": True, "schema": {"type": "string"}}
            for part in route.path.split("/")
            if part.startswith("{")
        ]
        if parameters:
            operation["parameters"] = parameters
        paths.setdefault(route.path, {})[route.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": "Trent", "version": version},
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            },
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {
                        "error": {
                            "type": "object",
                            "required": ["code", "message", "request_id"],
                            "properties": {
                                "code": {"enum": sorted(c.code for c in all_error_classes())},
                                "message": {"type": "string"},
                                "request_id": {"type": "string"},
                            },
                        }
                    },
                }
            },
        },
    }


blueprint = Blueprint("openapi", __name__)


@blueprint.get("/openapi.json")
@documented("GET", "/openapi.json", "OpenApi", "This document.", authenticated=False)
def openapi() -> Response:
    return jsonify(build_document("1"))
