"""The REST door: ``/v1/...`` routes, bearer JWTs, one JSON error envelope.

    {"error": {"code": "<KMS error code>", "message": "<safe text>", "request_id": "<id>"}}

Each route module of this package declares its routes
(:class:`~app.pipeline.route.Route`); this door says where their members
come from: path arguments, the query string (``members="query"``: the
parameters are the schema's own members; unknown or repeated ones are
refused, integers are plain decimal digits) and the JSON body (a member
given both in the path and in the body is refused).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

from app.auth.principal import Principal
from app.errors import KmsError, ValidationError
from app.pipeline.call import Call, merge_path_members, query_members
from app.pipeline.documents import json_document, jsonable
from app.pipeline.json_body import parse_json_object, require_utf8
from app.pipeline.pipeline import Answer
from app.pipeline.route import PATH_MEMBERS, Route
from app.pipeline.runtime import Runtime
from app.schemas.base import Int, TextList

CONTENT_TYPE = "application/json"


class RestDoor:
    name = "rest"
    ignore_unknown = False

    def __init__(self, runtime: Runtime, routes: Sequence[Route]) -> None:
        self._verifier = runtime.verifier
        self._routes = tuple(routes)
        self._max_body = runtime.services.settings.max_body_bytes
        self._max_depth = runtime.services.settings.max_json_depth

    def routes(self) -> Sequence[Route]:
        return self._routes

    def begin(self, call: Call, route: Route) -> Route:
        return route

    def choose(self, call: Call) -> Route:  # pragma: no cover - begin always chooses
        raise AssertionError("the REST door's routes are chosen by their path")

    def authenticate(self, call: Call, route: Route) -> Principal:
        # Nothing about the request is looked at before the caller is known.
        return self._verifier.verify(call.header("HTTP_AUTHORIZATION"))

    def members(self, call: Call, route: Route, path: Mapping[str, str]) -> dict[str, Any]:
        from_path = {PATH_MEMBERS[name]: value for name, value in path.items()}
        query = call.query()
        if route.members == "query":
            names, integers, repeatable = _query_shape(route, tuple(from_path))
            params = query_members(query, names, integers=integers, repeatable=repeatable)
            for name, default in route.defaulted.items():
                params.setdefault(name, default)
            return {**params, **from_path}
        given = query_members(query, tuple(name for name, _ in route.extra_query))
        choice = route.choice
        if choice is not None and given.get(choice.parameter, choice.default) not in choice.schemas:
            allowed = " or ".join(choice.schemas)
            raise ValidationError(f"The query parameter {choice.parameter!r} must be {allowed}.")
        if route.members == "none":
            return from_path
        return merge_path_members(self._json_body(call), from_path)

    def _json_body(self, call: Call) -> dict[str, Any]:
        raw = call.body(self._max_body)
        if not raw:
            return {}
        mimetype, options = call.content_type()
        if mimetype not in (CONTENT_TYPE, ""):
            raise ValidationError("The request body must be application/json.")
        require_utf8(options.get("charset"))
        return parse_json_object(raw, max_depth=self._max_depth)

    def success(self, call: Call, document: Any) -> Answer:
        payload = json_document(jsonable(dict(document)), newline=True)
        return Answer(200, _headers(call, payload), [payload])

    def failure(self, call: Call, error: KmsError) -> Answer:
        return error_answer(error, call.request_id)


def error_answer(error: KmsError, request_id: str | None) -> Answer:
    """``error`` in the REST envelope, with the headers its status calls for."""
    payload = json_document(error_document(error, request_id), newline=True)
    headers = [
        ("Content-Type", CONTENT_TYPE),
        ("Content-Length", str(len(payload))),
        *error_headers(error),
        ("X-Request-Id", request_id or ""),
        ("Cache-Control", "no-store"),
    ]
    return Answer(error.status, headers, [payload])


def error_document(error: KmsError, request_id: str | None) -> dict[str, object]:
    return {"error": {"code": error.code, "message": error.message, "request_id": request_id}}


def error_headers(error: KmsError) -> list[tuple[str, str]]:
    """The headers an error adds to the REST door's answer."""
    headers = []
    if error.retry_after is not None:
        headers.append(("Retry-After", str(error.retry_after)))
    if error.status == 401:
        headers.append(("WWW-Authenticate", 'Bearer realm="trent"'))
    return headers


def _headers(call: Call, payload: bytes) -> list[tuple[str, str]]:
    return [
        ("Content-Type", CONTENT_TYPE),
        ("Content-Length", str(len(payload))),
        ("X-Request-Id", call.request_id),
        ("Cache-Control", "no-store"),
    ]


@cache
def _query_shape(
    route: Route, in_path: tuple[str, ...]
) -> tuple[tuple[str, ...], frozenset[str], frozenset[str]]:
    """A query route's parameters, from its schema: every member not in the
    path; integers and lists by their field types."""
    assert route.schema is not None, route
    names: list[str] = []
    integers: set[str] = set()
    repeatable: set[str] = set()
    for name, field in route.schema().fields.items():
        key = field.data_key or name
        if key in in_path:
            continue
        names.append(key)
        if isinstance(field, Int):
            integers.add(key)
        elif isinstance(field, TextList):
            repeatable.add(key)
    return tuple(names), frozenset(integers), frozenset(repeatable)
