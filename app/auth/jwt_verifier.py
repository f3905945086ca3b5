"""Bearer-token authentication: an ``Authorization`` header in, a :class:`Principal` out.

Every failure raises :class:`UnauthenticatedError` with its one default
message, so a caller cannot tell a bad signature from an unknown issuer or an
expired token. The precise reason is attached for the log as ``exc.reason``:
a short fixed phrase that never contains the token or any part of it.

The order of checks follows security.md §1.2. Everything that can be refused
without cryptography is refused first, from the cheapest check up:

1. exactly ``Bearer <token>``; the token no longer than ``jwt_max_token_bytes``;
2. compact form: three non-empty, unpadded base64url segments in canonical
   encoding (RFC 7515 §2 omits ``=``; refusing it gives every token exactly
   one string form, and Trent sits behind no ALB that would add padding);
3. the header is a UTF-8 JSON object (RFC 8725 §3.7) without duplicate
   members, ``NaN``/``Infinity`` or deep nesting — Python's ``json`` would
   otherwise accept UTF-16 and keep the last duplicate; the payload gets the
   same strict parse once the signature is verified (PyJWT's
   ``_decode_payload`` hook); before that it is only peeked at for ``iss``;
4. no ``jku``, ``x5u``, ``x5c``, ``jwk``, ``crit``, ``zip``, ``enc``, ``b64`` or
   ``cty`` header (no key URLs or embedded keys, no extensions, no JWE, no
   nested JWTs); a ``kid`` must match :data:`app.auth.jwks.KID_PATTERN`;
5. the issuer is chosen by exact match of the (still unverified) ``iss``
   among the trusted issuers; the header ``alg`` must be in that issuer's
   allow-list and equal to the one algorithm bound to the key the ``kid``
   selects; ``typ`` must be the issuer's token type;
6. PyJWT verifies the signature with that key and only that algorithm, and
   checks ``iss``, ``aud`` (one string, exact) and the presence of
   ``exp``, ``iat``, ``iss``, ``aud``, ``sub``;
7. time claims are checked here, against the injected clock: ``exp``, ``iat``
   and ``nbf`` must be JSON integers (PyJWT takes ``"1"``, ``1.5``, ``true``
   and ``1e300``), the lifetime at most ``jwt_max_lifetime_seconds``;
8. the claims must describe a valid principal.
"""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final, NoReturn

import jwt
from jwt.types import Options

from app.auth.jwks import (
    SUPPORTED_ALGORITHMS,
    KeySource,
    SingleKey,
    bind_key,
    load_key_source,
    valid_kid,
)
from app.auth.local_issuer import (
    LocalIssuer,
    check_account,
    check_name,
    check_principal_type,
    check_tags,
)
from app.auth.principal import Principal
from app.auth.token_cache import CachedVerification, VerifiedTokens
from app.config import ConfigError, IssuerConfig, Settings
from app.errors import UnauthenticatedError

_COMPACT_JWS: Final = re.compile(r"([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)")
_FORBIDDEN_HEADERS: Final = frozenset(
    {"jku", "x5u", "x5c", "jwk", "crit", "zip", "enc", "b64", "cty"}
)
#: 9999-12-31T23:59:59Z: any larger time claim is nonsense, not a long-lived token.
_MAX_TIMESTAMP: Final = 253_402_300_799
_MAX_JTI_CHARS: Final = 256
_NO_TAGS: Final[Mapping[str, str]] = MappingProxyType({})


class _Rejected(Exception):
    """Internal: a token failed a check; ``reason`` is for the log only."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _reject(reason: str) -> NoReturn:
    raise _Rejected(reason)


def _unauthenticated(reason: str) -> UnauthenticatedError:
    return UnauthenticatedError(reason=reason)


def _unique_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise ValueError("duplicate member")
    return result


def _no_constants(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")


def _json_depth_exceeds(text: str, value: object, limit: int) -> bool:
    # Nesting needs an opening bracket per level, so the common case of a
    # flat token is settled without walking the parsed value.
    if text.count("{") + text.count("[") <= limit:
        return False
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def _json_object(data: bytes, what: str, max_depth: int) -> dict[str, Any]:
    """Strict JSON: UTF-8 only (no BOM), an object, no duplicate members, no NaN/Infinity."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        _reject(f"{what} is not UTF-8")
    try:
        value = json.loads(text, object_pairs_hook=_unique_members, parse_constant=_no_constants)
    except RecursionError:
        _reject(f"{what} nests too deeply")
    except ValueError:
        _reject(f"{what} is not strict JSON (syntax, duplicate member or constant)")
    if not isinstance(value, dict):
        _reject(f"{what} is not a JSON object")
    if _json_depth_exceeds(text, value, max_depth):
        _reject(f"{what} nests deeper than {max_depth}")
    return value


