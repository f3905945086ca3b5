"""What every server-side ``trent`` command needs: settings and the database,
with any problem turned into a one-line error and a non-zero exit."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import click

from app.config import ConfigError, Settings, load_settings


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
def database_or_exit(settings: Settings, *, create: bool = False) -> Iterator[None]:
    """Bind the configured database and hold one connection. Only ``create``
    (``trent init``) may create an SQLite file; otherwise it must exist."""
    from app.errors import ServiceUnavailableError
    from app.store.database import (
        StoreConfigError,
        bind_database,
        configure_read_cache,
        connection,
        open_database,
        parse_identity,
    )

    try:
        bind_database(
            open_database(
                settings.database,
                pool_size=2,
                pool_timeout=settings.db_pool_timeout,
                busy_timeout_ms=settings.db_busy_timeout_ms,
                create=create,
                identity=parse_identity(settings.database_identity),
            )
        )
        # A command caches nothing, but what it changes, servers on this
        # host must see at once.
        counter = settings.change_counter_path
        configure_read_cache(counter if counter.parent.is_dir() else None, 0)
        with connection():
            yield
    except StoreConfigError as exc:
        raise click.ClickException(f"database: {exc}") from None
    except ServiceUnavailableError:
        raise click.ClickException(f"database: cannot connect to {safe_url(settings)}") from None
