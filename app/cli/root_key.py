"""``trent root-key migrate``: move everything sealed under the root key to
another kind of root key: from a file or environment key into a PKCS#11
token (``--to pkcs11``), or from the token back to a new file key
(``--to file``). The audit MAC key is one of the rows moved, so the audit
chain verifies on either side.

Stop the service first: the migration re-seals rows one by one, and a running
server holding the old root key could not read the rows already moved.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

from app.cli.context import database_or_exit, settings_or_exit

if TYPE_CHECKING:
    from app.config import Settings
    from app.crypto.root_key import RootKeyProvider
    from app.store.database import Store

_PROGRESS_EVERY = 100


@click.group("root-key")
def root_key() -> None:
    """The root key that seals every key version, access-key secret and audit key."""


@root_key.command("migrate")
@click.option(
    "--to",
    "target",
    type=click.Choice(["pkcs11", "file"]),
    required=True,
    help="The kind of root key to move to (configured by its own settings).",
)
def migrate_root_key(target: str) -> None:
    """Re-seal everything under a new root key, verify it, then retire the old key.

    Safe to run again after a crash: rows already re-sealed are skipped.
    """
    from app.cli.reseal import (
        MigrationError,
        Progress,
        reseal_all,
        store_mac_key,
        verify_all,
    )
    from app.crypto.root_key import RootKeyError, load_root_key
    from app.store.sealed_rows import discard_import_tokens

    settings = settings_or_exit()
    current = settings.root_key_provider
    if current == target:
        raise click.ClickException(f"TRENT_ROOT_KEY_PROVIDER is already {target!r}")
    if target == "file" and current != "pkcs11":
        raise click.ClickException(
            "--to file moves a PKCS#11 root key to a file: set TRENT_ROOT_KEY_PROVIDER=pkcs11 "
            "and the token settings of the current root key"
        )

    def report(progress: Progress) -> None:
        if progress.resealed % _PROGRESS_EVERY == 0:
            click.echo(f"re-sealed {progress.resealed} rows")

    try:
        old = load_root_key(settings)
        with database_or_exit(settings) as store:
            # Before anything else: a log that never stored its MAC key
            # stores it now, sealed under the current root key.
            store_mac_key(store, old)
            if target == "pkcs11":
                new = _token_root_key(settings, old)
            else:
                new = _file_root_key(settings, store)
            discarded = discard_import_tokens(store)
            if discarded:
                click.echo(
                    f"discarded {discarded} outstanding import parameter set(s): ask "
                    "GetParametersForImport again after the migration"
                )
            progress = reseal_all(store, old, new, after_row=report)
            click.echo(
                f"re-sealed {progress.resealed} rows ({progress.already} already under the "
                f"new root key)"
            )
            count = verify_all(store, new)
    except (RootKeyError, MigrationError) as exc:
        raise click.ClickException(f"root-key migrate: {exc}") from None
    click.echo(f"verified {count} sealed rows under root key {new.key_id}")
    _retire(settings, old)
    if target == "pkcs11":
        click.echo(
            "next: set TRENT_ROOT_KEY_PROVIDER=pkcs11 (keeping the token settings used here) "
            "and start the service"
        )
    else:
        click.echo(
            "next: set TRENT_ROOT_KEY_PROVIDER=file (TRENT_ROOT_KEY_FILE="
            f"{settings.root_key_path}), remove the token settings and start the service"
        )
    click.echo("console sessions signed in before the migration are signed out")


def _token_root_key(settings: Settings, old: RootKeyProvider) -> RootKeyProvider:
    """The token's root key: made from ``old``'s derivation secret, or found (a resumed run)."""
    from app.cli.reseal import check_made_from
    from app.crypto.pkcs11_root_key import Pkcs11RootKeyProvider, token_config
    from app.crypto.root_key import RootKeyError, software_root_secret

    config = token_config(settings)
    try:
        new = Pkcs11RootKeyProvider(config)
        click.echo(f"using root key {new.key_id} in token {config.token_label!r}")
    except RootKeyError:
        new = Pkcs11RootKeyProvider.create(config, derivation_secret=software_root_secret(old))
        click.echo(f"created root key {new.key_id} in token {config.token_label!r}")
    check_made_from(old, new)
    return new


def _file_root_key(settings: Settings, store: Store) -> RootKeyProvider:
    """A new file root key at ``TRENT_ROOT_KEY_FILE``, or the one an
    interrupted run of this migration made there (a resumed run)."""
    from app.cli.reseal import check_resumed_with
    from app.crypto.root_key import FileRootKeyProvider

    path = settings.root_key_path
    if path.exists():
        new = FileRootKeyProvider.load(path)
        resealed = check_resumed_with(store, new)
        click.echo(f"using root key {new.key_id} in {path} ({resealed} rows already under it)")
        return new
    created = FileRootKeyProvider.create(path)
    click.echo(f"created root key {created.key_id} in {path}")
    return created


def _retire(settings: Settings, old: RootKeyProvider) -> None:
    """Take the old root key out of use, keeping it for backups made before."""
    from app.crypto.pkcs11_root_key import Pkcs11RootKeyProvider
    from app.crypto.root_key import FileRootKeyProvider

    if isinstance(old, FileRootKeyProvider):
        retired = Path(f"{old.path}.retired-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}")
        os.rename(old.path, retired)
        click.echo(
            f"retired the old root key: {old.path} is now {retired}; move it offline "
            "(backups taken before this migration need it) or destroy it"
        )
    elif isinstance(old, Pkcs11RootKeyProvider):
        # Never destroyed here: a backup taken before the migration needs them.
        label, token = settings.pkcs11_key_label, settings.pkcs11_token_label
        click.echo(
            f"retire the old root key: its objects {label!r} and {label + '.derive'!r} in token "
            f"{token!r} are no longer used; keep them while backups taken before this migration "
            "may be restored, then delete them with the token's tools, e.g. "
            f"`pkcs11-tool --module {settings.pkcs11_module} --token-label {token} --login "
            f"--delete-object --type secrkey --label {label}` (and again for {label}.derive)"
        )
    else:
        click.echo("retire the old root key: remove TRENT_ROOT_KEY from the service's environment")


COMMANDS = (root_key,)
