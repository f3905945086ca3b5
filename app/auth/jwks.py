"""Verification keys of trusted issuers, each bound to exactly one algorithm.

RFC 8725 §3.1 asks that every key be used with one algorithm only. Here that
is structural: a :class:`VerificationKey` carries its algorithm, the verifier
accepts a token only if the header's ``alg`` equals it, and only that
algorithm is handed to PyJWT. Three kinds of source exist, one per issuer:

* :class:`SingleKey` — one PEM public key (an external issuer's ``pem_path``,
  or the local issuer's key, which also has a fixed ``kid``);
* :class:`StaticJwks` — a JWKS file read once at start-up; every key in it must
  be usable or start-up stops with a :class:`ConfigError`;
* :class:`RemoteJwks` — a JWKS URL fetched with PyJWT's :class:`PyJWKClient`;
  unusable keys published there are skipped, a failed fetch keeps the keys
  already known, and an unknown ``kid`` never causes more than one fetch per
  cooldown period.

All lookups are dictionary lookups on an already format-checked ``kid``: the
``kid`` never reaches a path, a URL or a query.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
import ssl
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Protocol, cast
from urllib.parse import urlsplit

import jwt

from app.config import ALLOWED_JWT_ALGORITHMS, ConfigError, IssuerConfig, Settings
from app.crypto.issuer_keys import (
    IssuerKeyError,
    VerificationPublicKey,
    load_public_key_file,
    verification_key_fingerprint,
)

log = logging.getLogger("trent.auth.jwks")

#: Asymmetric algorithms a trusted issuer may use; HMAC and ``none`` are never accepted.
SUPPORTED_ALGORITHMS: Final = ALLOWED_JWT_ALGORITHMS
#: How a ``kid`` must look before it is used, even as a dictionary key.
KID_PATTERN: Final = r"[A-Za-z0-9._-]{1,128}"
#: Seconds a fetched JWK Set is served from PyJWKClient's cache.
JWKS_LIFESPAN_SECONDS: Final = 300.0

_KID_RE: Final = re.compile(KID_PATTERN)
_JWK_TYPES: Final = frozenset({"EC", "OKP", "RSA"})
# Members that only a private or symmetric JWK has (RFC 7518 §6.2.2, §6.3.2, §6.4).
_SECRET_MEMBERS: Final = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
_MAX_JWKS_FILE_BYTES: Final = 1024 * 1024


def valid_kid(kid: object) -> bool:
    return isinstance(kid, str) and _KID_RE.fullmatch(kid) is not None


@dataclass(frozen=True, slots=True)
class VerificationKey:
    """A public key and the one algorithm it may verify.

    ``fingerprint`` is the SHA-256 of the algorithm and the key's
    SubjectPublicKeyInfo: two objects for the same key (one JWK Set fetched
    twice) have the same fingerprint, a different key under the same ``kid``
    has another.
    """

    kid: str | None
    algorithm: str
    key: VerificationPublicKey = field(repr=False, compare=False)
    fingerprint: bytes = field(repr=False, compare=False)

    def same_key(self, other: VerificationKey) -> bool:
        """Whether ``other`` is this key, bound to this algorithm (the ``kid`` aside)."""
        return self.algorithm == other.algorithm and hmac.compare_digest(
            self.fingerprint, other.fingerprint
        )


class KeySource(Protocol):
    def find(self, kid: str | None) -> VerificationKey | None:
        """The key for ``kid`` (already format-checked), or ``None`` if unknown."""
        ...


def bind_key(key: object, algorithm: str, kid: str | None) -> VerificationKey:
    """Check that ``key`` is a public key PyJWT can use with ``algorithm``; :class:`ValueError`
    if not.

    The check runs PyJWT's own key preparation once, at start-up, so a wrong
    family, a wrong curve or an RSA key under 2048 bits is a configuration
    error rather than a failure on every request.
    """
    if algorithm not in SUPPORTED_ALGORITHMS:
        raise ValueError(f"algorithm {algorithm!r} is not supported")
    algorithm_object = jwt.get_algorithm_by_name(algorithm)
    try:
        prepared = algorithm_object.prepare_key(key)
    except (jwt.PyJWTError, ValueError, TypeError):
        raise ValueError(f"the key cannot be used with {algorithm}") from None
    if hasattr(prepared, "private_bytes"):
        raise ValueError("a private key was given where a public key belongs")
    too_short = algorithm_object.check_key_length(prepared)
    if too_short:
        raise ValueError(too_short)
    public_key = cast(VerificationPublicKey, prepared)
    return VerificationKey(
        kid=kid,
        algorithm=algorithm,
        key=public_key,
        fingerprint=verification_key_fingerprint(public_key, algorithm),
    )


def parse_jwk(jwk: object, allowed_algorithms: frozenset[str]) -> VerificationKey:
    """One signing key from a JWK Set, bound to its own ``alg``; :class:`ValueError` if unusable.

    The ``alg`` member is required (PyJWT would otherwise guess one from the
    key type), must be in the issuer's allow-list, and symmetric or private
    keys are refused outright.
    """
    if not isinstance(jwk, dict):
        raise ValueError("a JWK must be an object")
    kty = jwk.get("kty")
    if kty == "oct":
        raise ValueError("symmetric keys (kty 'oct') are never accepted")
    if kty not in _JWK_TYPES:
        raise ValueError("the key type (kty) must be EC, OKP or RSA")
    if _SECRET_MEMBERS & jwk.keys():
        raise ValueError("the JWK holds private key members")
    kid = jwk.get("kid")
    if not valid_kid(kid):
        raise ValueError(f"the kid must match {KID_PATTERN}")
    algorithm = jwk.get("alg")
    if not isinstance(algorithm, str) or algorithm not in allowed_algorithms:
        raise ValueError(f"the alg member must be one of {sorted(allowed_algorithms)}")
    use = jwk.get("use")
    if use is not None and use != "sig":
        raise ValueError("the key is not a signing key (use)")
    key_ops = jwk.get("key_ops")
    if key_ops is not None and (not isinstance(key_ops, list) or "verify" not in key_ops):
        raise ValueError("the key may not verify (key_ops)")
    try:
        parsed = jwt.PyJWK(jwk, algorithm=algorithm)
    except (jwt.PyJWTError, ValueError, TypeError):
        raise ValueError(f"the JWK is not a valid {algorithm} public key") from None
    return bind_key(parsed.key, algorithm, cast(str, kid))


class SingleKey:
    """One key. With ``kid`` set, a token must name exactly that ``kid``; without,
    any well-formed ``kid`` or none selects the key (a PEM file has no ``kid``)."""

    __slots__ = ("_key", "_kid")

    def __init__(self, key: VerificationKey, *, kid: str | None) -> None:
        self._key = key
        self._kid = kid

    def find(self, kid: str | None) -> VerificationKey | None:
        if self._kid is not None and kid != self._kid:
            return None
        return self._key

    def __repr__(self) -> str:
        return f"SingleKey(kid={self._kid!r}, algorithm={self._key.algorithm!r})"


class StaticJwks:
    """Keys read once from a JWKS file; tokens must name one of their ``kid``s."""

    __slots__ = ("_keys",)

    def __init__(self, keys: Mapping[str, VerificationKey]) -> None:
        self._keys = dict(keys)

    @classmethod
    def from_file(cls, path: Path, allowed_algorithms: frozenset[str], where: str) -> StaticJwks:
        """Every key in the file must be usable: a curated file with a bad key is a mistake
        to fix now, not a key to skip silently."""
        try:
            with path.open("rb") as handle:
                raw = handle.read(_MAX_JWKS_FILE_BYTES + 1)
        except OSError as exc:
            raise ConfigError(f"{where}: cannot read JWKS file {path}: {exc.strerror}") from None
        if len(raw) > _MAX_JWKS_FILE_BYTES:
            raise ConfigError(f"{where}: JWKS file {path} is larger than 1 MiB")
        try:
            document = json.loads(raw.decode("utf-8"), object_pairs_hook=_unique_members)
        except (UnicodeDecodeError, ValueError, RecursionError):
            raise ConfigError(f"{where}: JWKS file {path} is not valid UTF-8 JSON") from None
        keys = document.get("keys") if isinstance(document, dict) else None
        if not isinstance(keys, list) or not keys:
            raise ConfigError(
                f"{where}: JWKS file {path} must be an object with a non-empty 'keys'"
            )
        found: dict[str, VerificationKey] = {}
        for index, jwk in enumerate(keys):
            try:
                bound = parse_jwk(jwk, allowed_algorithms)
            except ValueError as exc:
                raise ConfigError(f"{where}: JWKS file {path} key {index}: {exc}") from None
            assert bound.kid is not None
            if bound.kid in found:
                raise ConfigError(f"{where}: JWKS file {path} has kid {bound.kid!r} twice")
            found[bound.kid] = bound
        return cls(found)

    def find(self, kid: str | None) -> VerificationKey | None:
        if kid is None:
            return None
        return self._keys.get(kid)

    def __repr__(self) -> str:
        return f"StaticJwks(kids={sorted(self._keys)!r})"


class _ReportingJWKClient(jwt.PyJWKClient):
    """PyJWKClient that reports every fetch to its :class:`RemoteJwks`.

    Overriding :meth:`fetch_data` (which PyJWT documents as the place to
    filter a fetched set) lets the owner keep its own view of the acceptable
    keys, and learn exactly when a fetch failed.
    """

    def __init__(self, owner: RemoteJwks, uri: str, **kwargs: Any) -> None:
        super().__init__(uri, **kwargs)
        self._owner = owner

    def fetch_data(self) -> Any:
        try:
            data = super().fetch_data()
        except Exception:
            self._owner._fetch_failed()
            raise
        return self._owner._fetched(data)


class RemoteJwks:
    """Keys fetched from an issuer's JWKS URL with PyJWT's client.

    * The client caches the whole set for :data:`JWKS_LIFESPAN_SECONDS`
      (``cache_keys=False``: its per-``kid`` cache never expires, so a key the
      issuer withdrew would stay valid).
    * An unknown ``kid`` forces at most one refresh per
      ``Settings.jwks_cooldown_seconds`` (PyJWT's cooldown), so random ``kid``s
      cannot turn requests into outbound fetches.
    * A failed fetch keeps the last good keys usable for up to
      ``Settings.jwt_max_lifetime_seconds`` — no token signed by them can be
      valid for longer than that anyway — and further fetches are not
      attempted for one cooldown period, so an unreachable issuer does not add
      a network timeout to every request.
    * Keys the issuer publishes that we cannot use (no ``alg``, an algorithm
      outside the allow-list, symmetric keys, encryption keys) are skipped and
      logged; they can never verify a token.
    """

    def __init__(self, config: IssuerConfig, settings: Settings, *, prefetch: bool = True) -> None:
        url = config.jwks_url or ""
        _check_jwks_url(url, f"issuer {config.issuer!r}")
        self._url = url
        self._allowed = frozenset(config.algorithms)
        self._max_stale = float(settings.jwt_max_lifetime_seconds)
        self._retry_pause = max(float(settings.jwks_cooldown_seconds), 1.0)
        self._keys: dict[str, VerificationKey] = {}
        self._fetched_at: float | None = None
        self._retry_at = 0.0
        self._state_lock = threading.Lock()
        try:
            self._client = _ReportingJWKClient(
                self,
                url,
                cache_keys=False,
                cache_jwk_set=True,
                lifespan=JWKS_LIFESPAN_SECONDS,
                timeout=settings.jwks_timeout_seconds,
                cooldown_duration=settings.jwks_cooldown_seconds,
                ssl_context=ssl.create_default_context(),
                headers={"Accept": "application/jwk-set+json, application/json"},
            )
        except jwt.PyJWTError as exc:
            raise ConfigError(f"issuer {config.issuer!r}: bad jwks_url: {exc}") from None
        if prefetch:
            # Fetching now makes the first requests fast and starts PyJWT's
            # cooldown; an unreachable issuer must not stop start-up, though:
            # the fetch is retried when a token needs a key.
            try:
                self._client.get_jwk_set()
            except (jwt.PyJWTError, OSError, ValueError) as exc:
                log.warning("JWKS %s: initial fetch failed (%s)", url, type(exc).__name__)

    def find(self, kid: str | None) -> VerificationKey | None:
        if kid is None:
            return None
        if time.monotonic() >= self._retry_at:
            try:
                # The client decides whether to use its cache, refresh it
                # (expired, or unknown kid after the cooldown) or refuse. Its
                # answer is not used directly: the acceptable keys are the ones
                # _fetched() kept from the last successful fetch.
                self._client.get_signing_key(kid)
            except (jwt.PyJWTError, OSError, ValueError):
                pass
        with self._state_lock:
            fetched_at = self._fetched_at
            keys = self._keys
        if fetched_at is None or time.monotonic() - fetched_at > self._max_stale:
            return None
        return keys.get(kid)

    def _fetched(self, data: Any) -> Any:
        """Keep the usable keys of a freshly fetched set; hand PyJWT only those."""
        raw_keys = data.get("keys") if isinstance(data, dict) else None
        kept: dict[str, VerificationKey] = {}
        kept_raw: list[Any] = []
        ambiguous: set[str] = set()
        for jwk in raw_keys if isinstance(raw_keys, list) else []:
            try:
                bound = parse_jwk(jwk, self._allowed)
            except ValueError as exc:
                kid = jwk.get("kid") if isinstance(jwk, dict) else None
                shown = kid if valid_kid(kid) else "?"
                log.info("JWKS %s: skipped key kid=%s: %s", self._url, shown, exc)
                continue
            assert bound.kid is not None
            if bound.kid in kept:
                ambiguous.add(bound.kid)
            kept[bound.kid] = bound
            kept_raw.append(jwk)
        # Two keys under one kid cannot be told apart; neither is used.
        for kid in ambiguous:
            log.warning("JWKS %s: kid %s appears more than once; not used", self._url, kid)
            del kept[kid]
        kept_raw = [jwk for jwk in kept_raw if jwk.get("kid") not in ambiguous]
        with self._state_lock:
            self._keys = kept
            self._fetched_at = time.monotonic()
            self._retry_at = 0.0
        return {"keys": kept_raw}

    def _fetch_failed(self) -> None:
        with self._state_lock:
            self._retry_at = time.monotonic() + self._retry_pause
        log.warning(
            "JWKS %s: fetch failed; known keys stay in use, next attempt in %.0f s",
            self._url,
            self._retry_pause,
        )

    def __repr__(self) -> str:
        return f"RemoteJwks(url={self._url!r}, kids={sorted(self._keys)!r})"


def load_key_source(config: IssuerConfig, settings: Settings) -> KeySource:
    """The key source of one external issuer, ready for requests; :class:`ConfigError` if not."""
    where = f"issuer {config.issuer!r}"
    allowed = frozenset(config.algorithms)
    if not allowed or not allowed <= SUPPORTED_ALGORITHMS:
        raise ConfigError(
            f"{where}: algorithms must be a non-empty subset of {sorted(SUPPORTED_ALGORITHMS)}"
        )
    sources = [s for s in (config.pem_path, config.jwks_path, config.jwks_url) if s]
    if len(sources) != 1:
        raise ConfigError(f"{where}: exactly one of pem_path, jwks_path, jwks_url is required")
    if config.pem_path is not None:
        # A PEM file carries no algorithm, so the issuer's single allowed
        # algorithm is the key's; several would let a token choose.
        if len(config.algorithms) != 1:
            raise ConfigError(f"{where}: a PEM key needs exactly one algorithm in 'algorithms'")
        algorithm = config.algorithms[0]
        try:
            key = load_public_key_file(config.pem_path)
        except IssuerKeyError as exc:
            raise ConfigError(f"{where}: {exc}") from None
        try:
            bound = bind_key(key, algorithm, None)
        except ValueError as exc:
            raise ConfigError(f"{where}: {config.pem_path}: {exc}") from None
        return SingleKey(bound, kid=None)
    if config.jwks_path is not None:
        return StaticJwks.from_file(config.jwks_path, allowed, where)
    return RemoteJwks(config, settings)


def _check_jwks_url(url: str, where: str) -> None:
    """https only, except plain http to the loopback interface (tests, sidecars)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
        _ = parts.port  # raises ValueError for a malformed port
    except ValueError:
        raise ConfigError(f"{where}: jwks_url is not a valid URL") from None
    if parts.username or parts.password:
        raise ConfigError(f"{where}: jwks_url must not carry credentials")
    if parts.scheme == "https" and host:
        return
    if parts.scheme == "http" and host in ("127.0.0.1", "::1", "localhost"):
        return
    raise ConfigError(f"{where}: jwks_url must be an https:// URL (or http:// to 127.0.0.1)")


def _unique_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise ValueError("duplicate member")
    return result
