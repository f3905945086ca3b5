"""``trent grants …``: create, list, retire and revoke grants on a running server
(``TRENT_URL``, ``TRENT_TOKEN``), printing what the server answered."""

from __future__ import annotations

import sys
from typing import Any
from urllib.parse import quote, urlencode

import click

from app.cli.arguments import pairs, show
from app.cli.rest_client import request
from policies.grants import GRANT_OPERATIONS


def _grants_path(key_id: str) -> str:
    return f"/v1/keys/{quote(key_id, safe='')}/grants"


@click.group("grants")
def grants() -> None:
    """Grants: let a principal use a key for some operations without a policy change."""


@grants.command("create")
@click.argument("key_id")
@click.option("--grantee", required=True, help="The principal ARN the grant is for.")
@click.option(
    "--operation",
    "operations",
    multiple=True,
    required=True,
    type=click.Choice(GRANT_OPERATIONS),
    help="An operation the grant allows (repeat).",
)
@click.option("--retiring", help="A principal ARN that may retire the grant.")
@click.option(
    "--context-subset",
    multiple=True,
    metavar="KEY=VALUE",
    help="Allow only requests whose encryption context contains these pairs (repeat).",
)
@click.option(
    "--context-equals",
    multiple=True,
    metavar="KEY=VALUE",
    help="Allow only requests whose encryption context is exactly these pairs (repeat).",
)
@click.option("--name", help="A name: the same name and parameters give back the same grant.")
@click.option(
    "--bypass-separation-of-duties-check",
    is_flag=True,
    help="Allow granting the key's use to one of its administrators (audited).",
)
def create(
    key_id: str,
    grantee: str,
    operations: tuple[str, ...],
    retiring: str | None,
    context_subset: tuple[str, ...],
    context_equals: tuple[str, ...],
    name: str | None,
    bypass_separation_of_duties_check: bool,
) -> None:
    """Create a grant on KEY_ID (key id or ARN); prints its GrantId and GrantToken."""
    if context_subset and context_equals:
        raise click.ClickException("give --context-subset or --context-equals, not both")
    body: dict[str, Any] = {"GranteePrincipal": grantee, "Operations": list(operations)}
    if retiring:
        body["RetiringPrincipal"] = retiring
    if context_subset:
        subset = pairs(context_subset, "--context-subset")
        body["Constraints"] = {"EncryptionContextSubset": subset}
    if context_equals:
        equals = pairs(context_equals, "--context-equals")
        body["Constraints"] = {"EncryptionContextEquals": equals}
    if name:
        body["Name"] = name
    if bypass_separation_of_duties_check:
        body["BypassSeparationOfDutiesCheck"] = True
    show(request("POST", _grants_path(key_id), body))


@grants.command("list")
@click.argument("key_id")
@click.option("--grantee", help="Only the grants for this principal ARN.")
@click.option("--grant-id", help="Only this grant.")
def list_grants(key_id: str, grantee: str | None, grant_id: str | None) -> None:
    """Every grant on KEY_ID (follows pagination); grant tokens are never listed."""
    found: list[Any] = []
    marker: str | None = None
    while True:
        query: dict[str, str] = {}
        if grantee:
            query["GranteePrincipal"] = grantee
        if grant_id:
            query["GrantId"] = grant_id
        if marker:
            query["Marker"] = marker
        suffix = "?" + urlencode(query) if query else ""
        page = request("GET", _grants_path(key_id) + suffix)
        found.extend(page.get("Grants", []))
        marker = page.get("NextMarker")
        if not page.get("Truncated") or not marker:
            break
    show({"Grants": found})


@grants.command("retire")
@click.option(
    "--token",
    "grant_token",
    help="The grant token ('-' reads it from standard input, out of the shell's history).",
)
@click.option("--key", "key_arn", help="The key ARN (with --grant-id).")
@click.option("--grant-id", help="The grant id (with --key).")
def retire(grant_token: str | None, key_arn: str | None, grant_id: str | None) -> None:
    """Retire a grant: by its token, or by --key ARN and --grant-id."""
    if grant_token == "-":
        grant_token = sys.stdin.readline().strip()
    if grant_token and (key_arn or grant_id):
        raise click.ClickException("give --token, or --key with --grant-id, not both")
    if grant_token:
        request("POST", "/v1/grants/retire", {"GrantToken": grant_token})
        click.echo("Retired the grant the token names.")
        return
    if not key_arn or not grant_id:
        raise click.ClickException("give --token, or --key ARN with --grant-id")
    request("POST", "/v1/grants/retire", {"KeyId": key_arn, "GrantId": grant_id})
    click.echo(f"Retired grant {grant_id}.")


@grants.command("revoke")
@click.argument("key_id")
@click.argument("grant_id")
def revoke(key_id: str, grant_id: str) -> None:
    """Revoke grant GRANT_ID on KEY_ID (needs kms:RevokeGrant on the key)."""
    request("DELETE", f"{_grants_path(key_id)}/{quote(grant_id, safe='')}")
    click.echo(f"Revoked grant {grant_id}.")


@grants.command("retirable")
@click.argument("retiring_principal")
def retirable(retiring_principal: str) -> None:
    """The grants RETIRING_PRINCIPAL may retire (follows pagination)."""
    found: list[Any] = []
    marker: str | None = None
    while True:
        query = {"RetiringPrincipal": retiring_principal}
        if marker:
            query["Marker"] = marker
        page = request("GET", "/v1/grants/retirable?" + urlencode(query))
        found.extend(page.get("Grants", []))
        marker = page.get("NextMarker")
        if not page.get("Truncated") or not marker:
            break
    show({"Grants": found})


COMMANDS = (grants,)
