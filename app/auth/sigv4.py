"""AWS Signature Version 4 verification for the AWS door (kms-api.md §1.3).

The verifier works on a plain description of the request
(:class:`SignedRequest`) and a lookup callback, so it needs neither Flask nor
the database: the AWS door builds the description (see
:func:`signed_request_from_wsgi`), the operations layer supplies the lookup.

Checks, cheapest first, so that nothing is looked up or hashed for a request
that can be refused from its headers alone:

1. sizes: header count and bytes, path, query, body;
2. exactly one ``Authorization`` header (none at all is
   ``MissingAuthenticationTokenException``); it is
   ``AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`` in any order
   with optional spaces after the commas; another algorithm, a missing,
   repeated or unknown part, a malformed credential, signed-header list or
   signature is ``IncompleteSignatureException``;
3. ``host`` must be signed (``IncompleteSignatureException``: an unsigned
   ``Host`` would let a request signed for one endpoint be replayed to another);
4. ``X-Amz-Security-Token`` is refused (``UnrecognizedClientException``):
   Trent issues no temporary credentials, so any session token is foreign;
5. the request time, from ``X-Amz-Date`` (``yyyymmddTHHMMSSZ``) or else an
   RFC 7231 ``Date``, parsed strictly;
6. the credential scope (``InvalidSignatureException``): its date must be
   the request's date, its region Trent's region, its service ``kms``, its
   terminator ``aws4_request``;
7. the clock: more than five minutes in the past or the future is
   ``InvalidSignatureException`` with AWS's "Signature expired" /
   "Signature not yet current" text;
8. the payload hash: a present ``X-Amz-Content-SHA256`` must equal the body's
   SHA-256 (``UNSIGNED-PAYLOAD`` and streaming forms are refused: a KMS body
   is small and always signed);
9. every signed header must be present;
10. the access key id must have the form of an id and be known to the lookup
    (``UnrecognizedClientException``); the lookup runs on every request, so a
    deleted key is unusable at once, in every process;
11. the signature is recomputed and compared in constant time.

Every failure raises :class:`SigV4Error`, carrying AWS's error code, AWS's
client-facing message and a ``reason`` for the log. Neither ever contains the
secret, a derived key or a signature.

There is no cache of derived signing keys: the lookup (one indexed read) must
run on every request anyway so that deletion takes effect at once, and the
derivation it would save is four HMACs.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Final, NoReturn
from urllib.parse import quote, unquote, urlsplit

from app.auth.access_keys import ANY_ACCESS_KEY_ID_RE, AccessKeyCredential
from app.auth.principal import Principal
from app.config import Settings

ALGORITHM: Final = "AWS4-HMAC-SHA256"
SERVICE: Final = "kms"
TERMINATOR: Final = "aws4_request"
#: Largest accepted difference between the request time and the server clock.
MAX_SKEW_SECONDS: Final = 300

# AWS's error codes for authentication failures (kms-api.md §1.2).
MISSING_AUTHENTICATION_TOKEN: Final = "MissingAuthenticationTokenException"
INCOMPLETE_SIGNATURE: Final = "IncompleteSignatureException"
INVALID_SIGNATURE: Final = "InvalidSignatureException"
UNRECOGNIZED_CLIENT: Final = "UnrecognizedClientException"

MISSING_TOKEN_MESSAGE: Final = "Missing Authentication Token"
UNRECOGNIZED_MESSAGE: Final = "The security token included in the request is invalid."
MISMATCH_MESSAGE: Final = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. "
    "Consult the service documentation for details."
)
HOST_NOT_SIGNED_MESSAGE: Final = (
    "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."
)

# Bounds on everything the verifier reads. They sit well above what botocore
# sends and below what would make hashing or parsing a cost worth attacking.
MAX_HEADERS: Final = 128
MAX_HEADER_BYTES: Final = 64 * 1024
MAX_AUTHORIZATION_CHARS: Final = 4096
MAX_SIGNED_HEADERS: Final = 64
MAX_PATH_CHARS: Final = 4096
MAX_QUERY_CHARS: Final = 8192
MAX_METHOD_CHARS: Final = 16

_EMPTY_SHA256: Final = hashlib.sha256(b"").hexdigest()
_AMZ_DATE_RE: Final = re.compile(r"([0-9]{4})([0-9]{2})([0-9]{2})T([0-9]{2})([0-9]{2})([0-9]{2})Z")
_HTTP_DATE_RE: Final = re.compile(
    r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), ([0-9]{2}) "
    r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) ([0-9]{4}) "
    r"([0-9]{2}):([0-9]{2}):([0-9]{2}) GMT"
)
_WEEKDAYS: Final = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS: Final = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
#: An RFC 9110 token in lower case: what a signed header name may be.
_HEADER_NAME_RE: Final = re.compile(r"[a-z0-9!#$%&'*+.^_`|~-]+")
_METHOD_RE: Final = re.compile(r"[A-Za-z]+")
_SIGNATURE_RE: Final = re.compile(r"[0-9a-f]{64}")
_SCOPE_DATE_RE: Final = re.compile(r"[0-9]{8}")
#: Region, service and terminator in a credential: short and safe to echo.
_SCOPE_PART_RE: Final = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_SHA256_HEX_RE: Final = re.compile(r"[0-9a-f]{64}")
_CANONICAL_QUERY_PART_RE: Final = re.compile(r"(?:[A-Za-z0-9_.~-]|%[0-9A-F]{2})*")


class SigV4Error(Exception):
    """A request failed SigV4 authentication.

    ``code`` is AWS's error code (the AWS door's ``__type``), ``message`` the
    text AWS answers with, ``reason`` a precise phrase for the log. None of
    them contains the secret, a derived key or the signature. All four codes
    are client errors that AWS answers with HTTP 400.
    """

    status: Final = 400

    def __init__(self, code: str, message: str, reason: str) -> None:
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.message = message
        self.reason = reason

    def __repr__(self) -> str:
        return f"SigV4Error({self.code!r}, {self.reason!r})"


def _incomplete(message: str, reason: str | None = None) -> NoReturn:
    raise SigV4Error(INCOMPLETE_SIGNATURE, message, reason or message)


def _invalid(message: str, reason: str | None = None) -> NoReturn:
    raise SigV4Error(INVALID_SIGNATURE, message, reason or message)


def _unrecognized(reason: str) -> NoReturn:
    raise SigV4Error(UNRECOGNIZED_CLIENT, UNRECOGNIZED_MESSAGE, reason)


@dataclass(frozen=True)
class SignedRequest:
    """An HTTP request as SigV4 sees it.

    ``path`` is the raw request path as received (still percent-encoded, no
    query); ``query`` the raw query string (no ``?``); ``headers`` every
    header as ``(name, value)`` pairs in arrival order, repeats kept, values
    as the WSGI server decoded them (ISO-8859-1); ``body`` the raw body.
    """

    method: str
    path: str
    query: str
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def __repr__(self) -> str:
        # Headers carry the Authorization value and the body may carry
        # plaintext: neither belongs in a log line or a traceback.
        return (
            f"SignedRequest({self.method!r}, {self.path[:64]!r}, "
            f"<{len(self.headers)} headers>, <{len(self.body)} bytes>)"
        )


def signed_request_from_wsgi(environ: Mapping[str, Any], body: bytes) -> SignedRequest:
    """A :class:`SignedRequest` from a WSGI environ and the request body.

    The raw path comes from ``RAW_URI`` (gunicorn, Werkzeug) or
    ``REQUEST_URI``; without either, ``SCRIPT_NAME + PATH_INFO`` is
    percent-encoded again, which gives the same result for every path an SDK
    sends. Headers are rebuilt from the ``HTTP_*`` keys plus ``CONTENT_TYPE``
    and ``CONTENT_LENGTH``; a WSGI server has already joined repeated headers
    with ``,``, which is also how SigV4 joins them.
    """
    raw_uri = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if isinstance(raw_uri, str) and raw_uri:
        if not raw_uri.startswith("/"):
            # Absolute form (``http://host/path``): keep only the path.
            raw_uri = urlsplit(raw_uri).path or "/"
        path = raw_uri.split("?", 1)[0]
    else:
        decoded = str(environ.get("SCRIPT_NAME", "")) + str(environ.get("PATH_INFO", ""))
        path = quote(decoded.encode("latin-1", "replace"), safe="/!$&'()*+,;=:@~-._") or "/"
    headers: list[tuple[str, str]] = []
    for key, value in environ.items():
        if not isinstance(key, str) or not isinstance(value, str):
            continue
        if key.startswith("HTTP_"):
            headers.append((key[5:].replace("_", "-").lower(), value))
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH") and value:
            headers.append((key.replace("_", "-").lower(), value))
    return SignedRequest(
        method=str(environ.get("REQUEST_METHOD", "")),
        path=path,
        query=str(environ.get("QUERY_STRING", "")),
        headers=tuple(headers),
        body=body,
    )


# ---------------------------------------------------------------------------
# The pieces of the signature, as pure functions (also used by the tests
# against AWS's published example).
# ---------------------------------------------------------------------------


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 §5.2.4, and empty segments removed too, as AWS (and botocore) do."""
    if not path:
        return "/"
    output: list[str] = []
    for segment in path.split("/"):
        if not segment or segment == ".":
            continue
        if segment == "..":
            if output:
                output.pop()
        else:
            output.append(segment)
    first = "/" if path.startswith("/") else ""
    last = "/" if path.endswith("/") and output else ""
    return first + "/".join(output) + last


