"""``trent access-key create|list|delete``: SigV4 access keys, as a client of a running server.

The server is ``TRENT_URL`` and the caller is whoever ``TRENT_TOKEN`` names
(:func:`app.config.client_endpoint`). ``create`` prints the secret: it is the
only time the server ever returns it.
"""

from __future__ import annotations

import json
import shlex
import urllib.error
import urllib.request
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import click

from app.config import client_endpoint

TIMEOUT_SECONDS = 30.0


def _request(method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    base, token = client_endpoint()
    if not token:
        raise click.ClickException(
            "TRENT_TOKEN is not set; export TRENT_TOKEN=$(trent token issue …)"
        )
    if urlsplit(base).scheme not in ("http", "https"):
        raise click.ClickException(f"TRENT_URL must be an http:// or https:// URL (got {base!r})")
    data = None if body is None else json.dumps(body).encode("utf-8")
    request = urllib.request.Request(base.rstrip("/") + path, data=data, method=method)
    request.add_header("Authorization", f"Bearer {token}")
    request.add_header("Accept", "application/json")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
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
        return f"{error['code']}: {error['message']} (HTTP {exc.code})"
    except (ValueError, KeyError, TypeError):
        return f"HTTP {exc.code} {exc.reason}"


def _when(epoch: object) -> str:
    if not isinstance(epoch, int | float):
        return "-"
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@click.group("access-key")
def access_key() -> None:
    """SigV4 access keys of the caller (for boto3, the AWS CLI and the AWS door)."""


@access_key.command("create")
@click.option(
    "--env",
    "as_env",
    is_flag=True,
    help="Print `export AWS_ACCESS_KEY_ID=…` and `export AWS_SECRET_ACCESS_KEY=…` lines.",
)
def create(as_env: bool) -> None:
    """Create an access key for the caller and print its id and secret (shown only once)."""
    key = _request("POST", "/v1/access-keys", {}).get("AccessKey")
    if not isinstance(key, dict):
        raise click.ClickException("the server's answer has no AccessKey")
    access_key_id = str(key.get("AccessKeyId", ""))
    secret = str(key.get("SecretAccessKey", ""))
    if as_env:
        click.echo(f"export AWS_ACCESS_KEY_ID={shlex.quote(access_key_id)}")
        click.echo(f"export AWS_SECRET_ACCESS_KEY={shlex.quote(secret)}")
    else:
        click.echo(f"AccessKeyId      {access_key_id}")
        click.echo(f"SecretAccessKey  {secret}")
        click.echo(f"PrincipalArn     {key.get('PrincipalArn', '')}")
    click.echo("The secret is shown only this once; store it now.", err=True)


@access_key.command("list")
@click.option(
    "--principal-arn",
    default=None,
    help="Another principal of the account (the account root only).",
)
def list_keys(principal_arn: str | None) -> None:
    """List the caller's access keys: id, status, creation and last use (never secrets)."""
    query = f"?{urlencode({'PrincipalArn': principal_arn})}" if principal_arn else ""
    entries = _request("GET", f"/v1/access-keys{query}").get("AccessKeyMetadata", [])
    if not isinstance(entries, list):
        raise click.ClickException("the server's answer has no AccessKeyMetadata list")
    for entry in entries:
        if isinstance(entry, dict):
            click.echo(
                f"{entry.get('AccessKeyId', '')}  {entry.get('Status', '')}  "
                f"created {_when(entry.get('CreateDate'))}  "
                f"last used {_when(entry.get('LastUsedDate'))}  {entry.get('PrincipalArn', '')}"
            )


@access_key.command("delete")
@click.argument("access_key_id")
def delete(access_key_id: str) -> None:
    """Delete an access key; it stops working at once."""
    _request("DELETE", f"/v1/access-keys/{quote(access_key_id, safe='')}")
    click.echo(f"deleted {access_key_id}")
