"""``trent access-key create|list|delete``: SigV4 access keys, as a client of a running server.

The server is ``TRENT_URL`` and the caller is whoever ``TRENT_TOKEN`` names
(:func:`app.config.client_endpoint`). ``create`` prints the secret: it is the
only time the server ever returns it. ``create --env`` prints it as shell
lines to ``eval``, with the region and the KMS endpoint an AWS client needs
(without a region the AWS CLI refuses to start).
"""

from __future__ import annotations

import shlex
from datetime import UTC, datetime
from urllib.parse import quote, urlencode

import click

from app.cli.rest_client import request as _request
from app.config import client_endpoint


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
    help="Print `export` lines for eval: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, "
    "AWS_DEFAULT_REGION and AWS_ENDPOINT_URL_KMS (TRENT_URL).",
)
@click.option(
    "--region",
    envvar="TRENT_REGION",
    default="us-east-1",
    show_default=True,
    help="The server's region (its TRENT_REGION), for --env.",
)
def create(as_env: bool, region: str) -> None:
    """Create an access key for the caller and print its id and secret (shown only once)."""
    key = _request("POST", "/v1/access-keys", {}).get("AccessKey")
    if not isinstance(key, dict):
        raise click.ClickException("the server's answer has no AccessKey")
    access_key_id = str(key.get("AccessKeyId", ""))
    secret = str(key.get("SecretAccessKey", ""))
    if as_env:
        click.echo(f"export AWS_ACCESS_KEY_ID={shlex.quote(access_key_id)}")
        click.echo(f"export AWS_SECRET_ACCESS_KEY={shlex.quote(secret)}")
        click.echo(f"export AWS_DEFAULT_REGION={shlex.quote(region)}")
        endpoint = client_endpoint()[0].rstrip("/")
        click.echo(f"export AWS_ENDPOINT_URL_KMS={shlex.quote(endpoint)}")
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


COMMANDS = (access_key,)
