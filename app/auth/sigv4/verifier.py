""":class:`SigV4Verifier`: the checks of a SigV4 request, in the order the
package docstring gives, from its headers to the constant-time comparison."""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Final

from app.auth.access_keys import AccessKeyCredential
from app.auth.principal import Principal
from app.auth.sigv4.authorization import Authorization, parse_authorization
from app.auth.sigv4.canonical import canonical_request_of_map, header_map
from app.auth.sigv4.errors import (
    MISMATCH_MESSAGE,
    MISSING_AUTHENTICATION_TOKEN,
    MISSING_TOKEN_MESSAGE,
    SigV4Error,
    incomplete,
    invalid,
    unrecognized,
)
from app.auth.sigv4.request import SignedRequest
from app.auth.sigv4.request_time import amz_date, parse_request_time
from app.auth.sigv4.signing import SERVICE, TERMINATOR, signature, signing_key, string_to_sign
from app.config import Settings

#: Largest accepted difference between the request time and the server clock.
MAX_SKEW_SECONDS: Final = 300

# Bounds on everything the verifier reads. They sit well above what botocore
# sends and below what would make hashing or parsing a cost worth attacking.
MAX_HEADERS: Final = 128
MAX_HEADER_BYTES: Final = 64 * 1024
MAX_PATH_CHARS: Final = 4096
MAX_QUERY_CHARS: Final = 8192
MAX_METHOD_CHARS: Final = 16

_EMPTY_SHA256: Final = hashlib.sha256(b"").hexdigest()
_METHOD_RE: Final = re.compile(r"[A-Za-z]+")
_SHA256_HEX_RE: Final = re.compile(r"[0-9a-f]{64}")

#: Given an access key id, the key's owner and secret, or ``None`` if no such
#: key is usable (unknown, deleted or inactive).
SecretLookup = Callable[[str], AccessKeyCredential | None]
#: Called after a request verified, e.g. to record when the key was last used.
OnVerified = Callable[[AccessKeyCredential], None]


