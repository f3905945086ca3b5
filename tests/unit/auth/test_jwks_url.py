"""A JWKS URL issuer against a real HTTP server on 127.0.0.1.

The server counts every fetch, so the tests can prove when PyJWKClient does
and does not go to the network: known keys survive the server going away,
and unknown kids do not cause fetches inside the cooldown.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from app.auth import jwks as jwks_module
from app.auth.jwt_verifier import TokenVerifier
from app.config import IssuerConfig, Settings
from app.errors import UnauthenticatedError
from tests.unit.auth.conftest import ACCOUNT, NOW, bearer, make_settings

ISSUER = "https://login.example.org"


class JwksServer:
    """Serves ``self.document`` at /jwks.json; ``self.failing`` makes it answer 500."""

    def __init__(self) -> None:
        self.document: dict[str, Any] = {"keys": []}
        self.fetches = 0
        self.failing = False
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 -- the http.server API
                owner.fetches += 1
                if owner.failing:
                    self.send_error(500)
                    return
                body = json.dumps(owner.document).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        self.running = True

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/jwks.json"

    def stop(self) -> None:
        if self.running:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=5)
            self.running = False


@pytest.fixture
def server() -> Iterator[JwksServer]:
    running = JwksServer()
    try:
        yield running
    finally:
        running.stop()


def _key(kid: str, alg: str = "ES256") -> tuple[Any, dict[str, Any]]:
    private = ec.generate_private_key(ec.SECP256R1())
    public = jwt.algorithms.ECAlgorithm.to_jwk(private.public_key(), as_dict=True)
    return private, {**public, "kid": kid, "alg": alg, "use": "sig"}


def _token(private: Any, kid: str, **claims: Any) -> str:
    payload = {
        "iss": ISSUER,
        "aud": "trent",
        "sub": "alice",
        "iat": NOW,
        "exp": NOW + 300,
        "trent:account": ACCOUNT,
        "trent:type": "user",
        **claims,
    }
    return bearer(
        jwt.encode(payload, private, algorithm="ES256", headers={"kid": kid, "typ": "at+jwt"})
    )


def _settings(tmp_path: Path, url: str, **changes: Any) -> Settings:
    config = IssuerConfig(issuer=ISSUER, audience="trent", algorithms=("ES256",), jwks_url=url)
    return make_settings(
        tmp_path / "data",
        local_issuer=False,
        issuers=(config,),
        jwks_timeout_seconds=2.0,
        **changes,
    )


def _verifier(settings: Settings) -> TokenVerifier:
    return TokenVerifier(settings, local_issuer=None, clock=lambda: float(NOW))


def _reason(verifier: TokenVerifier, value: str) -> str:
    with pytest.raises(UnauthenticatedError) as caught:
        verifier.verify(value)
    assert caught.value.message == UnauthenticatedError.default_message
    return str(caught.value.reason)


def test_known_kid_keeps_working_and_unknown_kid_does_not_fetch(
    tmp_path: Path, server: JwksServer
) -> None:
    private, public = _key("k1")
    server.document = {"keys": [public]}
    verifier = _verifier(_settings(tmp_path, server.url, jwks_cooldown_seconds=30.0))
    assert server.fetches == 1  # fetched once at start-up

    assert verifier.verify(_token(private, "k1")).name == "alice"
    assert server.fetches == 1

    # Random kids inside the cooldown: 401, and no outbound request each time.
    for index in range(5):
        assert _reason(verifier, _token(private, f"unknown-{index}")) == (
            "no key of this issuer has the token's kid"
        )
    assert server.fetches == 1

    server.stop()
    assert verifier.verify(_token(private, "k1")).name == "alice"
    assert _reason(verifier, _token(private, "unknown-x")).startswith("no key")


class MonotonicClock:
    """``time.monotonic`` for the JWKS cache and PyJWT's client, moved by the
    test: expiry and cooldown are decided by it, not by how fast the machine is."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> MonotonicClock:
    import jwt.api_jwk
    import jwt.jwk_set_cache
    import jwt.jwks_client

    # PyJWT stamps a fetched set (api_jwk), expires it (jwk_set_cache) and
    # times its cooldown (jwks_client) with time.monotonic, as Trent does.
    fake = MonotonicClock()
    for module in (jwks_module, jwt.api_jwk, jwt.jwks_client, jwt.jwk_set_cache):
        monkeypatch.setattr(module, "time", fake)
    return fake


def test_known_keys_survive_a_failing_server_after_the_cache_expires(
    tmp_path: Path, server: JwksServer, monkeypatch: pytest.MonkeyPatch, clock: MonotonicClock
) -> None:
    monkeypatch.setattr(jwks_module, "JWKS_LIFESPAN_SECONDS", 0.2)
    private, public = _key("k1")
    server.document = {"keys": [public]}
    verifier = _verifier(_settings(tmp_path, server.url, jwks_cooldown_seconds=30.0))
    assert server.fetches == 1

    server.failing = True
    clock.advance(0.3)
    # The cached set has expired and the refetch fails (HTTP 500): the key
    # from the last good fetch still verifies.
    assert verifier.verify(_token(private, "k1")).name == "alice"
    assert server.fetches == 2
    # After a failure, no further fetch for a while, not even for unknown kids.
    assert verifier.verify(_token(private, "k1")).name == "alice"
    assert _reason(verifier, _token(private, "other")).startswith("no key")
    assert server.fetches == 2

    server.stop()
    assert verifier.verify(_token(private, "k1")).name == "alice"


