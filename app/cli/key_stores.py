"""``trent key-stores …``: custom key stores on tokens of the service's PKCS#11
module.

``clusters`` is local: it lists the tokens of ``TRENT_PKCS11_MODULE`` with the
``CloudHsmClusterId`` each is named by, and needs no server. The other commands
call a running server (``TRENT_URL``, ``TRENT_TOKEN``) and print what it
answered. A store's password (its token's user PIN) is read from a file or
standard input, never from the command line, where the shell's history and
``ps`` would show it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import IO, Any, TypeVar
from urllib.parse import quote

import click

from app.cli.arguments import show
from app.cli.context import settings_or_exit
from app.cli.rest_client import pages, request, with_query

STORES = "/v1/custom-key-stores"
F = TypeVar("F", bound=Callable[..., Any])

#: What to do about each ConnectionErrorCode a token can cause.
_ERROR_HINTS = {
    "INVALID_CREDENTIALS": "the token refused the password; disconnect the store, give the "
    "token's user PIN with `trent key-stores update ID --password-file FILE`, and connect again",
    "CLUSTER_NOT_FOUND": "no token of the server's TRENT_PKCS11_MODULE has the store's cluster "
    "ID (`trent key-stores clusters` lists them); disconnect the store before connecting again",
    "NETWORK_ERRORS": "the server could not open the token (module missing, token removed); "
    "disconnect the store before connecting again",
}


def _store_path(store_id: str, suffix: str = "") -> str:
    return f"{STORES}/{quote(store_id, safe='')}{suffix}"


def _password_file(*, required: bool) -> Callable[[F], F]:
    """``--password-file``: the PIN never goes on the command line."""
    return click.option(
        "--password-file",
        type=click.File("r"),
        required=required,
        help="A file whose first line is the token's user PIN ('-' reads standard input).",
    )


def _password(source: IO[str]) -> str:
    """The first line of ``source`` without its line ending: the token's PIN."""
    password = source.readline().rstrip("\r\n")
    if not password:
        raise click.UsageError("the password file is empty (it holds the token's user PIN)")
    return password


def _describe(store_id: str) -> dict[str, Any]:
    found = request("GET", with_query(STORES, {"CustomKeyStoreId": store_id}))
    entries = found.get("CustomKeyStores")
    if not isinstance(entries, list) or len(entries) != 1 or not isinstance(entries[0], dict):
        raise click.ClickException(f"the server did not describe custom key store {store_id}")
    return entries[0]


@click.group("key-stores")
def key_stores() -> None:
    """Custom key stores: keys whose material is made and used in a PKCS#11 token."""


@key_stores.command("clusters")
def clusters() -> None:
    """The tokens of TRENT_PKCS11_MODULE and their cluster IDs (local; no server).

    A store's --cluster-id is one of these IDs; it is stable for the token's
    life (made from its serial number and label).
    """
    from app.crypto.pkcs11_session import TokenUnavailable, list_tokens

    module = settings_or_exit().pkcs11_module
    if module is None:
        raise click.ClickException(
            "TRENT_PKCS11_MODULE is not set: it names the PKCS#11 library whose tokens hold "
            "custom key stores"
        )
    try:
        tokens = list_tokens(module)
    except TokenUnavailable as exc:
        raise click.ClickException(str(exc)) from None
    if not tokens:
        click.echo(f"{module} offers no initialised token")
        return
    click.echo(f"{'CLUSTER ID':<19}  {'LABEL':<32}  {'SERIAL':<16}  MANUFACTURER / MODEL")
    for token in tokens:
        click.echo(
            f"{token.cluster_id:<19}  {token.label:<32}  {token.serial:<16}  "
            f"{token.manufacturer} / {token.model}"
        )


@key_stores.command("create")
@click.option("--name", required=True, help="The store's name, unique in the account.")
@click.option(
    "--cluster-id",
    required=True,
    help="The token's cluster ID (`trent key-stores clusters` lists them).",
)
@click.option(
    "--trust-anchor",
    type=click.File("r"),
    help="A PEM X.509 certificate, kept and returned (a local module has no TLS to check).",
)
@_password_file(required=True)
def create(
    name: str, cluster_id: str, trust_anchor: IO[str] | None, password_file: IO[str]
) -> None:
    """Create a store on a token; prints its CustomKeyStoreId. The store starts
    DISCONNECTED: `trent key-stores connect` logs in."""
    body: dict[str, Any] = {
        "CustomKeyStoreName": name,
        "CloudHsmClusterId": cluster_id,
        "KeyStorePassword": _password(password_file),
    }
    if trust_anchor is not None:
        body["TrustAnchorCertificate"] = trust_anchor.read()
    show(request("POST", STORES, body))


@key_stores.command("list")
@click.option("--name", help="Only the store of this name.")
@click.option("--id", "store_id", help="Only the store of this ID.")
def list_stores(name: str | None, store_id: str | None) -> None:
    """The account's stores with their ConnectionState (follows pagination)."""
    if name and store_id:
        raise click.UsageError("give --name or --id, not both")
    query = {"CustomKeyStoreName": name, "CustomKeyStoreId": store_id}
    show({"CustomKeyStores": list(pages(STORES, "CustomKeyStores", query))})


@key_stores.command("connect")
@click.argument("store_id")
def connect(store_id: str) -> None:
    """Log in to the store's token; prints the ConnectionState that resulted
    (and ConnectionErrorCode, exiting non-zero, if it is FAILED)."""
    request("POST", _store_path(store_id, "/connect"), {})
    store = _describe(store_id)
    state = store.get("ConnectionState")
    click.echo(f"ConnectionState: {state}")
    if state == "FAILED":
        code = str(store.get("ConnectionErrorCode", "-"))
        click.echo(f"ConnectionErrorCode: {code}")
        hint = _ERROR_HINTS.get(code, "disconnect the store before connecting again")
        raise click.ClickException(f"custom key store {store_id} did not connect: {hint}")


@key_stores.command("disconnect")
@click.argument("store_id")
def disconnect(store_id: str) -> None:
    """Disconnect a store: its keys cannot be used until it is connected again."""
    request("POST", _store_path(store_id, "/disconnect"), {})
    click.echo(f"disconnected {store_id}")


@key_stores.command("update")
@click.argument("store_id")
@click.option("--name", help="A new name for the store.")
@_password_file(required=False)
@click.option(
    "--cluster-id",
    help="Another token holding the same key objects (a restored copy of the token).",
)
def update(
    store_id: str, name: str | None, password_file: IO[str] | None, cluster_id: str | None
) -> None:
    """Rename a store; change its password or token while it is disconnected."""
    body: dict[str, Any] = {}
    if name is not None:
        body["NewCustomKeyStoreName"] = name
    if password_file is not None:
        body["KeyStorePassword"] = _password(password_file)
    if cluster_id is not None:
        body["CloudHsmClusterId"] = cluster_id
    if not body:
        raise click.UsageError("give --name, --password-file or --cluster-id")
    request("PATCH", _store_path(store_id), body)
    click.echo(f"updated {store_id}")


@key_stores.command("delete")
@click.argument("store_id")
def delete(store_id: str) -> None:
    """Delete a disconnected store that holds no keys (the token is left as it is)."""
    request("DELETE", _store_path(store_id))
    click.echo(f"deleted {store_id}")


COMMANDS = (key_stores,)
