"""``trent init`` and ``trent migrate``: the data directory, the root key, the
local token issuer and the database schema."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import click

from app.cli.context import database_or_exit, safe_url, settings_or_exit

if TYPE_CHECKING:
    from app.config import Settings


@click.command()
@click.option("--if-new", is_flag=True, help="Do nothing if the data directory is initialised.")
@click.option(
    "--create-token-key",
    is_flag=True,
    help="With TRENT_ROOT_KEY_PROVIDER=pkcs11: generate the root key in the token.",
)
def init(if_new: bool, create_token_key: bool) -> None:
    """Create the data directory, the root key, the local token issuer and the schema."""
    from app.auth.local_issuer import LocalIssuer
    from app.crypto.issuer_keys import create_issuer_key
    from app.crypto.root_key import FileRootKeyProvider
    from app.store.migrate import apply_migrations

    settings = settings_or_exit()
    data_dir = settings.data_dir
    marker = data_dir / ".initialised"
    if marker.exists():
        if if_new:
            return
        raise click.ClickException(f"{data_dir} is already initialised")
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(data_dir, 0o700)
    if settings.root_key_provider == "file" and not settings.root_key_path.exists():
        FileRootKeyProvider.create(settings.root_key_path)
        click.echo(f"created root key      {settings.root_key_path} (mode 0600)")
    if settings.root_key_provider == "pkcs11":
        _token_root_key(settings, create=create_token_key)
    elif create_token_key:
        raise click.ClickException("--create-token-key needs TRENT_ROOT_KEY_PROVIDER=pkcs11")
    if not (settings.issuer_dir / "issuer.json").exists():
        settings.issuer_dir.mkdir(mode=0o700, exist_ok=True)
        create_issuer_key(settings.issuer_dir)
        issuer = LocalIssuer.load(settings)
        click.echo(f"created local issuer  {issuer.issuer}")
    with database_or_exit(settings, create=True) as store:
        applied = apply_migrations(store)
    click.echo(f"database ready        {safe_url(settings)} ({len(applied)} migrations applied)")
    marker.write_text("1\n", encoding="utf-8")


def _token_root_key(settings: Settings, *, create: bool) -> None:
    """Create the root key in the token when asked; otherwise it must be there already."""
    from app.crypto.pkcs11_root_key import (
        Pkcs11RootKeyProvider,
        load_pkcs11_root_key,
        token_config,
    )
    from app.crypto.root_key import RootKeyError

    try:
        if create:
            root = Pkcs11RootKeyProvider.create(token_config(settings))
            click.echo(
                f"created root key      {settings.pkcs11_key_label!r} in token "
                f"{settings.pkcs11_token_label!r} ({root.key_id}, non-extractable)"
            )
        else:
            root = load_pkcs11_root_key(settings)
            click.echo(
                f"using root key        {root.key_id} in token {settings.pkcs11_token_label!r}"
            )
    except RootKeyError as exc:
        hint = "" if create else " (pass --create-token-key to generate it)"
        raise click.ClickException(f"root key: {exc}{hint}") from None


@click.command()
def migrate() -> None:
    """Apply pending schema migrations."""
    from app.store.migrate import apply_migrations

    settings = settings_or_exit()
    with database_or_exit(settings) as store:
        applied = apply_migrations(store)
    if applied:
        for name in applied:
            click.echo(f"applied {name}")
    else:
        click.echo("schema is up to date")


COMMANDS = (init, migrate)
