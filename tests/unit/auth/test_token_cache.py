"""Verified tokens are remembered, but never past their own validity."""

from __future__ import annotations

import pytest

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


def test_the_cache_is_bounded_and_keeps_no_token_text() -> None:
    from app.auth.principal import Principal

    cache = VerifiedTokens(max_entries=3)
    principal = Principal("aws", "111122223333", "user", "alice")
    for i in range(5):
        cache.put(f"token-{i}", principal, 0, 100)
    assert len(cache) == 3
    assert cache.get("token-0", 1) is None and cache.get("token-4", 1) is principal
    assert cache.get("token-4", 100) is None  # the window is half-open
    assert "token-" not in repr(cache)
    assert all(len(key) == 32 for key in cache._entries)
