"""The console's pages: Jinja2 templates shipped in the package, rendered on
the server with autoescaping, and the headers every page is sent with.

The Content-Security-Policy allows this console's own script and stylesheet
and nothing else: no inline script or style, no other origin, no framing,
forms posted only here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, PackageLoader, select_autoescape

from app.catalogue import KMS
from app.console.chart import chart
from app.console.times import iso

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
#: Route name → template.
TEMPLATES: Mapping[str, str] = {
    "ConsoleSearchAudit": "audit.html",
    "ConsoleGetAuditEvent": "event.html",
    "ConsoleVerifyAuditLog": "verify.html",
    "ConsoleListKeys": "keys.html",
    "ConsoleKeyAccess": "key.html",
    "ConsolePlayground": "playground.html",
    "ConsolePlaygroundRun": "playground.html",
    "ConsoleApplyPolicy": "applied.html",
    "Error": "error.html",
}
STATIC: Mapping[str, str] = {
    "console.js": "text/javascript; charset=utf-8",
    "console.css": "text/css; charset=utf-8",
}
#: Operation names offered by the audit explorer's operation field.
OPERATIONS = tuple(sorted({*KMS, "SearchAuditEvents", "GetAuditEvent", "ExportAuditEvents"}))


@cache
def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("app.console", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["iso"] = iso
    env.filters["pretty"] = lambda value: json.dumps(value, indent=2, sort_keys=True)
    env.globals["export_query"] = export_query
    env.globals["page_query"] = page_query
    return env


def _kept(filters: Mapping[str, str], *dropped: str) -> dict[str, str]:
    return {k: v for k, v in filters.items() if v and k not in dropped}


def export_query(filters: Mapping[str, str], kind: str) -> str:
    """The export link of the filters shown (every page of them)."""
    return urlencode({**_kept(filters, "cursor", "limit", "format"), "format": kind})


def page_query(filters: Mapping[str, str], cursor: str) -> str:
    return urlencode({**_kept(filters, "cursor"), "cursor": cursor})


def render(name: str, view: Mapping[str, Any]) -> bytes:
    extra: dict[str, Any] = {"operations": OPERATIONS}
    if name == "ConsoleSearchAudit":
        extra["chart"] = chart(view["result"].get("chart", []))
    template = _environment().get_template(TEMPLATES[name])
    return template.render(**view, **extra).encode()


def sign_in_page(message: str | None = None) -> bytes:
    template = _environment().get_template("sign_in.html")
    return template.render(message=message, principal=None, csrf=None).encode()


def html_headers(request_id: str, page: bytes) -> list[tuple[str, str]]:
    return [
        ("Content-Type", "text/html; charset=utf-8"),
        ("Content-Length", str(len(page))),
        *security_headers(),
        ("X-Request-Id", request_id),
        ("Cache-Control", "no-store"),
    ]


def security_headers() -> list[tuple[str, str]]:
    # ``same-origin``, not ``no-referrer``: under the latter the browser sends
    # ``Origin: null`` with the console's own forms, which would be refused.
    return [
        ("Content-Security-Policy", CSP),
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "DENY"),
        ("Referrer-Policy", "same-origin"),
    ]


@cache
def static_file(name: str) -> bytes:
    return resources.files("app.console").joinpath("static", name).read_bytes()
