"""Fixtures for the token tests: a local issuer on a fixed clock, and a token forge.

The verifier's clock is pinned to :data:`NOW`, so every time-based case is
exact. :class:`Forge` builds tokens byte by byte (any header, any payload
bytes, any key and algorithm), the way an attacker would, so each bad-token
case differs from a good token in exactly one respect.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import jwt
import pytest

from app.auth.jwt_verifier import TokenVerifier
from app.auth.local_issuer import LocalIssuer
from app.config import Settings
from app.crypto.issuer_keys import create_issuer_key, load_issuer_private_key

NOW = 1_800_000_000
ACCOUNT = "111122223333"
AUDIENCE = "trent"
LEEWAY = 30
MAX_LIFETIME = 24 * 3600


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def as_bytes(part: dict[str, Any] | bytes) -> bytes:
    if isinstance(part, bytes):
        return part
    return json.dumps(part, separators=(",", ":")).encode("utf-8")


def sign(
    header: dict[str, Any] | bytes, payload: dict[str, Any] | bytes, key: Any, alg: str
) -> str:
    """A compact JWS over exactly these header and payload bytes."""
    signing_input = f"{b64url(as_bytes(header))}.{b64url(as_bytes(payload))}"
    signature = jwt.get_algorithm_by_name(alg).sign(signing_input.encode("ascii"), key)
    return f"{signing_input}.{b64url(signature)}"


def make_settings(data_dir: Path, **changes: Any) -> Settings:
    base = Settings(
        data_dir=data_dir,
        jwt_audience=AUDIENCE,
        jwt_leeway_seconds=LEEWAY,
        jwt_max_lifetime_seconds=MAX_LIFETIME,
    )
    return replace(base, **changes)


@dataclass
class Forge:
    """Tokens for one local issuer: ``claims()``/``header()`` are a valid baseline."""

    issuer: LocalIssuer
    private_key: Any

    @property
    def alg(self) -> str:
        return self.issuer.algorithm

    def header(self, **changes: Any) -> dict[str, Any]:
        header = {"alg": self.alg, "kid": self.issuer.kid, "typ": "at+jwt"}
        return _apply(header, changes)

    def claims(self, **changes: Any) -> dict[str, Any]:
        claims = {
            "iss": self.issuer.issuer,
            "aud": AUDIENCE,
            "sub": f"arn:aws:iam::{ACCOUNT}:user/alice",
            "iat": NOW,
            "nbf": NOW,
            "exp": NOW + 600,
            "jti": "token-1",
            "trent:account": ACCOUNT,
            "trent:type": "user",
            "trent:name": "alice",
            "trent:tags": {},
        }
        return _apply(claims, changes)

    def token(
        self,
        header: dict[str, Any] | bytes | None = None,
        claims: dict[str, Any] | bytes | None = None,
        *,
        key: Any = None,
        alg: str | None = None,
    ) -> str:
        return sign(
            self.header() if header is None else header,
            self.claims() if claims is None else claims,
            self.private_key if key is None else key,
            alg or self.alg,
        )


_DROP = object()


def _apply(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """``changes`` override members; the value :data:`DROP` removes one."""
    result = dict(base)
    for name, value in changes.items():
        name = name.replace("__", ":")
        if value is _DROP:
            result.pop(name, None)
        else:
            result[name] = value
    return result


DROP = _DROP


@pytest.fixture
def auth_settings(tmp_path: Path) -> Settings:
    settings = make_settings(tmp_path / "data")
    settings.issuer_dir.mkdir(parents=True, mode=0o700)
    create_issuer_key(settings.issuer_dir, "EdDSA")
    return settings


@pytest.fixture
def local_issuer(auth_settings: Settings) -> LocalIssuer:
    return LocalIssuer.load(auth_settings)


@pytest.fixture
def forge(auth_settings: Settings, local_issuer: LocalIssuer) -> Forge:
    return Forge(local_issuer, load_issuer_private_key(auth_settings.issuer_dir))


@pytest.fixture
def verifier(auth_settings: Settings, local_issuer: LocalIssuer) -> TokenVerifier:
    return TokenVerifier(auth_settings, local_issuer=local_issuer, clock=lambda: float(NOW))


Bearer = Callable[[str], str]


def bearer(token: str) -> str:
    return f"Bearer {token}"