def canonical_uri(raw_path: str) -> str:
    """The normalised path, URI-encoded once more.

    Services other than S3 sign every path segment encoded twice: the path an
    SDK sends is already percent-encoded, and the signer encodes it again
    (``%`` becomes ``%25``). The raw path as received is therefore encoded
    once here.
    """
    return quote(_remove_dot_segments(raw_path), safe="/~")


def _encode_query_part(part: str) -> str:
    if _CANONICAL_QUERY_PART_RE.fullmatch(part):
        return part
    return quote(unquote(part), safe="-_.~")


def canonical_query_string(raw_query: str) -> str:
    """Names and values URI-encoded (RFC 3986 unreserved characters kept),
    sorted by name and then value, joined with ``&``."""
    if not raw_query:
        return ""
    pairs = []
    for item in raw_query.split("&"):
        name, _, value = item.partition("=")
        pairs.append((_encode_query_part(name), _encode_query_part(value)))
    return "&".join(f"{name}={value}" for name, value in sorted(pairs))


def _trim_all(value: str) -> str:
    """Leading and trailing white space removed, inner runs collapsed to one space."""
    return " ".join(value.split())


def canonical_headers(headers: Mapping[str, Sequence[str]], signed: Iterable[str]) -> str:
    """``name:value\\n`` for each signed header in sorted order; repeated
    headers joined with ``,``. ``headers`` maps lower-case names to values."""
    lines = []
    for name in sorted(set(signed)):
        values = headers.get(name, ())
        lines.append(f"{name}:{','.join(_trim_all(v) for v in values)}\n")
    return "".join(lines)