def _peek_issuer(payload: bytes) -> object:
    """The ``iss`` member of a payload not yet verified, or ``None``."""
    try:
        value = json.loads(payload.decode("utf-8"))
    except RecursionError:
        _reject("payload nests too deeply")
    except ValueError:
        _reject("payload is not UTF-8 JSON")
    return value.get("iss") if isinstance(value, dict) else None


def _b64url_decode(segment: str, what: str) -> bytes:
    """Decode one unpadded segment; refuse non-canonical encodings (stray low bits)."""
    if len(segment) % 4 == 1:
        _reject(f"{what} segment has an impossible length")
    raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    if base64.urlsafe_b64encode(raw).rstrip(b"=") != segment.encode("ascii"):
        _reject(f"{what} segment is not canonical base64url")
    return raw


def _media_type(value: str) -> str:
    """RFC 7515 §4.1.9: ``typ`` is a case-insensitive media type whose
    ``application/`` prefix may be omitted."""
    lowered = value.lower()
    return lowered[len("application/") :] if lowered.startswith("application/") else lowered


class _StrictPyJWT(jwt.PyJWT):
    """PyJWT whose payload parser is strict (``_decode_payload`` is its documented hook).

    PyJWT's own parser is ``json.loads`` on bytes, which guesses the encoding
    (UTF-16 and UTF-32 pass) and keeps the last of duplicate members; the
    claims Trent acts on come from this parse, after the signature check.
    """

    def __init__(self, max_depth: int) -> None:
        super().__init__()
        self._max_depth = max_depth

    def _decode_payload(self, decoded: dict[str, Any]) -> dict[str, Any]:
        payload = decoded["payload"]
        if not isinstance(payload, bytes):
            raise jwt.DecodeError("payload is not bytes")
        # _Rejected passes through PyJWT untouched and keeps its precise reason.
        return _json_object(payload, "payload", self._max_depth)


@dataclass(frozen=True, slots=True)
class _TrustedIssuer:
    issuer: str
    audience: str
    algorithms: frozenset[str]
    keys: KeySource
    #: Normalised expected ``typ``; ``None`` means "not checked".
    token_type: str | None
    account_claim: str
    type_claim: str
    name_claim: str
    tags_claim: str
    #: The local issuer's ``sub`` must be the principal ARN and its name claim is required.
    local: bool


