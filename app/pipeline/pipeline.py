"""The one request pipeline: every request, on both doors, takes the same
steps, in this order, built from each route's own declaration.

    route → authenticate → gather members → load → run → audit → answer

1. **Route.** The method and path choose a :class:`~app.pipeline.route.Route`
   from one Werkzeug map (matched once per method and path, then cached).
   An unknown path is 404, a method the path does not answer 405 with
   ``Allow``; ``OPTIONS`` answers ``Allow`` alone.
2. **Authenticate.** The route's door knows the caller before it looks at
   anything else of the request: a bearer JWT (REST), or SigV4 over the body
   or a bearer JWT (AWS door, which reads the body first because the
   signature covers it). Probes (``/healthz``, ``/readyz``, ``/metrics``,
   ``/openapi.json``) are neither authenticated nor audited.
3. **Gather members** from the path, the query string and the JSON body,
   as the route declares; the AWS door picks the operation by ``X-Amz-Target``.
4. **Load** them with the route's schema (:func:`app.schemas.base.load`).
5. **Run** the operation. A read-only operation runs on a connection taken
   only if a query runs, and its event joins the next group commit
   (:meth:`~app.operations.services.Services.audit_writer`); any other runs
   in one unit of work with its event appended in the same transaction.
6. **Audit.** Nothing is answered before the event is durable. A request
   that fails at any step writes one failure event instead
   (:func:`app.pipeline.audit.audit_failure`); if that cannot be written
   either, the answer is 503.
7. **Answer** in the door's dialect: JSON, a stream (``/v1/audit/export``),
   or an error document. Every answer, a probe's or a refusal's too, is then
   counted (:mod:`app.metrics`) and written to the request log
   (:mod:`app.pipeline.request_log`), here and nowhere else.

The pipeline is the WSGI application: Flask's own dispatch never runs, and
:func:`~app.pipeline.flask_hooks.refuse_flask_hooks` makes sure nothing
registered on the Flask object expects it to (a hook the pipeline would
silently skip).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Protocol

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.routing import Map, RequestRedirect, Rule

from app.auth.principal import Principal
from app.errors import KmsError, MethodNotAllowedError
from app.operations.kinds import is_read_only
from app.operations.services import Services
from app.pipeline.audit import audit_failure, build_event
from app.pipeline.call import Call
from app.pipeline.errors import as_error
from app.pipeline.request_log import log_request, outcome_of
from app.pipeline.route import PATH_MEMBERS, Rendered, Route
from app.pipeline.runtime import Runtime
from app.schemas.base import load, schema

StartResponse = Callable[..., Any]
Headers = list[tuple[str, str]]


@dataclass
class Answer:
    status: int
    headers: Headers
    body: Iterable[bytes]


class Door(Protocol):
    """A front door: how a request names its operation, who the caller is,
    where the members come from, and the dialect of the answer."""

    #: ``rest`` or ``aws``, as the audit event and the operation context name it.
    name: str
    #: Unknown request members are ignored (AWS) rather than refused (REST).
    ignore_unknown: bool

    def routes(self) -> Sequence[Route]:
        """The routes the door serves (each with a method and a rule)."""
        ...

    def begin(self, call: Call, route: Route) -> Route | None:
        """The route that serves ``call`` (the AWS door's is chosen by
        ``X-Amz-Target``); sets ``call.event_name``. None: decided only
        once the caller is known (:meth:`choose`)."""
        ...

    def authenticate(self, call: Call, route: Route) -> Principal: ...

    def choose(self, call: Call) -> Route:
        """The route for a request :meth:`begin` could not choose for (raises
        the door's "unknown operation" error)."""
        ...

    def members(self, call: Call, route: Route, path: Mapping[str, str]) -> dict[str, Any]: ...

    def success(self, call: Call, document: Any) -> Answer: ...

    def failure(self, call: Call, error: KmsError) -> Answer: ...


@dataclass(frozen=True)
class _Entry:
    door: Door
    route: Route


#: Matches remembered per (method, path); emptied when full.
ROUTE_CACHE_SIZE = 4096


class Pipeline:
    """The WSGI application of every request (see the module docstring)."""

    def __init__(
        self,
        runtime: Runtime,
        doors: Sequence[Door],
        *,
        converters: Mapping[str, Any],
        not_found_door: Door,
        before_first_request: Callable[[], None] | None = None,
    ) -> None:
        self._runtime = runtime
        #: Run once, before the first request is served (then dropped).
        self._before_first: Callable[[], None] | None = before_first_request
        self._services: Services = runtime.services
        self._errors_door = not_found_door
        self._entries: dict[str, _Entry] = {}
        rules = []
        for door in doors:
            for route in door.routes():
                assert route.method and route.rule, route
                endpoint = f"{door.name}:{route.method}:{route.rule}"
                if endpoint in self._entries:
                    raise RuntimeError(f"{route.method} {route.rule} is declared twice")
                self._entries[endpoint] = _Entry(door, route)
                # OPTIONS on every rule, as Flask adds it; Werkzeug adds HEAD to GET.
                methods = [route.method, "OPTIONS"]
                rules.append(Rule(route.rule, endpoint=endpoint, methods=methods))
        for rule in rules:
            unknown = set(rule.arguments) - set(PATH_MEMBERS)
            if unknown:
                raise RuntimeError(f"{rule.rule}: no request member for {sorted(unknown)}")
        #: Werkzeug's map, as Flask would have it: HEAD with GET, OPTIONS everywhere.
        self.url_map = Map(rules, converters=dict(converters), merge_slashes=False)
        self._adapter = self.url_map.bind("localhost")
        self._matches: dict[tuple[str, str], tuple[_Entry, dict[str, str]]] = {}
        settings = runtime.services.settings
        self._max_body = settings.max_body_bytes
        self._metrics = runtime.services.metrics
        #: Requests waiting for their event's group commit (a metric).
        self._waiting = Waiting()
        self._metrics.watch(waiting=self._waiting.count)

    # -- WSGI --------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        answer = self.serve(environ)
        reason = HTTP_STATUS_CODES.get(answer.status, "Unknown Error").upper()
        start_response(f"{answer.status} {reason}", answer.headers)
        if environ.get("REQUEST_METHOD") == "HEAD":
            _close(answer.body)
            return []
        return answer.body

    def serve(self, environ: dict[str, Any]) -> Answer:
        if self._before_first is not None:
            self._before_first()
            self._before_first = None
        call, answer = self._serve(environ)
        # Every answer, probes and refusals included, is counted and logged
        # here, once; the time is up to the answer (the body is not sent yet).
        seconds = time.monotonic() - call.started
        error = call.error
        self._metrics.request(
            call.door, call.operation, outcome_of(answer.status, error), answer.status, seconds
        )
        log_request(call, answer.status, error, seconds * 1000.0)
        return answer

    def _serve(self, environ: dict[str, Any]) -> tuple[Call, Answer]:
        method = environ.get("REQUEST_METHOD", "GET")
        path = environ.get("PATH_INFO", "") or "/"
        if not path.isascii():
            # WSGI gives the path's bytes as latin-1; the URL's text is UTF-8.
            path = path.encode("latin-1").decode("utf-8", "replace")
        try:
            entry, arguments = self._match(method, path)
        except HTTPException as exc:
            return self._unrouted(environ, method, path, exc)
        door, route = entry.door, entry.route
        if method == "OPTIONS":
            # Whichever route matched first, it is not what runs: only Allow.
            call = Call(environ, door.name, "Options", audited=True)  # type: ignore[arg-type]
            return call, _empty(call, self._allowed(path, None))
        if route.probe is not None:
            return self._probe(environ, door, route)
        call = Call(environ, door.name, route.name, audited=False)  # type: ignore[arg-type]
        try:
            chosen = door.begin(call, route)
            if chosen is not None:
                call.operation = chosen.name
            call.principal = door.authenticate(call, route)
            if chosen is None:
                chosen = door.choose(call)
            call.params = door.members(call, chosen, arguments)
            result = self._run(call, chosen, door)
            return call, self._answer(call, chosen, door, result)
        except Exception as exc:  # noqa: BLE001 - every failure is answered and audited here
            return call, self._failure(call, door, exc)

    # -- the steps ---------------------------------------------------------------

    def _match(self, method: str, path: str) -> tuple[_Entry, dict[str, str]]:
        key = (method, path)
        found = self._matches.get(key)
        if found is None:
            try:
                endpoint, arguments = self._adapter.match(path, method=method)
            except RequestRedirect:
                # No rule ends in a slash and slashes are never merged, so a
                # redirect names no resource of this service either.
                raise NotFound() from None
            found = (self._entries[str(endpoint)], dict(arguments))
            if len(self._matches) >= ROUTE_CACHE_SIZE:
                self._matches.clear()
            self._matches[key] = found
        return found

    def _run(self, call: Call, route: Route, door: Door) -> Mapping[str, Any]:
        services = self._services
        context = call.operation_context()
        chosen = route.schema if route.choice is None else route.schema_for(call.query())
        typed = (
            load(schema(chosen), call.params, ignore_unknown=door.ignore_unknown)
            if chosen is not None
            else None
        )
        operation = route.operation
        assert operation is not None
        if is_read_only(operation):
            with services.connection_if_used():
                result = operation(services, context, typed)
            # Nothing to commit but the event. It joins the next group commit
            # (shared with concurrent requests) and the result is returned only
            # once that batch is durable. The request's connection is back in
            # the pool first, so waiting never holds one the writer might need.
            event = build_event(services, call, "success", 200, None)
            with self._waiting:
                services.audit_writer.submit(event)
        else:
            with services.connection(), services.unit_of_work():
                result = operation(services, context, typed)
                services.audit.append(build_event(services, call, "success", 200, None))
        call.audited = True
        return result or {}

    def _answer(self, call: Call, route: Route, door: Door, result: Mapping[str, Any]) -> Answer:
        if route.render is None:
            return door.success(call, result)
        rendered = route.render(self._services, result)
        if not isinstance(rendered, Rendered):
            return door.success(call, rendered)
        headers = [("Content-Type", rendered.media_type), *_stamp(call), *rendered.headers]
        return Answer(200, headers, _encoded(rendered.chunks))

    def _failure(self, call: Call, door: Door, exc: BaseException) -> Answer:
        error = audit_failure(self._services, call, as_error(exc, call.request_id), exc)
        call.error = error
        return door.failure(call, error)

    def _probe(self, environ: dict[str, Any], door: Door, route: Route) -> tuple[Call, Answer]:
        call = Call(environ, door.name, route.name, audited=True)  # type: ignore[arg-type]
        assert route.probe is not None
        try:
            result = route.probe(self._services)
        except Exception as exc:  # noqa: BLE001 - answered like any other failure
            call.error = as_error(exc, call.request_id)
            return call, door.failure(call, call.error)
        if isinstance(result, Rendered):
            headers = [("Content-Type", result.media_type), *_stamp(call), *result.headers]
            return call, Answer(200, headers, _encoded(result.chunks))
        return call, door.success(call, result)

    def _unrouted(
        self, environ: dict[str, Any], method: str, path: str, exc: HTTPException
    ) -> tuple[Call, Answer]:
        """No route: 404, or 405 with the methods the path does answer. Audited
        (through the sampler: the caller is not known) like any failure."""
        door = self._errors_door
        call = Call(environ, door.name, "UnknownRoute", audited=False)  # type: ignore[arg-type]
        error = audit_failure(self._services, call, as_error(exc, call.request_id), exc)
        call.error = error
        answer = door.failure(call, error)
        if isinstance(error, MethodNotAllowedError):
            # RFC 9110: a 405 names the methods the resource does allow.
            answer.headers.append(("Allow", ", ".join(self._allowed(path, exc))))
        return call, answer

    def _allowed(self, path: str, exc: HTTPException | None) -> list[str]:
        """The methods ``path`` answers. Werkzeug's own list also names those of
        rules whose path matched but whose converter then refused the value
        (``/v1/keys/{id}/enable`` is not the key ``"{id}/enable"``), so each
        is tried against the map."""
        if isinstance(exc, MethodNotAllowed):
            candidates: Iterable[str] = exc.valid_methods or ()
        else:
            candidates = {m for rule in self.url_map.iter_rules() for m in rule.methods or ()}
        return sorted(m for m in candidates if self._adapter.test(path, method=m))


class Waiting:
    """How many requests are inside the block at once (``with waiting:``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._count = 0

    def __enter__(self) -> None:
        with self._lock:
            self._count += 1

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        with self._lock:
            self._count -= 1

    def count(self) -> int:
        return self._count


def _stamp(call: Call) -> Headers:
    return [("X-Request-Id", call.request_id), ("Cache-Control", "no-store")]


def _empty(call: Call, allowed: list[str]) -> Answer:
    headers = [
        ("Content-Type", "text/html; charset=utf-8"),
        ("Allow", ", ".join(allowed)),
        ("Content-Length", "0"),
        *_stamp(call),
    ]
    return Answer(200, headers, [])


def _encoded(chunks: Iterable[bytes | str]) -> Iterator[bytes]:
    try:
        for chunk in chunks:
            yield chunk.encode() if isinstance(chunk, str) else chunk
    finally:
        _close(chunks)


def _close(body: Iterable[Any]) -> None:
    close = getattr(body, "close", None)
    if close is not None:
        close()
