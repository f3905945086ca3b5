"""Grant tokens: what CreateGrant hands back so a grant is usable in the very next call.

A token is ``base64url(0x01 || grant id (32 bytes) || 16 random bytes)``. It is
not a secret (AWS says so too: the grant it names is what allows, and the grant
is listed by ListGrants), but it is treated as one anyway: never written to a
message, a log or the audit log (which records only how many were sent).

Grants here take effect as soon as CreateGrant commits, so a token adds no
permission; what a token does is fail loudly. A request that carries a token
naming a grant that does not exist, or was retired or revoked, is refused with
``InvalidGrantTokenException`` before anything else happens, and every token is
checked against the database (never a cache), so a token replayed after its
grant is gone is refused on every host at once.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence

import policies
from app.errors import InvalidGrantTokenError
from app.operations.services import Services

_VERSION = 1
_GRANT_ID_BYTES = 32
_NONCE_BYTES = 16
_TOKEN_BYTES = 1 + _GRANT_ID_BYTES + _NONCE_BYTES
#: The encoded length (no padding): 49 bytes → 66 characters.
TOKEN_LENGTH = 66


def new_grant_id(services: Services) -> str:
    """A grant id: 64 lower-case hex digits, as AWS's."""
    return services.random_bytes(_GRANT_ID_BYTES).hex()


def new_token(services: Services, grant_id: str) -> str:
    """A fresh token for ``grant_id`` (every call a different one; all are equivalent)."""
    raw = bytes([_VERSION]) + bytes.fromhex(grant_id) + services.random_bytes(_NONCE_BYTES)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def grant_id_of(token: str) -> str:
    """The grant id a token names; :class:`InvalidGrantTokenError` if it is not a token."""
    if len(token) != TOKEN_LENGTH or not token.isascii():
        raise _invalid()
    try:
        raw = base64.urlsafe_b64decode(token + "==")
    except (binascii.Error, ValueError):
        raise _invalid() from None
    if len(raw) != _TOKEN_BYTES or raw[0] != _VERSION:
        raise _invalid()
    return raw[1 : 1 + _GRANT_ID_BYTES].hex()


def check_grant_tokens(services: Services, tokens: Sequence[str]) -> list[policies.Grant]:
    """The grants ``tokens`` name, each read from the database; refuse the request
    if any token is malformed or names a grant that no longer exists."""
    grants = []
    for token in tokens:
        grant = services.grants.get(grant_id_of(token))
        if grant is None:
            raise _invalid()
        grants.append(grant)
    return grants


def _invalid() -> InvalidGrantTokenError:
    return InvalidGrantTokenError("The grant token is not valid.")
