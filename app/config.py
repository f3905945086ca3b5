"""Typed, frozen settings read once from ``TRENT_*`` environment variables.

This is the only module that reads the environment. A bad or missing value
stops start-up with a :class:`ConfigError` whose message names the variable.
Secrets are wrapped in :class:`Secret` so that ``repr`` never shows them.
Encryption cannot be switched off: there is no setting for it.

Every variable is one row of :data:`VARIABLES` (name, field, parser, default):
:func:`load_settings` parses exactly those rows, and they are exactly the
names it accepts besides :data:`OTHER_VARIABLES`.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

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


def _parse_issuers(name: str, path_raw: str) -> tuple[IssuerConfig, ...]:
    path = Path(path_raw)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{name}: cannot read {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise ConfigError(f"{name}: {path} is not valid JSON: {exc}") from None
    if not isinstance(document, list):
        raise ConfigError(f"{name}: {path} must hold a JSON list of issuers")
    issuers: list[IssuerConfig] = []
    for index, entry in enumerate(document):
        where = f"{name}: {path} entry {index}"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where} must be an object")
        issuers.append(_issuer_from_mapping(where, entry, path.parent))
    return tuple(issuers)


#: JWT algorithms an issuer may be configured with: asymmetric only (never HMAC,
#: never ``none``), so a public key can never be used as an HMAC secret.
ALLOWED_JWT_ALGORITHMS = frozenset({"ES256", "ES384", "EdDSA", "RS256", "PS256", "RS384", "PS384"})


def _issuer_from_mapping(where: str, entry: Mapping[str, Any], base: Path) -> IssuerConfig:
    known = {
        "issuer",
        "audience",
        "algorithms",
        "pem",
        "jwks_file",
        "jwks_url",
        "account_claim",
        "principal_type_claim",
        "principal_name_claim",
        "tags_claim",
        "token_type",
    }
    unknown = set(entry) - known
    if unknown:
        raise ConfigError(f"{where}: unknown member(s) {sorted(unknown)}")
    issuer = entry.get("issuer")
    audience = entry.get("audience")
    algorithms = entry.get("algorithms")
    if not isinstance(issuer, str) or not issuer:
        raise ConfigError(f"{where}: 'issuer' must be a non-empty string")
    if not isinstance(audience, str) or not audience:
        raise ConfigError(f"{where}: 'audience' must be a non-empty string")
    if (
        not isinstance(algorithms, list)
        or not algorithms
        or not all(isinstance(a, str) and a in ALLOWED_JWT_ALGORITHMS for a in algorithms)
    ):
        raise ConfigError(
            f"{where}: 'algorithms' must be a non-empty list drawn from "
            f"{sorted(ALLOWED_JWT_ALGORITHMS)} (HMAC and 'none' are never accepted)"
        )
    sources = [k for k in ("pem", "jwks_file", "jwks_url") if entry.get(k)]
    if len(sources) != 1:
        raise ConfigError(f"{where}: exactly one of 'pem', 'jwks_file', 'jwks_url' is required")
    jwks_url = entry.get("jwks_url")
    if jwks_url is not None and (
        not isinstance(jwks_url, str) or not jwks_url.startswith("https://")
    ):
        if not (isinstance(jwks_url, str) and jwks_url.startswith("http://127.0.0.1")):
            raise ConfigError(f"{where}: 'jwks_url' must be an https:// URL")

    def _path(key: str) -> Path | None:
        raw = entry.get(key)
        if raw is None:
            return None
        if not isinstance(raw, str):
            raise ConfigError(f"{where}: '{key}' must be a path")
        candidate = Path(raw)
        return candidate if candidate.is_absolute() else base / candidate

    token_type = entry.get("token_type", "at+jwt")
    if token_type is not None and not isinstance(token_type, str):
        raise ConfigError(f"{where}: 'token_type' must be a string or null")
    claims: dict[str, str] = {}
    for claim_key in (
        "account_claim",
        "principal_type_claim",
        "principal_name_claim",
        "tags_claim",
    ):
        value = entry.get(claim_key)
        if value is not None:
            if not isinstance(value, str) or not value:
                raise ConfigError(f"{where}: '{claim_key}' must be a non-empty string")
            claims[claim_key] = value
    return IssuerConfig(
        issuer=issuer,
        audience=audience,
        algorithms=tuple(algorithms),
        pem_path=_path("pem"),
        jwks_path=_path("jwks_file"),
        jwks_url=jwks_url,
        token_type=token_type,
        **claims,
    )


# ---------------------------------------------------------------------------
# Parsers. Each takes the variable's name, which every message names, and
# its text, and returns the field's value or raises ConfigError.
# ---------------------------------------------------------------------------

Parser = Callable[[str, str], object]


def _parse_bool(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("true", "1"):
        return True
    if value in ("false", "0"):
        return False
    raise ConfigError(f"{name} must be one of true, false, 1, 0 (got {raw!r})")


def _parse_int(name: str, raw: str, low: int, high: int) -> int:
    try:
        value = int(raw.strip(), 10)
    except ValueError:
        raise ConfigError(f"{name} must be an integer (got {raw!r})") from None
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low} and {high} (got {value})")
    return value


def _parse_float(name: str, raw: str, low: float, high: float) -> float:
    try:
        value = float(raw.strip())
    except ValueError:
        raise ConfigError(f"{name} must be a number (got {raw!r})") from None
    if not (low <= value <= high):
        raise ConfigError(f"{name} must be between {low} and {high} (got {raw!r})")
    return value


def _int_between(low: int, high: int) -> Parser:
    def parse(name: str, raw: str) -> int:
        return _parse_int(name, raw, low, high)

    return parse


def _float_between(low: float, high: float) -> Parser:
    # The bounds are printed as given (``0``, ``0.1``) in the message.
    def parse(name: str, raw: str) -> float:
        return _parse_float(name, raw, low, high)

    return parse


def _parse_text(name: str, raw: str) -> str:
    return raw


def _parse_secret(name: str, raw: str) -> Secret:
    return Secret(raw)


def _parse_resolved_path(name: str, raw: str) -> Path:
    return Path(raw).resolve()


def _parse_bind(name: str, raw: str) -> str:
    host, sep, port = raw.rpartition(":")
    if not sep or not host:
        raise ConfigError(f"{name} must be HOST:PORT (got {raw!r})")
    _parse_int(name, port, 1, 65535)
    return raw


def _parse_database_url(name: str, raw: str) -> str:
    if raw.startswith("sqlite:///") and len(raw) > len("sqlite:///"):
        return raw
    if raw.startswith(("postgresql://", "postgres://")):
        return raw
    raise ConfigError(
        f"{name} must start with sqlite:/// or postgresql:// (got {raw.split('://')[0]!r})"
    )


def _parse_partition(name: str, raw: str) -> str:
    if not PARTITION_RE.match(raw):
        raise ConfigError(f"{name} must look like 'aws' or 'aws-cn' (got {raw!r})")
    return raw


def _parse_region(name: str, raw: str) -> str:
    if not REGION_RE.match(raw):
        raise ConfigError(f"{name} must look like 'us-east-1' (got {raw!r})")
    return raw


def _parse_log_level(name: str, raw: str) -> str:
    level = raw.upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ConfigError(f"{name} must be DEBUG, INFO, WARNING or ERROR (got {raw!r})")
    return level


def _parse_root_key_provider(name: str, raw: str) -> str:
    if raw not in ("file", "env"):
        raise ConfigError(f"{name} must be 'file' or 'env' (got {raw!r})")
    return raw


def _parse_checkpoint_file(name: str, raw: str) -> Path:
    path = Path(raw).resolve()
    if not path.parent.is_dir():
        raise ConfigError(f"{name}: directory {path.parent} does not exist")
    return path


def _parse_sink(name: str, raw: str) -> Path:
    """An absolute path whose directory exists and which, if it exists, is a
    regular file (appended to, never truncated)."""
    path = Path(raw)
    if not path.is_absolute():
        raise ConfigError(f"{name} must be an absolute file path (got {raw!r})")
    if not path.parent.is_dir():
        raise ConfigError(f"{name}: directory {path.parent} does not exist")
    if path.exists() and not path.is_file():
        raise ConfigError(f"{name}: {path} exists and is not a regular file")
    return path


def _parse_audit_writer(name: str, raw: str) -> str:
    if raw not in ("process", "thread"):
        raise ConfigError(f"{name} must be process or thread")
    return raw


def _parse_database_identity(name: str, raw: str) -> str:
    device, _, inode = raw.partition(":")
    if not (device.isdigit() and inode.isdigit()):
        raise ConfigError(f"{name} must be DEVICE:INODE")
    return raw


# ---------------------------------------------------------------------------
# The variables
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Variable:
    """One ``TRENT_*`` variable that :func:`load_settings` reads."""

    name: str
    #: The :class:`Settings` field it sets.
    field: str
    #: ``parse(name, text)``: the field's value, or a ConfigError naming ``name``.
    parse: Parser
    #: Text parsed when the variable is unset or empty. ``None``: the field
    #: keeps its default on :class:`Settings` (where the derived ones, such
    #: as the database in the data directory, are properties).
    default: str | None = None


#: Every variable :func:`load_settings` reads, in the order it reads them (so
#: the first bad one is the one reported). Parsing and the set of known names
#: both come from this table, so neither can drift from the other; a test
#: holds it to the fields of :class:`Settings`.
VARIABLES: Final[tuple[Variable, ...]] = (
    Variable("TRENT_DATA_DIR", "data_dir", _parse_resolved_path, default="./var"),
    Variable("TRENT_BIND", "bind", _parse_bind),
    Variable("TRENT_DATABASE_URL", "database_url", _parse_database_url),
    Variable("TRENT_DB_POOL_SIZE", "db_pool_size", _int_between(1, 1000)),
    Variable("TRENT_DB_POOL_TIMEOUT", "db_pool_timeout", _float_between(0.01, 60)),
    Variable("TRENT_DB_BUSY_TIMEOUT_MS", "db_busy_timeout_ms", _int_between(1, 600_000)),
    Variable("TRENT_MAX_BODY_BYTES", "max_body_bytes", _int_between(1024, 16 * 1024 * 1024)),
    Variable("TRENT_PARTITION", "partition", _parse_partition),
    Variable("TRENT_REGION", "region", _parse_region),
    Variable("TRENT_WORKERS", "workers", _int_between(1, 256)),
    Variable("TRENT_THREADS", "threads", _int_between(1, 64)),
    Variable("TRENT_LOG_LEVEL", "log_level", _parse_log_level),
    Variable("TRENT_LOCAL_ISSUER", "local_issuer", _parse_bool),
    Variable("TRENT_JWT_AUDIENCE", "jwt_audience", _parse_text),
    Variable("TRENT_JWT_LEEWAY", "jwt_leeway_seconds", _int_between(0, 60)),
    Variable("TRENT_JWT_MAX_LIFETIME", "jwt_max_lifetime_seconds", _int_between(60, 7 * 24 * 3600)),
    Variable("TRENT_ISSUERS_FILE", "issuers", _parse_issuers),
    Variable("TRENT_ROOT_KEY_PROVIDER", "root_key_provider", _parse_root_key_provider),
    Variable("TRENT_ROOT_KEY_FILE", "root_key_file", _parse_resolved_path),
    Variable("TRENT_ROOT_KEY", "root_key_env", _parse_secret),
    Variable("TRENT_SCHEDULER_INTERVAL", "scheduler_interval_seconds", _float_between(0, 86400)),
    Variable("TRENT_AUDIT_CHECKPOINT_FILE", "audit_checkpoint_file", _parse_checkpoint_file),
    Variable(
        "TRENT_AUDIT_CHECKPOINT_INTERVAL",
        "audit_checkpoint_interval_seconds",
        _float_between(0.1, 3600),
    ),
    Variable("TRENT_AUDIT_CHECKPOINT_SINK", "audit_checkpoint_sink", _parse_sink),
    Variable("TRENT_AUDIT_CHECKPOINT_SYSLOG", "audit_checkpoint_syslog", _parse_bool),
    Variable("TRENT_KEY_CACHE_SECONDS", "key_cache_seconds", _float_between(0, 3600)),
    Variable("TRENT_AUDIT_WRITER", "audit_writer", _parse_audit_writer),
    Variable(
        "TRENT_AUDIT_WRITER_HEARTBEAT_SECONDS",
        "audit_writer_heartbeat_seconds",
        _float_between(0.1, 60),
    ),
    Variable("TRENT_DATABASE_IDENTITY", "database_identity", _parse_database_identity),
    Variable("TRENT_METADATA_CACHE_SECONDS", "metadata_cache_seconds", _float_between(0, 300)),
    # The serving limits (app.serving).
    Variable("TRENT_KEEPALIVE_SECONDS", "keepalive_seconds", _int_between(1, 300)),
    Variable("TRENT_BODY_TIMEOUT_SECONDS", "body_timeout_seconds", _int_between(1, 300)),
    Variable("TRENT_MAX_CONNECTIONS", "max_connections", _int_between(16, 100_000)),
    Variable(
        "TRENT_MAX_CONNECTIONS_PER_ADDRESS",
        "max_connections_per_address",
        _int_between(0, 100_000),
    ),
    Variable("TRENT_LIMIT_REQUEST_LINE", "limit_request_line", _int_between(256, 8190)),
    Variable("TRENT_LIMIT_REQUEST_FIELDS", "limit_request_fields", _int_between(16, 32768)),
    Variable(
        "TRENT_LIMIT_REQUEST_FIELD_SIZE", "limit_request_field_size", _int_between(1024, 65536)
    ),
    Variable("TRENT_MAX_REQUESTS", "max_requests", _int_between(0, 100_000_000)),
    Variable("TRENT_WORKER_TIMEOUT_SECONDS", "worker_timeout_seconds", _int_between(5, 3600)),
    Variable("TRENT_GRACEFUL_TIMEOUT_SECONDS", "graceful_timeout_seconds", _int_between(1, 3600)),
)

#: Variables Trent knows that :func:`load_settings` does not read, and who does.
OTHER_VARIABLES: Final[Mapping[str, str]] = {
    "TRENT_URL": "the CLI's client commands (client_endpoint)",
    "TRENT_TOKEN": "the CLI's client commands (client_endpoint)",
    "TRENT_TEST_POSTGRES_URL": "the test suite",
}

#: :class:`Settings` fields no variable sets: fixed limits, replaced only by tests.
FIXED_FIELDS: Final = frozenset(
    {"max_json_depth", "jwt_max_token_bytes", "jwks_timeout_seconds", "jwks_cooldown_seconds"}
)

#: Variables earlier releases read, and why they are gone: start-up stops
#: with that reason rather than "misspelt?".
RETIRED_VARIABLES: Final[Mapping[str, str]] = {
    "TRENT_FAST_LANE": "every request takes the one request pipeline now",
}

#: A ``TRENT_*`` variable outside this set stops start-up (a misspelt name
#: would otherwise be silently ignored).
KNOWN_VARIABLES: Final = frozenset(v.name for v in VARIABLES) | frozenset(OTHER_VARIABLES)


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Build :class:`Settings` from ``TRENT_*`` variables (``os.environ`` by default)."""
    env = os.environ if environ is None else environ
    for name in env:
        if name.startswith("TRENT_") and name not in KNOWN_VARIABLES:
            if name in RETIRED_VARIABLES:
                raise ConfigError(f"{name} is no longer a setting ({RETIRED_VARIABLES[name]})")
            raise ConfigError(f"{name} is not a Trent setting (misspelt?)")
    values: dict[str, Any] = {}
    for variable in VARIABLES:
        # An empty variable counts as unset.
        raw = env.get(variable.name) or variable.default
        if raw is not None:
            values[variable.field] = variable.parse(variable.name, raw)
    settings = Settings(**values)
    _check_together(settings)
    return settings


def _check_together(settings: Settings) -> None:
    """What no single variable can be refused for."""
    if settings.root_key_provider == "env" and settings.root_key_env is None:
        raise ConfigError("TRENT_ROOT_KEY must be set when TRENT_ROOT_KEY_PROVIDER=env")
    if not settings.local_issuer and not settings.issuers:
        raise ConfigError(
            "TRENT_LOCAL_ISSUER is false and TRENT_ISSUERS_FILE names no issuer: "
            "no caller could ever authenticate"
        )


def client_endpoint(environ: Mapping[str, str] | None = None) -> tuple[str, str | None]:
    """``(TRENT_URL, TRENT_TOKEN)`` for the CLI's client commands."""
    env = os.environ if environ is None else environ
    return env.get("TRENT_URL") or "http://127.0.0.1:8080", env.get("TRENT_TOKEN") or None
