"""Minting with the local issuer: input validation and key hygiene."""

from __future__ import annotations

import copy
import pickle
from typing import Any

import pytest

from app.auth.local_issuer import LocalIssuer
from app.config import IssuerConfig, Settings
from tests.unit.auth.conftest import ACCOUNT, MAX_LIFETIME, NOW


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"user": "a", "role": "b"},
        {"user": "a", "root": True},
        {"role": "a", "root": True},
        {"root": 1},
        {"user": ""},
        {"user": "a b"},
        {"user": "a/b"},
        {"user": "x" * 65},
        {"user": "alice\n"},
        {"role": "é"},
        {"user": "a", "tags": {"": "v"}},
        {"user": "a", "tags": {"k" * 129: "v"}},
        {"user": "a", "tags": {"k": "v" * 257}},
        {"user": "a", "tags": {"k": 1}},
        {"user": "a", "tags": {"aws:k": "v"}},
        {"user": "a", "tags": {"k": "\x07"}},
        {"user": "a", "tags": {f"k{i}": "v" for i in range(51)}},
        {"user": "a", "ttl_seconds": 0},
        {"user": "a", "ttl_seconds": MAX_LIFETIME + 1},
        {"user": "a", "ttl_seconds": True},
        {"user": "a", "ttl_seconds": 60.0},
        {"user": "a", "now": -1},
        {"user": "a", "now": 1.5},
    ],
)
def test_mint_refuses_bad_input(local_issuer: LocalIssuer, kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        local_issuer.mint(ACCOUNT, **kwargs)


@pytest.mark.parametrize(
    "account", ["", "12345678901", "1234567890123", "11112222333a", 111122223333]
)
def test_mint_refuses_bad_accounts(local_issuer: LocalIssuer, account: Any) -> None:
    with pytest.raises(ValueError, match="12 digits"):
        local_issuer.mint(account, user="alice")


def test_mint_accepts_the_limits(local_issuer: LocalIssuer) -> None:
    tags = {f"k{i:02}" + "x" * 124: "v" * 256 for i in range(50)}
    local_issuer.mint(ACCOUNT, user="a" * 64, tags=tags, ttl_seconds=MAX_LIFETIME, now=NOW)
    local_issuer.mint(ACCOUNT, role="A+=,.@-_9", ttl_seconds=1, now=0)


def test_each_token_has_its_own_jti(local_issuer: LocalIssuer) -> None:
    import jwt

    tokens = {local_issuer.mint(ACCOUNT, user="alice", now=NOW) for _ in range(20)}
    jtis = {jwt.decode(t, options={"verify_signature": False})["jti"] for t in tokens}
    assert len(jtis) == 20


def test_issuer_config_describes_the_local_issuer(
    local_issuer: LocalIssuer, auth_settings: Settings
) -> None:
    config = local_issuer.issuer_config
    assert isinstance(config, IssuerConfig)
    assert config.issuer == local_issuer.issuer
    assert config.audience == auth_settings.jwt_audience == local_issuer.audience
    assert config.algorithms == ("EdDSA",)
    assert config.token_type == "at+jwt"
    assert (config.pem_path, config.jwks_path, config.jwks_url) == (None, None, None)


def test_local_issuer_refuses_to_be_pickled_or_copied(local_issuer: LocalIssuer) -> None:
    with pytest.raises(TypeError):
        pickle.dumps(local_issuer)
    with pytest.raises(TypeError):
        copy.copy(local_issuer)


def test_local_issuer_has_no_public_signing_key(local_issuer: LocalIssuer) -> None:
    public_names = [name for name in dir(local_issuer) if not name.startswith("_")]
    assert "signing_key" not in public_names and "private_key" not in public_names
    assert repr(local_issuer) == (
        f"LocalIssuer(issuer={local_issuer.issuer!r}, kid={local_issuer.kid!r}, algorithm='EdDSA')"
    )


def test_a_group_readable_key_stops_the_local_issuer(auth_settings: Settings) -> None:
    import os

    from app.config import ConfigError

    os.chmod(auth_settings.issuer_dir / "signing_key.pem", 0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        LocalIssuer.load(auth_settings)