def _header_map(headers: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for name, value in headers:
        grouped.setdefault(name.lower(), []).append(value)
    return grouped


def canonical_request(
    method: str,
    raw_path: str,
    raw_query: str,
    headers: Iterable[tuple[str, str]],
    signed_headers: str,
    payload_hash: str,
) -> str:
    """The canonical request: method, URI, query, headers, signed headers, payload hash."""
    grouped = _header_map(headers)
    return "\n".join(
        (
            method.upper(),
            canonical_uri(raw_path),
            canonical_query_string(raw_query),
            canonical_headers(grouped, signed_headers.split(";")),
            signed_headers,
            payload_hash,
        )
    )


def string_to_sign(amz_date: str, scope: str, canonical: str) -> str:
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return f"{ALGORITHM}\n{amz_date}\n{scope}\n{digest}"


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.digest(key, text.encode("utf-8"), "sha256")


def signing_key(secret: bytes, date_stamp: str, region: str, service: str) -> bytes:
    """kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request")."""
    k_date = _hmac(b"AWS4" + secret, date_stamp)
    k_region = _hmac(k_date, region)
    k_service = _hmac(k_region, service)
    return _hmac(k_service, TERMINATOR)


def signature(key: bytes, to_sign: str) -> str:
    return hmac.digest(key, to_sign.encode("utf-8"), "sha256").hex()


# ---------------------------------------------------------------------------
# Parsing
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Authorization:
    """The parsed ``Authorization`` header."""

    access_key_id: str
    date_stamp: str
    region: str
    service: str
    terminator: str
    signed_headers: str
    signature: str = ""

    @property
    def scope(self) -> str:
        return f"{self.date_stamp}/{self.region}/{self.service}/{self.terminator}"

    @property
    def signed_header_names(self) -> list[str]:
        return self.signed_headers.split(";")

    def __repr__(self) -> str:
        return f"Authorization({self.access_key_id!r}, {self.scope!r}, {self.signed_headers!r})"


def parse_authorization(value: str) -> Authorization:
    """Parse ``AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…``."""
    if len(value) > MAX_AUTHORIZATION_CHARS:
        _incomplete("The Authorization header is too long.")
    algorithm, _, rest = value.strip().partition(" ")
    if algorithm != ALGORITHM:
        _incomplete(
            f"Unsupported AWS 'algorithm': only {ALGORITHM} is accepted.",
            "the Authorization header does not use AWS4-HMAC-SHA256",
        )
    parts: dict[str, str] = {}
    for item in rest.split(","):
        name, sep, part = item.strip().partition("=")
        if not sep or name not in ("Credential", "SignedHeaders", "Signature"):
            _incomplete(
                "Authorization header requires 'Credential', 'SignedHeaders' and "
                "'Signature' parameters, and no others.",
                "the Authorization header has an unknown or malformed part",
            )
        if name in parts:
            _incomplete(f"Authorization header has more than one '{name}' parameter.")
        parts[name] = part
    for required in ("Credential", "SignedHeaders", "Signature"):
        if not parts.get(required):
            _incomplete(f"Authorization header requires '{required}' parameter.")

    credential = parts["Credential"].split("/")
    if len(credential) != 5 or not all(credential):
        _incomplete(
            "Credential should have exactly 5 slash-delimited elements, "
            "e.g. keyid/date/region/service/term.",
            "the credential does not have 5 non-empty elements",
        )
    access_key_id, date_stamp, region, service, terminator = credential
    if not ANY_ACCESS_KEY_ID_RE.fullmatch(access_key_id):
        # Not an id at all: refused like an unknown one, without a lookup.
        _unrecognized("the credential's access key id is malformed")
    if not _SCOPE_DATE_RE.fullmatch(date_stamp):
        _incomplete(
            "The date in the credential scope must be yyyyMMdd.",
            "the credential scope date is malformed",
        )
    if not all(_SCOPE_PART_RE.fullmatch(p) for p in (region, service, terminator)):
        _incomplete(
            "The credential scope is malformed.",
            "the credential scope has a malformed region, service or terminator",
        )

    signed = parts["SignedHeaders"]
    names = signed.split(";")
    if len(names) > MAX_SIGNED_HEADERS:
        _incomplete("Too many SignedHeaders.")
    if not all(_HEADER_NAME_RE.fullmatch(n) for n in names):
        _incomplete(
            "SignedHeaders must be lower-case header names separated by ';'.",
            "SignedHeaders is malformed",
        )
    if len(set(names)) != len(names):
        _incomplete("SignedHeaders names a header more than once.")
    if "host" not in names:
        _incomplete(HOST_NOT_SIGNED_MESSAGE, "the host header is not signed")

    if not _SIGNATURE_RE.fullmatch(parts["Signature"]):
        _incomplete(
            "Signature must be 64 lower-case hexadecimal characters.",
            "the signature is malformed",
        )
    return Authorization(
        access_key_id=access_key_id,
        date_stamp=date_stamp,
        region=region,
        service=service,
        terminator=terminator,
        signed_headers=signed,
        signature=parts["Signature"],
    )


def _amz_date(moment: datetime) -> str:
    return moment.strftime("%Y%m%dT%H%M%SZ")


def _parse_amz_date(text: str) -> datetime | None:
    match = _AMZ_DATE_RE.fullmatch(text)
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(g) for g in match.groups())
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError:
        return None


