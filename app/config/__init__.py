"""Typed, frozen settings read once from ``TRENT_*`` environment variables.

:mod:`~app.config.settings` (what the settings are), :mod:`~app.config.variables`
(the one table of variables, their parsers, :func:`load_settings`; the only
module that reads the environment), :mod:`~app.config.issuers` (the trusted
JWT issuers' file). Callers import from here.
"""

from app.config.issuers import ALLOWED_JWT_ALGORITHMS
from app.config.settings import ConfigError, IssuerConfig, Secret, Settings
from app.config.variables import (
    FIXED_FIELDS,
    KNOWN_VARIABLES,
    OTHER_VARIABLES,
    RETIRED_VARIABLES,
    VARIABLES,
    Variable,
    client_endpoint,
    load_settings,
)

__all__ = [
    "ALLOWED_JWT_ALGORITHMS",
    "FIXED_FIELDS",
    "KNOWN_VARIABLES",
    "OTHER_VARIABLES",
    "RETIRED_VARIABLES",
    "VARIABLES",
    "ConfigError",
    "IssuerConfig",
    "Secret",
    "Settings",
    "Variable",
    "client_endpoint",
    "load_settings",
]
