"""``trent root-key migrate``: move everything sealed under the root key to
another kind of root key (today: from a file or environment key into a
PKCS#11 token).

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

_PROGRESS_EVERY = 100


@click.group("root-key")
def root_key() -> None:
    """The root key that seals every key version, access-key secret and signing key."""


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
    from app.cli.reseal import MigrationError, Progress, reseal_all, verify_all
    from app.crypto.root_key import RootKeyError, load_root_key
    from app.store.sealed_rows import discard_import_tokens

    settings = settings_or_exit()
    current = settings.root_key_provider
    if current == target:
        raise click.ClickException(f"TRENT_ROOT_KEY_PROVIDER is already {target!r}")
    if target == "file":
        # The token's derivation secret (the audit MAC key's source) never
        # leaves the token, so no file key could derive the same MAC key.
        raise click.ClickException(
            "moving from a PKCS#11 root key back to a file is not supported: the audit MAC "
            "key is derived inside the token and cannot be reproduced outside it, so the "
            "audit chain would stop verifying"
        )

    def report(progress: Progress) -> None:
        if progress.resealed % _PROGRESS_EVERY == 0:
            click.echo(f"re-sealed {progress.resealed} rows")

    try:
        old = load_root_key(settings)
        new = _token_root_key(settings, old)
        with database_or_exit(settings) as store:
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
    click.echo(
        f"next: set TRENT_ROOT_KEY_PROVIDER={target} (keeping the token settings used here) "
        "and start the service"
    )


def _token_root_key(settings: Settings, old: RootKeyProvider) -> RootKeyProvider:
    """The token's root key: made from ``old``'s derivation secret, or found (a resumed run)."""
    from app.cli.reseal import check_service_keys
    from app.crypto.pkcs11_root_key import Pkcs11RootKeyProvider, token_config
    from app.crypto.root_key import RootKeyError, software_root_secret

    config = token_config(settings)
    try:
        new = Pkcs11RootKeyProvider(config)
        click.echo(f"using root key {new.key_id} in token {config.token_label!r}")
    except RootKeyError:
        new = Pkcs11RootKeyProvider.create(config, derivation_secret=software_root_secret(old))
        click.echo(f"created root key {new.key_id} in token {config.token_label!r}")
    check_service_keys(old, new)
    return new


def _retire(settings: Settings, old: RootKeyProvider) -> None:
    """Take the old root key out of use, keeping it for backups made before."""
    from app.crypto.root_key import FileRootKeyProvider

    if isinstance(old, FileRootKeyProvider):
        retired = Path(f"{old.path}.retired-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}")
        os.rename(old.path, retired)
        click.echo(
            f"retired the old root key: {old.path} is now {retired}; move it offline "
            "(backups taken before this migration need it) or destroy it"
        )
    else:
        click.echo("retire the old root key: remove TRENT_ROOT_KEY from the service's environment")


COMMANDS = (root_key,)
