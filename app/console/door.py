"""The console door: a session cookie instead of a bearer header, HTML
instead of JSON.

- **Who calls**: the session cookie (:mod:`app.console.session`) holds the
  token the user signed in with; it is verified on every request as a bearer
  token would be. Signing in (``POST /console/login``) verifies the pasted
  token the same way.
- **Forms**: every ``POST`` must come from a page of this console: a
  ``Sec-Fetch-Site`` or ``Origin`` naming another site is refused, and the
  form's CSRF token must match the session. The cookie is
  ``SameSite=Strict`` besides.
- **Members** come from the query string (single-valued; empty fields are
  absent) with times as people type them (:mod:`app.console.times`).
- **Answers**: pages under a Content-Security-Policy that allows only this
  console's own script and stylesheet; a failure is a page too, with the
  operation's own message (401 shows the sign-in form again).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from http.cookies import CookieError, SimpleCookie
from typing import Any
from urllib.parse import parse_qs, urlsplit

from app.auth.principal import Principal
from app.console import pages, session
from app.console.times import epoch_seconds
from app.errors import AccessDeniedError, KmsError, UnauthenticatedError, ValidationError
from app.pipeline.call import Call
from app.pipeline.pipeline import Answer
from app.pipeline.route import PATH_MEMBERS, Route
from app.pipeline.runtime import Runtime

SIGN_IN = "ConsoleSignIn"
SIGN_OUT = "ConsoleSignOut"
_TOKEN = "trent.console.token"
_COOKIE = "trent.console.cookie"
_FORM = "trent.console.form"
_TIMES = ("since", "until")
_INTEGERS = ("limit",)


class ConsoleDoor:
    name = "console"
    ignore_unknown = False

    def __init__(self, runtime: Runtime, routes: Sequence[Route]) -> None:
        self._verifier = runtime.verifier
        self._services = runtime.services
        self._routes = tuple(routes)

    def routes(self) -> Sequence[Route]:
        return self._routes

    def begin(self, call: Call, route: Route) -> Route:
        return route

    def choose(self, call: Call) -> Route:  # pragma: no cover - begin always chooses
        raise AssertionError("the console's routes are chosen by their path")

    # -- who calls ---------------------------------------------------------------

    def authenticate(self, call: Call, route: Route) -> Principal:
        if route.name == SIGN_IN:
            _same_origin(call)
            token = (self._form(call).get("token") or "").strip()
            if not token or len(token) > session.MAX_TOKEN:
                raise UnauthenticatedError()
            principal = self._verifier.verify(f"Bearer {token}")
            call.environ[_TOKEN] = token
            return principal
        cookie = _cookie(call)
        sealed = session.unseal(self._services.root_key, cookie) if cookie else None
        if cookie is None or sealed is None:
            raise UnauthenticatedError()
        principal = self._verifier.verify(f"Bearer {sealed}")
        call.environ[_COOKIE] = cookie
        if call.method == "POST":
            _same_origin(call)
            given = self._form(call).get("csrf")
            if not session.csrf_matches(self._services.root_key, cookie, given):
                raise AccessDeniedError("The form did not come from this console; reload it.")
        return principal

    def _form(self, call: Call) -> dict[str, str]:
        form: dict[str, str] | None = call.environ.get(_FORM)
        if form is None:
            mimetype, _ = call.content_type()
            raw = call.body(self._services.settings.max_body_bytes)
            if raw and mimetype != "application/x-www-form-urlencoded":
                raise ValidationError(
                    "A console form is sent as application/x-www-form-urlencoded."
                )
            parsed = parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=False)
            form = {name: values[0] for name, values in parsed.items()}
            call.environ[_FORM] = form
        return form

    # -- members -----------------------------------------------------------------

    def members(self, call: Call, route: Route, path: Mapping[str, str]) -> dict[str, Any]:
        from_path = {PATH_MEMBERS[name]: value for name, value in path.items()}
        if route.name == SIGN_IN:
            # Never the token itself: members are recorded in the audit event.
            issued = session.token_claim(call.environ[_TOKEN], "iat")
            link = self._form(call).get("link") == "1"
            return {"link": link, **({"issuedAt": issued} if issued is not None else {})}
        if route.members == "body":
            form = {k: v for k, v in self._form(call).items() if k != "csrf" and v.strip()}
            _known_only(route, form)
            return {**form, **from_path}
        if route.members != "query":
            return from_path
        params: dict[str, Any] = {}
        query = call.query()
        _known_only(route, query)
        for name in query:
            values = [v for v in query.getlist(name) if v.strip()]
            if len(values) > 1:
                raise ValidationError(f"The field {name!r} is given more than once.")
            if values:
                params[name] = values[0].strip()
        now = self._services.now()
        for name in _TIMES:
            if name in params:
                # The audit filters take text (ISO 8601 or epoch seconds).
                params[name] = str(epoch_seconds(params[name], now, member=name))
        for name in _INTEGERS:
            if name in params:
                if not params[name].isdigit() or len(params[name]) > 6:
                    raise ValidationError(f"{name} must be a whole number.", field=name)
                params[name] = int(params[name])
        return {**params, **from_path}

    # -- answers -----------------------------------------------------------------

    def success(self, call: Call, document: Any) -> Answer:
        secure = call.secure_transport
        if call.operation == SIGN_IN:
            token = call.environ[_TOKEN]
            expires = session.token_expiry(token)
            now = self._services.now()
            if expires is None or expires <= now:
                return self.failure(call, UnauthenticatedError())
            cookie = session.seal(self._services.root_key, token)
            set_cookie = session.set_cookie(cookie, expires, now, secure=secure)
            return _redirect(call, "/console/audit", set_cookie)
        if call.operation == SIGN_OUT:
            return _redirect(call, "/console", session.clear_cookie(secure=secure))
        page = pages.render(call.operation, self._view(call, document))
        return Answer(200, pages.html_headers(call.request_id, page), [page])

    def failure(self, call: Call, error: KmsError) -> Answer:
        if isinstance(error, UnauthenticatedError):
            page = pages.sign_in_page(
                "Sign-in failed or the session ended: paste a token to sign in."
            )
            headers = pages.html_headers(call.request_id, page)
            if call.environ.get("HTTP_COOKIE"):
                headers.append(("Set-Cookie", session.clear_cookie(secure=call.secure_transport)))
            return Answer(401, headers, [page])
        view = self._view(call, {})
        view["error"] = {"code": error.code, "message": error.message, "status": error.status}
        page = pages.render("Error", view)
        headers = pages.html_headers(call.request_id, page)
        if error.retry_after is not None:
            headers.append(("Retry-After", str(error.retry_after)))
        return Answer(error.status, headers, [page])

    def _view(self, call: Call, document: Any) -> dict[str, Any]:
        cookie = call.environ.get(_COOKIE)
        query = call.query()
        return {
            "result": document,
            "principal": call.principal.arn if call.principal else None,
            "csrf": session.csrf_token(self._services.root_key, cookie) if cookie else None,
            "filters": {name: query.get(name, "") for name in query},
            "query_string": call.environ.get("QUERY_STRING", ""),
            "request_id": call.request_id,
            "now": self._services.now(),
        }


def _known_only(route: Route, given: Iterable[str]) -> None:
    """Refuse a field the page does not take before it becomes a request
    member: members are recorded in the audit event, and a field pasted into
    the wrong form (a token, say) must not be."""
    known = _field_names(route)
    for name in given:
        if name not in known:
            raise ValidationError(f"Unknown field {name[:64]!r}.")


@cache
def _field_names(route: Route) -> frozenset[str]:
    if route.schema is None:
        return frozenset()
    return frozenset(f.data_key or n for n, f in route.schema().fields.items())


def _cookie(call: Call) -> str | None:
    raw = call.header("HTTP_COOKIE")
    if not raw:
        return None
    try:
        jar: SimpleCookie = SimpleCookie(raw)
    except CookieError:
        return None
    morsel = jar.get(session.COOKIE)
    return morsel.value if morsel is not None and morsel.value else None


def _same_origin(call: Call) -> None:
    """Refuse a form another site's page sent (the browser says so in
    ``Sec-Fetch-Site`` or ``Origin``; either naming elsewhere is enough)."""
    site = call.header("HTTP_SEC_FETCH_SITE")
    if site is not None and site not in ("same-origin", "none"):
        raise AccessDeniedError("Forms from other sites are refused.")
    origin = call.header("HTTP_ORIGIN")
    if origin is not None:
        host = call.header("HTTP_HOST") or ""
        parts = urlsplit(origin)
        scheme = "https" if call.secure_transport else "http"
        if origin == "null" or parts.scheme != scheme or parts.netloc != host:
            raise AccessDeniedError("Forms from other sites are refused.")


def _redirect(call: Call, location: str, cookie: str) -> Answer:
    headers = [
        ("Location", location),
        ("Set-Cookie", cookie),
        ("Content-Length", "0"),
        ("X-Request-Id", call.request_id),
        ("Cache-Control", "no-store"),
    ]
    return Answer(303, headers, [])