def _parse_http_date(text: str) -> datetime | None:
    """An RFC 7231 IMF-fixdate, parsed without the locale-dependent ``strptime``."""
    match = _HTTP_DATE_RE.fullmatch(text)
    if match is None:
        return None
    weekday, day, month, year, hour, minute, second = match.groups()
    try:
        moment = datetime(
            int(year),
            _MONTHS.index(month) + 1,
            int(day),
            int(hour),
            int(minute),
            int(second),
            tzinfo=UTC,
        )
    except ValueError:
        return None
    return moment if _WEEKDAYS[moment.weekday()] == weekday else None


def parse_request_time(headers: Mapping[str, Sequence[str]]) -> tuple[datetime, str]:
    """The request time and its ``yyyymmddTHHMMSSZ`` form, from ``X-Amz-Date``
    or, when that is absent, from ``Date``."""
    amz = headers.get("x-amz-date")
    if amz is not None:
        if len(amz) != 1:
            _incomplete("The request has more than one X-Amz-Date header.")
        moment = _parse_amz_date(amz[0].strip())
        if moment is None:
            _incomplete(
                "X-Amz-Date must be in ISO-8601 'basic format', e.g. 20150830T123600Z.",
                "X-Amz-Date is malformed",
            )
        return moment, _amz_date(moment)
    date = headers.get("date")
    if date is None:
        _incomplete(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
        )
    if len(date) != 1:
        _incomplete("The request has more than one Date header.")
    moment = _parse_http_date(date[0].strip())
    if moment is None:
        _incomplete(
            "The Date header must be an RFC 7231 date, e.g. Sun, 30 Aug 2015 12:36:00 GMT.",
            "the Date header is malformed",
        )
    return moment, _amz_date(moment)


