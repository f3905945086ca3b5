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
from typing import Any
from urllib.parse import urlsplit

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


def _error_text(exc: urllib.error.HTTPError) -> str:
    try:
        error = json.loads(exc.read())["error"]
        # Some errors say nothing but their code (an invalid signature or MAC).
        said = f": {error['message']}" if error["message"] else ""
        return f"{error['code']}{said} (HTTP {exc.code})"
    except (ValueError, KeyError, TypeError):
        return f"HTTP {exc.code} {exc.reason}"
