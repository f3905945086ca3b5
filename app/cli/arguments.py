"""How client commands take and show what they send and receive:
``KEY=VALUE`` arguments, the server's JSON, times."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import click


def pairs(values: tuple[str, ...], what: str) -> dict[str, str]:
    """``KEY=VALUE`` texts as a dict (a value may contain ``=``; the last of
    a repeated key wins); anything else is a usage error naming ``what``."""
    found: dict[str, str] = {}
    for value in values:
        name, sep, text = value.partition("=")
        if not sep or not name:
            raise click.UsageError(f"{what} must be KEY=VALUE (got {value!r})")
        found[name] = text
    return found


def show(document: dict[str, Any]) -> None:
    """The server's answer, pretty-printed (stable key order, for diffs and jq)."""
    click.echo(json.dumps(document, indent=2, sort_keys=True))


def when(epoch: object) -> str:
    """An epoch-seconds time from the server as UTC ISO 8601, ``-`` if absent."""
    if not isinstance(epoch, int | float) or isinstance(epoch, bool):
        return "-"
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