class SigV4Verifier:
    """Verifies SigV4-signed requests against Trent-issued access keys."""

    def __init__(
        self,
        settings: Settings,
        lookup_secret: SecretLookup,
        *,
        clock: Callable[[], float] = time.time,
        on_verified: OnVerified | None = None,
        max_body_bytes: int | None = None,
    ) -> None:
        self._region = settings.region
        self._lookup = lookup_secret
        self._clock = clock
        self._on_verified = on_verified
        self._max_body = settings.max_body_bytes if max_body_bytes is None else max_body_bytes
        self._signing_keys = _SigningKeys()

    def verify(self, request: SignedRequest) -> Principal:
        """The principal that signed ``request``, or :class:`SigV4Error`."""
        self._check_sizes(request)
        headers = header_map(request.headers)

        authorizations = headers.get("authorization", [])
        if not authorizations:
            raise SigV4Error(
                MISSING_AUTHENTICATION_TOKEN, MISSING_TOKEN_MESSAGE, "no Authorization header"
            )
        if len(authorizations) > 1:
            incomplete("The request has more than one Authorization header.")
        auth = parse_authorization(authorizations[0])

        if "x-amz-security-token" in headers:
            # Temporary credentials come from STS, which Trent is not.
            unrecognized(f"a session token was sent with access key {auth.access_key_id}")

        moment, request_amz_date = parse_request_time(headers)
        self._check_scope(auth, request_amz_date)
        self._check_clock(moment)
        payload_hash = self._payload_hash(headers, request.body)
        for name in auth.signed_header_names:
            if name not in headers:
                invalid(MISMATCH_MESSAGE, f"signed header {name!r} is not in the request")

        credential = self._lookup(auth.access_key_id)
        if credential is None or credential.access_key_id != auth.access_key_id:
            self._signing_keys.forget(auth.access_key_id)
            unrecognized(f"access key {auth.access_key_id} is unknown or not active")

        canonical = canonical_request_of_map(
            request.method,
            request.path,
            request.query,
            headers,
            auth.signed_headers,
            payload_hash,
        )
        # The secret is used here and nowhere else: in the first link of the
        # HMAC chain, never logged, never part of any message.
        key = self._signing_keys.get(credential, auth)
        expected = signature(key, string_to_sign(request_amz_date, auth.scope, canonical))
        if not hmac.compare_digest(expected.encode("ascii"), auth.signature.encode("ascii")):
            invalid(MISMATCH_MESSAGE, f"signature mismatch for access key {auth.access_key_id}")
        if self._on_verified is not None:
            self._on_verified(credential)
        principal = credential.principal
        if principal.auth_method == "sigv4" and principal.token_id == auth.access_key_id:
            return principal  # frozen, and already what the caller is
        return replace(principal, auth_method="sigv4", token_id=auth.access_key_id)

    def _check_sizes(self, request: SignedRequest) -> None:
        if len(request.headers) > MAX_HEADERS:
            incomplete("The request has too many headers.")
        total = 0
        for name, value in request.headers:
            total += len(name) + len(value)
        if total > MAX_HEADER_BYTES:
            incomplete("The request headers are too large.")
        if len(request.method) > MAX_METHOD_CHARS or not _METHOD_RE.fullmatch(request.method):
            incomplete("The request method is malformed.")
        if len(request.path) > MAX_PATH_CHARS or not request.path.startswith("/"):
            incomplete("The request path is malformed or too long.")
        if len(request.query) > MAX_QUERY_CHARS:
            incomplete("The query string is too long.")
        if len(request.body) > self._max_body:
            incomplete("The request body is larger than the service accepts.")

    def _check_scope(self, auth: Authorization, request_amz_date: str) -> None:
        if auth.date_stamp != request_amz_date[:8]:
            invalid(
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of "
                f"date from HTTP: '{auth.date_stamp}' != '{request_amz_date[:8]}', "
                f"from '{request_amz_date}'."
            )
        if auth.region != self._region:
            invalid(
                "Credential should be scoped to a valid region.",
                f"credential scoped to region {auth.region!r}, not {self._region!r}",
            )
        if auth.service != SERVICE:
            invalid(
                f"Credential should be scoped to correct service: '{SERVICE}'.",
                f"credential scoped to service {auth.service!r}",
            )
        if auth.terminator != TERMINATOR:
            invalid(
                f"Credential should be scoped with a valid terminator: '{TERMINATOR}'.",
                f"credential scope terminator {auth.terminator!r}",
            )

    def _check_clock(self, moment: datetime) -> None:
        now_seconds = int(self._clock())
        if abs(moment.timestamp() - now_seconds) <= MAX_SKEW_SECONDS:
            return  # every request but a refused one: no dates to format
        now = datetime.fromtimestamp(now_seconds, tz=UTC)
        window = timedelta(seconds=MAX_SKEW_SECONDS)
        if moment < now - window:
            invalid(
                f"Signature expired: {amz_date(moment)} is now earlier than "
                f"{amz_date(now - window)} ({amz_date(now)} - 5 min.)"
            )
        if moment > now + window:
            invalid(
                f"Signature not yet current: {amz_date(moment)} is still later than "
                f"{amz_date(now + window)} ({amz_date(now)} + 5 min.)"
            )

    @staticmethod
    def _payload_hash(headers: Mapping[str, Sequence[str]], body: bytes) -> str:
        actual = hashlib.sha256(body).hexdigest() if body else _EMPTY_SHA256
        declared = headers.get("x-amz-content-sha256")
        if declared is None:
            return actual
        if len(declared) != 1:
            incomplete("The request has more than one X-Amz-Content-SHA256 header.")
        value = declared[0].strip()
        if not _SHA256_HEX_RE.fullmatch(value):
            # UNSIGNED-PAYLOAD, STREAMING-… and anything else that is not a
            # digest: a KMS request body is small and is always signed.
            invalid(
                "X-Amz-Content-SHA256 must be the hex SHA-256 of the body; "
                "unsigned and streaming payloads are not accepted by this service.",
                "X-Amz-Content-SHA256 is not a SHA-256 digest",
            )
        if not hmac.compare_digest(value.encode("ascii"), actual.encode("ascii")):
            invalid(
                "The provided 'x-amz-content-sha256' header does not match what was computed.",
                "X-Amz-Content-SHA256 does not match the body",
            )
        return value


class _SigningKeys:
    """The signing key derived last for each access key, with its day, region
    and service.

    A signing key is four HMACs away from the secret and the same for every
    request of its day (AWS's SDKs keep it likewise), and every request paid
    for the derivation. An entry serves a request only for the same day,
    region and service and while the key's secret is the one it was derived
    from (compared in constant time), so a changed secret is never verified
    with an old key; an access key the lookup no longer knows is forgotten.
    """

    #: Access keys kept before all are dropped.
    MAX_ENTRIES: Final = 1024

    def __init__(self) -> None:
        self._entries: dict[str, tuple[tuple[str, str, str], bytes, bytes]] = {}

    def __repr__(self) -> str:
        return f"_SigningKeys(<{len(self._entries)} entries>)"

    def get(self, credential: AccessKeyCredential, auth: Authorization) -> bytes:
        secret = credential.secret.expose_secret_bytes()
        scope = (auth.date_stamp, auth.region, auth.service)
        entry = self._entries.get(credential.access_key_id)
        if entry is not None and entry[0] == scope and hmac.compare_digest(entry[1], secret):
            return entry[2]
        key = signing_key(secret, auth.date_stamp, auth.region, auth.service)
        if len(self._entries) >= self.MAX_ENTRIES:
            self._entries.clear()
        self._entries[credential.access_key_id] = (scope, secret, key)
        return key

    def forget(self, access_key_id: str) -> None:
        self._entries.pop(access_key_id, None)
