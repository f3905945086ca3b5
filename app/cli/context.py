"""What every server-side ``trent`` command needs: settings and the database,
with any problem turned into a one-line error and a non-zero exit."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import click

from app.config import ConfigError, Settings, load_settings

if TYPE_CHECKING:
    from app.store.database import Store


def settings_or_exit() -> Settings:
    try:
        return load_settings()
    except ConfigError as exc:
        raise click.ClickException(f"configuration: {exc}") from None


def safe_url(settings: Settings) -> str:
    """The database URL without its credentials, for messages."""
    url = settings.database
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://…@{rest.split('@', 1)[1]}"
    return url


@contextmanager
def database_or_exit(settings: Settings, *, create: bool = False) -> Iterator[Store]:
    """The configured database, with one connection held. Only ``create``
    (``trent init``) may create an SQLite file; otherwise it must exist."""
    from app import open_store
    from app.errors import ServiceUnavailableError
    from app.store.database import StoreConfigError

    try:
        # A command caches nothing, but what it changes, servers on this
        # host must see at once (the store bumps the shared change counter).
        store = open_store(settings, create=create, pool_size=2, cache=False)
        with store.connection():
            yield store
    except StoreConfigError as exc:
        raise click.ClickException(f"database: {exc}") from None
    except ServiceUnavailableError as exc:
        # The database's own words (a refused connection, a missing table),
        # which name no key material or token: the store raises every such
        # failure as ServiceUnavailableError, with them as its cause.
        cause = exc.__cause__
        detail = f": {type(cause).__name__}: {cause}" if cause is not None and str(cause) else ""
        raise click.ClickException(f"database: cannot use {safe_url(settings)}{detail}") from None
