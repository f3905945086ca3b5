"""The settings Trent runs with: :class:`Settings`, the issuers it trusts
(:class:`IssuerConfig`), and :class:`Secret`, which ``repr`` never shows.

Encryption cannot be switched off: there is no setting for it.
"""

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REGION_RE = re.compile(r"^[a-z]{2}(-[a-z]+)+-[0-9]+$")
PARTITION_RE = re.compile(r"^aws(-[a-z]+)*$")


class ConfigError(Exception):
    """A setting is missing or invalid. The message names the variable."""


class Secret:
    """A string that never shows itself in ``repr`` or ``str``."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __reduce__(self) -> Any:
        raise TypeError("Secret values cannot be pickled")


@dataclass(frozen=True)
class IssuerConfig:
    """One trusted JWT issuer.

    Exactly one key source is set: ``pem_path`` (one public key), ``jwks_path``
    (a JWKS file) or ``jwks_url`` (fetched with PyJWT's client). Each key is
    bound to one algorithm from ``algorithms``; tokens naming any other
    algorithm are refused.
    """

    issuer: str
    audience: str
    algorithms: tuple[str, ...]
    pem_path: Path | None = None
    jwks_path: Path | None = None
    jwks_url: str | None = None
    #: Claim that carries the 12-digit account id.
    account_claim: str = "trent:account"
    #: Claim that carries the principal type (``user``, ``role`` or ``root``).
    principal_type_claim: str = "trent:type"
    #: Claim that carries the user or role name; if a token lacks it, the name
    #: is the last ``/`` segment of ``sub``.
    principal_name_claim: str = "trent:name"
    #: Claim that carries a ``{key: value}`` map of principal tags.
    tags_claim: str = "trent:tags"
    #: Expected ``typ`` header; ``None`` accepts a missing ``typ`` too.
    token_type: str | None = "at+jwt"


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    bind: str = "127.0.0.1:8080"
    database_url: str = ""
    db_pool_size: int = 16
    db_pool_timeout: float = 3.0
    db_busy_timeout_ms: int = 5000
    max_body_bytes: int = 64 * 1024
    max_json_depth: int = 32
    partition: str = "aws"
    region: str = "us-east-1"
    workers: int = 2
    #: No effect since `trent serve` runs a gevent worker (a greenlet per
    #: connection); still read, so that configurations that set it start.
    threads: int = 8
    log_level: str = "INFO"
    #: ``text`` (one ``key=value`` line per record) or ``json`` (one object
    #: per line), for every line ``trent serve`` writes to stderr.
    log_format: str = "text"
    #: ``open``: ``GET /metrics`` answers without authentication, like
    #: ``/readyz``; ``off``: it answers 404 and nothing is shared between
    #: processes for it (see docs/operators.md, "Metrics").
    metrics: str = "open"
    #: Trust the local issuer created by ``trent init``.
    local_issuer: bool = True
    jwt_audience: str = "trent"
    jwt_leeway_seconds: int = 30
    jwt_max_lifetime_seconds: int = 24 * 3600
    jwt_max_token_bytes: int = 8192
    jwks_timeout_seconds: float = 3.0
    jwks_cooldown_seconds: float = 30.0
    issuers: tuple[IssuerConfig, ...] = ()
    root_key_provider: str = "file"
    root_key_file: Path | None = None
    root_key_env: Secret | None = field(default=None, repr=True)
    #: The PKCS#11 root key (``TRENT_ROOT_KEY_PROVIDER=pkcs11``): the token's
    #: library, the token, its user PIN (given directly or in a file read when
    #: the token is opened) and the label of the root key objects.
    pkcs11_module: Path | None = None
    pkcs11_token_label: str = ""
    pkcs11_pin: Secret | None = field(default=None, repr=True)
    pkcs11_pin_file: Path | None = None
    pkcs11_key_label: str = "trent-root-key"
    #: Seconds between runs of the background scheduler (rotation, deletion);
    #: 0 disables the in-process scheduler.
    scheduler_interval_seconds: float = 60.0
    #: Where signed audit checkpoints are appended; keep it off the database's
    #: disk (another volume, a mounted log store): it is what reveals a
    #: truncated or rolled-back audit table. Default: the data directory.
    audit_checkpoint_file: Path | None = None
    #: Longest time the events at the tail of the log stay without a signed
    #: checkpoint while the log grows: a checkpoint is signed once the head
    #: moved and this long has passed since the last one (and on shutdown).
    #: It bounds what someone with write access to the database can cut from
    #: the tail undetected (see docs/audit.md).
    audit_checkpoint_interval_seconds: float = 5.0
    #: An append-only copy of every checkpoint as it is made, besides the
    #: checkpoint file: a file opened ``O_APPEND`` (another mount, an
    #: append-only file), never read back by the signer.
    audit_checkpoint_sink: Path | None = None
    #: Also send every checkpoint to the local syslog (facility AUTHPRIV).
    audit_checkpoint_syslog: bool = False
    #: Longest time an unsealed key version stays cached in a process.
    key_cache_seconds: float = 30.0
    #: Longest time a process serves a key, alias, identity policy or access
    #: key row that another *host* changed (changes on this host are seen at
    #: once); 0 reads them from the database on every request.
    metadata_cache_seconds: float = 2.0
    #: ``process``: ``trent serve`` runs one audit writer process for all its
    #: workers (:mod:`app.audit.writer_service`); ``thread``: each worker
    #: group-commits its own requests' events.
    audit_writer: str = "process"
    #: ``trent serve``'s master pings its audit writer; one that has not
    #: answered within this many seconds is killed and replaced.
    audit_writer_heartbeat_seconds: float = 1.0
    #: ``DEVICE:INODE`` of the SQLite file ``trent serve`` started with, set by
    #: ``trent serve`` for its own processes (``TRENT_DATABASE_IDENTITY``): a
    #: process it starts later refuses any other file at the database's path.
    database_identity: str = ""
    # How ``trent serve`` bounds what clients can hold (app.serving). Counts
    # of connections are per worker process.
    #: A connection must deliver the next request's line and headers within
    #: this many seconds of its accept or of the end of its previous answer
    #: (so it also bounds the keep-alive idle time); otherwise it is closed.
    keepalive_seconds: int = 5
    #: A request body must have arrived this many seconds after its headers;
    #: otherwise the request is answered 408 without reaching the application.
    body_timeout_seconds: int = 10
    #: Open connections of one worker; past it the worker stops accepting and
    #: new connections wait in the kernel's queue.
    max_connections: int = 1000
    #: Open connections of one client address in one worker (0: no cap, for
    #: a server behind a proxy that all clients reach it through).
    max_connections_per_address: int = 100
    limit_request_line: int = 8190
    limit_request_fields: int = 100
    #: 0: the default, ``jwt_max_token_bytes`` + 1 KiB (a bearer token may be
    #: up to 8 KiB on its own).
    limit_request_field_size: int = 0
    #: A worker is replaced after this many requests (0: never), with up to
    #: 10 % of jitter so that the workers are not replaced together.
    max_requests: int = 0
    #: A worker that has not reported to the master for this long is killed
    #: and replaced.
    worker_timeout_seconds: int = 30
    #: On shutdown or replacement, a worker finishes its requests for at most
    #: this long before it is killed.
    graceful_timeout_seconds: int = 10

    @property
    def request_field_size_limit(self) -> int:
        return self.limit_request_field_size or self.jwt_max_token_bytes + 1024

    @property
    def database(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'trent.db'}"

    @property
    def change_counter_path(self) -> Path:
        """The read cache's change counter, shared by this host's processes."""
        return self.data_dir / "change-counter"

    @property
    def audit_checkpoint_lock(self) -> Path:
        """Held by whoever signs audit checkpoints on this host."""
        return self.data_dir / "audit-checkpoint.lock"

    @property
    def audit_writer_socket(self) -> Path:
        """Where the audit writer process listens (a Unix socket)."""
        return self.data_dir / "audit-writer.sock"

    @property
    def metrics_dir(self) -> Path:
        """Where ``trent serve``'s processes keep their metric values for
        ``/metrics`` to add up (emptied when the server starts)."""
        return self.data_dir / "metrics"

    @property
    def issuer_dir(self) -> Path:
        return self.data_dir / "issuer"

    @property
    def root_key_path(self) -> Path:
        return self.root_key_file or (self.data_dir / "root.key")

    @property
    def bind_host_port(self) -> tuple[str, int]:
        host, _, port = self.bind.rpartition(":")
        return host, int(port)


# ---------------------------------------------------------------------------
# The issuers file (TRENT_ISSUERS_FILE)
# ---------------------------------------------------------------------------