class TokenVerifier:
    """Verifies bearer tokens of the trusted issuers; see the module docstring.

    Built once at start-up: every PEM and JWKS file is read and every key
    bound to its algorithm here, and a bad one raises :class:`ConfigError`.
    ``clock`` returns the current Unix time; it is the only clock used for
    ``exp``, ``nbf`` and ``iat``.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        local_issuer: LocalIssuer | None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if settings.local_issuer and local_issuer is None:
            raise ConfigError("TRENT_LOCAL_ISSUER is true but the local issuer was not loaded")
        if not settings.local_issuer and local_issuer is not None:
            raise ConfigError("TRENT_LOCAL_ISSUER is false but a local issuer was given")
        self._partition = settings.partition
        self._leeway = settings.jwt_leeway_seconds
        self._max_lifetime = settings.jwt_max_lifetime_seconds
        self._max_token_chars = settings.jwt_max_token_bytes
        self._max_depth = settings.max_json_depth
        self._clock = clock
        self._verified = VerifiedTokens()
        self._jwt = _StrictPyJWT(settings.max_json_depth)
        # PyJWT's own exp/nbf/iat checks read the wall clock and coerce with
        # int(); the checks in _check_times use the injected clock and
        # demand real integers, so PyJWT's are switched off, not duplicated.
        self._options: Options = {
            "require": ["exp", "iat", "iss", "aud", "sub"],
            "strict_aud": True,
            "enforce_minimum_key_length": True,
            "verify_exp": False,
            "verify_nbf": False,
            "verify_iat": False,
        }
        self._issuers: dict[str, _TrustedIssuer] = {}
        if local_issuer is not None:
            # The issuer mints with its own settings; if they disagreed with
            # these, every token it minted would be refused.
            if local_issuer.audience != settings.jwt_audience or (
                local_issuer.partition != settings.partition
            ):
                raise ConfigError("the local issuer was loaded with different settings")
            local_key = bind_key(local_issuer.public_key, local_issuer.algorithm, local_issuer.kid)
            self._add(
                local_issuer.issuer_config, SingleKey(local_key, kid=local_issuer.kid), local=True
            )
        for config in settings.issuers:
            self._add(config, load_key_source(config, settings), local=False)
        if not self._issuers:
            raise ConfigError("no trusted token issuer is configured")

    def _add(self, config: IssuerConfig, keys: KeySource, *, local: bool) -> None:
        where = f"issuer {config.issuer!r}"
        if not isinstance(config.issuer, str) or not config.issuer:
            raise ConfigError("an issuer must be a non-empty string")
        if config.issuer in self._issuers:
            raise ConfigError(f"{where} is configured twice")
        if not isinstance(config.audience, str) or not config.audience:
            raise ConfigError(f"{where}: the audience must be a non-empty string")
        algorithms = frozenset(config.algorithms)
        if not algorithms or not algorithms <= SUPPORTED_ALGORITHMS:
            raise ConfigError(
                f"{where}: algorithms must be drawn from {sorted(SUPPORTED_ALGORITHMS)}"
            )
        if config.token_type is not None and not config.token_type:
            raise ConfigError(f"{where}: token_type must be a non-empty string or null")
        self._issuers[config.issuer] = _TrustedIssuer(
            issuer=config.issuer,
            audience=config.audience,
            algorithms=algorithms,
            keys=keys,
            token_type=None if config.token_type is None else _media_type(config.token_type),
            account_claim=config.account_claim,
            type_claim=config.principal_type_claim,
            name_claim=config.principal_name_claim,
            tags_claim=config.tags_claim,
            local=local,
        )

    def verify(self, authorization_header_value: str | None) -> Principal:
        """The principal a bearer token proves; :class:`UnauthenticatedError` otherwise."""
        try:
            return self._verify(authorization_header_value)
        except _Rejected as exc:
            reason = exc.reason
        except jwt.PyJWTError as exc:
            # PyJWT's messages can quote header values; its class name is enough.
            reason = f"PyJWT refused the token ({type(exc).__name__})"
        except Exception as exc:
            # A malformed token must never become a 500, whatever part of the
            # stack it trips (TypeError, ValueError, RecursionError,
            # UnicodeError, cryptography errors ...): it is still a bad token.
            reason = f"token handling failed ({type(exc).__name__})"
        # Raised outside the except blocks, so no exception (and none of the
        # token data some exceptions keep, like JSONDecodeError.doc) is chained.
        raise _unauthenticated(reason)

    def _verify(self, value: str | None) -> Principal:
        if value is None:
            _reject("no Authorization header")
        if not isinstance(value, str):
            _reject("the Authorization header is not text")
        if len(value) > self._max_token_chars + len("Bearer "):
            _reject(f"the token is longer than {self._max_token_chars} bytes")
        scheme, space, token = value.partition(" ")
        # RFC 9110 §11.1: the scheme name is case-insensitive.
        if not space or scheme.lower() != "bearer":
            _reject("not a Bearer authorization")
        if len(token) > self._max_token_chars:
            _reject(f"the token is longer than {self._max_token_chars} bytes")
        cached = self._verified.get(token, self._clock())
        if cached is not None:
            if self._still_trusted(cached):
                return cached.principal
            # The issuer no longer holds the key that verified it: verify
            # the token afresh, which refuses it for the precise reason.
            self._verified.discard(token)
        compact = _COMPACT_JWS.fullmatch(token)
        if compact is None:
            _reject("not a compact JWS of three unpadded base64url segments")
        header_segment, payload_segment, _ = compact.groups()

        header = _json_object(_b64url_decode(header_segment, "header"), "header", self._max_depth)
        forbidden = _FORBIDDEN_HEADERS.intersection(header)
        if forbidden:
            _reject(f"forbidden header parameter {sorted(forbidden)[0]}")
        algorithm = header.get("alg")
        if not isinstance(algorithm, str):
            _reject("the alg header is missing or not a string")
        kid = header.get("kid")
        if "kid" in header and not valid_kid(kid):
            _reject("the kid header is malformed")
        typ = header.get("typ")
        if "typ" in header and not isinstance(typ, str):
            _reject("the typ header is not a string")

        # The unverified issuer only chooses which keys to try; PyJWT then
        # checks the same value against the chosen issuer after the signature.
        # This first look may be lenient (one strict parse per request is
        # enough): the payload that counts is parsed strictly by
        # _StrictPyJWT._decode_payload once the signature has been verified.
        issuer_name = _peek_issuer(_b64url_decode(payload_segment, "payload"))
        if not isinstance(issuer_name, str):
            _reject("the iss claim is missing or not a string")
        trusted = self._issuers.get(issuer_name)
        if trusted is None:
            _reject("the issuer is not trusted")
        if algorithm not in trusted.algorithms:
            _reject("the alg is not allowed for this issuer")
        key = trusted.keys.find(kid)
        if key is None:
            _reject("no key of this issuer has the token's kid")
        if key.algorithm != algorithm:
            _reject("the alg is not the algorithm bound to the key")
        if trusted.token_type is not None and (
            not isinstance(typ, str) or _media_type(typ) != trusted.token_type
        ):
            _reject("the typ header is not the issuer's token type")

        decoded = self._jwt.decode_complete(
            token,
            key=key.key,
            algorithms=[key.algorithm],
            options=self._options,
            audience=trusted.audience,
            issuer=trusted.issuer,
            leeway=self._leeway,
        )
        claims = decoded["payload"]
        if not isinstance(claims, dict):
            _reject("the verified payload is not an object")
        valid_from, valid_until = self._check_times(claims)
        principal = self._principal(trusted, claims)
        self._verified.put(token, principal, valid_from, valid_until, issuer=trusted, key=key)
        return principal

    def _still_trusted(self, cached: CachedVerification) -> bool:
        """Whether the issuer and the key that verified a cached token still stand.

        The issuer's key source is asked again (for a JWKS URL that is the
        same cached key set an uncached token would see, refreshed on the
        same schedule); the key it names today must be the very key, by
        fingerprint and algorithm, that verified the signature.
        """
        trusted = self._issuers.get(cached.principal.issuer or "")
        if trusted is None or trusted is not cached.issuer:
            return False
        current = trusted.keys.find(cached.key.kid)
        return current is not None and current.same_key(cached.key)

    def _check_times(self, claims: Mapping[str, Any]) -> tuple[float, float]:
        """Check the token's times; returns the window in which it stays valid."""
        now = self._clock()
        expires = _timestamp(claims, "exp")
        issued = _timestamp(claims, "iat")
        if expires is None or issued is None:
            _reject("exp or iat is missing")
        if expires <= now - self._leeway:
            _reject("the token has expired")
        if issued > now + self._leeway:
            _reject("the token was issued in the future")
        not_before = _timestamp(claims, "nbf")
        if not_before is not None and not_before > now + self._leeway:
            _reject("the token is not valid yet (nbf)")
        if expires <= issued:
            _reject("exp is not after iat")
        if expires - issued > self._max_lifetime:
            _reject("the token lives longer than the maximum lifetime")
        starts = max(issued, not_before if not_before is not None else issued)
        return starts - self._leeway, expires + self._leeway

    def _principal(self, trusted: _TrustedIssuer, claims: Mapping[str, Any]) -> Principal:
        try:
            account = check_account(claims.get(trusted.account_claim))
        except ValueError:
            _reject("the account claim is invalid")
        try:
            principal_type = check_principal_type(claims.get(trusted.type_claim))
        except ValueError:
            _reject("the principal type claim is invalid")
        subject = claims["sub"]
        if not isinstance(subject, str):
            _reject("sub is not a string")
        name: str | None = None
        has_name = trusted.name_claim in claims
        if principal_type == "root":
            if has_name:
                _reject("a root principal has a name claim")
        else:
            if has_name:
                candidate = claims[trusted.name_claim]
            elif trusted.local:
                _reject("the name claim is missing")
            else:
                # An external issuer without a name claim names the principal
                # by the last path segment of ``sub`` ("users/alice" -> alice).
                candidate = subject.rsplit("/", 1)[-1]
            try:
                name = check_name(candidate)
            except ValueError:
                _reject("the principal name is invalid")
        tags: Mapping[str, str] = _NO_TAGS
        if trusted.tags_claim in claims:
            try:
                tags = check_tags(claims[trusted.tags_claim])
            except ValueError:
                _reject("the tags claim is invalid")
        token_id = claims.get("jti")
        if "jti" in claims and not (
            isinstance(token_id, str)
            and 1 <= len(token_id) <= _MAX_JTI_CHARS
            and token_id.isprintable()
        ):
            _reject("the jti claim is invalid")
        principal = Principal(
            partition=self._partition,
            account=account,
            type=principal_type,
            name=name,
            tags=tags,
            auth_method="jwt",
            token_id=token_id,
            issuer=trusted.issuer,
        )
        # The local issuer always puts the principal ARN in ``sub``; an
        # external issuer may use any subject, but one that is an ARN must be
        # this principal's, so two readers of the token cannot disagree.
        if (trusted.local or subject.startswith("arn:")) and subject != principal.arn:
            _reject("sub is not the principal's ARN")
        return principal

    def __repr__(self) -> str:
        return f"TokenVerifier(issuers={sorted(self._issuers)!r})"


def _timestamp(claims: Mapping[str, Any], name: str) -> int | None:
    """A NumericDate that is a JSON integer (not bool, float or string) in 0..year 9999."""
    if name not in claims:
        return None
    value = claims[name]
    if type(value) is not int or not 0 <= value <= _MAX_TIMESTAMP:
        _reject(f"{name} is not an integer timestamp")
    return value
