"""The collaborators operations need, built once by the app factory.

Operations receive a :class:`Services` and an
:class:`~app.operations.context.OperationContext` as arguments; nothing below
the front doors reaches for globals, Flask or the environment.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from app.audit.group_commit import GroupCommitter
from app.audit.log import AuditLog
from app.config import Settings
from app.crypto.cache import MaterialCache
from app.crypto.root_key import RootKeyProvider
from app.store import database


@dataclass
class Services:
    settings: Settings
    root_key: RootKeyProvider
    clock: Callable[[], float] = field(default=time.time)
    materials: MaterialCache = field(init=False)
    audit: AuditLog = field(init=False)
    #: Commits the events of read and cryptographic requests in shared batches.
    audit_writer: GroupCommitter = field(init=False)

    def __post_init__(self) -> None:
        self.materials = MaterialCache(
            ttl_seconds=self.settings.key_cache_seconds, max_entries=10_000
        )
        # The audit log reads the clock through this object, so a test that
        # moves the service's clock moves the log's too.
        self.audit = AuditLog(
            self.root_key,
            self.settings,
            clock=lambda: self.clock(),
            checkpoint_file=self.settings.audit_checkpoint_file,
        )
        self.audit_writer = GroupCommitter(self.audit, database.connection, database.transaction)

    def now(self) -> float:
        return self.clock()

    @contextmanager
    def connection(self) -> Iterator[None]:
        """One database connection for the duration of a request."""
        with database.connection():
            yield

    @contextmanager
    def unit_of_work(self) -> Iterator[None]:
        """One transaction: every change of an operation commits together."""
        with database.transaction():
            yield

    def check_ready(self) -> dict[str, str]:
        """Readiness of each dependency; raises ServiceUnavailableError if one fails."""
        database.ping()
        # The root key must still seal and unseal: a provider that lost its key
        # (an HSM unplugged) makes every key unusable.
        probe = self.root_key.seal(b"readiness", b"trent/readyz")
        self.root_key.unseal(probe, b"trent/readyz")
        with database.connection():
            self.audit.ready()
        return {"database": "ok", "root_key": "ok", "audit": "ok"}