# ---------------------------------------------------------------------------
# The verifier
# ---------------------------------------------------------------------------

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

    def verify(self, request: SignedRequest) -> Principal:
        """The principal that signed ``request``, or :class:`SigV4Error`."""
        self._check_sizes(request)
        headers = _header_map(request.headers)

        authorizations = headers.get("authorization", [])
        if not authorizations:
            raise SigV4Error(
                MISSING_AUTHENTICATION_TOKEN, MISSING_TOKEN_MESSAGE, "no Authorization header"
            )
        if len(authorizations) > 1:
            _incomplete("The request has more than one Authorization header.")
        auth = parse_authorization(authorizations[0])

        if "x-amz-security-token" in headers:
            # Temporary credentials come from STS, which Trent is not.
            _unrecognized(f"a session token was sent with access key {auth.access_key_id}")

        moment, amz_date = parse_request_time(headers)
        self._check_scope(auth, amz_date)
        self._check_clock(moment)
        payload_hash = self._payload_hash(headers, request.body)
        for name in auth.signed_header_names:
            if name not in headers:
                _invalid(MISMATCH_MESSAGE, f"signed header {name!r} is not in the request")

        credential = self._lookup(auth.access_key_id)
        if credential is None or credential.access_key_id != auth.access_key_id:
            _unrecognized(f"access key {auth.access_key_id} is unknown or not active")

        canonical = canonical_request(
            request.method,
            request.path,
            request.query,
            request.headers,
            auth.signed_headers,
            payload_hash,
        )
        # The secret is used here and nowhere else: in the first link of the
        # HMAC chain, never logged, never part of any message.
        key = signing_key(
            credential.secret.expose_secret_bytes(), auth.date_stamp, auth.region, auth.service
        )
        expected = signature(key, string_to_sign(amz_date, auth.scope, canonical))
        if not hmac.compare_digest(expected.encode("ascii"), auth.signature.encode("ascii")):
            _invalid(MISMATCH_MESSAGE, f"signature mismatch for access key {auth.access_key_id}")
        if self._on_verified is not None:
            self._on_verified(credential)
        return replace(credential.principal, auth_method="sigv4", token_id=auth.access_key_id)

    def _check_sizes(self, request: SignedRequest) -> None:
        if len(request.headers) > MAX_HEADERS:
            _incomplete("The request has too many headers.")
        total = sum(len(name) + len(value) for name, value in request.headers)
        if total > MAX_HEADER_BYTES:
            _incomplete("The request headers are too large.")
        if len(request.method) > MAX_METHOD_CHARS or not _METHOD_RE.fullmatch(request.method):
            _incomplete("The request method is malformed.")
        if len(request.path) > MAX_PATH_CHARS or not request.path.startswith("/"):
            _incomplete("The request path is malformed or too long.")
        if len(request.query) > MAX_QUERY_CHARS:
            _incomplete("The query string is too long.")
        if len(request.body) > self._max_body:
            _incomplete("The request body is larger than the service accepts.")

    def _check_scope(self, auth: Authorization, amz_date: str) -> None:
        if auth.date_stamp != amz_date[:8]:
            _invalid(
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of "
                f"date from HTTP: '{auth.date_stamp}' != '{amz_date[:8]}', from '{amz_date}'."
            )
        if auth.region != self._region:
            _invalid(
                "Credential should be scoped to a valid region.",
                f"credential scoped to region {auth.region!r}, not {self._region!r}",
            )
        if auth.service != SERVICE:
            _invalid(
                f"Credential should be scoped to correct service: '{SERVICE}'.",
                f"credential scoped to service {auth.service!r}",
            )
        if auth.terminator != TERMINATOR:
            _invalid(
                f"Credential should be scoped with a valid terminator: '{TERMINATOR}'.",
                f"credential scope terminator {auth.terminator!r}",
            )

    def _check_clock(self, moment: datetime) -> None:
        now = datetime.fromtimestamp(int(self._clock()), tz=UTC)
        window = timedelta(seconds=MAX_SKEW_SECONDS)
        if moment < now - window:
            _invalid(
                f"Signature expired: {_amz_date(moment)} is now earlier than "
                f"{_amz_date(now - window)} ({_amz_date(now)} - 5 min.)"
            )
        if moment > now + window:
            _invalid(
                f"Signature not yet current: {_amz_date(moment)} is still later than "
                f"{_amz_date(now + window)} ({_amz_date(now)} + 5 min.)"
            )

    @staticmethod
    def _payload_hash(headers: Mapping[str, Sequence[str]], body: bytes) -> str:
        actual = hashlib.sha256(body).hexdigest() if body else _EMPTY_SHA256
        declared = headers.get("x-amz-content-sha256")
        if declared is None:
            return actual
        if len(declared) != 1:
            _incomplete("The request has more than one X-Amz-Content-SHA256 header.")
        value = declared[0].strip()
        if not _SHA256_HEX_RE.fullmatch(value):
            # UNSIGNED-PAYLOAD, STREAMING-… and anything else that is not a
            # digest: a KMS request body is small and is always signed.
            _invalid(
                "X-Amz-Content-SHA256 must be the hex SHA-256 of the body; "
                "unsigned and streaming payloads are not accepted by this service.",
                "X-Amz-Content-SHA256 is not a SHA-256 digest",
            )
        if not hmac.compare_digest(value.encode("ascii"), actual.encode("ascii")):
            _invalid(
                "The provided 'x-amz-content-sha256' header does not match what was computed.",
                "X-Amz-Content-SHA256 does not match the body",
            )
        return value
