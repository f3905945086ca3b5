"""The collaborators operations need, built once by the app factory.

Operations receive a :class:`Services` and an
:class:`~app.operations.context.OperationContext` as arguments; nothing below
the front doors reaches for globals, Flask or the environment. What an
operation reads or changes, it reaches through the repositories here; the
time through :meth:`Services.now`; randomness through
:attr:`Services.random_bytes`. The app factory (:func:`app.build_services`)
hands in the SQL repositories of one database; the unit tests hand in
in-memory ones.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Protocol

from app.audit.group_commit import GroupCommitter
from app.audit.log import AuditLog
from app.audit.repository import AuditRepository
from app.audit.writer_service import RemoteCommitter, socket_path_fits
from app.config import Settings
from app.crypto.cache import MaterialCache
from app.crypto.randomness import random_bytes
from app.crypto.root_key import RootKeyProvider
from app.crypto.token_keys import TokenConnections
from app.metrics import Metrics
from app.operations.repositories import (
    AccessKeyRepository,
    GrantRepository,
    IdentityPolicyRepository,
    ImportTokenRepository,
    KeyRepository,
    KeyStoreRepository,
)


class Database(Protocol):
    """Connections and units of work on the application's database.

    A database that cannot be used right now raises
    :class:`~app.errors.ServiceUnavailableError` out of each of these.
    """

    def connection(self) -> AbstractContextManager[None]: ...

    def connection_if_used(self) -> AbstractContextManager[None]: ...

    def transaction(self, *, invalidates: bool = True) -> AbstractContextManager[None]: ...

    def ping(self) -> None: ...


@dataclass
class Services:
    settings: Settings
    root_key: RootKeyProvider
    database: Database
    keys: KeyRepository
    access_keys: AccessKeyRepository
    identity_policies: IdentityPolicyRepository
    grants: GrantRepository
    import_tokens: ImportTokenRepository
    key_stores: KeyStoreRepository
    #: Where the audit log keeps its records (the log itself is :attr:`audit`).
    audit_repository: AuditRepository
    clock: Callable[[], float] = field(default=time.time)
    #: ``n`` random bytes; the only source of randomness operations use.
    random_bytes: Callable[[int], bytes] = field(default=random_bytes)
    #: What the process measures of itself (``GET /metrics``).
    metrics: Metrics = field(default_factory=Metrics)
    materials: MaterialCache = field(init=False)
    #: This process's sessions on custom key stores' tokens.
    tokens: TokenConnections = field(init=False)
    audit: AuditLog = field(init=False)
    #: Commits the events of read and cryptographic requests in shared batches.
    audit_writer: GroupCommitter | RemoteCommitter = field(init=False)

    def __post_init__(self) -> None:
        self.tokens = TokenConnections(self.settings.pkcs11_module)
        self.materials = MaterialCache(
            ttl_seconds=self.settings.key_cache_seconds, max_entries=10_000
        )
        # The audit log reads the clock through this object, so a test that
        # moves the service's clock moves the log's too.
        self.audit = AuditLog(
            self.root_key,
            self.settings,
            self.audit_repository,
            clock=lambda: self.clock(),
            checkpoint_file=self.settings.audit_checkpoint_file,
        )
        in_process = GroupCommitter(
            self.audit,
            self.database.connection,
            lambda: self.database.transaction(invalidates=False),
            on_batch=lambda events, seconds: self.metrics.audit_batch(
                "in-process", events, seconds
            ),
        )
        self.audit_writer = (
            RemoteCommitter(
                self.audit,
                self.settings.audit_writer_socket,
                fallback=in_process,
                heartbeat_seconds=self.settings.audit_writer_heartbeat_seconds,
            )
            if self.settings.audit_writer == "process"
            and socket_path_fits(self.settings.audit_writer_socket)
            else in_process
        )

    def now(self) -> float:
        return self.clock()

    def new_uuid(self) -> uuid.UUID:
        """A random (version 4) UUID drawn from :attr:`random_bytes`."""
        return uuid.UUID(bytes=self.random_bytes(16), version=4)

    @contextmanager
    def connection(self) -> Iterator[None]:
        """One database connection for the duration of a request."""
        with self.database.connection():
            yield

    def connection_if_used(self) -> AbstractContextManager[None]:
        """A connection only if a query runs (reads may all come from the cache)."""
        return self.database.connection_if_used()

    @contextmanager
    def unit_of_work(self, *, audit_only: bool = False) -> Iterator[None]:
        """One transaction: every change of an operation commits together.

        ``audit_only``: it appends audit events and changes nothing else, so
        the read caches of the host's processes stay valid."""
        with self.database.transaction(invalidates=not audit_only):
            yield

    def check_ready(self) -> dict[str, str]:
        """Whether a request could succeed now; raises ServiceUnavailableError if not.

        The database answers, and (SQLite) is still the file the server
        started with and writable; the root key seals and unseals; the audit
        chain head is readable; the audit writer process answers a ping (or
        none is listening, and this worker appends its own events)."""
        self.database.ping()
        # The root key must still seal and unseal: a provider that lost its key
        # (an HSM unplugged) makes every key unusable.
        probe = self.root_key.seal(b"readiness", b"trent/readyz")
        self.root_key.unseal(probe, b"trent/readyz")
        with self.database.connection():
            self.audit.ready()
        checks = {"database": "ok", "root_key": "ok", "audit": "ok"}
        if isinstance(self.audit_writer, RemoteCommitter):
            checks["audit_writer"] = self.audit_writer.ready()
        return checks