def test_rotated_key_is_fetched_after_the_cooldown(
    tmp_path: Path, server: JwksServer, clock: MonotonicClock
) -> None:
    old_private, old_public = _key("old")
    new_private, new_public = _key("new")
    server.document = {"keys": [old_public]}
    verifier = _verifier(_settings(tmp_path, server.url, jwks_cooldown_seconds=0.3))
    assert verifier.verify(_token(old_private, "old")).name == "alice"

    server.document = {"keys": [new_public]}
    assert _reason(verifier, _token(new_private, "new")).startswith("no key")
    assert server.fetches == 1
    clock.advance(0.4)
    assert verifier.verify(_token(new_private, "new")).name == "alice"
    assert server.fetches == 2
    # The issuer withdrew the old key, and that fetch was successful: it is gone.
    assert _reason(verifier, _token(old_private, "old")).startswith("no key")


def test_unusable_published_keys_are_skipped(tmp_path: Path, server: JwksServer) -> None:
    good_private, good_public = _key("good")
    no_alg_private, no_alg_public = _key("no-alg")
    del no_alg_public["alg"]
    wrong_private, wrong_public = _key("es384", alg="ES384")
    server.document = {
        "keys": [
            good_public,
            no_alg_public,
            wrong_public,
            {"kty": "oct", "k": "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0", "kid": "hmac", "alg": "HS256"},
            {**_key("enc")[1], "use": "enc"},
        ]
    }
    verifier = _verifier(_settings(tmp_path, server.url, jwks_cooldown_seconds=30.0))
    assert verifier.verify(_token(good_private, "good")).name == "alice"
    for private, kid in ((no_alg_private, "no-alg"), (wrong_private, "es384")):
        assert _reason(verifier, _token(private, kid)).startswith("no key")
    hmac_token = jwt.encode(
        {"iss": ISSUER, "aud": "trent", "sub": "a", "iat": NOW, "exp": NOW + 60},
        "secretsecretsecretsecretsecret!!",
        algorithm="HS256",
        headers={"kid": "hmac", "typ": "at+jwt"},
    )
    assert _reason(verifier, bearer(hmac_token)) == "the alg is not allowed for this issuer"
    assert server.fetches == 1


def test_unreachable_issuer_at_start_is_not_fatal(tmp_path: Path, server: JwksServer) -> None:
    url = server.url
    server.stop()
    verifier = _verifier(_settings(tmp_path, url, jwks_cooldown_seconds=30.0))
    private, _ = _key("k1")
    assert _reason(verifier, _token(private, "k1")).startswith("no key")


def test_repr_names_the_url_and_kids_only(tmp_path: Path, server: JwksServer) -> None:
    _, public = _key("k1")
    server.document = {"keys": [public]}
    verifier = _verifier(_settings(tmp_path, server.url))
    source = next(iter(verifier._issuers.values())).keys
    assert repr(source) == f"RemoteJwks(url={server.url!r}, kids=['k1'])"
    assert public["x"] not in repr(source)


def _refresh(verifier: TokenVerifier) -> None:
    """The periodic refresh of the issuer's key set (what the lifespan expiring triggers)."""
    source = next(iter(verifier._issuers.values())).keys
    assert isinstance(source, jwks_module.RemoteJwks)
    source._client.get_jwk_set(refresh=True)


def test_a_token_verified_before_its_key_was_withdrawn_is_refused_after_the_refresh(
    tmp_path: Path, server: JwksServer
) -> None:
    d1_private, d1_public = _key("d1")
    d2_private, d2_public = _key("d2")
    server.document = {"keys": [d1_public, d2_public]}
    verifier = _verifier(_settings(tmp_path, server.url, jwks_cooldown_seconds=30.0))
    early = _token(d1_private, "d1")
    assert verifier.verify(early).name == "alice"  # verified, and now cached

    server.document = {"keys": [d2_public]}
    _refresh(verifier)
    assert _reason(verifier, _token(d1_private, "d1", jti="fresh")).startswith("no key")
    # The cached verification does not outlive the key that made it.
    assert _reason(verifier, early).startswith("no key")
    assert verifier.verify(_token(d2_private, "d2")).name == "alice"


def test_a_cached_token_is_refused_once_its_kid_names_a_different_key(
    tmp_path: Path, server: JwksServer
) -> None:
    old_private, old_public = _key("d1")
    _, new_public = _key("d1")
    server.document = {"keys": [old_public]}
    verifier = _verifier(_settings(tmp_path, server.url, jwks_cooldown_seconds=30.0))
    early = _token(old_private, "d1")
    first = verifier.verify(early)
    assert verifier.verify(early) is first  # served from the cache

    server.document = {"keys": [new_public]}  # same kid, another key
    _refresh(verifier)
    assert _reason(verifier, early).startswith("PyJWT refused the token")


def test_a_cached_token_survives_a_refresh_that_keeps_its_key(
    tmp_path: Path, server: JwksServer
) -> None:
    private, public = _key("d1")
    server.document = {"keys": [public]}
    verifier = _verifier(_settings(tmp_path, server.url, jwks_cooldown_seconds=30.0))
    token = _token(private, "d1")
    first = verifier.verify(token)
    _refresh(verifier)  # the same key, parsed again into a new object
    assert verifier.verify(token) is first
