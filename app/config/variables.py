"""``TRENT_*`` variables into :class:`~app.config.settings.Settings`.

This is the only module that reads the environment. A bad or missing value
stops start-up with a :class:`~app.config.settings.ConfigError` whose message
names the variable. Every variable is one row of :data:`VARIABLES` (name,
field, parser, default): :func:`load_settings` parses exactly those rows, and
they are exactly the names it accepts besides :data:`OTHER_VARIABLES`.
"""

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from app.config.issuers import parse_issuers
from app.config.settings import PARTITION_RE, REGION_RE, ConfigError, Secret, Settings

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


def _parse_log_format(name: str, raw: str) -> str:
    value = raw.strip().lower()
    if value not in ("text", "json"):
        raise ConfigError(f"{name} must be text or json (got {raw!r})")
    return value


def _parse_metrics(name: str, raw: str) -> str:
    value = raw.strip().lower()
    if value not in ("off", "open"):
        raise ConfigError(f"{name} must be off or open (got {raw!r})")
    return value


def _parse_root_key_provider(name: str, raw: str) -> str:
    if raw not in ("file", "env", "pkcs11"):
        raise ConfigError(f"{name} must be 'file', 'env' or 'pkcs11' (got {raw!r})")
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
    Variable("TRENT_LOG_FORMAT", "log_format", _parse_log_format),
    Variable("TRENT_METRICS", "metrics", _parse_metrics),
    Variable("TRENT_LOCAL_ISSUER", "local_issuer", _parse_bool),
    Variable("TRENT_JWT_AUDIENCE", "jwt_audience", _parse_text),
    Variable("TRENT_JWT_LEEWAY", "jwt_leeway_seconds", _int_between(0, 60)),
    Variable("TRENT_JWT_MAX_LIFETIME", "jwt_max_lifetime_seconds", _int_between(60, 7 * 24 * 3600)),
    Variable("TRENT_ISSUERS_FILE", "issuers", parse_issuers),
    Variable("TRENT_ROOT_KEY_PROVIDER", "root_key_provider", _parse_root_key_provider),
    Variable("TRENT_ROOT_KEY_FILE", "root_key_file", _parse_resolved_path),
    Variable("TRENT_ROOT_KEY", "root_key_env", _parse_secret),
    Variable("TRENT_PKCS11_MODULE", "pkcs11_module", _parse_resolved_path),
    Variable("TRENT_PKCS11_TOKEN_LABEL", "pkcs11_token_label", _parse_text),
    Variable("TRENT_PKCS11_PIN", "pkcs11_pin", _parse_secret),
    Variable("TRENT_PKCS11_PIN_FILE", "pkcs11_pin_file", _parse_resolved_path),
    Variable("TRENT_PKCS11_KEY_LABEL", "pkcs11_key_label", _parse_text),
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
    if settings.root_key_provider == "pkcs11":
        _check_pkcs11(settings)
    if not settings.local_issuer and not settings.issuers:
        raise ConfigError(
            "TRENT_LOCAL_ISSUER is false and TRENT_ISSUERS_FILE names no issuer: "
            "no caller could ever authenticate"
        )


def _check_pkcs11(settings: Settings) -> None:
    if settings.pkcs11_module is None:
        raise ConfigError(
            "TRENT_PKCS11_MODULE must name the token's PKCS#11 library when "
            "TRENT_ROOT_KEY_PROVIDER=pkcs11"
        )
    if not settings.pkcs11_token_label:
        raise ConfigError(
            "TRENT_PKCS11_TOKEN_LABEL must be set when TRENT_ROOT_KEY_PROVIDER=pkcs11"
        )
    if (settings.pkcs11_pin is None) == (settings.pkcs11_pin_file is None):
        raise ConfigError(
            "exactly one of TRENT_PKCS11_PIN and TRENT_PKCS11_PIN_FILE must be set when "
            "TRENT_ROOT_KEY_PROVIDER=pkcs11"
        )


def client_endpoint(environ: Mapping[str, str] | None = None) -> tuple[str, str | None]:
    """``(TRENT_URL, TRENT_TOKEN)`` for the CLI's client commands."""
    env = os.environ if environ is None else environ
    return env.get("TRENT_URL") or "http://127.0.0.1:8080", env.get("TRENT_TOKEN") or None
