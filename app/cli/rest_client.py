"""The small HTTP client behind the CLI's client commands.

The server is ``TRENT_URL`` and the caller is whoever ``TRENT_TOKEN`` names
(:func:`app.config.client_endpoint`). Every failure becomes a
:class:`click.ClickException` with a one-line reason, so a command exits
non-zero with that line on stderr.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import click

from app.config import client_endpoint

TIMEOUT_SECONDS = 30.0


def request(method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    base, token = client_endpoint()
    if not token:
        raise click.ClickException(
            "TRENT_TOKEN is not set; export TRENT_TOKEN=$(trent token issue …)"
        )
    if urlsplit(base).scheme not in ("http", "https"):
        raise click.ClickException(f"TRENT_URL must be an http:// or https:// URL (got {base!r})")
    data = None if body is None else json.dumps(body).encode("utf-8")
    outgoing = urllib.request.Request(base.rstrip("/") + path, data=data, method=method)
    outgoing.add_header("Authorization", f"Bearer {token}")
    outgoing.add_header("Accept", "application/json")
    if data is not None:
        outgoing.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(outgoing, timeout=TIMEOUT_SECONDS) as response:
            raw = response.read()
    except urllib.error.HTTPError as exc:
        raise click.ClickException(_error_text(exc)) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise click.ClickException(f"cannot reach {base}: {reason}") from None
    if not raw:
        return {}
    try:
        document = json.loads(raw)
    except ValueError:
        raise click.ClickException(f"{base} answered with something that is not JSON") from None
    if not isinstance(document, dict):
        raise click.ClickException(f"{base} answered with something that is not a JSON object")
    return document


def key_path(key_id: str, suffix: str = "") -> str:
    """``/v1/keys/{KeyId}{suffix}``; the id (an ARN, ``alias/…``) is encoded whole."""
    return f"/v1/keys/{quote(key_id, safe='')}{suffix}"


def with_query(path: str, query: Mapping[str, str | list[str] | None]) -> str:
    """``path`` with the query members that have a value (lists repeat the name)."""
    present = {name: value for name, value in query.items() if value is not None}
    return f"{path}?{urlencode(present, doseq=True)}" if present else path


def pages(path: str, member: str, query: Mapping[str, str | None] | None = None) -> Iterator[Any]:
    """Every entry of the list ``member`` of a paginated answer, following
    ``NextMarker`` while the server says the list is ``Truncated``."""
    marker: str | None = None
    while True:
        page = request("GET", with_query(path, {**(query or {}), "Marker": marker}))
        entries = page.get(member, [])
        if not isinstance(entries, list):
            raise click.ClickException(f"the server's answer has no {member} list")
        yield from entries
        next_marker = page.get("NextMarker")
        if not page.get("Truncated") or not isinstance(next_marker, str) or not next_marker:
            return
        marker = next_marker


def _error_text(exc: urllib.error.HTTPError) -> str:
    try:
        error = json.loads(exc.read())["error"]
        # Some errors say nothing but their code (an invalid signature or MAC).
        said = f": {error['message']}" if error["message"] else ""
        return f"{error['code']}{said} (HTTP {exc.code})"
    except (ValueError, KeyError, TypeError):
        return f"HTTP {exc.code} {exc.reason}"
