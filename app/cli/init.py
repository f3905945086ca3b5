"""``trent init`` and ``trent migrate``: the data directory, the root key, the
local token issuer and the database schema."""

from __future__ import annotations

import os

import click

from app.cli.context import database_or_exit, safe_url, settings_or_exit


@click.command()
@click.option("--if-new", is_flag=True, help="Do nothing if the data directory is initialised.")
def init(if_new: bool) -> None:
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
    if not (settings.issuer_dir / "issuer.json").exists():
        settings.issuer_dir.mkdir(mode=0o700, exist_ok=True)
        create_issuer_key(settings.issuer_dir)
        issuer = LocalIssuer.load(settings)
        click.echo(f"created local issuer  {issuer.issuer}")
    with database_or_exit(settings, create=True) as store:
        applied = apply_migrations(store)
    click.echo(f"database ready        {safe_url(settings)} ({len(applied)} migrations applied)")
    marker.write_text("1\n", encoding="utf-8")


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
