"""``trent aliases create|update|delete|list``: alias names of keys, as a
client of a running server (``TRENT_URL``, ``TRENT_TOKEN``).

An alias name is ``alias/`` and a name; a key can then be named by it
wherever a key id is taken (``trent encrypt alias/payments``).
"""

from __future__ import annotations

from urllib.parse import quote

import click

from app.cli.arguments import when
from app.cli.rest_client import pages, request


def _alias_path(alias_name: str) -> str:
    return f"/v1/aliases/{quote(alias_name, safe='')}"


@click.group("aliases")
def aliases() -> None:
    """Create, repoint, delete and list key aliases (alias/NAME)."""


@aliases.command("create")
@click.argument("alias_name")
@click.argument("key_id")
def create(alias_name: str, key_id: str) -> None:
    """Create ALIAS_NAME (alias/...) for the key KEY_ID."""
    request("POST", "/v1/aliases", {"AliasName": alias_name, "TargetKeyId": key_id})
    click.echo(f"created {alias_name} for {key_id}")


@aliases.command("update")
@click.argument("alias_name")
@click.argument("key_id")
def update(alias_name: str, key_id: str) -> None:
    """Point ALIAS_NAME at another key, KEY_ID."""
    request("PUT", _alias_path(alias_name), {"TargetKeyId": key_id})
    click.echo(f"{alias_name} now names {key_id}")


@aliases.command("delete")
@click.argument("alias_name")
def delete(alias_name: str) -> None:
    """Delete ALIAS_NAME (the key itself is not affected)."""
    request("DELETE", _alias_path(alias_name))
    click.echo(f"deleted {alias_name}")


@aliases.command("list")
@click.option("--key", "key_id", default=None, help="Only the aliases of this key.")
def list_aliases(key_id: str | None) -> None:
    """Every alias of the caller's account: name, key id, last change."""
    for entry in pages("/v1/aliases", "Aliases", {"KeyId": key_id}):
        click.echo(
            f"{entry.get('AliasName', '')}  {entry.get('TargetKeyId', '-')}  "
            f"updated {when(entry.get('LastUpdatedDate'))}"
        )


COMMANDS = (aliases,)
