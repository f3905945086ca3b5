"""The console's session cookie and its CSRF tokens.

Signing in exchanges a bearer token for a cookie holding that token sealed
under the root key (AES-256-GCM, its own additional data, so a session
cannot be replayed as anything else and says nothing to whoever reads it).
Every request unseals it and verifies the token again, exactly as a bearer
request would be: a session lives no longer than its token, and an issuer
that is no longer trusted ends it at once. Nothing is kept on the server, so
any of ``trent serve``'s workers answers any request.

The CSRF token of a form is an HMAC of the session cookie under a key derived
from the root key: a page of another site can neither read it nor compute it.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime

from app.crypto.mac import constant_time_equal, hmac_sha256
from app.crypto.root_key import RootKeyError, RootKeyProvider

COOKIE = "trent_console"
_AAD = b"trent console session v1"
_CSRF_LABEL = b"trent console csrf v1"
#: Longest token a session carries (a cookie must stay under 4 KiB).
MAX_TOKEN = 2400


def seal(root_key: RootKeyProvider, token: str) -> str:
    return base64.urlsafe_b64encode(root_key.seal(token.encode(), _AAD)).decode().rstrip("=")


def unseal(root_key: RootKeyProvider, cookie: str) -> str | None:
    """The token in ``cookie``, or None if it is not one this service sealed."""
    try:
        blob = base64.urlsafe_b64decode(cookie + "=" * (-len(cookie) % 4))
        return root_key.unseal(blob, _AAD).decode()
    except (binascii.Error, ValueError, RootKeyError):
        return None


def csrf_token(root_key: RootKeyProvider, cookie: str) -> str:
    return hmac_sha256(root_key.derive(_CSRF_LABEL), cookie.encode()).hex()


def csrf_matches(root_key: RootKeyProvider, cookie: str, given: str | None) -> bool:
    if not given:
        return False
    expected = csrf_token(root_key, cookie).encode()
    return constant_time_equal(expected, given.encode("utf-8", "replace"))


def token_expiry(token: str) -> int | None:
    """The ``exp`` of a token already verified (its signature is not checked
    again here); None if it has none."""
    return token_claim(token, "exp")


def token_claim(token: str, name: str) -> int | None:
    """A time claim (``exp``, ``iat``) of a token already verified."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError, binascii.Error):
        return None
    value = claims.get(name) if isinstance(claims, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def set_cookie(value: str, expires: int, now: float, *, secure: bool) -> str:
    """The ``Set-Cookie`` value of a session ending at ``expires``."""
    when = datetime.fromtimestamp(expires, UTC).strftime("%a, %d %b %Y %H:%M:%S GMT")
    parts = [
        f"{COOKIE}={value}",
        "Path=/console",
        f"Expires={when}",
        f"Max-Age={max(0, int(expires - now))}",
        "HttpOnly",
        "SameSite=Strict",
    ]
    if secure:
        parts.append("Secure")
    return "; ".join(parts)


def clear_cookie(*, secure: bool) -> str:
    parts = [f"{COOKIE}=", "Path=/console", "Max-Age=0", "HttpOnly", "SameSite=Strict"]
    if secure:
        parts.append("Secure")
    return "; ".join(parts)
