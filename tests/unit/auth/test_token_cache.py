"""Verified tokens are remembered, but never past their own validity."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from app.auth import jwt_verifier
from app.auth.jwks import VerificationKey, bind_key
from app.auth.jwt_verifier import TokenVerifier
from app.auth.local_issuer import LocalIssuer
from app.auth.token_cache import VerifiedTokens
from app.config import Settings
from app.errors import UnauthenticatedError
from tests.unit.auth.conftest import LEEWAY, NOW, bearer


class Clock:
    def __init__(self) -> None:
        self.now = float(NOW)

    def __call__(self) -> float:
        return self.now


def test_a_cached_token_still_expires_on_time(
    auth_settings: Settings, local_issuer: LocalIssuer
) -> None:
    clock = Clock()
    verifier = TokenVerifier(auth_settings, local_issuer=local_issuer, clock=clock)
    token = local_issuer.mint("111122223333", user="alice", ttl_seconds=60, now=NOW)
    first = verifier.verify(bearer(token))
    assert verifier.verify(bearer(token)) is first  # served from the cache
    clock.now = NOW + 60 + LEEWAY - 1
    assert verifier.verify(bearer(token)) is first
    clock.now = NOW + 60 + LEEWAY
    with pytest.raises(UnauthenticatedError):
        verifier.verify(bearer(token))


def test_a_token_changed_by_one_character_is_not_served_from_the_cache(
    auth_settings: Settings, local_issuer: LocalIssuer
) -> None:
    verifier = TokenVerifier(auth_settings, local_issuer=local_issuer, clock=Clock())
    token = local_issuer.mint("111122223333", user="alice", now=NOW)
    verifier.verify(bearer(token))
    tampered = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    with pytest.raises(UnauthenticatedError):
        verifier.verify(bearer(tampered))


def test_the_cache_is_bounded_and_keeps_no_token_text(local_issuer: LocalIssuer) -> None:
    from app.auth.principal import Principal

    cache = VerifiedTokens(max_entries=3)
    principal = Principal("aws", "111122223333", "user", "alice")
    key = bind_key(local_issuer.public_key, local_issuer.algorithm, local_issuer.kid)
    for i in range(5):
        cache.put(f"token-{i}", principal, 0, 100, issuer="issuer", key=key)
    assert len(cache) == 3
    hit = cache.get("token-4", 1)
    assert cache.get("token-0", 1) is None and hit is not None and hit.principal is principal
    assert cache.get("token-4", 100) is None  # the window is half-open
    assert "token-" not in repr(cache)
    assert all(len(key) == 32 for key in cache._entries)


class _SwappableKeys:
    """A key source whose key set changes while the verifier runs (a reload)."""

    def __init__(self, keys: dict[str | None, VerificationKey]) -> None:
        self.keys = keys

    def find(self, kid: str | None) -> VerificationKey | None:
        return self.keys.get(kid)


def test_every_key_source_is_asked_again_on_a_cache_hit(
    auth_settings: Settings, local_issuer: LocalIssuer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Whatever the source (PEM, JWKS file, JWKS URL, the local issuer's key),
    # a cache hit stands only while the source still holds the verifying key.
    own = bind_key(local_issuer.public_key, local_issuer.algorithm, local_issuer.kid)
    source = _SwappableKeys({local_issuer.kid: own})
    monkeypatch.setattr(jwt_verifier, "SingleKey", lambda key, kid: source)
    verifier = TokenVerifier(auth_settings, local_issuer=local_issuer, clock=Clock())
    token = bearer(local_issuer.mint("111122223333", user="alice", now=NOW))
    first = verifier.verify(token)
    assert verifier.verify(token) is first

    other = ec.generate_private_key(ec.SECP256R1()).public_key()
    source.keys = {local_issuer.kid: bind_key(other, "ES256", local_issuer.kid)}
    with pytest.raises(UnauthenticatedError):
        verifier.verify(token)
    source.keys = {}
    with pytest.raises(UnauthenticatedError):
        verifier.verify(token)
    source.keys = {local_issuer.kid: own}  # the same key again: accepted again
    assert verifier.verify(token) == first
